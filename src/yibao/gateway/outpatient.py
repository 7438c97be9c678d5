"""【2201】–【2208】门诊: registration, visit information, fee details, (pre-)settlement, cancellation."""

from __future__ import annotations

from yibao.errors import refuse
from yibao.gateway.common import cancel_answer, settle_request
from yibao.gateway.dispatcher import Call, transaction
from yibao.gateway.inputs import (
    CancelIn,
    DiagnosisIn,
    FeeLineIn,
    OutpatientSettleIn,
    RegisterIn,
    RemoveFeesIn,
    UnregisterIn,
    VisitInfoIn,
    read,
    read_list,
)
from yibao.gateway.output import line_split, settlement_output
from yibao.services import care
from yibao.services.platform import Platform
from yibao.services.settle import SettleRequest, settle_claim


@transaction("2201", "门诊挂号")
def register(p: Platform, call: Call, tx) -> dict:
    d = read(RegisterIn, call.node("data"), "data")
    reg = care.Registration(
        call.institution,
        d.psn_no,
        d.insutype,
        d.begntime,
        d.mdtrt_cert_type,
        d.mdtrt_cert_no,
        d.ipt_otp_no,
        d.model_dump(mode="json"),
    )
    mdtrt_id = care.register_visit(p, reg, tx=tx)
    return {"data": {"mdtrt_id": mdtrt_id, "psn_no": d.psn_no, "ipt_otp_no": d.ipt_otp_no, "exp_content": ""}}


@transaction("2202", "门诊挂号撤销")
def unregister(p: Platform, call: Call, tx) -> dict:
    d = read(UnregisterIn, call.node("data"), "data")
    care.cancel_registration(p, call.institution, d.mdtrt_id, d.psn_no, tx=tx)
    return {}


@transaction("2203", "门诊就诊信息上传")
def visit_info(p: Platform, call: Call, tx) -> dict:
    info = read(VisitInfoIn, call.node("mdtrtinfo"), "mdtrtinfo")
    diseases = read_list(DiagnosisIn, call.input.get("diseinfo", []), "diseinfo", min_items=0)
    care.record_visit_info(
        p,
        call.institution,
        info.mdtrt_id,
        info.psn_no,
        info.med_type,
        info.model_dump(mode="json"),
        [x.model_dump(mode="json") for x in diseases],
        tx=tx,
    )
    return {}


def fee_inputs(lines: list[FeeLineIn]) -> list[care.FeeInput]:
    return [
        care.FeeInput(
            x.feedetl_sn,
            x.med_list_codg,
            x.det_item_fee_sumamt,
            x.pric,
            x.cnt,
            x.medins_list_codg,
            x.chrg_bchno,
            x.fee_ocur_time,
            x.init_feedetl_sn,
        )
        for x in lines
    ]


def one_visit(lines: list[FeeLineIn]) -> tuple[str, str]:
    pairs = {(x.mdtrt_id, x.psn_no) for x in lines}
    if len(pairs) != 1:
        raise refuse("E0000-008", detail="feedetail：一次上传的明细须属于同一就诊和同一人员")
    return pairs.pop()


@transaction("2204", "门诊费用明细信息上传")
def upload(p: Platform, call: Call, tx) -> dict:
    lines = read_list(FeeLineIn, call.node("feedetail"), "feedetail")
    mdtrt_id, psn_no = one_visit(lines)
    if any(x.cnt < 0 or x.det_item_fee_sumamt < 0 for x in lines):
        raise refuse("E0000-008", detail="feedetail：门诊明细的数量和金额不能为负数")
    splits = care.upload_fees(p, call.institution, mdtrt_id, psn_no, fee_inputs(lines), tx=tx)
    return {"result": [line_split(s) for s in splits]}


@transaction("2205", "门诊费用明细信息撤销")
def remove(p: Platform, call: Call, tx) -> dict:
    d = read(RemoveFeesIn, call.node("data"), "data")
    care.remove_fees(p, call.institution, d.mdtrt_id, d.psn_no, d.chrg_bchno, tx=tx)
    return {}


def _request(call: Call, d: OutpatientSettleIn, *, check_password: bool) -> SettleRequest:
    return settle_request(
        call, d, check_password=check_password, med_type=d.med_type, mdtrt_id=d.mdtrt_id, chrg_bchno=d.chrg_bchno
    )


@transaction("2206", "门诊预结算", writes=False)
def pre_settle(p: Platform, call: Call, tx) -> dict:
    d = read(OutpatientSettleIn, call.node("data"), "data")
    return settlement_output(settle_claim(p, _request(call, d, check_password=False), dry_run=True, tx=tx))


@transaction("2207", "门诊结算")
def settle(p: Platform, call: Call, tx) -> dict:
    d = read(OutpatientSettleIn, call.node("data"), "data")
    return settlement_output(settle_claim(p, _request(call, d, check_password=True), tx=tx))


@transaction("2208", "门诊结算撤销")
def cancel(p: Platform, call: Call, tx) -> dict:
    return cancel_answer(p, call, tx, read(CancelIn, call.node("data"), "data"))
