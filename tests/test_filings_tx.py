"""Entitlement and filings (issue 13, step 2): 2001's checks, 2501–2507 and their cancellations with
each rule refused and nothing written, and what filings change: 门诊慢特病 needs a chronic filing and
then settles under the region's chronic benefit; a transfer filing turns unfiled off-site care into
异地转诊 with the smaller ratio reduction the policy gives."""

from __future__ import annotations

import pytest

import recipes_13
from support import ADMDVS, HOSPITAL, TEST_REGION
from test_conformance import HOSP, World
from test_reference_tx import counts, refused
from yibao.nhsa.files import file_columns
from yibao.nhsa.samples import DAY, MOMENT
from yibao.services import reference, world


@pytest.fixture
def w():
    world_ = World()
    yield world_
    world_.store.dispose()


def check(w, med_type: str, institution: str = HOSP) -> list[dict]:
    data = {"psn_no": w.son.psn_no, "insutype": "310", "fixmedins_code": institution, "med_type": med_type}
    return w.ok("2001", {"data": {**data, "begntime": MOMENT}}, institution=institution)["trtinfo"]


def with_chronic_benefit(w) -> None:
    overrides = {"benefit.employee.chronic.ratio": "0.85", "benefit.employee.chronic.deductible": "0.00"}
    world.put_region(w.p, TEST_REGION.read_text(encoding="utf-8"), "test-region.yaml", overrides)


def test_2001_reports_each_check(w):
    assert [r["trt_chk_type"] for r in check(w, "14")] == ["01"]  # no chronic benefit here: no filing needed
    with_chronic_benefit(w)
    rows = check(w, "11")
    assert rows[0]["trt_enjymnt_flag"] == "1" and rows[0]["fund_pay_type"] == "310100"
    chronic = check(w, "14")
    assert [r["trt_enjymnt_flag"] for r in chronic if r["trt_chk_type"] == "99"] == ["0"]
    recipes_13.filed(w, "2503")
    assert [r["trt_enjymnt_flag"] for r in check(w, "14") if r["trt_chk_type"] == "99"] == ["1"]
    w.admitted()  # at HOSP: another hospital's inpatient check reports the open stay
    other = check(w, "21", institution=HOSPITAL[3])
    assert any(r["trt_enjymnt_flag"] == "0" and "住院" in r["trt_chk_rslt"] for r in other)
    child = w.fam.child.person.psn_no
    data = {"psn_no": child, "insutype": "310", "fixmedins_code": HOSP, "med_type": "11", "begntime": MOMENT}
    assert w.ok("2001", {"data": data})["trtinfo"][0]["trt_enjymnt_flag"] == "0"  # not an employee
    refused(w, "2001", {"data": {**data, "psn_no": "NOBODY"}}, "E1101-001")
    refused(w, "2001", {"data": {**data, "fixmedins_code": HOSPITAL[3]}}, "E0000-011")


def test_filing_rules(w):
    sn = recipes_13.filed(w, "2503", opsp_dise_code="M00001")
    refused(w, "2503", _chronic_input(w, opsp_dise_code="M00001"), "E2501-003")
    refused(w, "2503", _chronic_input(w, begndate="2025-06-02", enddate="2025-06-01"), "E2501-001")
    refused(w, "2503", _chronic_input(w, insutype="390"), "E2201-005")
    refused(w, "2501", _transfer_input(w, reflin_medins_no=HOSP), "E2501-002")
    refused(w, "2505", _designated_input(w, fixmedins_code="NOWHERE"), "E2505-001")
    # cancellations: only by the institution that filed, once, with the right kind
    cancel = {"data": {"trt_dcla_detl_sn": sn, "psn_no": w.son.psn_no, "memo": "误报"}}
    refused(w, "2502", cancel, "E2502-001")
    refused(w, "2504", cancel, "E2502-003", institution=HOSPITAL[3])
    refused(w, "2504", {"data": {**cancel["data"], "trt_dcla_detl_sn": "BA3601990000009999"}}, "E2502-001")
    w.ok("2504", cancel)
    refused(w, "2504", cancel, "E2502-002")
    w.ok("2503", _chronic_input(w, opsp_dise_code="M00001"))  # filed again once cancelled
    # the 门诊慢特病种目录, once loaded, decides which diseases may be filed
    reference.import_catalogue(w.p, "1309", [{file_columns("1309")[0]: "M00777", "名称": "糖尿病"}])
    refused(w, "2503", _chronic_input(w, opsp_dise_code="M00002"), "E2503-001")
    w.ok("2503", _chronic_input(w, opsp_dise_code="M00777"))


def _chronic_input(w, **extra) -> dict:
    data = recipes_13._chronic(w)
    data.update(opsp_dise_name="慢病", ide_fixmedins_no=HOSP, ide_fixmedins_name="医院", hosp_ide_date=DAY)
    data.update(diag_dr_codg="D1", diag_dr_name="王医生", **extra)
    return {"data": {k: v for k, v in data.items() if v is not None}}


def _transfer_input(w, **extra) -> dict:
    data = {**recipes_13._transfer(w), "diag_code": "I10", "diag_name": "高血压", "reflin_medins_name": "某院"}
    data.update(refl_rea="病情需要", refl_opnn="同意", mdtrtarea_admdvs=ADMDVS, **extra)
    return {"refmedin": data}


def _designated_input(w, **extra) -> dict:
    return {"data": {**recipes_13._designated(w), "fixmedins_name": "某院", **extra}}


def test_queries_of_filings(w):
    recipes_13.filed(w, "2503", opsp_dise_code="M00009")
    rows = w.ok("5301", {"data": {"psn_no": w.son.psn_no}})["feedetail"]
    assert [r["opsp_dise_code"] for r in rows] == ["M00009"]
    recipes_13.filed(w, "2505")
    assert len(w.ok("5302", {"data": {"psn_no": w.son.psn_no, "biz_appy_type": "01"}})["psnfixmedin"]) == 1
    recipes_13.filed(w, "2501")
    query = {"data": {"psn_no": w.son.psn_no, "begntime": "2025-01-01 00:00:00"}}
    assert len(w.ok("5304", query)["refmedin"]) == 1
    assert w.ok("5304", query, institution=HOSPITAL[1])["refmedin"] == []  # neither filed by nor sent to it


# What filings change ---------------------------------------------------------------------------------


def settle_outpatient(w, med_type: str, institution: str = HOSP) -> dict:
    mdtrt_id = w.register() if institution == HOSP else None
    if mdtrt_id is None:  # another institution: register there
        data = {**w.person(), "begntime": MOMENT, "ipt_otp_no": "MZ-X", "mdtrtarea_admvs": None}
        mdtrt_id = w.ok("2201", {"data": data}, institution=institution)["data"]["mdtrt_id"]
    line = w.line(mdtrt_id=mdtrt_id, psn_no=w.son.psn_no, chrg_bchno="B1")
    w.ok("2204", {"feedetail": [line]}, institution=institution)
    data = {**w.settle_known(), "med_type": med_type, "mdtrt_id": mdtrt_id, "chrg_bchno": "B1", "acct_used_flag": "0"}
    data = {k: v for k, v in data.items() if k not in ("mdtrtarea_admvs",)}
    for k in ("fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt", "inscp_scp_amt"):
        data.pop(k)
    return w.call("2207", {"data": data}, institution=institution)


def test_chronic_visit_needs_a_filing_then_gets_the_chronic_benefit(w):
    answer = settle_outpatient(w, "14")  # no chronic benefit in the region: settled without a filing
    assert answer["infcode"] == 0 and float(answer["output"]["setlinfo"]["hifp_pay"]) == 0
    with_chronic_benefit(w)
    before = counts(w)
    answer = settle_outpatient(w, "14")
    assert answer["err_msg"].startswith("[E2503-003]"), answer["err_msg"]
    after = counts(w)
    assert after["settlements"] == before["settlements"]
    recipes_13.filed(w, "2503")
    answer = settle_outpatient(w, "14")
    assert answer["infcode"] == 0, answer["err_msg"]
    assert float(answer["output"]["setlinfo"]["hifp_pay"]) == 8.5  # the chronic 85%, no deductible


def test_transfer_filing_reduces_the_offsite_cut(w):
    no_deductible = {"benefit.employee.outpatient.deductible": {"in_service": "0.00", "retired": "0.00"}}
    world.put_region(w.p, TEST_REGION.read_text(encoding="utf-8"), "test-region.yaml", no_deductible)
    world.add_institution(w.p, "H11000000009", "北京某三级医院", "hospital", 3, "110000")
    unfiled = settle_outpatient(w, "11", institution="H11000000009")
    assert unfiled["infcode"] == 0, unfiled["err_msg"]
    recipes_13.filed(w, "2501", reflin_medins_no="H11000000009")
    referred = settle_outpatient(w, "11", institution="H11000000009")
    assert referred["infcode"] == 0, referred["err_msg"]
    fund = [float(a["output"]["setlinfo"]["hifp_pay"]) for a in (unfiled, referred)]
    assert fund[1] > fund[0]  # 转诊 (temporary, −10 points) pays more than unfiled (−20 points)
    assert fund == [3.5, 4.5]  # 55% at level 3, less 20 or 10 points, of 10.00
