"""Gateway flows beyond the outpatient basics: idempotent msgids, 冲正, inpatient with interim
settlement and refunds, sign-in, voucher decoding, reconciliation and year-to-date queries."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest

from support import (
    HOSPITAL,
    PHARMACY,
    balances,
    call,
    envelope,
    family_world,
    ledger_problems,
    person,
    pharmacy_input,
    setup_region,
)
from yibao.gateway.dispatcher import dispatch
from yibao.services.credentials import voucher_qr


def test_same_msgid_same_body_returns_first_answer_and_changes_nothing(platform):
    fam = family_world(platform)
    env = envelope(platform, "2102", pharmacy_input(fam.son, "50.00"), password="123456", msgid="P36019900001X1")
    first = dispatch(platform, env)
    assert first["infcode"] == 0
    after_first = balances(platform, fam.son), balances(platform, fam.father)
    again = dispatch(platform, dict(env, inf_time="2025-06-01 10:05:00", cainfo=env["cainfo"]))
    assert again == first
    assert (balances(platform, fam.son), balances(platform, fam.father)) == after_first
    other = dispatch(platform, envelope(platform, "2102", pharmacy_input(fam.son, "60.00"), password="123456",
                                        msgid="P36019900001X1"))  # fmt: skip
    assert other["infcode"] == -1 and other["err_msg"].startswith("[E0000-005]")
    assert (balances(platform, fam.son), balances(platform, fam.father)) == after_first
    assert ledger_problems(platform) == []


def test_reversal_of_a_settlement_restores_balances_and_a_second_reversal_is_refused(platform):
    fam = family_world(platform)
    before = balances(platform, fam.son), balances(platform, fam.father)
    assert call(platform, "2102", pharmacy_input(fam.son, "250.00"), password="123456", msgid="M-ORIG")["infcode"] == 0
    assert balances(platform, fam.son) == (0, 0)
    undo = {"data": {"psn_no": fam.son.person.psn_no, "omsgid": "M-ORIG", "oinfno": "2102"}}
    answer = call(platform, "2601", undo)
    assert answer["infcode"] == 0, answer["err_msg"]
    assert (balances(platform, fam.son), balances(platform, fam.father)) == before
    again = call(platform, "2601", undo)
    assert again["infcode"] == -1 and again["err_msg"].startswith("[E2601-002]")
    assert ledger_problems(platform) == []


def test_reversal_before_arrival_blocks_the_late_original(platform):
    fam = family_world(platform)
    undo = {"data": {"psn_no": fam.son.person.psn_no, "omsgid": "M-LATE", "oinfno": "2102"}}
    assert call(platform, "2601", undo)["infcode"] == 0
    late = call(platform, "2102", pharmacy_input(fam.son, "20.00"), password="123456", msgid="M-LATE")
    assert late["infcode"] == -1 and late["err_msg"].startswith("[E2601-003]")
    assert balances(platform, fam.son) == (10000, 0)


def test_reversal_of_a_cancellation_reinstates_the_settlement(platform):
    fam = family_world(platform)
    out = call(platform, "2102", pharmacy_input(fam.son, "120.00"), password="123456")["output"]
    setl_id = out["setlinfo"]["setl_id"]
    cancel = {"data": {"setl_id": setl_id, "mdtrt_id": out["setlinfo"]["mdtrt_id"], "psn_no": fam.son.person.psn_no}}
    assert call(platform, "2103", cancel, msgid="M-CANCEL")["infcode"] == 0
    assert balances(platform, fam.son) == (10000, 0)
    undo = {"data": {"psn_no": fam.son.person.psn_no, "omsgid": "M-CANCEL", "oinfno": "2103"}}
    assert call(platform, "2601", undo)["infcode"] == 0
    assert balances(platform, fam.son) == (0, 0)
    assert balances(platform, fam.father) == (28000, 50000)
    # and it can be cancelled again afterwards
    assert call(platform, "2103", cancel)["infcode"] == 0
    assert balances(platform, fam.son) == (10000, 0)
    assert ledger_problems(platform) == []


def _admit(p, c, hospital):
    return call(p, "2401", {"mdtrtinfo": {
        "psn_no": c.person.psn_no, "insutype": "310", "begntime": "2025-06-01 10:00:00", "mdtrt_cert_type": "02",
        "mdtrt_cert_no": c.person.certno, "med_type": "21", "ipt_no": "ZY001"}}, institution=hospital)  # fmt: skip


def _fees(p, c, mdtrt_id, hospital, rows):
    lines = [{"feedetl_sn": sn, "mdtrt_id": mdtrt_id, "psn_no": c.person.psn_no, "med_list_codg": code,
              "det_item_fee_sumamt": amount, "cnt": cnt, "pric": pric, "init_feedetl_sn": init}
             for sn, code, amount, cnt, pric, init in rows]  # fmt: skip
    return call(p, "2301", {"feedetail": lines}, institution=hospital)


def _settle_input(c, mdtrt_id, amount, mid):
    return {"data": {"psn_no": c.person.psn_no, "mdtrt_cert_type": "02", "mdtrt_cert_no": c.person.certno,
                     "medfee_sumamt": amount, "mdtrt_id": mdtrt_id, "insutype": "310", "acct_used_flag": "1",
                     "mid_setl_flag": mid}}  # fmt: skip


def test_inpatient_stay_with_refund_and_interim_settlement(platform):
    setup_region(platform)
    c = person(platform, "住院人", current=100000)
    hospital = HOSPITAL[2]
    mdtrt_id = _admit(platform, c, hospital)["output"]["result"]["mdtrt_id"]
    up = _fees(platform, c, mdtrt_id, hospital, [("1", "XJ01CAA0001", "3000.00", "10", "300.00", None),
                                                 ("2", "XJ01CAA0001", "-600.00", "-2", "300.00", "1")])  # fmt: skip
    assert up["infcode"] == 0, up["err_msg"]
    too_much = _fees(platform, c, mdtrt_id, hospital, [("3", "XJ01CAA0001", "-2700.00", "-9", "300.00", "1")])
    assert too_much["err_msg"].startswith("[E2204-007]")
    final_before_discharge = call(platform, "2304", _settle_input(c, mdtrt_id, "2400.00", "0"), password="123456",
                                  institution=hospital)  # fmt: skip
    assert final_before_discharge["err_msg"].startswith("[E2201-007]")
    # interim settlement: level-2 deductible 500, ratio 90% in service
    interim = call(platform, "2304", _settle_input(c, mdtrt_id, "2400.00", "1"), password="123456",
                   institution=hospital)  # fmt: skip
    info = interim["output"]["setlinfo"]
    assert (info["act_pay_dedc"], info["hifp_pay"]) == (Decimal("500.00"), Decimal("1710.00"))
    _fees(platform, c, mdtrt_id, hospital, [("4", "XJ01CAA0001", "1000.00", "2", "500.00", None)])
    platform.clock.set(datetime(2025, 6, 5, 10))  # a discharge is registered when it happens, not before
    discharged = call(platform, "2402", {"dscginfo": {"mdtrt_id": mdtrt_id, "psn_no": c.person.psn_no,
                                                      "insutype": "310", "endtime": "2025-06-05 10:00:00"}},
                      institution=hospital)  # fmt: skip
    assert discharged["infcode"] == 0, discharged["err_msg"]
    final = call(platform, "2304", _settle_input(c, mdtrt_id, "1000.00", "0"), password="123456", institution=hospital)
    info = final["output"]["setlinfo"]
    # the deductible was met by the interim settlement of the same stay
    assert (info["act_pay_dedc"], info["hifp_pay"]) == (Decimal("0.00"), Decimal("900.00"))
    # cancelling the interim one first is refused: the later one depends on it
    cancel_interim = {"data": {"mdtrt_id": mdtrt_id, "setl_id": interim["output"]["setlinfo"]["setl_id"],
                               "psn_no": c.person.psn_no}}  # fmt: skip
    assert call(platform, "2305", cancel_interim, institution=hospital)["err_msg"].startswith("[E2208-005]")
    cancel_final = {"data": {"mdtrt_id": mdtrt_id, "setl_id": info["setl_id"], "psn_no": c.person.psn_no}}
    assert call(platform, "2305", cancel_final, institution=hospital)["infcode"] == 0
    assert call(platform, "2305", cancel_interim, institution=hospital)["infcode"] == 0
    assert balances(platform, c) == (100000, 0)
    assert ledger_problems(platform) == []


def test_sign_in_required_when_the_platform_asks_for_it(platform):
    setup_region(platform)
    c = person(platform, "签到测试")
    platform.require_sign_in = True
    q = {"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": c.person.certno, "psn_cert_type": "01"}}
    refused = call(platform, "1101", q)
    assert refused["err_msg"].startswith("[E0000-007]")
    signed = call(platform, "9001", {"signIn": {"opter_no": "001", "mac": "00:00", "ip": "127.0.0.1"}})
    sign_no = signed["output"]["signinoutb"]["sign_no"]
    env = envelope(platform, "1101", q)
    env["sign_no"] = sign_no
    assert dispatch(platform, env)["infcode"] == 0
    out = envelope(platform, "9002", {"signOut": {"sign_no": sign_no, "opter_no": "001"}})
    out["sign_no"] = sign_no
    assert dispatch(platform, out)["infcode"] == 0
    env = envelope(platform, "1101", q)
    env["sign_no"] = sign_no
    assert dispatch(platform, env)["err_msg"].startswith("[E0000-007]")


def test_a_written_call_checks_its_session_read_with_the_msgid_claim(platform):
    """The session of a written call is read in the claim's round trip: it still refuses a session
    signed out, unknown or another institution's, and a resend of an answered msgid is replayed."""
    fam = family_world(platform)
    platform.require_sign_in = True

    def settle(sign_no: str | None, env: dict | None = None) -> dict:
        env = env or envelope(platform, "2102", pharmacy_input(fam.son, "10.00"), password="123456")
        if sign_no is not None:
            env["sign_no"] = sign_no
        return dispatch(platform, env)

    def sign_in(institution: str) -> str:
        signed = call(platform, "9001", {"signIn": {"opter_no": "001", "mac": "00:00", "ip": "127.0.0.1"}},
                      institution=institution)  # fmt: skip
        return signed["output"]["signinoutb"]["sign_no"]

    ours, theirs = sign_in(PHARMACY), sign_in(HOSPITAL[1])
    assert settle(None)["err_msg"].startswith("[E0000-007]")
    assert settle("20250101000000" + "0" * 16)["err_msg"].startswith("[E0000-007]")
    assert settle(theirs)["err_msg"].startswith("[E0000-007]")
    env = envelope(platform, "2102", pharmacy_input(fam.son, "10.00"), password="123456")
    done = settle(ours, env)
    assert done["infcode"] == 0, done["err_msg"]
    assert settle(ours, env) == done  # the resend: the recorded answer
    out = envelope(platform, "9002", {"signOut": {"sign_no": ours, "opter_no": "001"}})
    out["sign_no"] = ours
    assert dispatch(platform, out)["infcode"] == 0
    assert settle(ours)["err_msg"].startswith("[E0000-007]")
    assert ledger_problems(platform) == []


def test_voucher_qr_decodes_to_a_token_that_settles(platform):
    fam = family_world(platform)
    qr = voucher_qr(platform, fam.son.person.psn_no)
    decoded = call(platform, "1162", {"data": {"ecQrCode": qr, "orgId": PHARMACY}})
    assert decoded["infcode"] == 0, decoded["err_msg"]
    token = decoded["output"]["data"]["ecToken"]
    assert len(token) == 40
    inp = pharmacy_input(fam.son, "10.00")
    inp["druginfo"].update(mdtrt_cert_type="01", mdtrt_cert_no=token)
    assert call(platform, "2102", inp, password="123456")["infcode"] == 0
    forged = call(platform, "1162", {"data": {"ecQrCode": qr[:-1] + ("0" if qr[-1] != "0" else "1")}})
    assert forged["err_msg"].startswith("[E1162-001]")


def test_reconciliation_and_year_to_date(platform):
    fam = family_world(platform)
    a = call(platform, "2102", pharmacy_input(fam.son, "30.00"), password="123456")["output"]["setlinfo"]
    b = call(platform, "2102", pharmacy_input(fam.son, "40.00"), password="123456")["output"]["setlinfo"]
    call(platform, "2103", {"data": {"setl_id": b["setl_id"], "mdtrt_id": b["mdtrt_id"], "psn_no": b["psn_no"]}})
    stmt = {"data": {"insutype": "310", "clr_type": "41", "setl_optins": "360199", "stmt_begndate": "2025-06-01",
                     "stmt_enddate": "2025-06-01", "medfee_sumamt": "30.00", "fund_pay_sumamt": "0.00",
                     "acct_pay": str(a["acct_pay"]), "fixmedins_setl_cnt": "1", "refd_setl_flag": "1"}}  # fmt: skip
    ok = call(platform, "3201", stmt)
    assert ok["output"]["stmtinfo"]["stmt_rslt"] == "0", ok["output"]
    stmt["data"]["medfee_sumamt"] = "70.00"
    stmt["data"]["fixmedins_setl_cnt"] = "2"
    assert call(platform, "3201", stmt)["output"]["stmtinfo"]["stmt_rslt"] == "2"
    ytd = call(platform, "5206", {"data": {"psn_no": fam.son.person.psn_no, "cum_ym": "202506"}})
    rows = {r["cum_type_code"]: r["cum"] for r in ytd["output"]["cuminfo"]}
    assert rows["S0000_41"] == Decimal("30.00")


@pytest.mark.parametrize("infno", ["2102", "2207", "2304"])
def test_reversal_names_the_original_transaction(platform, infno):
    fam = family_world(platform)
    call(platform, "2102", pharmacy_input(fam.son, "5.00"), password="123456", msgid="M-X")
    wrong = {"data": {"psn_no": fam.son.person.psn_no, "omsgid": "M-X", "oinfno": infno}}
    answer = call(platform, "2601", wrong)
    assert (answer["infcode"] == 0) == (infno == "2102")
