"""Settlement lists, departments and the queries (issue 13, step 3): each rule refused with its code
and nothing written; quality control findings kept and answered by 4104; every query scoped to
what the asking institution may see."""

from __future__ import annotations

import pytest

import recipes_13
from support import HOSPITAL, PHARMACY
from test_conformance import HOSP, World
from test_reference_tx import refused
from yibao.nhsa.samples import DAY, sample_input
from yibao.nhsa.spec import interface

OTHER = HOSPITAL[3]


@pytest.fixture
def w():
    world = World()
    yield world
    world.store.dispose()


def list_input(w, s: dict, **setlinfo) -> dict:
    inp = sample_input(interface("4101"), "required", recipes_13.list_known(w, s))
    inp["setlinfo"].update(setlinfo)
    return inp


def test_settlement_list_rules(w):
    s = recipes_13.inpatient_settled(w)
    inp = list_input(w, s)
    refused(w, "4101", inp, "E2208-003", institution=OTHER)
    bad_pay = list_input(w, s)
    bad_pay["payinfo"] = [{"fund_pay_type": "310100", "fund_payamt": "999.00"}]
    refused(w, "4101", bad_pay, "E4101-003")
    w.ok("4101", inp)
    w.ok("4101", list_input(w, s, medins_fill_psn="李四"))  # an unsubmitted list is replaced
    status = {"data": {"stastinfo": [{"psn_no": w.son.psn_no, "setl_id": s["setl_id"], "stas_type": "1"}]}}
    w.ok("4102", status)
    refused(w, "4101", inp, "E4101-002")
    bad_status = {"data": {"stastinfo": [{"psn_no": w.son.psn_no, "setl_id": s["setl_id"], "stas_type": "7"}]}}
    refused(w, "4102", bad_status, "E4101-004")
    other = recipes_13.inpatient_settled(w)
    both = [
        status["data"]["stastinfo"][0] | {"stas_type": "0"},
        {"psn_no": w.son.psn_no, "setl_id": other["setl_id"], "stas_type": "1"},
    ]
    refused(w, "4102", {"data": {"stastinfo": both}}, "E4101-005")  # all or nothing: the first stays submitted
    refused(w, "4101", inp, "E4101-002")
    status["data"]["stastinfo"][0]["stas_type"] = "0"
    w.ok("4102", status)
    w.ok("4101", inp)
    query = {"data": {"psn_no": w.son.psn_no, "setl_id": s["setl_id"]}}
    got = w.ok("4103", query)
    assert got["setlinfo"]["setl_id"] == s["setl_id"] and got["setlinfo"]["stas_type"] == "0"
    refused(w, "4103", {"data": {**query["data"], "setl_id": other["setl_id"]}}, "E4101-005")
    refused(w, "4103", query, "E2208-003", institution=OTHER)


def test_cancelled_settlement_takes_no_list(w):
    s = recipes_13.inpatient_settled(w)
    w.ok("2305", {"data": {"mdtrt_id": s["mdtrt_id"], "setl_id": s["setl_id"], "psn_no": w.son.psn_no}})
    refused(w, "4101", list_input(w, s), "E4101-001")


def test_quality_control_findings(w):
    s = recipes_13.inpatient_settled(w)
    inp = list_input(w, s, adm_time="2025-06-01", dscg_time="2025-05-30", vent_used_dura="3 days")
    inp["diseinfo"] = [
        {"diag_type": "1", "maindiag_flag": "0", "diag_code": "J18.9", "diag_name": "肺炎", "adm_cond_type": "1"}
    ]
    w.ok("4101", inp)
    page = {"setl_ym": "202506", "page_num": "1", "page_size": "10", "fixmedins_code": HOSP}
    rows = w.ok("4104", {"data": page})
    assert len(rows) == 1 and rows[0]["retn_flag"] == "1" and rows[0]["err_lv"] == "1"
    rules = sorted(d["qltctrl_chk_rslt"][:5] for d in rows[0]["detailinfo"])
    assert rules == ["QC001", "QC002", "QC007"]
    assert w.ok("4104", {"data": {**page, "setl_ym": "202507"}}) == []
    refused(w, "4104", {"data": {**page, "setl_ym": "2025-6"}}, "E4101-004")
    refused(w, "4104", {"data": {**page, "fixmedins_code": OTHER}}, "E0000-011")
    counts = {"fixmedins_code": HOSP, "medtype_list": "21", "stt_begntime": DAY, "stt_endtime": DAY}
    got = w.ok("4105", {"data": counts})
    assert (got["needUploadCnt"], got["uploadedCnt"]) == (1, 1)
    recipes_13.inpatient_settled(w)
    got = w.ok("4105", {"data": counts})
    assert (got["needUploadCnt"], got["uploadedCnt"]) == (2, 1)


def test_departments(w):
    dept = recipes_13.department(w, hosp_dept_codg="K100")
    again = sample_input(interface("3401"), "required", dept)
    refused(w, "3401", again, "E3401-001")
    change = sample_input(interface("3402"), "required", {**dept, "hosp_dept_codg": "K999"})
    refused(w, "3402", change, "E3401-002")
    change = sample_input(interface("3402"), "required", {**dept, "hosp_dept_name": "心内科"})
    change["deptinfo"]["endtime"] = "2000-01-01"
    refused(w, "3402", change, "E3401-003")
    w.ok("3402", sample_input(interface("3402"), "required", {**dept, "hosp_dept_name": "心内科"}))
    cancel = {"data": {"hosp_dept_codg": "K100", "hosp_dept_name": "呼吸内科", "begntime": DAY}}
    refused(w, "3403", cancel, "E3401-002")  # the name is now 心内科
    listed = w.ok("5101", {"data": {"fixmedins_code": HOSP}})["feedetail"]
    assert [(d["hosp_dept_codg"], d["hosp_dept_name"]) for d in listed] == [("K100", "心内科")]
    assert w.ok("5101", {"data": {"fixmedins_code": OTHER}}, institution=OTHER)["feedetail"] == []
    w.ok("3403", {"data": {**cancel["data"], "hosp_dept_name": "心内科"}})
    assert w.ok("5101", {"data": {"fixmedins_code": HOSP}})["feedetail"] == []
    w.ok("3401", again)  # the code is free again


def test_queries_are_scoped(w):
    s = w.outpatient_settled()
    ids = {"psn_no": w.son.psn_no, "setl_id": s["setl_id"], "mdtrt_id": s["mdtrt_id"]}
    assert w.ok("5203", {"data": ids})["setlinfo"]["setl_id"] == s["setl_id"]
    assert [r["feedetl_sn"] for r in w.ok("5204", {"data": ids})] == ["1"]
    refused(w, "5203", {"data": ids}, "E2208-003", institution=OTHER)
    refused(w, "5204", {"data": ids}, "E2208-003", institution=PHARMACY)
    year = {"psn_no": w.son.psn_no, "begntime": "2025-01-01", "endtime": "2025-12-31", "med_type": "11"}
    assert [r["mdtrt_id"] for r in w.ok("5201", {"data": year})["mdtrtinfo"]] == [s["mdtrt_id"]]
    assert w.ok("5201", {"data": year}, institution=OTHER)["mdtrtinfo"] == []
    refused(w, "5201", {"data": {**year, "endtime": "2024-01-01"}}, "E5201-001")
    stay = w.admitted()
    assert len(w.ok("5202", {"data": {"psn_no": w.son.psn_no, "mdtrt_id": stay}})["diseinfo"]) == 1
    refused(w, "5202", {"data": {"psn_no": w.son.psn_no, "mdtrt_id": stay}}, "E2201-004", institution=OTHER)
    here = w.ok("5303", {"data": year})["data"]
    there = w.ok("5303", {"data": year}, institution=OTHER)["data"]
    assert here[0]["mdtrt_id"] == stay and there[0]["mdtrt_id"] == "" and there[0]["psn_no"] == w.son.psn_no
    assert [r["psn_no"] for r in w.ok("5303", {"data": {k: year[k] for k in ("begntime", "endtime")}})["data"]] == [
        w.son.psn_no
    ]
    assert w.ok("5303", {"data": {k: year[k] for k in ("begntime", "endtime")}}, institution=OTHER)["data"] == []


def test_chronic_medication_is_seen_everywhere(w):
    recipes_13.chronic_settled(w)
    year = {"psn_no": w.son.psn_no, "begntime": "2025-01-01", "endtime": "2025-12-31"}
    rows = w.ok("5205", {"data": year}, institution=OTHER)["feedetail"]
    assert [(r["hilist_code"], r["fixmedins_code"]) for r in rows] == [("XJ01CAA0001", HOSP)]
    assert w.ok("5205", {"data": {**year, "endtime": "2025-05-31"}})["feedetail"] == []
