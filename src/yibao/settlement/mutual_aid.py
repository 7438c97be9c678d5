"""Mutual aid (家庭共济): who may pay for whom, in which order, and how much each account gives.

One home for the rule, used by the settlement (step 9), a resident's premium paid from a relative's
account, and a new grant: the policy's terms are read once here, with their defaults.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from yibao.errors import invariant
from yibao.policy.model import Policy
from yibao.settlement.amounts import take
from yibao.settlement.model import Buckets, Draw, PayerCandidate

BUCKETS = ("current", "historical")
RESIDENT_PREMIUM = "resident_premium"  # the use that lets a relative's account pay a resident's premium


@dataclass(frozen=True)
class Terms:
    """The region's mutual-aid terms on one day."""

    enabled: bool
    uses: tuple[str, ...]  # categories (outpatient, inpatient, ...) and ``resident_premium``
    relations: tuple[str, ...]  # how a payer may relate to the beneficiary
    buckets: tuple[str, ...]  # which of a payer's buckets may be shared, in draw order
    order: str  # binding_order | balance_desc

    def usable_for(self, use: str) -> bool:
        return self.enabled and use in self.uses

    def allows(self, relation: str | None) -> bool:
        return relation is not None and relation in self.relations


def terms_on(policy: Policy, day: date) -> Terms:
    return Terms(
        enabled=policy.setting("mutual_aid.enabled", day),
        uses=policy.setting("mutual_aid.uses", day),
        relations=policy.setting("mutual_aid.relations", day),
        buckets=policy.setting("mutual_aid.buckets", day),
        order=policy.setting("mutual_aid.order", day),
    )


def may_pay(insured_employee: bool, has_account: bool) -> bool:
    """A payer must be insured in the employee scheme (not suspended) and hold a personal account."""
    return insured_employee and has_account


def shareable(terms: Terms, balances: Buckets) -> int:
    """What a payer's account could give at most: the positive balances of the shared buckets."""
    return sum(max(balances.get(b), 0) for b in terms.buckets)


def in_draw_order(terms: Terms, payers: Sequence[PayerCandidate]) -> list[PayerCandidate]:
    """The beneficiary's binding order, or the largest shareable balance first (ties by binding order)."""
    if terms.order == "balance_desc":
        return sorted(payers, key=lambda c: (-shareable(terms, c.balances), c.order, c.psn_no))
    return sorted(payers, key=lambda c: (c.order, c.psn_no))


def draw(balances: Buckets, order: Sequence[str], want: int) -> tuple[tuple[Draw, ...], int]:
    """Take up to ``want`` from the buckets in ``order``, never below zero in any bucket."""
    draws, left = [], want
    for bucket in order:
        if left <= 0:
            break
        got = take(left, balances.get(bucket))
        if got > 0:
            draws.append(Draw(bucket, got))
            left -= got
    paid = want - left
    invariant(sum(d.amount for d in draws) == paid, "draws add up to what was paid")
    invariant(all(0 < d.amount <= max(balances.get(d.bucket), 0) for d in draws), "no bucket goes below zero")
    return tuple(draws), paid
