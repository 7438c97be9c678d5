"""Relations and grants: who is whose relative, and who has agreed to pay for whom; 亲情账户 bindings
(who may act for whom) and the identity checks they wait for."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

RELATIONS = ("spouse", "parent", "child", "sibling", "grandparent", "grandchild")
INVERSE = {
    "spouse": "spouse",
    "parent": "child",
    "child": "parent",
    "sibling": "sibling",
    "grandparent": "grandchild",
    "grandchild": "grandparent",
}
PROXY_RELATIONS = ("spouse", "parent", "child")  # 亲情账户: 配偶、父母、子女


@dataclass(frozen=True)
class Relation:
    of_id: int
    to_id: int
    relation: str  # "of is to's <relation>"


def relation_between(relations: Iterable[Relation], a: int, b: int) -> str | None:
    """How ``a`` relates to ``b`` ("parent": a is b's parent), from either declared direction."""
    for r in relations:
        if r.of_id == a and r.to_id == b:
            return r.relation
        if r.of_id == b and r.to_id == a:
            return INVERSE[r.relation]
    return None


@dataclass(frozen=True)
class Grant:
    id: int
    payer_id: int
    beneficiary_id: int
    position: int
    granted_at: datetime
    ended_at: datetime | None = None

    def active_at(self, moment: datetime) -> bool:
        return self.granted_at <= moment and (self.ended_at is None or moment < self.ended_at)


@dataclass(frozen=True)
class ProxyBinding:
    id: int
    holder_id: int
    member_id: int
    relation: str
    verified_by: str
    bound_at: datetime
    unbound_at: datetime | None


@dataclass(frozen=True)
class ProxyVerification:
    """A request to bind a member that waits for the member's identity to be confirmed."""

    id: int
    holder_id: int
    member_id: int
    relation: str
    status: str  # pending | confirmed | rejected
    requested_at: datetime
    decided_at: datetime | None
    decided_via: str | None
    decided_by: str | None
    note: str | None
