"""Visits and fee details: registration (2201/2202), visit information (2203), fee upload (2204/2205)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from yibao.care.ids import parse_visit_id, visit_public_id
from yibao.care.model import Institution, Visit
from yibao.errors import refuse
from yibao.lifecycle.model import Insurance, Person
from yibao.services.identity import credential_holder
from yibao.services.platform import Platform
from yibao.settlement.calculate import UnknownMedType, category_of, med_type_categories
from yibao.settlement.claim_rules import (
    REGISTRATION,
    check_fee_time,
    check_line_count,
    check_lines,
    check_not_future,
    check_start,
)
from yibao.settlement.lines import split_line
from yibao.settlement.model import FeeLine, LineSplit
from yibao.storage.uow import Tx


@dataclass(frozen=True)
class FeeInput:
    """One uploaded fee line, parsed (amount in fen, price and count exact)."""

    sn: str
    code: str
    amount: int
    price: Decimal
    count: Decimal
    medins_code: str | None = None
    chrg_bchno: str | None = None
    fee_ocur_time: datetime | None = None
    init_sn: str | None = None
    audit: dict | None = None  # what else the HIS sent for the line, kept (AUDIT_COLUMNS + "info", "trace")


AUDIT_COLUMNS = (
    "rxno",
    "rx_circ_flag",
    "bilg_dept_codg",
    "bilg_dept_name",
    "bilg_dr_codg",
    "bilg_dr_name",
    "hosp_appr_flag",
)


def audit_columns(f: FeeInput) -> dict:
    """The fee line's audit columns (every key present, so rows insert together)."""
    a = f.audit or {}
    cols = {k: a.get(k) for k in AUDIT_COLUMNS}
    cols["info"] = json.dumps(a["info"], ensure_ascii=False, default=str) if a.get("info") else None
    return cols


# A fee line row's columns (national names) copied as they are from the FeeInput's fields.
_LINE_COLUMNS = {
    "feedetl_sn": "sn",
    "chrg_bchno": "chrg_bchno",
    "med_list_codg": "code",
    "medins_list_codg": "medins_code",
    "amount": "amount",
    "init_feedetl_sn": "init_sn",
}


def line_columns(f: FeeInput, visit_id: int, now: datetime) -> dict:
    """A fee line's row as the institution sent it (2204/2301, a pharmacy purchase's inline lines),
    stamped with the upload time; a line without its own time takes that one."""
    return dict(
        {column: getattr(f, name) for column, name in _LINE_COLUMNS.items()},
        visit_id=visit_id,
        price=str(f.price),
        count=str(f.count),
        fee_ocur_time=f.fee_ocur_time or now,
        uploaded_at=now,
        **audit_columns(f),
    )


def trace_rows(inputs) -> list[dict]:
    """Drug traceability codes (2102 ``durg_trac_info``) of the lines, one row per code."""
    return [
        {"feedetl_sn": f.sn, "drug_trac_codg": t["drug_trac_codg"], "trdn_flag": t.get("trdn_flag")}
        for f in inputs
        for t in (f.audit or {}).get("trace") or ()
        if t.get("drug_trac_codg")
    ]


def two_people(tx: Tx, first: str, second: str, same: str) -> tuple[Person, Person]:
    """Two different people by 人员编号 (``same``: the refusal when they are one person)."""
    a, b = person_or_refuse(tx, first), person_or_refuse(tx, second)
    if a.id == b.id:
        raise refuse(same)
    return a, b


def institution_or_refuse(tx: Tx, code: str) -> Institution:
    inst = tx.care.institution(code)
    if inst is None or not inst.active:
        raise refuse("E0000-004", code=code)
    return inst


def person_or_refuse(tx: Tx, psn_no: str, *, lock: bool = False) -> Person:
    person = tx.people.by_psn_no(psn_no, lock=lock) if psn_no else None
    if person is None:
        raise refuse("E1101-001", ref=f"人员编号{psn_no}")
    return person


def insurance_on(tx: Tx, person: Person, insutype: str, day) -> Insurance:
    """The person's insurance of that type covering ``day``, or a refusal."""
    insurances = tx.people.insurances(person.id)
    for ins in reversed(insurances):
        if ins.insutype == insutype and ins.covers(day):
            return ins
    kinds = ", ".join(f"{i.insutype}({i.begin}–{i.end or '至今'})" for i in insurances) or "无"
    if any(i.insutype == insutype for i in insurances):
        raise refuse("E1101-005", detail=f"{day} 不在险种{insutype}的参保期内（参保记录：{kinds}）")
    raise refuse("E2201-005", insutype=insutype)


def check_credential(tx: Tx, now, person: Person, cert_type: str | None, cert_no: str | None) -> None:
    """The 就诊凭证 presented must be valid and belong to the patient named by ``psn_no``."""
    if not cert_type or not cert_no:
        return
    if cert_type == "02" and cert_no == person.certno:
        return  # the patient's own ID number: nothing to look up
    if credential_holder(tx, now, cert_type, cert_no) != person.id:
        raise refuse("E1101-006")


def visit_or_refuse(tx: Tx, mdtrt_id: str, institution: Institution, person: Person, *, lock=False) -> Visit:
    """The visit a ``mdtrt_id`` names, which must belong to this institution and this patient."""
    pk = parse_visit_id(mdtrt_id)
    visit = tx.care.visit(pk, lock=lock) if pk is not None else None
    if visit is None:
        raise refuse("E2201-001", mdtrt_id=mdtrt_id)
    if (
        visit.institution_code != institution.code
        or visit.person_id != person.id
        or visit_public_id(person.admdvs, visit.id) != mdtrt_id
    ):
        raise refuse("E2201-004", mdtrt_id=mdtrt_id)
    return visit


def locked_visit(tx: Tx, institution: str, mdtrt_id: str, psn_no: str) -> tuple[Person, Visit]:
    """The patient and their visit at the institution (locked), or the refusal."""
    inst = institution_or_refuse(tx, institution)
    person = person_or_refuse(tx, psn_no)
    return person, visit_or_refuse(tx, mdtrt_id, inst, person, lock=True)


def has_settlement(tx: Tx, visit: Visit) -> bool:
    """Whether anything of the visit stands settled."""
    return any(s.status == "settled" for s in tx.care.settlements_of_visit(visit.id))


def _cancel_unsettled(tx: Tx, visit: Visit, mdtrt_id: str, now: datetime) -> None:
    """A visit of which nothing is settled is cancelled, its unsettled lines with it (2202, 冲正 of 2401)."""
    if has_settlement(tx, visit):
        raise refuse("E2201-003", mdtrt_id=mdtrt_id)
    tx.care.delete_lines([line.id for line in tx.care.lines(visit.id, unsettled=True)])
    tx.care.update_visit(visit.id, status="cancelled", endtime=now)


def mdtrt_id_of(visit: Visit, person: Person) -> str:
    return visit_public_id(person.admdvs, visit.id)


# 2201 / 2202 ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Registration:
    institution: str
    psn_no: str
    insutype: str
    begntime: datetime
    cert_type: str | None
    cert_no: str | None
    ipt_otp_no: str | None
    info: dict


def register_visit(
    platform: Platform,
    reg: Registration,
    *,
    kind: str = "outpatient",
    med_type: str | None = None,
    tx: Tx | None = None,
) -> str:
    now = platform.now()
    with platform.unit(tx) as tx:
        inst = institution_or_refuse(tx, reg.institution)
        person = person_or_refuse(tx, reg.psn_no)
        check_credential(tx, now, person, reg.cert_type, reg.cert_no)
        policy = platform.policy(tx, person.admdvs)
        check_start(policy, kind, reg.begntime, now, stage=REGISTRATION, field="就诊开始时间 begntime")
        insurance_on(tx, person, reg.insutype, reg.begntime.date())
        opened = (kind, reg.insutype, med_type, reg.begntime, reg.ipt_otp_no, reg.cert_type)
        pk = _open_visit(tx, person, inst, opened, {"registration": reg.info}, now)
        return visit_public_id(person.admdvs, pk)


# What opens a visit, in the order callers give it: the visit row's own columns.
_OPENED = ("kind", "insutype", "med_type", "begntime", "ipt_otp_no", "mdtrt_cert_type")


def _open_visit(tx: Tx, person: Person, inst: Institution, opened: tuple, info: dict, now: datetime) -> int:
    """A new open visit: its _OPENED columns, and what the HIS sent."""
    return tx.care.add_visit(
        **dict(zip(_OPENED, opened, strict=True)),
        person_id=person.id,
        institution_code=inst.code,
        status="open",
        info=json.dumps(info, ensure_ascii=False, default=str),
        created_at=now,
    )


def cancel_registration(
    platform: Platform,
    institution: str,
    mdtrt_id: str,
    psn_no: str,
    *,
    ipt_otp_no: str | None = None,
    tx: Tx | None = None,
) -> None:
    with platform.unit(tx) as tx:
        _, visit = locked_visit(tx, institution, mdtrt_id, psn_no)
        if ipt_otp_no and visit.ipt_otp_no and ipt_otp_no != visit.ipt_otp_no:
            raise refuse("E0000-011", detail=f"data.ipt_otp_no（门诊号）为 {ipt_otp_no}，挂号时为 {visit.ipt_otp_no}")
        if visit.status == "cancelled":
            raise refuse("E2201-002", mdtrt_id=mdtrt_id)
        _cancel_unsettled(tx, visit, mdtrt_id, platform.now())


# 2203 -------------------------------------------------------------------------------------------


def record_visit_info(
    platform: Platform,
    institution: str,
    mdtrt_id: str,
    psn_no: str,
    med_type: str | None,
    mdtrtinfo: dict,
    diseinfo: list,
    *,
    diagnoses: list[dict] | None = None,
    tx: Tx | None = None,
) -> None:
    with platform.unit(tx) as tx:
        person, visit = locked_visit(tx, institution, mdtrt_id, psn_no)
        if visit.status == "cancelled":
            raise refuse("E2201-002", mdtrt_id=mdtrt_id)
        if med_type is not None:
            policy = platform.policy(tx, person.admdvs)
            mapping = med_type_categories(policy, visit.begntime.date())
            if med_type not in mapping:
                raise refuse("E2207-005", med_type=med_type)
        info = json.loads(visit.info or "{}")
        info["mdtrtinfo"], info["diseinfo"] = mdtrtinfo, diseinfo
        tx.care.update_visit(
            visit.id, med_type=med_type or visit.med_type, info=json.dumps(info, ensure_ascii=False, default=str)
        )
        tx.care.replace_diagnoses(visit.id, "2203", diagnoses or [], platform.now())


# 2204 / 2205 ------------------------------------------------------------------------------------


def fee_lines_from_catalog(tx: Tx, inputs: list[FeeInput]) -> list[FeeLine]:
    """Attach each line's catalogue item; refuse unknown codes, zero counts and amounts that do not
    match price × count (per line and over the batch or claim: ``claim_rules.check_lines``)."""
    catalog = tx.care.catalog([f.code for f in inputs])
    out = []
    for f in inputs:
        item = catalog.get(f.code)
        if item is None:
            raise refuse("E2204-001", code=f.code)
        out.append(FeeLine(f.sn, item, f.amount, f.price, f.count))
    check_lines(out)
    return out


def visit_category(policy, visit: Visit) -> str:
    """The benefit category a visit will settle in, as far as it is known before its settlement."""
    if visit.kind in ("inpatient", "pharmacy"):
        return visit.kind
    try:
        return category_of(policy, visit.begntime.date(), visit.med_type or "")
    except UnknownMedType:
        return "outpatient"


def upload_fees(
    platform: Platform,
    institution: str,
    mdtrt_id: str,
    psn_no: str,
    inputs: list[FeeInput],
    *,
    med_type: str | None = None,
    tx: Tx | None = None,
) -> list[LineSplit]:
    """2204 / 2301. An inpatient refund is a line with a negative count naming ``init_feedetl_sn``.

    A line without ``fee_ocur_time`` is stamped with the upload time; one that has it must fall
    between the visit's first day and the upload day (``claim_rules.check_fee_time``). ``med_type``
    (2301), when sent, must be the admission's."""
    if not inputs:
        raise refuse("E2204-005")
    now = platform.now()
    with platform.unit(tx) as tx:
        person, visit = locked_visit(tx, institution, mdtrt_id, psn_no)
        if visit.status == "cancelled" or (visit.kind == "outpatient" and visit.status != "open"):
            raise refuse("E2201-002", mdtrt_id=mdtrt_id)
        if med_type and visit.med_type and med_type != visit.med_type:
            raise refuse(
                "E0000-011", detail=f"feedetail.med_type（医疗类别）为 {med_type}，入院登记为 {visit.med_type}"
            )
        sns = [f.sn for f in inputs]
        if len(set(sns)) != len(sns):
            raise refuse("E2204-002", feedetl_sn=next(s for s in sns if sns.count(s) > 1))
        taken = tx.care.existing_sns(visit.id, sns)
        if taken:
            raise refuse("E2204-002", feedetl_sn=sorted(taken)[0])
        for f in inputs:
            check_fee_time(visit.begntime, f.fee_ocur_time, now, f.sn)
        policy = platform.policy(tx, person.admdvs)
        pending = len(tx.care.lines(visit.id, unsettled=True)) + len(inputs)
        check_line_count(policy, visit_category(policy, visit), pending, now.date())
        lines = fee_lines_from_catalog(tx, inputs)
        _check_refunds(tx, visit, inputs)
        tx.care.add_lines([line_columns(f, visit.id, now) for f in inputs])
    return [split_line(line) for line in lines]


def _check_refunds(tx: Tx, visit: Visit, inputs: list[FeeInput]) -> None:
    """A refund names a line of this stay with the same item and returns no more than is left of it."""
    refunds = [f for f in inputs if f.amount < 0 or f.count < 0]
    if not refunds:
        return
    if visit.kind != "inpatient":
        raise refuse("E0000-008", detail="只有住院费用明细可以上传退费（负数）明细")
    existing = {line.feedetl_sn: line for line in tx.care.lines(visit.id)}
    batch = {f.sn: f for f in inputs}
    left: dict[str, int] = {}
    for line in existing.values():
        if line.init_feedetl_sn:
            left[line.init_feedetl_sn] = left.get(line.init_feedetl_sn, 0) + line.amount
        else:
            left[line.feedetl_sn] = left.get(line.feedetl_sn, 0) + line.amount
    for f in inputs:
        if f.amount > 0 and f.sn not in left:
            left[f.sn] = f.amount
    for f in refunds:
        original = existing.get(f.init_sn or "") or batch.get(f.init_sn or "")
        if not f.init_sn or original is None or f.amount > 0 or f.count > 0:
            raise refuse("E2204-006", feedetl_sn=f.init_sn or f.sn)
        code = original.med_list_codg if hasattr(original, "med_list_codg") else original.code
        if code != f.code:
            raise refuse("E2204-006", feedetl_sn=f.init_sn)
        left[f.init_sn] = left.get(f.init_sn, 0) + f.amount
        if left[f.init_sn] < 0:
            raise refuse("E2204-007", feedetl_sn=f.init_sn)


def remove_fees(
    platform: Platform, institution: str, mdtrt_id: str, psn_no: str, chrg_bchno: str, *, tx: Tx | None = None
) -> int:
    """2205: delete unsettled lines of a batch; ``"0000"`` removes every unsettled line of the visit."""
    with platform.unit(tx) as tx:
        _, visit = locked_visit(tx, institution, mdtrt_id, psn_no)
        batch = None if chrg_bchno == "0000" else chrg_bchno
        lines = tx.care.lines(visit.id, chrg_bchno=batch, unsettled=True)
        if not lines:
            raise refuse("E2204-004", detail=f"就诊{mdtrt_id} 收费批次{chrg_bchno}")
        tx.care.delete_lines([line.id for line in lines])
        return len(lines)


def admission(tx: Tx, institution: str, mdtrt_id: str, psn_no: str) -> Visit:
    """The patient's inpatient visit at the institution (locked), or the refusal."""
    _, visit = locked_visit(tx, institution, mdtrt_id, psn_no)
    if visit.kind != "inpatient":
        raise refuse("E2201-007", detail=f"就诊{mdtrt_id}不是住院")
    return visit


def remove_inpatient_fees(
    platform: Platform, institution: str, mdtrt_id: str, psn_no: str, feedetl_sn: str, *, tx: Tx | None = None
) -> int:
    """2302: delete one unsettled line (and its refunds), or every unsettled line with ``"0000"``."""
    with platform.unit(tx) as tx:
        visit = admission(tx, institution, mdtrt_id, psn_no)
        unsettled = tx.care.lines(visit.id, unsettled=True)
        if feedetl_sn != "0000":
            unsettled = [x for x in unsettled if feedetl_sn in (x.feedetl_sn, x.init_feedetl_sn)]
        if not unsettled:
            raise refuse("E2204-004", detail=f"就诊{mdtrt_id} 明细流水号{feedetl_sn}")
        tx.care.delete_lines([line.id for line in unsettled])
        return len(unsettled)


# 2401 / 2402 / 冲正 of 2401 -------------------------------------------------------------------------


@dataclass(frozen=True)
class Admission:
    institution: str
    psn_no: str
    insutype: str
    med_type: str
    begntime: datetime
    cert_type: str | None
    cert_no: str | None
    ipt_no: str | None
    info: dict
    diagnoses: tuple[dict, ...] = ()


def admit(platform: Platform, a: Admission, *, tx: Tx | None = None) -> str:
    """入院办理: an inpatient visit, open until 出院办理."""
    now = platform.now()
    with platform.unit(tx) as tx:
        inst = institution_or_refuse(tx, a.institution)
        if inst.kind != "hospital":
            raise refuse("E2201-007", detail="药店不能办理入院")
        person = person_or_refuse(tx, a.psn_no)
        check_credential(tx, now, person, a.cert_type, a.cert_no)
        policy = platform.policy(tx, person.admdvs)
        check_start(policy, "inpatient", a.begntime, now, stage=REGISTRATION, field="入院时间 begntime")
        insurance_on(tx, person, a.insutype, a.begntime.date())
        category = med_type_categories(policy, a.begntime.date()).get(a.med_type)
        if category != "inpatient":
            raise refuse("E2207-005", med_type=a.med_type)
        opened = ("inpatient", a.insutype, a.med_type, a.begntime, a.ipt_no, a.cert_type)
        pk = _open_visit(tx, person, inst, opened, {"admission": a.info}, now)
        tx.care.replace_diagnoses(pk, "2401", list(a.diagnoses), now)
        return visit_public_id(person.admdvs, pk)


def discharge(
    platform: Platform,
    institution: str,
    mdtrt_id: str,
    psn_no: str,
    endtime: datetime,
    info: dict,
    *,
    diagnoses: list[dict] | None = None,
    tx: Tx | None = None,
):
    """出院办理: the stay ends; the final settlement may follow."""
    with platform.unit(tx) as tx:
        visit = admission(tx, institution, mdtrt_id, psn_no)
        if visit.status != "open":
            raise refuse("E2201-002", mdtrt_id=mdtrt_id)
        if endtime < visit.begntime:
            raise refuse("E0000-008", detail="dscginfo.endtime：出院时间早于入院时间")
        check_not_future(endtime, platform.now(), field="出院时间 endtime")
        stored = json.loads(visit.info or "{}")
        stored["discharge"] = info
        tx.care.update_visit(
            visit.id, status="discharged", endtime=endtime, info=json.dumps(stored, ensure_ascii=False, default=str)
        )
        tx.care.replace_diagnoses(visit.id, "2402", diagnoses or [], platform.now())


def withdraw_admission(
    platform: Platform, institution: str, mdtrt_id: str, psn_no: str, *, tx: Tx | None = None
) -> None:
    """冲正 of 2401: the admission is withdrawn if nothing of it has been settled."""
    with platform.unit(tx) as tx:
        _, visit = locked_visit(tx, institution, mdtrt_id, psn_no)
        _cancel_unsettled(tx, visit, mdtrt_id, platform.now())
