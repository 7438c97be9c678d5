"""【2401】【2402】入出院, 【2301】【2302】住院费用明细, 【2303】–【2305】住院结算 (with 中途结算)."""

from __future__ import annotations

from yibao.gateway.common import (
    REGIONS,
    cancel_answer,
    check_person,
    diagnosis_rows,
    fee_input,
    password_ahead,
    person_fields,
    settle_request,
)
from yibao.gateway.outpatient import one_visit
from yibao.gateway.registry import Call, transaction
from yibao.nhsa.output import line_split, settlement_output
from yibao.nhsa.reader import Row, check_same
from yibao.services import care
from yibao.services.platform import Platform
from yibao.services.settle import DECLARED, SettleRequest, settle_claim


def _same_patient(rows: list[Row], **ours: str) -> None:
    """Diagnosis rows repeat the visit's ``psn_no``/``mdtrt_id``: filled when absent, checked when sent."""
    for r in rows:
        for name, value in ours.items():
            check_same(f"{r.where}.{name}", name, r.get(name), value)


@transaction(
    "2401",
    "入院办理",
    filled=(*person_fields("mdtrtinfo"), *(f"mdtrtinfo.{k}" for k in REGIONS), "diseinfo.psn_no"),
)
def admit(p: Platform, call: Call, tx) -> dict:
    d = call.read("mdtrtinfo")
    diseases = call.rows("diseinfo")
    check_person(p, call, tx, d, day=d.begntime.date())
    _same_patient(diseases, psn_no=d.psn_no)
    a = care.Admission(
        call.institution,
        d.psn_no,
        d.insutype,
        d.med_type,
        d.begntime,
        d.mdtrt_cert_type,
        d.mdtrt_cert_no,
        d.ipt_no,
        {**d.record(), "diseinfo": [x.record() for x in diseases]},
        tuple(diagnosis_rows(diseases)),
    )
    return {"result": {"mdtrt_id": care.admit(p, a, tx=tx), "psn_no": d.psn_no, "ipt_no": d.ipt_no}}


@transaction("2402", "出院办理", filled=("diseinfo.mdtrt_id", "diseinfo.psn_no"))
def discharge(p: Platform, call: Call, tx) -> dict:
    d = call.read("dscginfo")
    diseases = call.rows("diseinfo")
    _same_patient(diseases, psn_no=d.psn_no, mdtrt_id=d.mdtrt_id)
    info = {**d.record(), "diseinfo": [x.record() for x in diseases]}
    care.discharge(
        p, call.institution, d.mdtrt_id, d.psn_no, d.endtime, info, diagnoses=diagnosis_rows(diseases), tx=tx
    )
    return {}


@transaction(
    "2301",
    "住院费用明细上传",
    filled=("feedetail.fee_ocur_time", "feedetail.med_type"),
    signed=("det_item_fee_sumamt", "cnt"),
)
def upload(p: Platform, call: Call, tx) -> dict:
    lines = call.rows("feedetail", min_rows=1)
    mdtrt_id, psn_no = one_visit(lines)
    med_types = {x.med_type for x in lines if x.med_type}
    splits = care.upload_fees(
        p,
        call.institution,
        mdtrt_id,
        psn_no,
        [fee_input(x) for x in lines],
        med_type=med_types.pop() if len(med_types) == 1 else None,
        tx=tx,
    )
    return {"result": [line_split(s) for s in splits]}


@transaction("2302", "住院费用明细撤销")
def remove(p: Platform, call: Call, tx) -> dict:
    for d in call.rows("data", min_rows=1):
        care.remove_inpatient_fees(p, call.institution, d.mdtrt_id, d.psn_no, d.feedetl_sn, tx=tx)
    return {}


SETTLE_FILLED = (
    *person_fields("data"),
    *(f"data.{k}" for k in REGIONS),
    "data.psn_setlway",
    *(f"data.{k}" for k in DECLARED),
)


def _request(p: Platform, call: Call, tx, *, check_password: bool) -> SettleRequest:
    d = call.read("data")
    check_person(p, call, tx, d)
    return settle_request(
        call, d, check_password=check_password, med_type="", mdtrt_id=d.mdtrt_id, mid_setl=d.mid_setl_flag == "1"
    )


@transaction("2303", "住院预结算", writes=False, filled=SETTLE_FILLED)
def pre_settle(p: Platform, call: Call, tx) -> dict:
    return settlement_output(settle_claim(p, _request(p, call, tx, check_password=False), dry_run=True, tx=tx))


@transaction("2304", "住院结算", filled=SETTLE_FILLED, ahead=password_ahead)
def settle(p: Platform, call: Call, tx) -> dict:
    return settlement_output(settle_claim(p, _request(p, call, tx, check_password=True), tx=tx))


@transaction("2305", "住院结算撤销")
def cancel(p: Platform, call: Call, tx) -> dict:
    return cancel_answer(p, call, tx, call.read("data"))
