"""亲情账户 (proxy binding) rules: who may be bound, with what verification. No money moves here.

A binding lets the holder show the member's e-voucher QR code and read the member's settlements
and annual expenses. Settlements presented that way still draw on the member's own account.
"""

from __future__ import annotations

import importlib
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


CONFIRMED, PENDING, REFUSED = "confirmed", "pending", "refused"


class Verifier(Protocol):
    """Decides whether a binding request's evidence proves who the member is.

    ``face`` answers ``CONFIRMED`` (bind now), ``PENDING`` (record the request; an agency operator or
    a verification service confirms it later) or ``REFUSED``. ``commitment_letter`` covers members
    under the face-check age: the holder's own signed commitment (承诺书), which a verifier accepts
    or not. Implementations are chosen by the platform (``Platform.verifier()``): a sandbox takes the
    caller's word, production defaults to ``OperatorVerifier``; an agency plugs in its face-check
    service with ``YIBAO_PROXY_VERIFIER=package.module:factory``.
    """

    name: str

    def face(self, member_psn_no: str, evidence: object) -> str: ...

    def commitment_letter(self, member_psn_no: str, evidence: object) -> bool: ...


def _said_yes(evidence: object) -> bool:
    return evidence is True or evidence == "yes"


class SandboxVerifier:
    """Takes the caller's word (``true``) for both checks: sandboxes and case files only; the portal
    says so on the page."""

    name = "sandbox"

    def face(self, member_psn_no: str, evidence: object) -> str:
        return CONFIRMED if _said_yes(evidence) else REFUSED

    def commitment_letter(self, member_psn_no: str, evidence: object) -> bool:
        return _said_yes(evidence)


class OperatorVerifier:
    """Production's default: no form field proves a face. Every adult member's binding waits until an
    agency operator has seen the member (at the counter, or the national app's face check on record)
    and confirms it in the console; the confirmation is recorded with the operator's name."""

    name = "operator"

    def face(self, member_psn_no: str, evidence: object) -> str:
        return PENDING

    def commitment_letter(self, member_psn_no: str, evidence: object) -> bool:
        return _said_yes(evidence)  # the holder signs it; the relation itself was registered by the agency


def verifier_from_setting(spec: str) -> Verifier:
    """``package.module:factory`` (``YIBAO_PROXY_VERIFIER``): the agency's face-verification service,
    called with no arguments; it must have ``name``, ``face`` and ``commitment_letter``."""
    module, _, attr = spec.partition(":")
    if not module or not attr:
        raise ValueError(f"YIBAO_PROXY_VERIFIER 应为“模块:工厂”形式：{spec!r}")
    try:
        made = getattr(importlib.import_module(module), attr)()
    except (ImportError, AttributeError, TypeError) as exc:
        raise ValueError(f"YIBAO_PROXY_VERIFIER 无法载入：{spec!r}（{exc}）") from exc
    if not all(hasattr(made, a) for a in ("name", "face", "commitment_letter")):
        raise ValueError(f"YIBAO_PROXY_VERIFIER 须提供 name、face、commitment_letter：{spec!r}")
    return made
