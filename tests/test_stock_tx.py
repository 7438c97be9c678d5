"""Pharmacy inventory (issue 13, step 5): stock per batch never below zero, returns within what was
bought or sold, a sale that names a settlement agrees with it (item, count, traceability code),
deletion, the queries — each refusal with its code and nothing written."""

from __future__ import annotations

from datetime import date

import pytest

import recipes_13
from recipes_13 import ITEM
from recipes_13 import PHARMACY_CODE as SHOP
from support import HOSPITAL
from test_conformance import World
from test_reference_tx import refused
from yibao.nhsa.samples import DAY, sample_input
from yibao.nhsa.spec import interface
from yibao.services.stock import sale_mismatches


@pytest.fixture
def w():
    world = World()
    yield world
    world.store.dispose()


def stock_of(w, batch: str) -> str:
    q = {"fixmedins_code": SHOP, "medins_list_codg": "YP1", "fixmedins_bchno": batch, "begndate": DAY, "enddate": DAY}
    return str(w.ok("3508", {"data": q}, institution=SHOP)["output"]["invCnt"])


def test_stock_rules(w):
    batch = recipes_13.purchased(w, cnt="10")
    assert stock_of(w, batch) == "10.00"
    refused(w, "3505", {"selinfo": recipes_13.sale_info(w, batch, None, cnt="11")}, "E3501-002", institution=SHOP)
    other = {**ITEM, "med_list_codg": "XB02BAA0002"}
    info = sample_input(interface("3503"), "required", {**other, "fixmedins_bchno": batch, "purc_retn_cnt": "1"})
    refused(w, "3503", info, "E3501-003", institution=SHOP)
    info = sample_input(interface("3503"), "required", {**ITEM, "fixmedins_bchno": "BX", "purc_retn_cnt": "1"})
    info["purcinfo"].update(manu_date="2025-06-01", expy_end="2025-01-01")
    refused(w, "3503", info, "E3501-001", institution=SHOP)
    refused(w, "3503", info, "E3501-004", institution=HOSPITAL[2])
    back = sample_input(interface("3504"), "required", {**ITEM, "fixmedins_bchno": batch, "purc_retn_cnt": "11"})
    refused(w, "3504", back, "E3504-001", institution=SHOP)
    recipes_13.sold(w, batch, cnt="2")
    ret = sample_input(interface("3506"), "required", {**ITEM, "fixmedins_bchno": batch, "sel_retn_cnt": "3"})
    refused(w, "3506", ret, "E3506-001", institution=SHOP)
    ret["selinfo"]["sel_retn_cnt"] = "1"
    w.ok("3506", ret, institution=SHOP)
    assert stock_of(w, batch) == "9.00"
    recipes_13.counted(w, batch, "TR1", cnt="7.00")  # a count sets the stock
    assert stock_of(w, batch) == "7.00"
    refused(w, "3507", {"data": {"fixmedins_bchno": batch, "inv_data_type": "9"}}, "E3507-001", institution=SHOP)
    refused(w, "3507", {"data": {"fixmedins_bchno": "NONE", "inv_data_type": "3"}}, "E3507-001", institution=SHOP)


def test_sales_agree_with_settlements(w):
    batch = recipes_13.purchased(w)
    s = w.bought()  # one XJ01CAA0001 settled by 2102
    with w.store.uow(read_only=True) as tx:
        assert len(sale_mismatches(tx, SHOP, date(2025, 6, 1), date(2025, 6, 1))) == 1
    too_many = recipes_13.sale_info(w, batch, s["setl_id"], cnt="2")
    refused(w, "3505", {"selinfo": too_many}, "E3505-001", institution=SHOP)
    other_batch = recipes_13.purchased(w)
    wrong_item = {**recipes_13.sale_info(w, other_batch, s["setl_id"]), "med_list_codg": "XB02BAA0002"}
    wrong_item["fixmedins_bchno"] = "B-OTHER"
    refused(w, "3505", {"selinfo": wrong_item}, "E3505-001", institution=SHOP)
    recipes_13.sold(w, batch, s["setl_id"])
    with w.store.uow(read_only=True) as tx:
        assert sale_mismatches(tx, SHOP, date(2025, 6, 1), date(2025, 6, 1)) == []
    refused(w, "3505", {"selinfo": recipes_13.sale_info(w, batch, s["setl_id"])}, "E3505-001", institution=SHOP)
    w.ok(
        "2103", {"data": {"setl_id": s["setl_id"], "mdtrt_id": s["mdtrt_id"], "psn_no": w.son.psn_no}}, institution=SHOP
    )
    refused(w, "3505", {"selinfo": recipes_13.sale_info(w, batch, s["setl_id"])}, "E2208-003", institution=SHOP)


def test_trace_codes_must_be_the_settlements(w):
    batch = recipes_13.purchased(w)
    known = w.drug_known()
    known["drugdetail"] = [w.line(durg_trac_info=[{"drug_trac_codg": "TRACE-A", "trdn_flag": "0", "feedetl_sn": "1"}])]
    inp = sample_input(interface("2102"), "required", known)
    inp["drugdetail"][0]["durg_trac_info"] = [{"drug_trac_codg": "TRACE-A", "trdn_flag": "0", "feedetl_sn": "1"}]
    s = w.ok("2102", inp, institution=SHOP, password="123456")["setlinfo"]
    wrong = recipes_13.sale_info(w, batch, s["setl_id"], code="TRACE-B")
    refused(w, "3505", {"selinfo": wrong}, "E3505-002", institution=SHOP)
    w.ok("3505", {"selinfo": recipes_13.sale_info(w, batch, s["setl_id"], code="TRACE-A")}, institution=SHOP)
    q = {"fixmedins_code": SHOP, "begndate": DAY, "enddate": DAY, "drug_trac_codg": "TRACE-A"}
    assert w.ok("3513", {"data": q}, institution=SHOP)["output"]["psnNo"] == w.son.psn_no


def test_virtual_trace_codes(w):
    batch = recipes_13.purchased(w)
    first = w.ok("3592B", {"data": {**ITEM, "fixmedins_bchno": batch}}, institution=SHOP)["result"]["drug_trac_codg"]
    second = w.ok("3592B", {"data": {**ITEM, "fixmedins_bchno": batch}}, institution=SHOP)["result"]["drug_trac_codg"]
    assert len(first) == 20 and first.isdigit() and first != second
    refused(w, "3592B", {"data": {**ITEM, "fixmedins_bchno": "NONE"}}, "E3592-001", institution=SHOP)
    q = {"fixmedins_code": SHOP, "begndate": DAY, "enddate": "2099-12-31", "fixmedins_bchno": batch}
    codes = {r["drugTracCodg"] for r in w.ok("3512", {"data": q}, institution=SHOP)["list"]}
    assert codes == {first, second}
    assert stock_of(w, batch) == "100.00"
