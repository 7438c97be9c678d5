"""A region's population and a period of its settlements, read for the simulator's export.

Read-only: people with the insurance in force at the period start, their two balances as they stood
then (from the ledger's movements), the mutual-aid grants active at its start (or made during it)
in binding order, and every settlement made in the period that still stands.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime

from yibao.family.model import relation_between
from yibao.ledger.model import person_bucket
from yibao.services.platform import Platform
from yibao.settlement.explain import OFFSITE_NAMES
from yibao.settlement.record import from_record
from yibao.storage.uow import Tx

PAGE = 500


@dataclass(frozen=True)
class PersonRow:
    person_id: int
    birth: date
    gender: str
    insutype: str
    psn_type: str
    insured_since: date
    current: int
    historical: int


@dataclass(frozen=True)
class GrantRow:
    payer_id: int
    beneficiary_id: int
    relation: str
    position: int


@dataclass(frozen=True)
class ClaimRow:
    claim_id: int
    person_id: int
    time: datetime
    med_type: str
    hospital_level: int
    acct_used: bool
    offsite: str
    ownpay: int
    overlimit: int
    preselfpay: int
    inscp: int


def population(
    platform: Platform, start: datetime, end: datetime
) -> tuple[list[PersonRow], list[GrantRow], list[ClaimRow]]:
    people, grants, claims = [], [], []
    with platform.store.uow(read_only=True) as tx:
        offset = 0
        while True:
            page = tx.people.search(None, limit=PAGE, offset=offset)
            if not page:
                break
            offset += len(page)
            insurances = tx.people.insurances_of([x.id for x in page])
            for person in page:
                ins = next((i for i in reversed(insurances[person.id]) if i.covers(start.date())), None)
                if ins is None:
                    continue
                cur, hist = _balances_at(tx, person.psn_no, start)
                people.append(
                    PersonRow(person.id, person.birth, person.gender, ins.insutype, ins.psn_type, ins.begin, cur, hist)
                )
                relations = tx.family.relations_of([person.id])
                active = {g.payer_id: g for g in tx.family.grants_for(person.id, active_at=end)}
                active.update({g.payer_id: g for g in tx.family.grants_for(person.id, active_at=start)})
                for g in sorted(active.values(), key=lambda g: (g.position, g.id)):
                    relation = relation_between(relations, g.payer_id, person.id)
                    if relation is not None:
                        grants.append(GrantRow(g.payer_id, person.id, relation, g.position))
                claims += _claims(tx, person.id, start, end)
    return people, grants, claims


def _balances_at(tx: Tx, psn_no: str, at: datetime) -> tuple[int, int]:
    codes = {person_bucket(psn_no, "current"): 0, person_bucket(psn_no, "historical"): 1}
    out = [0, 0]
    for m in tx.ledger.movements(list(codes)):
        if m.posted_at >= at:
            break
        if m.credit in codes:
            out[codes[m.credit]] += m.amount
        if m.debit in codes:
            out[codes[m.debit]] -= m.amount
    return out[0], out[1]


def _claims(tx: Tx, person_id: int, start: datetime, end: datetime) -> list[ClaimRow]:
    rows = tx.care.search_settlements(person_id=person_id, since=start, until=end, limit=100_000)
    out = []
    for row in rows:
        if row.status != "settled" or row.mid_setl:
            continue
        result = from_record(json.loads(row.output))
        text = row.explanation or ""
        offsite = next((k for k, name in OFFSITE_NAMES.items() if name in text), "")
        inst = tx.care.institution(row.institution_code)
        out.append(
            ClaimRow(
                row.id,
                person_id,
                row.setl_time,
                row.med_type,
                inst.level if inst else 0,
                "个人账户使用标志为0" not in text,  # the explanation the calculation wrote says so
                offsite,
                result.ownpay,
                result.overlimit,
                result.preselfpay,
                result.in_scope,
            )
        )
    return out
