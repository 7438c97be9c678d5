"""亲情账户 jobs: bind and unbind members, and what a holder may see of a member."""

from __future__ import annotations

from yibao.errors import refuse
from yibao.family.model import relation_between
from yibao.family.proxy import BindingCheck, SandboxVerifier, Verifier, refusal
from yibao.lifecycle.model import age_on
from yibao.services.care import person_or_refuse
from yibao.services.platform import Platform


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
