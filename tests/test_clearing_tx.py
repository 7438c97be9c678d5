"""Detail reconciliation and clearing (issue 13, step 4): 3202 line by line against a 9101 file with
its result file via 9102, refunds as two lines, each mismatch answered; 3203 only after the period
agreed, for exactly the platform's amounts; 3204; refusals write nothing."""

from __future__ import annotations

import base64

import pytest

import recipes_13
from recipes_13 import PHARMACY_CODE as SHOP
from support import HOSPITAL
from test_conformance import World
from test_reference_tx import counts, refused
from yibao.nhsa.files import read_zipped_text
from yibao.services.reconciliation import console_view


@pytest.fixture
def w():
    world = World()
    yield world
    world.store.dispose()


def reconcile(w, rows: list[list[str]], **totals) -> dict:
    up = w.ok(
        "9101",
        {"fsUploadIn": {"in": recipes_13.zipped(rows), "filename": "d.zip", "fixmedins_code": SHOP}},
        institution=SHOP,
    )
    data = {
        "setl_optins": "360199",
        "file_qury_no": up["file_qury_no"],
        "stmt_begndate": "2025-06-01",
        "stmt_enddate": "2025-06-01",
        "medfee_sumamt": "0.00",
        "fund_pay_sumamt": "0.00",
        "cash_payamt": "0.00",
        "fixmedins_setl_cnt": "0",
        "clr_type": "41",
        **totals,
    }
    return w.ok("3202", {"data": data}, institution=SHOP)


def result_rows(w, out: dict) -> list[list[str | None]]:
    names = {**{k: out["fileinfo"][k] for k in ("file_qury_no", "filename")}, "fixmedins_code": SHOP}
    fetched = w.ok("9102", {"fsDownloadIn": names}, institution=SHOP)
    return read_zipped_text(base64.b64decode(fetched["file"]))


def line(s: dict, psn_no: str, flag: str = "0", medfee: str = "10.00") -> list[str]:
    return [s["setl_id"], s["mdtrt_id"], psn_no, medfee, str(s["fund_pay_sumamt"]), str(s["acct_pay"]), flag]


def test_every_line_agrees_then_each_mismatch_is_answered(w):
    a, b = w.bought(), w.bought()
    psn = w.son.psn_no
    w.ok("2103", {"data": {"setl_id": b["setl_id"], "mdtrt_id": b["mdtrt_id"], "psn_no": psn}}, institution=SHOP)
    refund = [b["setl_id"], b["mdtrt_id"], psn, "-10.00", f"-{b['fund_pay_sumamt']}", f"-{b['acct_pay']}", "1"]
    good = [line(a, psn), line(b, psn), refund]
    out = reconcile(w, good, medfee_sumamt="10.00", fixmedins_setl_cnt="1")
    assert (out["lines"], out["mismatches"], out["stmt_rslt"]) == (3, 0, "0")
    rows = result_rows(w, out)
    assert len(rows) == 3 and {r[4] for r in rows} == {"0"} and {r[5] for r in rows} == {"0", "1"}
    wrong = [line(a, psn, medfee="11.00"), line(b, psn), [*line(a, psn)[:6], "1"]]
    out = reconcile(w, wrong, medfee_sumamt="10.00", fixmedins_setl_cnt="1")
    assert out["mismatches"] == 3  # a's amount, a refund the centre lacks, b's refund not uploaded
    memos = sorted(r[6] for r in result_rows(w, out) if r[4] == "1")
    assert memos == ["中心无此结算", "医疗费总额机构11.00元、中心10.00元", "机构未上传该结算"]
    runs, _ = console_view(w.p)
    assert [len(r["lines_off"]) for r in runs] == [3, 0]


def test_bad_files_are_refused(w):
    a = w.bought()
    psn = w.son.psn_no
    up = {"fsUploadIn": {"in": recipes_13.zipped([["only", "two"]]), "filename": "d.zip", "fixmedins_code": SHOP}}
    number = w.ok("9101", up, institution=SHOP)["file_qury_no"]
    data = {
        "setl_optins": "360199",
        "file_qury_no": number,
        "stmt_begndate": "2025-06-01",
        "stmt_enddate": "2025-06-01",
        "medfee_sumamt": "10.00",
        "fund_pay_sumamt": "0.00",
        "cash_payamt": "0.00",
        "fixmedins_setl_cnt": "1",
        "clr_type": "41",
    }
    refused(w, "3202", {"data": data}, "E3202-001", institution=SHOP)
    dup = {"fsUploadIn": {**up["fsUploadIn"], "in": recipes_13.zipped([line(a, psn), line(a, psn)])}}
    number = w.ok("9101", dup, institution=SHOP)["file_qury_no"]
    refused(w, "3202", {"data": {**data, "file_qury_no": number}}, "E3202-001", institution=SHOP)
    refused(w, "3202", {"data": {**data, "file_qury_no": number}}, "E9102-001", institution=HOSPITAL[2])
    refused(w, "3202", {"data": {**data, "stmt_enddate": "2025-05-01"}}, "E3202-002", institution=SHOP)


def test_clearing_only_after_agreement_and_for_the_platform_amounts(w):
    w.bought()
    up = w.ok(
        "9101",
        {"fsUploadIn": {"in": recipes_13.zipped([["x"] * 7]), "filename": "d.zip", "fixmedins_code": SHOP}},
        institution=SHOP,
    )
    assert up["file_qury_no"]
    first = recipes_13.agreed(w, upload_only=True)
    first["medfee_sumamt"] = "99.00"  # the totals disagree: the period did not agree
    assert w.ok("3202", {"data": first}, institution=SHOP)["mismatches"] == 1
    apply = recipes_13.clearing_known(w, {**first, "medfee_sumamt": "10.00", "acct": 0})
    refused(w, "3203", {"data": apply}, "E3203-001", institution=SHOP)
    rec = recipes_13.agreed(w)
    apply = recipes_13.clearing_known(w, rec)
    refused(w, "3203", {"data": {**apply, "fund_appy_sum": "999.00"}}, "E3203-002", institution=SHOP)
    refused(w, "3203", {"data": {**apply, "setlym": "2025-6"}}, "E3203-004", institution=SHOP)
    refused(w, "3203", {"data": {**apply, "setlym": "202507"}}, "E3203-004", institution=SHOP)
    evt = w.ok("3203", {"data": apply}, institution=SHOP)["result"]["clr_appy_evt_id"]
    refused(w, "3203", {"data": apply}, "E3203-003", institution=SHOP)
    _, clearings = console_view(w.p)
    assert [(c.institution_code, c.medfee) for c in clearings] == [(SHOP, 1000)]
    refused(w, "3204", {"data": {"clr_appy_evt_id": evt}}, "E3204-001", institution=HOSPITAL[2])
    refused(w, "3204", {"data": {"clr_appy_evt_id": "QS999"}}, "E3204-001", institution=SHOP)
    before = counts(w)
    w.ok("3204", {"data": {"clr_appy_evt_id": evt}}, institution=SHOP)
    assert counts(w)["clearing_applications"] == before["clearing_applications"]
    refused(w, "3204", {"data": {"clr_appy_evt_id": evt}}, "E3204-002", institution=SHOP)
    w.ok("3203", {"data": apply}, institution=SHOP)  # applied again once withdrawn
