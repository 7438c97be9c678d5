"""Cross-region direct settlement through the 就医地, two instances in one process (issue 15 phase 2).

Nanchang (360100, the 参保地) and Shanghai (310000, the 就医地): two databases, one NATS server. The
HIS speaks only to Shanghai; Shanghai asks Nanchang for the person (1101), has Nanchang compute and
reserve (2206 quote / 2207 reserve → book → post), and carries 2208 and 2601 across. After each
flow: the settlement is the same on both sides, every reservation is posted or voided (or
reversed), both ledgers balance.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from crossregion_support import (
    AT,
    LINES,
    balance,
    delete_streams,
    fen,
    his,
    insured,
    ledger_problems,
    ok,
    own_balance,
    region,
    visit,
)
from test_regionlink import NATS_URL, _free_port, _start_server, nats_server_binary, needs_nats
from waiting import wait_until
from web_client import CSRF, page_problems, visible
from yibao.api.app import create_app
from yibao.cli.main import app
from yibao.ledger.reservations import due_from_account, due_to_account
from yibao.money import fmt_yuan
from yibao.regionlink.link import Subjects
from yibao.services import clearing, crossregion
from yibao.services.signin import add_staff

NC, SH = "360100", "310000"


@pytest.fixture
def pair(tmp_path):
    subjects = Subjects(f"t{uuid.uuid4().hex[:12]}")
    nc = region(f"sqlite:///{tmp_path / 'nc.sqlite'}", NC, [SH])
    sh = region(f"sqlite:///{tmp_path / 'sh.sqlite'}", SH, [NC])
    try:
        nc.start(NATS_URL, subjects)
        sh.start(NATS_URL, subjects)
        yield nc, sh
    finally:
        sh.stop()
        nc.stop()
        delete_streams(NATS_URL, subjects)


def reservation_of(nc, setl_id: str):
    rows = [r for r in crossregion.reservations(nc.p) if r.setl_ref == setl_id]
    assert len(rows) == 1, rows
    return rows[0]


def same_on_both_sides(nc, sh, setl: dict) -> None:
    row = reservation_of(nc, setl["setl_id"])
    assert (row.fund_pay, row.own_account_pay, row.medfee, row.cash_pay) == (
        fen(setl["hifp_pay"]),
        fen(setl["acct_pay"]),
        fen(setl["medfee_sumamt"]),
        fen(setl["psn_cash_pay"]),
    )


@needs_nats
def test_settle_cancel_and_reverse_across_two_regions(pair):
    nc, sh = pair
    who = insured(nc, "王南昌")
    before = own_balance(nc, who)
    mdtrt_id, data = visit(sh, who, LINES)
    quote = ok(his(sh, NC, "2206", {"data": data}))["setlinfo"]
    assert crossregion.reservations(nc.p) == []  # a quote holds nothing
    assert own_balance(nc, who) == before
    msgid = f"{sh.hospital}20250801090000{uuid.uuid4().int % 10000:04d}"
    setl = ok(his(sh, NC, "2207", {"data": data}, msgid=msgid))["setlinfo"]
    assert (setl["hifp_pay"], setl["acct_pay"]) == (quote["hifp_pay"], quote["acct_pay"])
    assert fen(setl["hifp_pay"]) > 0 and fen(setl["acct_pay"]) > 0
    row = reservation_of(nc, setl["setl_id"])
    assert row.status == "posted"
    same_on_both_sides(nc, sh, setl)
    assert own_balance(nc, who) == before - fen(setl["acct_pay"])
    owed = fen(setl["hifp_pay"]) + fen(setl["acct_pay"])
    assert crossregion.cross_settlements(sh.p)[0].status == "posted"
    assert balance(nc, due_to_account(SH)) == owed == -balance(sh, due_from_account(NC))
    # A resend of the same HIS message is answered from the record: nothing crosses again.
    again = ok(his(sh, NC, "2207", {"data": data}, msgid=msgid))["setlinfo"]
    assert again["setl_id"] == setl["setl_id"] and len(crossregion.reservations(nc.p)) == 1
    # 2208 across: Nanchang reverses its side.
    cancel = {"data": {"setl_id": setl["setl_id"], "mdtrt_id": mdtrt_id, "psn_no": who.person.psn_no}}
    cmsgid = f"{sh.hospital}20250801090001{uuid.uuid4().int % 10000:04d}"
    ok(his(sh, NC, "2208", cancel, msgid=cmsgid))
    assert reservation_of(nc, setl["setl_id"]).status == "reversed"
    assert own_balance(nc, who) == before
    assert balance(nc, due_to_account(SH)) == 0 == balance(sh, due_from_account(NC))
    # 2601 of the cancellation: the settlement stands again on both sides.
    ok(his(sh, NC, "2601", {"data": {"psn_no": who.person.psn_no, "oinfno": "2208", "omsgid": cmsgid}}))
    assert reservation_of(nc, setl["setl_id"]).status == "posted"
    assert own_balance(nc, who) == before - fen(setl["acct_pay"])
    assert balance(nc, due_to_account(SH)) == owed == -balance(sh, due_from_account(NC))
    # 2601 of the settlement itself: cancelled on both sides.
    ok(his(sh, NC, "2601", {"data": {"psn_no": who.person.psn_no, "oinfno": "2207", "omsgid": msgid}}))
    assert reservation_of(nc, setl["setl_id"]).status == "reversed"
    assert own_balance(nc, who) == before
    assert ledger_problems(nc) == [] and ledger_problems(sh) == []


@needs_nats
def test_when_the_insured_region_does_not_answer_nothing_is_booked_and_the_reservation_is_voided(pair, monkeypatch):
    nc, sh = pair
    who = insured(nc, "赵等待")
    before = own_balance(nc, who)
    _, data = visit(sh, who, LINES)
    monkeypatch.setattr(crossregion, "RESERVE_TIMEOUT_S", 1.5)
    nc.stop()  # Nanchang is down: the reserve waits in the stream
    answer = his(sh, NC, "2207", {"data": data})
    assert answer["infcode"] != 0 and "E7601-003" in answer["err_msg"]
    assert crossregion.cross_settlements(sh.p) == []
    nc.start(NATS_URL, sh.client.link.subjects)  # back: the reserve, then the void, applied in order
    wait_until(lambda: [r.status for r in crossregion.reservations(nc.p)] == ["voided"], "the late reserve voided")
    assert own_balance(nc, who) == before
    assert ledger_problems(nc) == [] and ledger_problems(sh) == []
    # The HIS tries again once the link is back: it settles.
    setl = ok(his(sh, NC, "2207", {"data": data}))["setlinfo"]
    assert reservation_of(nc, setl["setl_id"]).status == "posted"
    assert AT.year == 2025


@needs_nats
def test_monthly_clearing_agrees_to_the_fen_and_reports_a_disagreement_with_its_settlements(pair):
    nc, sh = pair
    who = insured(nc, "钱清算")
    settled = []
    for _ in range(3):
        _, data = visit(sh, who, LINES)
        settled.append(ok(his(sh, NC, "2207", {"data": data}))["setlinfo"])
    owed = sum(fen(s["hifp_pay"]) + fen(s["acct_pay"]) for s in settled)
    # A disagreement first: Nanchang's record of one settlement differs by a fen.
    wrong = reservation_of(nc, settled[1]["setl_id"])
    with nc.p.store.uow() as tx:
        tx.reservations.update(wrong.reservation_id, fund_pay=wrong.fund_pay + 1)
    out = clearing.clear_with(sh.p, NC, "2025-08")
    assert not out.agreed and out.total == owed and out.settlements == 3
    assert [(d["reservation_id"], d["payer"] - d["payee"]) for d in out.differences] == [(wrong.reservation_id, 1)]
    shown = {(r.role, r.status) for r in clearing.clearings(nc.p, "2025-08") + clearing.clearings(sh.p, "2025-08")}
    assert shown == {("payer", "disputed"), ("payee", "disputed")}
    assert balance(nc, due_to_account(SH)) == owed  # nothing booked while they disagree
    with nc.p.store.uow() as tx:
        tx.reservations.update(wrong.reservation_id, fund_pay=wrong.fund_pay)
    out = clearing.clear_with(sh.p, NC, "2025-08")
    assert out.agreed and out.total == owed
    assert balance(nc, due_to_account(SH)) == 0 == balance(sh, due_from_account(NC))
    assert clearing.clear_with(sh.p, NC, "2025-08").agreed  # idempotent: the agreed month as it stands
    assert balance(nc, due_to_account(SH)) == 0 == balance(sh, due_from_account(NC))
    assert ledger_problems(nc) == [] and ledger_problems(sh) == []
    runner = CliRunner()
    db = str(nc.p.store.engine.url).removeprefix("sqlite:///")
    shown = runner.invoke(app, ["region", "pending", "--all", "--db", db])
    assert shown.exit_code == 0 and "posted" in shown.output


def clearing_rows(nc, sh, month: str) -> set[tuple[str, str, int, int]]:
    rows = clearing.clearings(nc.p, month) + clearing.clearings(sh.p, month)
    return {(r.role, r.status, r.total, r.settlements) for r in rows}


def set_clocks(at: datetime, *regions) -> None:
    for r in regions:
        r.p.clock.set(at)


@needs_nats
def test_a_cancellation_after_its_month_was_cleared_is_carried_to_the_next_months_statement(pair):
    """August is cleared and closed; in September an August settlement is cancelled (2208): the
    August statement stays as agreed, September's carries the cancellation as an adjustment line
    (−amount) on both sides; a 2601 of that cancellation in October is carried back (+amount). After
    each month's clearing both due accounts are zero again."""
    nc, sh = pair
    who = insured(nc, "孙跨月", current=300_000)
    august = []
    for _ in range(2):
        mdtrt_id, data = visit(sh, who, LINES)
        august.append((mdtrt_id, ok(his(sh, NC, "2207", {"data": data}))["setlinfo"]))
    owed = [fen(s["hifp_pay"]) + fen(s["acct_pay"]) for _, s in august]
    assert clearing.clear_with(sh.p, NC, "2025-08").agreed
    closed = clearing_rows(nc, sh, "2025-08")
    assert closed == {("payer", "agreed", sum(owed), 2), ("payee", "agreed", sum(owed), 2)}
    assert balance(nc, due_to_account(SH)) == 0 == balance(sh, due_from_account(NC))

    set_clocks(datetime(2025, 9, 3, 10, 0), nc, sh)
    mdtrt_id, cancelled = august[0]
    cancel = {"data": {"setl_id": cancelled["setl_id"], "mdtrt_id": mdtrt_id, "psn_no": who.person.psn_no}}
    cmsgid = f"{sh.hospital}20250903100000{uuid.uuid4().int % 10000:04d}"
    ok(his(sh, NC, "2208", cancel, msgid=cmsgid))
    rid = reservation_of(nc, cancelled["setl_id"]).reservation_id
    assert reservation_of(nc, cancelled["setl_id"]).status == "reversed"
    # Nanchang has paid August in full for a settlement that no longer stands: both sides show it ...
    assert balance(nc, due_to_account(SH)) == -owed[0] and balance(sh, due_from_account(NC)) == owed[0]
    # ... and the closed August statement does not change, asked again or not.
    again = clearing.clear_with(sh.p, NC, "2025-08")
    assert again.agreed and again.total == sum(owed) and again.adjustments == ()
    assert clearing_rows(nc, sh, "2025-08") == closed
    _, data = visit(sh, who, LINES)
    september = ok(his(sh, NC, "2207", {"data": data}))["setlinfo"]
    owed_sep = fen(september["hifp_pay"]) + fen(september["acct_pay"])
    out = clearing.clear_with(sh.p, NC, "2025-09")
    assert out.agreed, out.differences
    assert [(a["reservation_id"], a["setl_ref"], a["amount_fen"]) for a in out.adjustments] == [
        (rid, cancelled["setl_id"], -owed[0])
    ]
    assert out.total == owed_sep - owed[0] and out.settlements == 1
    assert clearing_rows(nc, sh, "2025-09") == {
        ("payer", "agreed", owed_sep - owed[0], 1),
        ("payee", "agreed", owed_sep - owed[0], 1),
    }
    [payer] = clearing.clearings(nc.p, "2025-09")
    assert [a["amount_fen"] for a in payer.adjustments] == [-owed[0]]  # the 参保地 records the same line
    assert balance(nc, due_to_account(SH)) == 0 == balance(sh, due_from_account(NC))
    assert ledger_problems(nc) == [] and ledger_problems(sh) == []

    set_clocks(datetime(2025, 10, 8, 10, 0), nc, sh)
    ok(his(sh, NC, "2601", {"data": {"psn_no": who.person.psn_no, "oinfno": "2208", "omsgid": cmsgid}}))
    assert reservation_of(nc, cancelled["setl_id"]).status == "posted"
    out = clearing.clear_with(sh.p, NC, "2025-10")
    assert out.agreed and out.settlements == 0 and out.total == owed[0]
    assert [a["amount_fen"] for a in out.adjustments] == [owed[0]]
    assert clearing.clear_with(sh.p, NC, "2025-11").total == 0  # nothing is carried twice
    assert balance(nc, due_to_account(SH)) == 0 == balance(sh, due_from_account(NC))
    assert ledger_problems(nc) == [] and ledger_problems(sh) == []
    # The agency console shows the adjustment lines of a month, in words.
    add_staff(sh.p, "clearer", "清算员", "viewer", "password123")
    web = TestClient(create_app(sh.p, admin_token="t"))
    token = CSRF.search(web.get("/console/login").text)[1]
    login = {"username": "clearer", "password": "password123", "csrf": token}
    assert web.post("/console/login", data=login, follow_redirects=False).status_code == 303
    for month, words in (("2025-09", "撤销，本月冲减"), ("2025-10", "恢复，本月补计")):
        shown = web.get("/console/regions", params={"month": month})
        assert shown.status_code == 200 and page_problems("/console/regions", shown.text) == []
        text = visible(shown.text)
        assert f"往月调整：结算 {cancelled['setl_id']}" in text and f"{words} {fmt_yuan(owed[0])} 元" in text, text


@pytest.mark.skipif(nats_server_binary() is None, reason="nats-server binary not installed")
def test_nats_stopped_for_a_while_nothing_is_booked_and_nothing_is_lost(tmp_path, monkeypatch):
    """The broker dies (a private nats-server of this test's own, never the shared one): a 2207 is
    refused and nothing is booked; whatever the reserve left behind is voided by the deadline job;
    once the broker is back, settlements go through again."""
    monkeypatch.setattr(crossregion, "RESERVE_TIMEOUT_S", 2.0)
    port = _free_port()
    url = f"nats://127.0.0.1:{port}"
    proc = _start_server(port, str(tmp_path / "js"))
    subjects = Subjects(f"t{uuid.uuid4().hex[:12]}")
    nc = region(f"sqlite:///{tmp_path / 'nc.sqlite'}", NC, [SH])
    sh = region(f"sqlite:///{tmp_path / 'sh.sqlite'}", SH, [NC])
    try:
        nc.start(url, subjects)
        sh.start(url, subjects)
        who = insured(nc, "孙断链")
        before = own_balance(nc, who)
        _, first = visit(sh, who, LINES)
        _, second = visit(sh, who, LINES)
        ok(his(sh, NC, "2207", {"data": first}))
        proc.terminate()
        proc.wait(timeout=10)
        wait_until(lambda: sh.client.link.disconnects >= 1, "Shanghai to notice the broker is gone", timeout=20)
        refused = his(sh, NC, "2207", {"data": second})
        assert refused["infcode"] != 0 and ("E7601-004" in refused["err_msg"] or "E7601-003" in refused["err_msg"])
        assert len(crossregion.cross_settlements(sh.p)) == 1  # nothing booked for the refused one
        proc = _start_server(port, str(tmp_path / "js"))
        wait_until(lambda: sh.client.link.reconnects >= 1 and nc.client.link.reconnects >= 1, "reconnects", timeout=30)
        again = ok(his(sh, NC, "2207", {"data": second}))["setlinfo"]
        assert reservation_of(nc, again["setl_id"]).status == "posted"
        # A reserve the broker kept while Shanghai had given up is voided once its deadline passes.
        nc.p.clock.set(AT.replace(hour=12))
        wait_until(
            lambda: (
                crossregion.expire_reservations(nc.p) is not None
                and not [r for r in crossregion.reservations(nc.p) if r.status == "pending"]
            ),
            "nothing left pending",
            timeout=30,
        )
        posted = [r for r in crossregion.reservations(nc.p) if r.status == "posted"]
        assert len(posted) == 2
        assert own_balance(nc, who) == before - sum(r.own_account_pay + r.mutual_aid_pay for r in posted)
        assert ledger_problems(nc) == [] and ledger_problems(sh) == []
    finally:
        sh.stop()
        nc.stop()
        proc.terminate()
        proc.wait(timeout=10)


def _admit(sh, person, ipt_no: str) -> str:
    """A Nanchang insured person read (1101) and admitted (2401) at a Shanghai hospital: the stay's id."""
    start = sh.p.now()
    ok(his(sh, NC, "1101", {"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": person.certno}}))
    admitted = his(sh, NC, "2401", {"mdtrtinfo": {
        "psn_no": person.psn_no, "insutype": "310", "begntime": f"{start:%Y-%m-%d %H:%M:%S}", "mdtrt_cert_type": "02",
        "mdtrt_cert_no": person.certno, "med_type": "21", "ipt_no": ipt_no}})  # fmt: skip
    return ok(admitted)["result"]["mdtrt_id"]


@needs_nats
def test_an_inpatient_stay_across_regions_2401_2402_2304_and_its_cancellation_2305(pair):
    nc, sh = pair
    who = insured(nc, "周住院")
    before = own_balance(nc, who)
    person = who.person
    start = sh.p.now()
    mdtrt_id = _admit(sh, person, "ZY0001")
    line = {"feedetl_sn": "1", "mdtrt_id": mdtrt_id, "psn_no": person.psn_no, "med_list_codg": "XJ01CAA0001",
            "det_item_fee_sumamt": "5000.00", "cnt": "10", "pric": "500.00"}  # fmt: skip
    ok(his(sh, NC, "2301", {"feedetail": [line]}))
    ok(his(sh, NC, "2402", {"dscginfo": {"mdtrt_id": mdtrt_id, "psn_no": person.psn_no, "insutype": "310",
                                         "endtime": f"{start:%Y-%m-%d %H:%M:%S}"}}))  # fmt: skip
    settle = {"data": {"psn_no": person.psn_no, "mdtrt_cert_type": "02", "mdtrt_cert_no": person.certno,
                       "medfee_sumamt": "5000.00", "mdtrt_id": mdtrt_id, "insutype": "310", "acct_used_flag": "1",
                       "mid_setl_flag": "0"}}  # fmt: skip
    setl = ok(his(sh, NC, "2304", settle))["setlinfo"]
    row = reservation_of(nc, setl["setl_id"])
    assert row.status == "posted" and row.category == "inpatient" and row.fund_pay == fen(setl["hifp_pay"]) > 0
    assert own_balance(nc, who) == before - fen(setl["acct_pay"])
    ok(his(sh, NC, "2305", {"data": {"setl_id": setl["setl_id"], "mdtrt_id": mdtrt_id, "psn_no": person.psn_no}}))
    assert reservation_of(nc, setl["setl_id"]).status == "reversed"
    assert own_balance(nc, who) == before
    assert ledger_problems(nc) == [] and ledger_problems(sh) == []


@needs_nats
def test_an_inpatient_stay_across_regions_with_2303_pre_settlements_and_an_interim_settlement(pair):
    """2303 across (住院预结算, before discharge with the interim flag and after it): the 参保地
    computes, nothing is held; the interim 2304 (mid_setl_flag=1) and the final one each reserve and
    post; the final one finds the deductible met by the interim one; both cancel back (2305)."""
    nc, sh = pair
    who = insured(nc, "吴中途", current=200_000)
    before = own_balance(nc, who)
    person = who.person
    start = sh.p.now()
    mdtrt_id = _admit(sh, person, "ZY0303")

    def fees(sn: str, amount: str, count: str, price: str) -> None:
        line = {"feedetl_sn": sn, "mdtrt_id": mdtrt_id, "psn_no": person.psn_no, "med_list_codg": "XJ01CAA0001",
                "det_item_fee_sumamt": amount, "cnt": count, "pric": price}  # fmt: skip
        ok(his(sh, NC, "2301", {"feedetail": [line]}))

    def claim(amount: str, mid: str) -> dict:
        return {"data": {"psn_no": person.psn_no, "mdtrt_cert_type": "02", "mdtrt_cert_no": person.certno,
                         "medfee_sumamt": amount, "mdtrt_id": mdtrt_id, "insutype": "310", "acct_used_flag": "1",
                         "mid_setl_flag": mid}}  # fmt: skip

    def figures(setl: dict) -> tuple[int, ...]:
        return tuple(fen(setl[k]) for k in ("medfee_sumamt", "act_pay_dedc", "hifp_pay", "acct_pay", "psn_cash_pay"))

    fees("1", "3000.00", "10", "300.00")
    quoted = ok(his(sh, NC, "2303", claim("3000.00", "1")))["setlinfo"]  # interim pre-settlement, across
    assert crossregion.reservations(nc.p) == [] and crossregion.cross_settlements(sh.p) == []  # nothing held
    assert own_balance(nc, who) == before and fen(quoted["act_pay_dedc"]) > 0 and fen(quoted["hifp_pay"]) > 0
    interim = ok(his(sh, NC, "2304", claim("3000.00", "1")))["setlinfo"]
    assert figures(interim) == figures(quoted)  # the quote was what the settlement did
    row = reservation_of(nc, interim["setl_id"])
    assert row.status == "posted" and row.category == "inpatient" and row.fund_pay == fen(interim["hifp_pay"])

    fees("2", "1000.00", "2", "500.00")
    ok(his(sh, NC, "2402", {"dscginfo": {"mdtrt_id": mdtrt_id, "psn_no": person.psn_no, "insutype": "310",
                                         "endtime": f"{start:%Y-%m-%d %H:%M:%S}"}}))  # fmt: skip
    quoted = ok(his(sh, NC, "2303", claim("1000.00", "0")))["setlinfo"]
    assert fen(quoted["act_pay_dedc"]) == 0  # the deductible was met by the interim settlement of the stay
    assert len(crossregion.reservations(nc.p)) == 1
    final = ok(his(sh, NC, "2304", claim("1000.00", "0")))["setlinfo"]
    assert figures(final) == figures(quoted) and fen(final["medfee_sumamt"]) == 100_000
    for setl in (interim, final):
        same_on_both_sides(nc, sh, setl)
    owed = sum(fen(s["hifp_pay"]) + fen(s["acct_pay"]) for s in (interim, final))
    assert balance(nc, due_to_account(SH)) == owed == -balance(sh, due_from_account(NC))
    assert own_balance(nc, who) == before - fen(interim["acct_pay"]) - fen(final["acct_pay"])

    for setl in (final, interim):  # the later one first: the final one depends on the interim one
        ok(his(sh, NC, "2305", {"data": {"setl_id": setl["setl_id"], "mdtrt_id": mdtrt_id, "psn_no": person.psn_no}}))
        assert reservation_of(nc, setl["setl_id"]).status == "reversed"
    assert own_balance(nc, who) == before
    assert balance(nc, due_to_account(SH)) == 0 == balance(sh, due_from_account(NC))
    assert ledger_problems(nc) == [] and ledger_problems(sh) == []
