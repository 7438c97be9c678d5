"""Double-entry, append-only, integer fen — the ledger's vocabulary, in the spirit of TigerBeetle.

An *entry* is one atomic set of transfers under an idempotency key: it is applied whole or not at
all, applying the same key twice with the same transfers is a no-op, and with different transfers
it is refused. Transfers are never edited; a cancellation is a compensating entry.

Balances are ``credits − debits``. Person buckets (当年/历年账户) carry a floor (0) that no entry
may cross; pooled funds, institutions, cash and external sources have none. Those have no floor to
protect, so nothing needs their balance before posting: their totals are spread over ``SHARDS``
running sums and an entry adds to the one its key picks (``shard_of``), so concurrent settlements
never wait on one fund's or one institution's row.
"""

from __future__ import annotations

import hashlib
import zlib
from dataclasses import dataclass

from yibao.errors import invariant, refuse
from yibao.limits import LEDGER_TOTAL_MAX

# Account kinds
PERSON_BUCKET = "person_bucket"
FUND = "fund"
INSTITUTION = "institution"
CASH = "cash"
EXTERNAL = "external"

# Transfer codes
FUND_PAY = "fund_pay"  # pooled fund → institution
ACCT_PAY = "acct_pay"  # patient's own bucket → institution
MUTUAL_AID = "mutual_aid"  # relative's bucket → institution
CASH_PAY = "cash_pay"  # patient's cash → institution
OPENING = "opening"  # opening balance of a loaded world
CREDIT = "credit"  # monthly crediting into a current bucket
ROLLOVER = "rollover"  # current → historical at the medical year's start
CLAWBACK = "clawback"  # pre-allocated credit taken back
PREMIUM = "premium"  # resident premium paid from an account


PERSON_PREFIX = "P:"  # a person's bucket: P:<psn_no>:<bucket> (also built in SQL: storage.family_reads)
BUCKETS = ("current", "historical")


def person_bucket(psn_no: str, bucket: str) -> str:
    return f"{PERSON_PREFIX}{psn_no}:{bucket}"


def person_buckets(psn_no: str) -> tuple[str, str]:
    """The codes of a person's 当年账户 and 历年账户, in that order."""
    return person_bucket(psn_no, "current"), person_bucket(psn_no, "historical")


def fund_account(admdvs: str, fund_pay_type: str) -> str:
    return f"F:{admdvs}:{fund_pay_type}"


def institution_account(code: str) -> str:
    return f"I:{code}"


def cash_account(code: str) -> str:
    return f"C:{code}"


def external_account(name: str) -> str:
    return f"X:{name}"


_KINDS = {"P": PERSON_BUCKET, "F": FUND, "I": INSTITUTION, "C": CASH, "X": EXTERNAL}


def kind_of(code: str) -> str:
    return _KINDS[code[0]]


# How many running sums an account without a floor has. Two settlements wait on each other only when
# their keys pick the same shard (one chance in 32 per pair), never on one row every settlement updates.
SHARDS = 32


def sharded(code: str) -> bool:
    """Whether the account's totals are running sums by shard (no floor), not one locked row."""
    return code[0] != "P"


def shard_of(key: str) -> int:
    """The shard an entry adds to: stable for its key, spread evenly over keys."""
    return zlib.crc32(key.encode()) % SHARDS


@dataclass(frozen=True)
class Transfer:
    debit: str  # account code whose balance goes down
    credit: str  # account code whose balance goes up
    amount: int  # fen, > 0
    code: str


@dataclass(frozen=True)
class Entry:
    key: str  # idempotency key, unique in the ledger
    kind: str
    transfers: tuple[Transfer, ...]
    ref: str | None = None
    memo: str | None = None
    lower_floors: frozenset[str] = frozenset()  # accounts this entry may take below zero (clawback)

    def digest(self) -> str:
        body = "|".join(f"{t.debit}>{t.credit}:{t.amount}:{t.code}" for t in self.transfers)
        return hashlib.sha256(f"{self.kind}|{body}".encode()).hexdigest()


class LedgerError(Exception):
    """An entry the ledger refuses: unbalanced, non-positive, a floor crossed, a key reused."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


def validate(entry: Entry) -> None:
    """Shape checks that need no balances: positive amounts, distinct sides, a key; then the ledger's
    invariants on every entry (a broken one is an internal error, not a refusal)."""
    if not entry.key:
        raise LedgerError("missing_key")
    for t in entry.transfers:
        if not isinstance(t.amount, int) or isinstance(t.amount, bool) or t.amount <= 0:
            raise LedgerError("amount_must_be_positive", f"{t}")
        if t.debit == t.credit:
            raise LedgerError("accounts_must_be_different", f"{t}")
    check_invariants(entry)


def check_invariants(entry: Entry) -> None:
    """Every account is of a known kind; money is conserved (what leaves the debited accounts arrives
    in the credited ones, to the fen); a lowered floor names an account the entry debits."""
    invariant(all(t.debit[:1] in _KINDS and t.credit[:1] in _KINDS for t in entry.transfers), "known account kinds")
    changes = net_changes(entry.transfers)
    invariant(sum(d for d, _ in changes.values()) == sum(c for _, c in changes.values()), "debits equal credits")
    debited = {t.debit for t in entry.transfers}
    invariant(entry.lower_floors <= debited, "a lowered floor belongs to a debited account")


def over_totals(debits: int, credits: int) -> bool:
    """Whether an account's running totals would pass the 64-bit columns (``limits.LEDGER_TOTAL_MAX``);
    the entry that would do so is refused whole before anything is written (``E0000-010``)."""
    return debits > LEDGER_TOTAL_MAX or credits > LEDGER_TOTAL_MAX


def totals_refusal(code: str):
    return refuse("E0000-010", account=code)


def net_changes(transfers: tuple[Transfer, ...]) -> dict[str, tuple[int, int]]:
    """Per account: (debits added, credits added). Σ debits = Σ credits by construction."""
    out: dict[str, list[int]] = {}
    for t in transfers:
        out.setdefault(t.debit, [0, 0])[0] += t.amount
        out.setdefault(t.credit, [0, 0])[1] += t.amount
    return {k: (v[0], v[1]) for k, v in out.items()}


def reversal(entry: Entry, key: str, kind: str, ref: str | None = None) -> Entry:
    """The compensating entry: every transfer swapped, in the same order."""
    swapped = tuple(Transfer(t.credit, t.debit, t.amount, t.code) for t in entry.transfers)
    return Entry(key, kind, swapped, ref=ref or entry.ref)
