"""亲情账户 jobs: bind and unbind members, and what a holder may see of a member."""

from __future__ import annotations

from yibao.errors import refuse
from yibao.family.model import relation_between
from yibao.family.proxy import BindingCheck, SandboxVerifier, Verifier, refusal
from yibao.lifecycle.model import age_on
from yibao.services.care import person_or_refuse
from yibao.services.credentials import voucher_qr
from yibao.services.platform import Platform
from yibao.services.settle import view_of


def bind(
    p: Platform,
    holder_psn: str,
    member_psn: str,
    *,
    face_verified: object = False,
    commitment_letter: object = False,
    verifier: Verifier | None = None,
    tx=None,
) -> None:
    verifier = verifier or SandboxVerifier()
    now = p.now()
    day = now.date()
    with p.unit(tx) as tx:
        holder, member = person_or_refuse(tx, holder_psn), person_or_refuse(tx, member_psn)
        if holder.id == member.id:
            raise refuse("E7201-001")
        tx.people.lock(holder.id)
        policy = p.policy(tx, holder.admdvs)
        active = tx.family.proxies_of(holder.id)
        check = BindingCheck(
            relation=relation_between(tx.family.relations_of([member.id]), member.id, holder.id),
            member_age=age_on(member.birth, day),
            member_insured=any(i.covers(day) for i in tx.people.insurances(member.id)),
            active_members=len(active),
            already_bound=any(b.member_id == member.id for b in active),
            face_verified=verifier.face(member.psn_no, face_verified),
            commitment_letter=verifier.commitment_letter(member.psn_no, commitment_letter),
            max_members=policy.value("proxy.max_members", day, default=5),
            face_age=policy.value("proxy.face_verification_age", day, default=16),
        )
        refused = refusal(check)
        if refused:
            code, fields = refused
            if code == "E7201-002":
                fields = {"member": member.name, "holder": holder.name}
            raise refuse(code, **fields)
        verified_by = "face" if check.face_verified else "commitment_letter"
        tx.family.add_proxy(holder.id, member.id, check.relation, verified_by, now)


def unbind(p: Platform, holder_psn: str, member_psn: str, *, tx=None) -> None:
    now = p.now()
    with p.unit(tx) as tx:
        holder, member = person_or_refuse(tx, holder_psn), person_or_refuse(tx, member_psn)
        binding = next((b for b in tx.family.proxies_of(holder.id) if b.member_id == member.id), None)
        if binding is None:
            raise refuse("E7201-008")
        tx.family.end_proxy(binding.id, now)


def _binding(tx, holder_psn: str, member_psn: str):
    holder, member = person_or_refuse(tx, holder_psn), person_or_refuse(tx, member_psn)
    if holder.id != member.id and not any(b.member_id == member.id for b in tx.family.proxies_of(holder.id)):
        raise refuse("E7201-009", detail=f"{member.name}不是{holder.name}亲情账户中的家庭成员")
    return holder, member


def members(p: Platform, holder_psn: str, *, tx=None) -> list[dict]:
    with p.unit(tx, read_only=True) as tx:
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


def member_voucher(p: Platform, holder_psn: str, member_psn: str, *, tx=None) -> str:
    """The member's e-voucher QR content, for the holder's phone to show at the counter."""
    with p.unit(tx) as tx:
        _, member = _binding(tx, holder_psn, member_psn)
        return voucher_qr(p, member.psn_no, tx=tx)


def member_settlements(p: Platform, holder_psn: str, member_psn: str, limit: int = 50, *, tx=None):
    with p.unit(tx, read_only=True) as tx:
        _, member = _binding(tx, holder_psn, member_psn)
        return [view_of(tx, row) for row in tx.care.settlements_of_person(member.id, limit)]


def member_expenses(p: Platform, holder_psn: str, member_psn: str, year: int, *, tx=None) -> dict:
    """A member's medical expenses in a year: by month and by category, and who paid them."""
    with p.unit(tx, read_only=True) as tx:
        _, member = _binding(tx, holder_psn, member_psn)
        return annual_expenses(tx, member.id, year)


def annual_expenses(tx, person_id: int, year: int) -> dict:
    rows = [r for r in tx.care.settlements_of_person(person_id, 10_000) if r.status == "settled" and r.year == year]
    months = {m: 0 for m in range(1, 13)}
    categories: dict[str, int] = {}
    totals = {"medfee": 0, "fund": 0, "acct": 0, "mulaid": 0, "cash": 0}
    for r in rows:
        months[r.setl_time.month] += r.medfee if r.setl_time.year == year else 0
        categories[r.category] = categories.get(r.category, 0) + r.medfee
        totals["medfee"] += r.medfee
        totals["fund"] += r.fund_pay
        totals["acct"] += r.acct_pay
        totals["mulaid"] += r.mulaid_pay
        totals["cash"] += r.cash_pay
    return {"year": year, "count": len(rows), "months": months, "categories": categories, "totals": totals}
