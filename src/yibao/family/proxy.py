"""亲情账户 (proxy binding) rules: who may be bound, with what verification. No money moves here.

A binding lets the holder show the member's e-voucher QR code and read the member's settlements
and annual expenses. Settlements presented that way still draw on the member's own account.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from yibao.family.model import PROXY_RELATIONS


@dataclass(frozen=True)
class BindingCheck:
    relation: str | None  # how the member relates to the holder
    member_age: int
    member_insured: bool
    active_members: int
    already_bound: bool
    face_verified: bool
    commitment_letter: bool
    max_members: int
    face_age: int


def refusal(c: BindingCheck) -> tuple[str, dict] | None:
    """The first rule the binding breaks, as (code, fields), or None when it may be made."""
    if c.relation not in PROXY_RELATIONS:
        return "E7201-002", {}
    if c.already_bound:
        return "E7201-004", {}
    if not c.member_insured:
        return "E7201-007", {}
    if c.active_members >= c.max_members:
        return "E7201-003", {"max": c.max_members}
    if c.member_age >= c.face_age and not c.face_verified:
        return "E7201-005", {"age": c.face_age}
    if c.member_age < c.face_age and not (c.commitment_letter or c.face_verified):
        return "E7201-006", {"age": c.face_age}
    return None


class Verifier(Protocol):
    """Confirms the evidence a binding request carries (a face check, a commitment letter)."""

    name: str

    def face(self, member_psn_no: str, evidence: object) -> bool: ...

    def commitment_letter(self, member_psn_no: str, evidence: object) -> bool: ...


class SandboxVerifier:
    """Takes the caller's word (``true``) for both checks: for sandboxes and case files only."""

    name = "sandbox"

    def face(self, member_psn_no: str, evidence: object) -> bool:
        return evidence is True

    def commitment_letter(self, member_psn_no: str, evidence: object) -> bool:
        return evidence is True
