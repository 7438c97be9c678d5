"""【2401】【2402】入出院, 【2301】【2302】住院费用明细, 【2303】–【2305】住院结算 (with 中途结算)."""

from __future__ import annotations

from yibao.gateway.common import cancel_answer, settle_request
from yibao.gateway.dispatcher import Call, transaction
from yibao.gateway.inputs import (
    CertType,
    DiagnosisIn,
    FeeLineIn,
    Flag,
    Money,
    Node,
    OptMoney,
    When,
    code,
    opt_code,
    read,
    read_list,
)
from yibao.gateway.outpatient import fee_inputs, one_visit
from yibao.gateway.output import line_split, settlement_output
from yibao.services import care
from yibao.services.platform import Platform
from yibao.services.settle import SettleRequest, settle_claim


class AdmissionIn(Node):  # 2401 mdtrtinfo
    psn_no: code(30)
    insutype: code(6)
    begntime: When
    mdtrt_cert_type: CertType
    mdtrt_cert_no: code(50)
    med_type: code(6)
    ipt_no: code(30)
    medrcdno: opt_code(30) = None
    atddr_no: opt_code(30) = None
    chfpdr_name: opt_code(50) = None
    adm_diag_dscr: opt_code(200) = None
    adm_dept_codg: opt_code(30) = None
    adm_dept_name: opt_code(100) = None
    adm_bed: opt_code(30) = None
    dscg_maindiag_code: opt_code(30) = None
    dscg_maindiag_name: opt_code(300) = None


class DischargeIn(Node):  # 2402 dscginfo
    mdtrt_id: code(30)
    psn_no: code(30)
    insutype: code(6)
    endtime: When
    dise_codg: opt_code(30) = None
    dise_name: opt_code(300) = None
    dscg_way: opt_code(3) = None
    dscg_dept_codg: opt_code(30) = None
    dscg_dept_name: opt_code(100) = None


class RemoveInpatientFeesIn(Node):  # 2302 data
    feedetl_sn: code(30)
    mdtrt_id: code(30)
    psn_no: code(30)


class InpatientSettleIn(Node):  # 2303 / 2304 data
    psn_no: code(30)
    mdtrt_cert_type: CertType
    mdtrt_cert_no: code(50)
    medfee_sumamt: Money
    psn_setlway: opt_code(6) = None
    mdtrt_id: code(30)
    insutype: code(6)
    acct_used_flag: Flag
    mid_setl_flag: Flag
    invono: opt_code(20) = None
    fulamt_ownpay_amt: OptMoney = None
    overlmt_selfpay: OptMoney = None
    preselfpay_amt: OptMoney = None
    inscp_scp_amt: OptMoney = None


class InpatientCancelIn(Node):  # 2305 data
    mdtrt_id: code(30)
    setl_id: code(30)
    psn_no: code(30)


@transaction("2401", "入院办理")
def admit(p: Platform, call: Call, tx) -> dict:
    d = read(AdmissionIn, call.node("mdtrtinfo"), "mdtrtinfo")
    diseases = read_list(DiagnosisIn, call.input.get("diseinfo", []), "diseinfo", min_items=0)
    info = {**d.model_dump(mode="json"), "diseinfo": [x.model_dump(mode="json") for x in diseases]}
    a = care.Admission(
        call.institution,
        d.psn_no,
        d.insutype,
        d.med_type,
        d.begntime,
        d.mdtrt_cert_type,
        d.mdtrt_cert_no,
        d.ipt_no,
        info,
    )
    return {"result": {"mdtrt_id": care.admit(p, a, tx=tx), "psn_no": d.psn_no, "ipt_no": d.ipt_no}}


@transaction("2402", "出院办理")
def discharge(p: Platform, call: Call, tx) -> dict:
    d = read(DischargeIn, call.node("dscginfo"), "dscginfo")
    diseases = read_list(DiagnosisIn, call.input.get("diseinfo", []), "diseinfo", min_items=0)
    info = {**d.model_dump(mode="json"), "diseinfo": [x.model_dump(mode="json") for x in diseases]}
    care.discharge(p, call.institution, d.mdtrt_id, d.psn_no, d.endtime, info, tx=tx)
    return {}


@transaction("2301", "住院费用明细信息上传")
def upload(p: Platform, call: Call, tx) -> dict:
    lines = read_list(FeeLineIn, call.node("feedetail"), "feedetail")
    mdtrt_id, psn_no = one_visit(lines)
    splits = care.upload_fees(p, call.institution, mdtrt_id, psn_no, fee_inputs(lines), tx=tx)
    return {"result": [line_split(s) for s in splits]}


@transaction("2302", "住院费用明细撤销")
def remove(p: Platform, call: Call, tx) -> dict:
    d = read(RemoveInpatientFeesIn, call.node("data"), "data")
    care.remove_inpatient_fees(p, call.institution, d.mdtrt_id, d.psn_no, d.feedetl_sn, tx=tx)
    return {}


def _request(call: Call, d: InpatientSettleIn, *, check_password: bool) -> SettleRequest:
    return settle_request(
        call, d, check_password=check_password, med_type="", mdtrt_id=d.mdtrt_id, mid_setl=d.mid_setl_flag == "1"
    )


@transaction("2303", "住院预结算", writes=False)
def pre_settle(p: Platform, call: Call, tx) -> dict:
    d = read(InpatientSettleIn, call.node("data"), "data")
    return settlement_output(settle_claim(p, _request(call, d, check_password=False), dry_run=True, tx=tx))


@transaction("2304", "住院结算")
def settle(p: Platform, call: Call, tx) -> dict:
    d = read(InpatientSettleIn, call.node("data"), "data")
    return settlement_output(settle_claim(p, _request(call, d, check_password=True), tx=tx))


@transaction("2305", "住院结算撤销")
def cancel(p: Platform, call: Call, tx) -> dict:
    return cancel_answer(p, call, tx, read(InpatientCancelIn, call.node("data"), "data"))
