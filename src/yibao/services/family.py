"""Family jobs: declaring relations and granting, revoking and ordering mutual aid (家庭共济)."""

from __future__ import annotations

import json
from datetime import date, datetime

from yibao.errors import refuse
from yibao.family.model import RELATIONS, relation_between
from yibao.ledger.model import person_bucket
from yibao.lifecycle.model import EMPLOYEE, Person
from yibao.services.care import person_or_refuse, two_people
from yibao.services.platform import Platform
from yibao.settlement import mutual_aid
from yibao.settlement.explain import RELATION_NAMES
from yibao.storage.uow import Tx
from yibao.words import END_REASONS


def declare_relation(
    platform: Platform, of_psn: str, to_psn: str, relation: str, declared_by: str = "agency", *, tx: Tx | None = None
) -> None:
    """Record that ``of`` is ``to``'s <relation> (e.g. father is son's parent)."""
    if relation not in RELATIONS:
        raise refuse("E7101-010", detail=f"关系应为 {'/'.join(RELATIONS)} 之一：{relation!r}")
    now = platform.now()
    with platform.unit(tx) as tx:
        of, to = person_or_refuse(tx, of_psn), person_or_refuse(tx, to_psn)
        if of.id == to.id:
            raise refuse("E7101-010", detail="不能与本人建立亲属关系")
        existing = relation_between(tx.family.relations_of([of.id]), of.id, to.id)
        if existing is not None:
            raise refuse("E7101-010", detail=f"{of.name}与{to.name}已登记为{RELATION_NAMES[existing]}关系")
        tx.family.add_relation(of.id, to.id, relation, declared_by, now)


def _insured_on(tx: Tx, person: Person, day: date, insutype: str | None = None) -> bool:
    return any((insutype is None or i.insutype == insutype) and i.covers(day) for i in tx.people.insurances(person.id))


def authorize_mutual_aid(
    platform: Platform, payer_psn: str, beneficiary_psn: str, position: int | None = None, *, tx: Tx | None = None
) -> int:
    """The payer consents to pay for the beneficiary; returns the grant's place in the order."""
    now = platform.now()
    day = now.date()
    with platform.unit(tx) as tx:
        payer, beneficiary = two_people(tx, payer_psn, beneficiary_psn, "E7101-004")
        tx.people.lock(beneficiary.id)
        policy = platform.policy(tx, payer.admdvs)
        terms = mutual_aid.terms_on(policy, day)
        if not terms.enabled:
            raise refuse("E7101-008")
        relation = relation_between(tx.family.relations_of([payer.id]), payer.id, beneficiary.id)
        if relation is None:
            raise refuse("E7101-001", payer=payer.name, beneficiary=beneficiary.name)
        if not terms.allows(relation):
            raise refuse("E7101-002", date=day, relation=RELATION_NAMES[relation])
        has_account = tx.ledger.account(person_bucket(payer.psn_no, "current")) is not None
        if not mutual_aid.may_pay(_insured_on(tx, payer, day, EMPLOYEE), has_account):
            raise refuse("E7101-003")
        if not _insured_on(tx, beneficiary, day):
            raise refuse("E7101-009", who=beneficiary.name)
        active = tx.family.grants_for(beneficiary.id, active_at=now)
        if any(g.payer_id == payer.id for g in active):
            raise refuse("E7101-006")
        place = position if position is not None else max((g.position for g in active), default=0) + 1
        tx.family.add_grant(payer.id, beneficiary.id, place, now)
        return place


def revoke_mutual_aid(
    platform: Platform, payer_psn: str, beneficiary_psn: str, reason: str = "revoked", *, tx: Tx | None = None
) -> None:
    now = platform.now()
    with platform.unit(tx) as tx:
        payer, beneficiary = person_or_refuse(tx, payer_psn), person_or_refuse(tx, beneficiary_psn)
        tx.people.lock(beneficiary.id)
        grant = next((g for g in tx.family.grants_for(beneficiary.id, active_at=now) if g.payer_id == payer.id), None)
        if grant is None:
            raise refuse("E7101-005")
        tx.family.end_grant(grant, now, reason)


def set_mutual_aid_order(
    platform: Platform, beneficiary_psn: str, payer_psns: list[str], *, tx: Tx | None = None
) -> None:
    """The beneficiary's family sets the order payers are drawn in under ``binding_order``."""
    now = platform.now()
    with platform.unit(tx) as tx:
        beneficiary = person_or_refuse(tx, beneficiary_psn)
        tx.people.lock(beneficiary.id)
        payers = [person_or_refuse(tx, psn) for psn in payer_psns]
        active = {g.payer_id: g for g in tx.family.grants_for(beneficiary.id, active_at=now)}
        named = [x.id for x in payers]
        if len(set(named)) != len(named) or set(named) != set(active):
            have = "、".join(sorted(x.name for x in tx.people.many(list(active)).values())) or "无"
            raise refuse("E7101-007", detail=f"当前授权人：{have}")
        for place, pid in enumerate(named, start=1):
            tx.family.set_position(active[pid].id, place)
        tx.family.event(beneficiary.id, "reordered", now, detail={"order": payer_psns})


def grants_view(platform: Platform, psn_no: str, at: datetime | None = None, *, tx: Tx | None = None) -> dict:
    """Who pays for me (in order) and whom I pay for."""
    now = at or platform.now()
    with platform.unit(tx) as tx:
        person = person_or_refuse(tx, psn_no)
        mine = tx.family.grants_for(person.id, active_at=now)
        theirs = tx.family.grants_by(person.id, active_at=now)
        people = tx.people.many([g.payer_id for g in mine] + [g.beneficiary_id for g in theirs])
        return {
            "payers": [(people[g.payer_id], g.position) for g in mine],
            "beneficiaries": [people[g.beneficiary_id] for g in theirs],
        }


def grant_history(platform: Platform, psn_no: str, limit: int = 20, *, tx: Tx | None = None) -> list[dict]:
    """The person's mutual-aid record (as payer or beneficiary), newest first, each event a sentence
    that says who authorised whom: "张建国授权张伟使用其个人账户共济"."""
    with platform.unit(tx, read_only=True) as tx:
        person = person_or_refuse(tx, psn_no)
        events = tx.family.events_for(person.id)[-limit:]
        ids = {e["payer_id"] for e in events if e["payer_id"]} | {e["beneficiary_id"] for e in events}
        people = tx.people.many(sorted(ids))
        by_psn = {x.psn_no: x.name for x in people.values()}
        for e in events:
            if e["event"] == "reordered" and e["detail"]:
                order = json.loads(e["detail"]).get("order", [])
                by_psn.update({x.psn_no: x.name for x in (tx.people.by_psn_no(n) for n in order) if x})
    out = []
    for e in reversed(events):
        payer = people[e["payer_id"]].name if e["payer_id"] else ""
        beneficiary = people[e["beneficiary_id"]].name
        detail = json.loads(e["detail"]) if e["detail"] else {}
        if e["event"] == "granted":
            text = f"{payer}授权{beneficiary}使用其个人账户共济"
        elif e["event"] == "revoked":
            text = f"{payer}解除了对{beneficiary}的共济授权"
        elif e["event"] == "ended":
            why = END_REASONS.get(detail.get("reason"), "")
            text = f"{payer}对{beneficiary}的共济授权自动终止" + (f"（{why}）" if why else "")
        else:
            order = "、".join(by_psn.get(n, "") for n in detail.get("order", []))
            text = f"{beneficiary}的共济扣款顺序调整为：{order}"
        out.append({"at": e["at"], "text": text})
    return out


def paid_for_others(platform: Platform, psn_no: str, year: int, *, tx: Tx | None = None) -> list[dict]:
    """Whom I pay for, and how much my account has paid for each of them this medical year."""
    with platform.unit(tx, read_only=True) as tx:
        me = person_or_refuse(tx, psn_no)
        beneficiaries = {g.beneficiary_id for g in tx.family.grants_by(me.id)}
        people = tx.people.many(sorted(beneficiaries))
        out = []
        for pid in sorted(beneficiaries):
            paid = 0
            for row in tx.care.settlements_of_person(pid, 10_000):
                if row.status != "settled" or row.year != year or not row.mutual_aid_pay:
                    continue
                record = json.loads(row.output)
                paid += sum(d["amount"] for m in record["mutual_aid"] if m["psn_no"] == me.psn_no for d in m["draws"])
            premiums = tx.lifecycle.premiums_paid_by(pid, me.id, date(year, 1, 1), date(year, 12, 31))
            active = any(g.beneficiary_id == pid for g in tx.family.grants_by(me.id, active_at=platform.now()))
            out.append({"person": people[pid], "settlements": paid, "premiums": premiums, "active": active})
        return out


def relatives_of(platform: Platform, psn_no: str, *, tx: Tx | None = None) -> list[dict]:
    """Everyone related to the person, with how each relates to them ("parent": the relative is the parent)."""
    with platform.unit(tx, read_only=True) as tx:
        person = person_or_refuse(tx, psn_no)
        relations = tx.family.relations_of([person.id])
        ids = {r.of_id for r in relations} | {r.to_id for r in relations}
        ids.discard(person.id)
        people = tx.people.many(sorted(ids))
        return [{"person": people[i], "relation": relation_between(relations, i, person.id)} for i in sorted(ids)]
