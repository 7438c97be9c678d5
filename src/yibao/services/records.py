"""What an institution may read back (5102, 5201–5205, 5303, 2407, 4103, 4104/3607): staff, visits,
diagnoses, settlements, fee lines, chronic medication, in-patients, special attributes, settlement
lists and their quality-control findings.

Each function does the reads of one query transaction, refusals included, inside the gateway's
read-only unit of work, and returns core values; the gateway shapes the national answer from them.
Scope: an institution sees its own visits, settlements, lines and diagnoses (an unknown or another
institution's id is "not found"); chronic medication is shown from every institution; whether a
named person is in hospital is answered for any institution.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from yibao.care.model import Institution, SettlementList, SettlementView, StoredLine, Visit
from yibao.errors import refuse
from yibao.lifecycle.model import Insurance, Person
from yibao.services.care import institution_or_refuse, person_or_refuse, visit_or_refuse
from yibao.services.lists import Owned, list_of, own_settlement, quality_results
from yibao.services.settle import view_of
from yibao.settlement.model import CatalogItem
from yibao.storage.uow import Tx


def day_range(begin: date | datetime, end: date | datetime) -> tuple[datetime, datetime]:
    """[begin, end] as times: a day begins at 00:00 and ends at its last instant; refused if reversed."""
    start = begin if isinstance(begin, datetime) else datetime.combine(begin, time.min)
    stop = end if isinstance(end, datetime) else datetime.combine(end, time.max)
    if stop < start:
        raise refuse("E5201-001", detail=f"结束时间{end}早于开始时间{begin}")
    return start, stop


def practitioners(tx: Tx, asking: str) -> list[tuple[str, str, datetime]]:
    """5102: the doctors the institution's own fee lines and diagnoses name, (code, name, first seen)."""
    institution_or_refuse(tx, asking)
    return tx.records.practitioners(asking)


@dataclass(frozen=True)
class VisitRecord:
    visit: Visit
    med_type: str | None  # the visit's, else its first settlement's
    insurance: Insurance | None  # the person's insurance of the visit's type


def visits(tx: Tx, asking: str, psn_no: str, begin, end) -> tuple[Person, list[VisitRecord]]:
    """5201: the person's visits at this institution that began in [begin, end]."""
    institution_or_refuse(tx, asking)
    person = person_or_refuse(tx, psn_no)
    start, stop = day_range(begin, end)
    found = tx.records.visits_of(person.id, institution=asking, since=start, until=stop)
    insurances = tx.people.insurances(person.id) if found else []
    out = []
    for v in found:
        med_type = v.med_type or next((s.med_type for s in tx.care.settlements_of_visit(v.id)), None)
        insurance = next((i for i in insurances if i.insutype == v.insutype), None)
        out.append(VisitRecord(v, med_type, insurance))
    return person, out


def diagnoses(tx: Tx, asking: str, psn_no: str, mdtrt_id: str) -> list[dict]:
    """5202: the diagnoses recorded for one of this institution's visits (2201/2401/2402/2403)."""
    inst = institution_or_refuse(tx, asking)
    person = person_or_refuse(tx, psn_no)
    visit = visit_or_refuse(tx, mdtrt_id, inst, person)
    return tx.care.diagnoses_of(visit.id)


@dataclass(frozen=True)
class SettlementRecord:
    owned: Owned
    view: SettlementView
    visit: Visit | None


def settlement(tx: Tx, asking: str, psn_no: str, setl_id: str, mdtrt_id: str | None) -> SettlementRecord:
    """5203: one of this institution's settlements for this patient, with its visit."""
    owned = own_settlement(tx, asking, psn_no, setl_id, mdtrt_id)
    view = view_of(tx, owned.row)
    return SettlementRecord(owned, view, tx.care.visit(owned.row.visit_id))


@dataclass(frozen=True)
class FeeRecord:
    owned: Owned
    view: SettlementView
    stored: dict[str, StoredLine]  # the settlement's fee lines as uploaded, by feedetl_sn
    audit: dict[str, dict]  # their audit columns (department, doctor, prescription), by feedetl_sn


def fee_lines(tx: Tx, asking: str, psn_no: str, setl_id: str, mdtrt_id: str | None) -> FeeRecord:
    """5204: the fee lines one of this institution's settlements paid, as uploaded and as split."""
    owned = own_settlement(tx, asking, psn_no, setl_id, mdtrt_id)
    view = view_of(tx, owned.row)
    stored = {x.feedetl_sn: x for x in tx.care.lines(owned.row.visit_id) if x.settlement_id == owned.row.id}
    audit = {a["feedetl_sn"]: a for a in tx.care.line_audit(owned.row.visit_id)}
    return FeeRecord(owned, view, stored, audit)


def chronic_medication(
    tx: Tx, asking: str, psn_no: str, begin: date, end: date | None
) -> tuple[Person, list[tuple[dict, Institution, CatalogItem | None]]]:
    """5205: the person's 门诊慢特病 fee lines at every institution from ``begin`` to ``end`` (days,
    both included; no end: to now), each with the institution that prescribed it and its catalogue
    item (None when no longer listed)."""
    institution_or_refuse(tx, asking)
    person = person_or_refuse(tx, psn_no)
    start = datetime.combine(begin, time.min)
    stop = datetime.combine(end + timedelta(days=1), time.min) if end else None
    rows = []
    for r in tx.records.chronic_lines(person.id, start, stop):
        inst = tx.care.institution(r["institution_code"])
        item = tx.care.catalog([r["med_list_codg"]]).get(r["med_list_codg"])
        rows.append((r, inst, item))
    return person, rows


def in_hospital(
    tx: Tx, asking: str, psn_no: str | None, begin, end
) -> tuple[Person | None, list[tuple[Visit, Person, Institution]]]:
    """5303: open stays admitted in [begin, end]: the named person's anywhere, else the asking
    hospital's own in-patients; each with its patient and hospital."""
    institution_or_refuse(tx, asking)
    start, stop = day_range(begin, end)
    person = person_or_refuse(tx, psn_no) if psn_no else None
    stays = tx.records.in_hospital(
        institution=None if person else asking,
        person_id=person.id if person else None,
        since=start,
        until=stop,
    )
    return person, [(v, person or tx.people.by_id(v.person_id), tx.care.institution(v.institution_code)) for v in stays]


def flags(
    tx: Tx, asking: str, mdtrt_id: str | None, psn_no: str | None, flag_type: str | None
) -> tuple[Institution, list[tuple[dict, Visit, Person]]]:
    """2407: the 就医特殊属性 this institution recorded (of one visit when ``mdtrt_id`` is given,
    which then needs ``psn_no``), each with its visit and patient."""
    inst = institution_or_refuse(tx, asking)
    visit_id = visit_or_refuse(tx, mdtrt_id, inst, person_or_refuse(tx, psn_no)).id if mdtrt_id else None
    rows = []
    for f in tx.records.flags(asking, visit_id=visit_id, flag_type=flag_type):
        visit = tx.care.visit(f["visit_id"])
        rows.append((f, visit, tx.people.by_id(visit.person_id)))
    return inst, rows


@dataclass(frozen=True)
class ListRecord:
    owned: Owned
    list: SettlementList
    institution: Institution
    visit: Visit | None


def settlement_list(tx: Tx, asking: str, psn_no: str, setl_id: str) -> ListRecord:
    """4103: the 结算清单 this institution uploaded for one of its settlements, with its visit."""
    owned, lst = list_of(tx, asking, psn_no, setl_id)
    row = owned.row
    return ListRecord(owned, lst, tx.care.institution(row.institution_code), tx.care.visit(row.visit_id))


def quality_findings(tx: Tx, asking: str, ym: str) -> tuple[Institution, list[tuple[SettlementList, Person]]]:
    """4104/3607: the institution's 结算清单 of the month ``ym`` (yyyyMM) with their quality-control
    findings, each with its patient."""
    inst = tx.care.institution(asking)
    return inst, [(lst, tx.people.by_id(lst.person_id)) for lst, _ in quality_results(tx, asking, ym)]
