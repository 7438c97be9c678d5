"""亲情账户 jobs: bind and unbind members, and what a holder may see of a member."""

from __future__ import annotations

from dataclasses import dataclass, replace

from yibao.errors import refuse
from yibao.family.model import PROXY_RELATIONS, relation_between
from yibao.family.proxy import CONFIRMED, PENDING, REFUSED, BindingCheck, Verifier, refusal
from yibao.lifecycle.model import age_on
from yibao.services.care import person_or_refuse, two_people
from yibao.services.credentials import voucher_qr
from yibao.services.family import relatives_of
from yibao.services.filings import filings_in_words
from yibao.services.platform import Platform
from yibao.services.settle import settlement_or_refuse, view_of
from yibao.services.views import account_of
from yibao.storage.uow import Tx
from yibao.words import VERIFICATION_STATUS


@dataclass(frozen=True)
class BindOutcome:
    status: str  # bound | pending (waiting for the member's identity to be confirmed)
    verification_id: int | None = None


def bind(
    platform: Platform,
    holder_psn: str,
    member_psn: str,
    *,
    face_verified: object = False,
    commitment_letter: object = False,
    verifier: Verifier | None = None,
    tx: Tx | None = None,
) -> BindOutcome:
    """Bind a member, or record the request until the member's identity is confirmed (see
    ``family.proxy.Verifier``); every other rule is checked first either way."""
    verifier = verifier or platform.verifier()
    now = platform.now()
    with platform.unit(tx) as tx:
        holder, member = two_people(tx, holder_psn, member_psn, "E7201-001")
        tx.people.lock(holder.id)
        check = _check(platform, tx, holder, member, now)
        if check.member_age < check.face_age and verifier.commitment_letter(member.psn_no, commitment_letter):
            verdict, verified_by = CONFIRMED, "commitment_letter"
        else:
            verdict, verified_by = verifier.face(member.psn_no, face_verified), "face"
        check = replace(check, face_verified=verdict != REFUSED, commitment_letter=verified_by == "commitment_letter")
        _refuse_if_broken(check, holder, member)
        if verdict == PENDING:
            waiting = _pending(tx, holder.id, member.id)
            vid = waiting.id if waiting else tx.family.add_verification(holder.id, member.id, check.relation, now)
            return BindOutcome("pending", vid)
        tx.family.add_proxy(holder.id, member.id, check.relation, verified_by, now)
        return BindOutcome("bound")


def _check(platform: Platform, tx: Tx, holder, member, now) -> BindingCheck:
    """Every rule of a binding except the evidence (face check, commitment letter), as it stands now."""
    day = now.date()
    policy = platform.policy(tx, holder.admdvs)
    active = tx.family.proxies_of(holder.id)
    return BindingCheck(
        relation=relation_between(tx.family.relations_of([member.id]), member.id, holder.id),
        member_age=age_on(member.birth, day),
        member_insured=any(i.covers(day) for i in tx.people.insurances(member.id)),
        active_members=len(active),
        already_bound=any(b.member_id == member.id for b in active),
        face_verified=True,
        commitment_letter=False,
        max_members=policy.setting("proxy.max_members", day),
        face_age=policy.setting("proxy.face_verification_age", day),
    )


def _refuse_if_broken(check: BindingCheck, holder, member) -> None:
    refused = refusal(check)
    if refused:
        code, fields = refused
        if code == "E7201-002":
            fields = {"member": member.name, "holder": holder.name}
        raise refuse(code, **fields)


def _pending(tx: Tx, holder_id: int, member_id: int):
    return next(
        (v for v in tx.family.verifications(status="pending", person_id=holder_id) if v.member_id == member_id),
        None,
    )


def confirm_verification(platform: Platform, verification_id: int, *, via: str, by: str, tx: Tx | None = None) -> None:
    """The member's identity is confirmed (an operator saw them, a service checked their face): the
    binding is made now, if every rule still holds, and the confirmation is kept with who made it."""
    now = platform.now()
    with platform.unit(tx) as tx:
        v = _undecided(tx, verification_id)
        holder, member = tx.people.by_id(v.holder_id), tx.people.by_id(v.member_id)
        tx.people.lock(holder.id)
        _refuse_if_broken(_check(platform, tx, holder, member, now), holder, member)
        tx.family.add_proxy(holder.id, member.id, v.relation, "face", now)
        tx.family.decide_verification(v.id, "confirmed", now, via=via, by=by)


def reject_verification(
    platform: Platform, verification_id: int, *, via: str, by: str, note: str | None = None, tx: Tx | None = None
):
    now = platform.now()
    with platform.unit(tx) as tx:
        v = _undecided(tx, verification_id)
        tx.family.decide_verification(v.id, "rejected", now, via=via, by=by, note=note)


def _undecided(tx: Tx, verification_id: int):
    v = tx.family.verification(verification_id, lock=True)
    if v is None:
        raise refuse("E7201-010", ref=verification_id)
    if v.status != "pending":
        raise refuse("E7201-011", status=VERIFICATION_STATUS.get(v.status, v.status))
    return v


def verifications(
    platform: Platform, *, status: str | None = None, psn_no: str | None = None, tx: Tx | None = None
) -> list[dict]:
    """Binding requests with the people they name, newest first (all, or one person's)."""
    with platform.unit(tx, read_only=True) as tx:
        person_id = person_or_refuse(tx, psn_no).id if psn_no else None
        found = tx.family.verifications(status=status, person_id=person_id)
        people = tx.people.many(sorted({v.holder_id for v in found} | {v.member_id for v in found}))
        today = platform.now().date()
        return [
            {
                "v": v,
                "holder": people[v.holder_id],
                "member": people[v.member_id],
                "member_age": age_on(people[v.member_id].birth, today),
            }
            for v in found
        ]


def unbind(platform: Platform, holder_psn: str, member_psn: str, *, tx: Tx | None = None) -> None:
    now = platform.now()
    with platform.unit(tx) as tx:
        holder, member = person_or_refuse(tx, holder_psn), person_or_refuse(tx, member_psn)
        binding = next((b for b in tx.family.proxies_of(holder.id) if b.member_id == member.id), None)
        if binding is None:
            raise refuse("E7201-008")
        tx.family.end_proxy(binding.id, now)


def _binding(tx: Tx, holder_psn: str, member_psn: str):
    holder, member = person_or_refuse(tx, holder_psn), person_or_refuse(tx, member_psn)
    if holder.id != member.id and not any(b.member_id == member.id for b in tx.family.proxies_of(holder.id)):
        raise refuse("E7201-009", detail=f"{member.name}不是{holder.name}亲情账户中的家庭成员")
    return holder, member


def members(platform: Platform, holder_psn: str, *, tx: Tx | None = None) -> list[dict]:
    with platform.unit(tx, read_only=True) as tx:
        holder = person_or_refuse(tx, holder_psn)
        bindings = tx.family.proxies_of(holder.id)
        people = tx.people.many([b.member_id for b in bindings])
        return [
            {
                "person": people[b.member_id],
                "relation": b.relation,
                "verified_by": b.verified_by,
                "bound_at": b.bound_at,
            }
            for b in bindings
        ]


def member_voucher(platform: Platform, holder_psn: str, member_psn: str, *, tx: Tx | None = None) -> str:
    """The member's e-voucher QR content, for the holder's phone to show at the counter."""
    with platform.unit(tx) as tx:
        _, member = _binding(tx, holder_psn, member_psn)
        return voucher_qr(platform, member.psn_no, tx=tx)


def member_settlements(platform: Platform, holder_psn: str, member_psn: str, limit: int = 50, *, tx: Tx | None = None):
    with platform.unit(tx, read_only=True) as tx:
        _, member = _binding(tx, holder_psn, member_psn)
        return [view_of(tx, row) for row in tx.care.settlements_of_person(member.id, limit)]


def member_expenses(platform: Platform, holder_psn: str, member_psn: str, year: int, *, tx: Tx | None = None) -> dict:
    """A member's medical expenses in a year: by month and by category, and who paid them."""
    with platform.unit(tx, read_only=True) as tx:
        _, member = _binding(tx, holder_psn, member_psn)
        return annual_expenses(tx, member.id, year)


def annual_expenses(tx: Tx, person_id: int, year: int) -> dict:
    rows = [r for r in tx.care.settlements_of_person(person_id, 10_000) if r.status == "settled" and r.year == year]
    months = {m: 0 for m in range(1, 13)}
    categories: dict[str, int] = {}
    totals = {"medfee": 0, "fund": 0, "acct": 0, "mulaid": 0, "cash": 0}
    for r in rows:
        months[r.setl_time.month] += r.medfee if r.setl_time.year == year else 0
        categories[r.category] = categories.get(r.category, 0) + r.medfee
        totals["medfee"] += r.medfee
        totals["fund"] += r.fund_pay
        totals["acct"] += r.own_account_pay
        totals["mulaid"] += r.mutual_aid_pay
        totals["cash"] += r.cash
    return {"year": year, "count": len(rows), "months": months, "categories": categories, "totals": totals}


def binding_candidates(
    platform: Platform, holder_psn: str, *, exclude: set[str] = frozenset(), tx: Tx | None = None
) -> list[dict]:
    """Relatives the holder may bind (配偶、父母、子女), not bound or asked yet (``exclude``), each with
    whether the binding needs a face check (the member's age against ``proxy.face_verification_age``)."""
    with platform.unit(tx, read_only=True) as tx:
        holder = person_or_refuse(tx, holder_psn)
        today = platform.now().date()
        face_age = platform.policy(tx, holder.admdvs).setting("proxy.face_verification_age", today)
        out = []
        for r in relatives_of(platform, holder_psn, tx=tx):
            if r["relation"] in PROXY_RELATIONS and r["person"].psn_no not in exclude:
                out.append({**r, "needs_face": age_on(r["person"].birth, today) >= face_age})
        return out, face_age


def may_see(tx: Tx, me: str, person_id: int) -> bool:
    """Myself, or a member of my 亲情账户: whose records a signed-in person may see."""
    person = tx.people.by_psn_no(me)
    if person is None:
        return False
    return person.id == person_id or any(b.member_id == person_id for b in tx.family.proxies_of(person.id))


def visible_settlement(platform: Platform, me: str, setl_id: str, *, tx: Tx | None = None):
    """The settlement if it is mine or a member's, else None (the page answers 403)."""
    with platform.unit(tx, read_only=True) as tx:
        row = settlement_or_refuse(tx, setl_id)
        return view_of(tx, row) if may_see(tx, me, row.person_id) else None


def member_record(
    platform: Platform, me: str, member: str, year: int, *, recent: int = 10, tx: Tx | None = None
) -> dict | None:
    """A member's page for the holder: voucher QR, the year's expenses, recent settlements, balances;
    None when ``member`` is not a member of my 亲情账户."""
    with platform.unit(tx) as tx:
        target = person_or_refuse(tx, member)
        if target.psn_no == me or not may_see(tx, me, target.id):
            return None
        return {
            "target": target,
            "qr": voucher_qr(platform, member, tx=tx),
            "expenses": annual_expenses(tx, target.id, year),
            "recent": [view_of(tx, r) for r in tx.care.settlements_of_person(target.id, recent)],
            "balances": account_of(tx, member),
            "filed": filings_in_words(tx, target),
        }


def member_qr(platform: Platform, me: str, member: str, *, tx: Tx | None = None) -> str | None:
    """A fresh voucher QR of a member of my 亲情账户; None when ``member`` is not one."""
    with platform.unit(tx) as tx:
        target = person_or_refuse(tx, member)
        if target.psn_no == me or not may_see(tx, me, target.id):
            return None
        return voucher_qr(platform, member, tx=tx)
