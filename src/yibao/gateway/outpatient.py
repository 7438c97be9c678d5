"""【2201】–【2208】门诊: registration, visit information, fee details, (pre-)settlement, cancellation."""

from __future__ import annotations

from yibao.errors import refuse
from yibao.gateway.common import (
    cancel_answer,
    check_person,
    diagnosis_rows,
    fee_input,
    password_ahead,
    person_fields,
    settle_request,
)
from yibao.gateway.registry import Call, transaction
from yibao.nhsa.output import line_split, settlement_output
from yibao.nhsa.reader import Row
from yibao.services import care
from yibao.services.platform import Platform
from yibao.services.settle import DECLARED, SettleRequest, settle_claim


@transaction("2201", "门诊挂号", filled=person_fields("data"))
def register(p: Platform, call: Call, tx) -> dict:
    d = call.read("data")
    check_person(p, call, tx, d, day=d.begntime.date())
    reg = care.Registration(
        call.institution,
        d.psn_no,
        d.insutype,
        d.begntime,
        d.mdtrt_cert_type,
        d.mdtrt_cert_no,
        d.ipt_otp_no,
        d.record(),
    )
    mdtrt_id = care.register_visit(p, reg, tx=tx)
    return {"data": {"mdtrt_id": mdtrt_id, "psn_no": d.psn_no, "ipt_otp_no": d.ipt_otp_no}}


@transaction("2202", "门诊挂号撤销", filled=("data.ipt_otp_no",))
def unregister(p: Platform, call: Call, tx) -> dict:
    d = call.read("data")
    care.cancel_registration(p, call.institution, d.mdtrt_id, d.psn_no, ipt_otp_no=d.ipt_otp_no, tx=tx)
    return {}


@transaction("2203", "门诊就诊信息上传", filled=("mdtrtinfo.begntime",))
def visit_info(p: Platform, call: Call, tx) -> dict:
    info = call.read("mdtrtinfo")
    diseases = call.rows("diseinfo")
    care.record_visit_info(
        p,
        call.institution,
        info.mdtrt_id,
        info.psn_no,
        info.med_type,
        info.record(),
        [x.record() for x in diseases],
        diagnoses=diagnosis_rows(diseases),
        tx=tx,
    )
    return {}


def one_visit(lines: list[Row]) -> tuple[str, str]:
    pairs = {(x.mdtrt_id, x.psn_no) for x in lines}
    if len(pairs) != 1:
        raise refuse("E0000-008", detail="feedetail：一次上传的明细须属于同一就诊和同一人员")
    return pairs.pop()


@transaction("2204", "门诊费用明细信息上传", filled=("feedetail.fee_ocur_time",), signed=("det_item_fee_sumamt", "cnt"))
def upload(p: Platform, call: Call, tx) -> dict:
    lines = call.rows("feedetail", min_rows=1)
    mdtrt_id, psn_no = one_visit(lines)
    if any(x.cnt < 0 or x.det_item_fee_sumamt < 0 for x in lines):
        raise refuse("E0000-008", detail="feedetail：门诊明细的数量和金额不能为负数")
    splits = care.upload_fees(p, call.institution, mdtrt_id, psn_no, [fee_input(x) for x in lines], tx=tx)
    return {"result": [line_split(s) for s in splits]}


@transaction("2205", "门诊费用明细信息撤销")
def remove(p: Platform, call: Call, tx) -> dict:
    d = call.read("data")
    care.remove_fees(p, call.institution, d.mdtrt_id, d.psn_no, d.chrg_bchno, tx=tx)
    return {}


SETTLE_FILLED = (*person_fields("data"), "data.psn_setlway", *(f"data.{k}" for k in DECLARED))


def _request(p: Platform, call: Call, tx, *, check_password: bool) -> SettleRequest:
    d = call.read("data")
    check_person(p, call, tx, d)
    return settle_request(
        call, d, check_password=check_password, med_type=d.med_type, mdtrt_id=d.mdtrt_id, chrg_bchno=d.chrg_bchno
    )


@transaction("2206", "门诊预结算", writes=False, filled=SETTLE_FILLED)
def pre_settle(p: Platform, call: Call, tx) -> dict:
    return settlement_output(settle_claim(p, _request(p, call, tx, check_password=False), dry_run=True, tx=tx))


@transaction("2207", "门诊结算", filled=SETTLE_FILLED, ahead=password_ahead)
def settle(p: Platform, call: Call, tx) -> dict:
    return settlement_output(settle_claim(p, _request(p, call, tx, check_password=True), tx=tx))


@transaction("2208", "门诊结算撤销", filled=("data.mdtrt_id",))
def cancel(p: Platform, call: Call, tx) -> dict:
    return cancel_answer(p, call, tx, call.read("data"))
