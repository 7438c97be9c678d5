"""Reservations: two-phase transfers between regions, TigerBeetle's pending / post / void (pure).

The 参保地 holds a cross-region settlement's fund and account amounts *pending* until the 就医地
has booked its side, then posts them — or voids them when the settlement failed or its deadline
passed. Pending amounts are held in an escrow account per care region, ``X:held:<C>``: they have
left the fund and the person's buckets (so no later settlement can spend them — the buckets'
floors see the lower balance), and they are nobody's yet. Posting moves them on to the due-to
account ``X:due-to:<C>`` (what this region owes the care region, cleared monthly); voiding puts
each amount back where it came from. Every step is one ordinary balanced ledger entry under its
own idempotency key, so a replay is a no-op and the ledger's invariants cover the escrow too:
``X:held:<C>`` holds exactly the sum of ``C``'s pending reservations.

States: ``pending → posted → reversed`` (a cancellation, ``reinstate`` returns it to posted) and
``pending → voided``. The first of post and void wins; the other is refused with the state.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from yibao.ledger.model import Entry, Transfer, external_account

PENDING, POSTED, VOIDED, REVERSED = "pending", "posted", "voided", "reversed"
STATES = (PENDING, POSTED, VOIDED, REVERSED)
VOID_REASONS = ("failed", "timeout", "cancelled_before_post", "expired")

# action → (states it applies in, state it leads to); an action in its target state is a replay.
TRANSITIONS = {
    "post": ((PENDING,), POSTED),
    "void": ((PENDING,), VOIDED),
    "cancel": ((POSTED,), REVERSED),
    "reinstate": ((REVERSED,), POSTED),
}


def held_account(care_region: str) -> str:
    """Escrow of the amounts pending for ``care_region``'s settlements."""
    return external_account(f"held:{care_region}")


def due_to_account(care_region: str) -> str:
    """At the 参保地: what it owes the care region for posted settlements (credited); the monthly
    clearing brings it back to zero."""
    return external_account(f"due-to:{care_region}")


def due_from_account(insured_region: str) -> str:
    """At the 就医地: what the insured region owes it for the settlements it advanced (debited)."""
    return external_account(f"due-from:{insured_region}")


@dataclass(frozen=True)
class Hold:
    """One amount a reservation holds: taken from ``account`` (fund or a person's bucket)."""

    account: str
    amount: int
    code: str  # fund_pay | acct_pay | mutual_aid

    def __post_init__(self) -> None:
        if not isinstance(self.amount, int) or isinstance(self.amount, bool) or self.amount <= 0:
            raise ValueError(f"a reservation holds positive integer fen: {self}")


def next_state(state: str, action: str) -> tuple[str, bool]:
    """The state ``action`` leads to, and whether it changes anything (False: a replay).
    ``ValueError`` names the refusal: the reservation is in a state the action cannot leave."""
    sources, target = TRANSITIONS[action]
    if state in sources:
        return target, True
    if state == target and action in ("post", "void"):
        return target, False
    raise ValueError(f"{action} of a reservation that is {state}")


def reserve_entry(rid: str, care_region: str, holds: tuple[Hold, ...], ref: str) -> Entry:
    held = held_account(care_region)
    return Entry(f"resv:{rid}", "reservation", tuple(Transfer(h.account, held, h.amount, h.code) for h in holds), ref)


def post_entry(rid: str, care_region: str, holds: tuple[Hold, ...], ref: str) -> Entry:
    held, due = held_account(care_region), due_to_account(care_region)
    return Entry(
        f"resv-post:{rid}", "reservation_post", tuple(Transfer(held, due, h.amount, h.code) for h in holds), ref
    )


def void_entry(rid: str, care_region: str, holds: tuple[Hold, ...], ref: str) -> Entry:
    held = held_account(care_region)
    moves = tuple(Transfer(held, h.account, h.amount, h.code) for h in holds)
    return Entry(f"resv-void:{rid}", "reservation_void", moves, ref)


def cancel_entry(rid: str, revision: int, care_region: str, holds: tuple[Hold, ...], ref: str) -> Entry:
    due = due_to_account(care_region)
    moves = tuple(Transfer(due, h.account, h.amount, h.code) for h in holds)
    return Entry(f"resv-cancel:{rid}:{revision}", "reservation_cancel", moves, ref)


def reinstate_entry(rid: str, revision: int, care_region: str, holds: tuple[Hold, ...], ref: str) -> Entry:
    due = due_to_account(care_region)
    moves = tuple(Transfer(h.account, due, h.amount, h.code) for h in holds)
    return Entry(f"resv-reinstate:{rid}:{revision}", "reservation_reinstate", moves, ref)


def held_total(holds: tuple[Hold, ...]) -> int:
    return sum(h.amount for h in holds)


def conservation(states: dict[str, tuple[str, int]], held_balance: int, due_balance: int) -> list[str]:
    """What must hold between a care region's reservations and the two accounts: the escrow holds
    exactly the pending amounts, the due-to account exactly the posted ones (reversed ones are
    back with their owners, voided ones too). ``states``: reservation → (state, amount)."""
    pending = sum(a for s, a in states.values() if s == PENDING)
    posted = sum(a for s, a in states.values() if s == POSTED)
    problems = []
    if held_balance != pending:
        problems.append(f"escrow holds {held_balance} fen, pending reservations {pending}")
    if due_balance != posted:
        problems.append(f"due-to account holds {due_balance} fen, posted reservations {posted}")
    return problems


@dataclass(frozen=True)
class Reservation:
    reservation_id: str
    care_region: str
    setl_ref: str
    institution: str
    person_id: int
    year: int
    category: str
    status: str
    movements: str
    medfee: int
    fund_pay: int
    own_account_pay: int
    mutual_aid_pay: int
    cash_pay: int
    deductible_delta: int
    fund_delta: int
    result: str
    digest: str
    expires_at: datetime
    created_at: datetime
    resolved_at: datetime | None
    void_reason: str | None
    revision: int

    @property
    def holds(self) -> tuple[Hold, ...]:
        return tuple(Hold(a, n, c) for a, n, c in json.loads(self.movements))

    @property
    def held(self) -> int:
        return self.fund_pay + self.own_account_pay + self.mutual_aid_pay


@dataclass(frozen=True)
class CrossSettlement:
    settlement_id: int
    setl_id: str
    reservation_id: str
    insured_region: str
    institution: str
    status: str
    fund_pay: int
    own_account_pay: int
    mutual_aid_pay: int
    cash_pay: int
    created_at: datetime
    updated_at: datetime

    @property
    def owed(self) -> int:
        return self.fund_pay + self.own_account_pay + self.mutual_aid_pay
