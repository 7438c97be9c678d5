"""Visit changes (issue 13, step 4): 2306, 2403, 2404, 2405, 2406/2407 — each rule refused with its
code and nothing written, and each change seen by the queries."""

from __future__ import annotations

import pytest

import recipes_13
from support import HOSPITAL
from test_conformance import World
from test_reference_tx import refused
from yibao.nhsa.samples import sample_input
from yibao.nhsa.spec import interface

OTHER = HOSPITAL[3]


@pytest.fixture
def w():
    world = World()
    yield world
    world.store.dispose()


def change_input(w, mdtrt_id: str, **adminfo) -> dict:
    psn = w.son.psn_no
    known = {
        "mdtrt_id": mdtrt_id,
        "psn_no": psn,
        "begntime": recipes_13.MOMENT_13,
        "med_type": "21",
        "ipt_otp_no": "ZY",
    }
    inp = sample_input(interface("2403"), "required", {**{f"adminfo.{k}": v for k, v in known.items()}})
    inp["adminfo"].update(adminfo)
    inp["diseinfo"] = [
        {"mdtrt_id": mdtrt_id, "psn_no": psn, "diag_code": "J15.9", "diag_type": "1", "maindiag_flag": "1"}
    ]
    return inp


def test_memo_and_admission_changes(w):
    stay = w.inpatient_fees()
    psn = w.son.psn_no
    row = {"mdtrt_id": stay, "bkkp_sn": "1", "psn_no": psn, "med_list_codg": "XJ01CAA0001", "memo": "补录"}
    refused(w, "2306", {"data": [{**row, "bkkp_sn": "9"}]}, "E2306-001")
    refused(w, "2306", {"data": [row]}, "E2201-004", institution=OTHER)
    w.ok("2306", {"data": [row]})
    refused(w, "2403", change_input(w, stay, begntime="2025-05-30 10:00:00"), "E2403-002")
    refused(w, "2403", change_input(w, stay, med_type="11"), "E2207-005")
    w.ok("2403", change_input(w, stay))
    codes = [d["diag_code"] for d in w.ok("5202", {"data": {"psn_no": psn, "mdtrt_id": stay}})["diseinfo"]]
    assert codes == ["J15.9"]
    w.ok("2402", {"dscginfo": {"mdtrt_id": stay, "psn_no": psn, "insutype": "310", "endtime": recipes_13.MOMENT_13}})
    refused(w, "2403", change_input(w, stay), "E2403-001")


def test_cancel_admission_and_discharge(w):
    psn = w.son.psn_no
    stay = w.admitted()
    refused(w, "2405", {"data": {"mdtrt_id": stay, "psn_no": psn}}, "E2405-001")
    w.ok("2404", {"data": {"mdtrt_id": stay, "psn_no": psn}})
    refused(w, "2404", {"data": {"mdtrt_id": stay, "psn_no": psn}}, "E2201-002")
    s = recipes_13.inpatient_settled(w)
    ids = {"mdtrt_id": s["mdtrt_id"], "psn_no": psn}
    refused(w, "2404", {"data": ids}, "E2404-001")
    refused(w, "2405", {"data": ids}, "E2405-002")
    w.ok("2305", {"data": {**ids, "setl_id": s["setl_id"]}})
    w.ok("2405", {"data": ids})
    year = {"psn_no": psn, "begntime": "2025-01-01", "endtime": "2025-12-31"}
    assert [r["mdtrt_id"] for r in w.ok("5303", {"data": year})["data"]] == [s["mdtrt_id"]]


def test_special_attributes(w):
    stay = w.admitted()
    flag = {
        "mdtrt_id": stay,
        "psn_no": w.son.psn_no,
        "ipt_psn_sp_flag_type": "01",
        "ipt_psn_sp_flag": "1",
        "ipt_otp_no": "ZY",
    }
    got = w.ok("2406", {"data": flag})["IptPsnSpFlagRegOut"]["ipt_psn_sp_flag_detl_id"]
    refused(w, "2406", {"data": flag}, "E2406-001")
    refused(w, "2406", {"data": {**flag, "certno": "110101199001011234"}}, "E1101-008")
    refused(w, "2406", {"data": flag}, "E2201-004", institution=OTHER)
    query = {"page_num": "1", "page_size": "10", "psn_no": w.son.psn_no}
    assert w.ok("2407", {"data": query})["IptPsnSpFlagReg"]["ipt_psn_sp_flag_detl_id"] == got
    assert w.ok("2407", {"data": query}, institution=OTHER)["list"] == []
