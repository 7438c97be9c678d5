"""The ledger on the database: accounts, atomic idempotent entries, floors, and invariant checks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from yibao.ledger.model import Entry, LedgerError, Transfer, kind_of, net_changes, over_totals, totals_refusal, validate
from yibao.storage.tables import accounts, journal_entries, transfers


@dataclass(frozen=True)
class AccountRow:
    id: int
    code: str
    kind: str
    floor: int | None
    debits: int
    credits: int

    @property
    def balance(self) -> int:
        return self.credits - self.debits


@dataclass(frozen=True)
class Movement:
    """One transfer as seen from some accounts: ``out_of`` / ``into`` are their codes, else None."""

    key: str
    kind: str
    posted_at: datetime
    amount: int
    code: str
    out_of: str | None
    into: str | None
    ref: str | None = None  # the entry's reference: a setl_id, or the psn_no an entry concerns


@dataclass(frozen=True)
class Posted:
    entry_id: int
    applied: bool  # False: the key had been applied before with the same transfers


_ROWS = (
    select(accounts.c.id, accounts.c.code, accounts.c.kind, accounts.c.floor, accounts.c.debits, accounts.c.credits)
    .where(accounts.c.code.in_(bindparam("codes", expanding=True)))
    .order_by(accounts.c.id)
)
_ROWS_PG = _ROWS.with_for_update()
_ENTRY_BY_KEY = select(journal_entries.c.id, journal_entries.c.digest).where(journal_entries.c.key == bindparam("k"))
_INSERT_TRANSFERS = transfers.insert()
_UPDATE_ACCOUNTS = (
    update(accounts)
    .where(accounts.c.id == bindparam("k_id"))
    .values(debits=bindparam("d"), credits=bindparam("c"), floor=bindparam("f"))
)


class LedgerStore:
    def __init__(self, tx):
        self.tx = tx
        self.conn = tx.conn

    # Accounts ------------------------------------------------------------------------------

    def open_account(
        self,
        code: str,
        now: datetime,
        *,
        person_id: int | None = None,
        bucket: str | None = None,
        floor: int | None = None,
    ) -> None:
        """Create the account if it does not exist (safe under concurrency)."""
        values = dict(
            code=code,
            kind=kind_of(code),
            person_id=person_id,
            bucket=bucket,
            floor=floor,
            debits=0,
            credits=0,
            created_at=now,
        )
        ins = sqlite_insert(accounts) if self.tx.sqlite else pg_insert(accounts)
        self.conn.execute(ins.values(**values).on_conflict_do_nothing(index_elements=["code"]))

    def _rows(self, codes: list[str], lock: bool) -> dict[str, AccountRow]:
        stmt = _ROWS_PG if lock and not self.tx.sqlite else _ROWS
        return {r.code: AccountRow(*r) for r in self.conn.execute(stmt, {"codes": list(codes)})}

    def balances(self, codes: list[str], *, lock: bool = False) -> dict[str, int]:
        """Balances of the named accounts (missing accounts read as 0). ``lock`` holds them."""
        rows = self._rows(sorted(set(codes)), lock)
        return {c: rows[c].balance if c in rows else 0 for c in codes}

    def locked_balances(self, codes: list[str]) -> dict[str, int]:
        """Lock the named accounts that exist (in id order) and return their balances."""
        return {c: r.balance for c, r in self._rows(sorted(set(codes)), lock=True).items()}

    def account(self, code: str) -> AccountRow | None:
        return self._rows([code], False).get(code)

    # Entries -------------------------------------------------------------------------------

    def post(self, entry: Entry, now: datetime) -> Posted:
        """Apply an entry atomically (inside the caller's transaction) or refuse it whole."""
        validate(entry)
        digest = entry.digest()
        changes = net_changes(entry.transfers)
        codes = sorted(changes)
        rows = self._rows(codes, lock=True)
        opened = [c for c in codes if c not in rows and kind_of(c) != "person_bucket"]
        if opened:  # funds, institutions, cash and external sources open on first use
            for code in opened:
                self.open_account(code, now)
            rows = self._rows(codes, lock=True)
        missing = [c for c in codes if c not in rows]
        if missing:
            if self.conn.execute(_ENTRY_BY_KEY, {"k": entry.key}).first() is not None:
                return self._replay(entry.key, digest)
            raise LedgerError("account_not_found", ", ".join(missing))
        updates = []
        for code in codes:
            row = rows[code]
            d, c = changes[code]
            new_balance = row.balance + c - d
            floor = row.floor
            if floor is not None and new_balance < floor:
                if code not in entry.lower_floors:
                    if self.conn.execute(_ENTRY_BY_KEY, {"k": entry.key}).first() is not None:
                        return self._replay(entry.key, digest)  # a replay, judged by its key, not its amounts
                    raise LedgerError("floor_crossed", f"{code}: {row.balance} → {new_balance} < {floor}")
                floor = new_balance
            elif floor is not None and floor < 0 and new_balance > floor:
                floor = min(new_balance, 0)  # a lowered floor ratchets back up to zero
            if over_totals(row.debits + d, row.credits + c):
                if self.conn.execute(_ENTRY_BY_KEY, {"k": entry.key}).first() is not None:
                    return self._replay(entry.key, digest)
                raise totals_refusal(code)
            updates.append({"k_id": row.id, "d": row.debits + d, "c": row.credits + c, "f": floor})
        # The key is claimed under the account locks; a concurrent post of the same key that got
        # there first makes this one a replay (or a clash), never a second posting.
        ins = sqlite_insert(journal_entries) if self.tx.sqlite else pg_insert(journal_entries)
        entry_id = self.conn.execute(
            ins.values(key=entry.key, kind=entry.kind, ref=entry.ref, digest=digest, posted_at=now, memo=entry.memo)
            .on_conflict_do_nothing(index_elements=["key"])
            .returning(journal_entries.c.id)
        ).scalar()
        if entry_id is None:
            return self._replay(entry.key, digest)
        if entry.transfers:
            self.conn.execute(
                _INSERT_TRANSFERS,
                [
                    {
                        "entry_id": entry_id,
                        "debit_account_id": rows[t.debit].id,
                        "credit_account_id": rows[t.credit].id,
                        "amount": t.amount,
                        "code": t.code,
                    }
                    for t in entry.transfers
                ],
            )
        if updates:
            self.conn.execute(_UPDATE_ACCOUNTS, updates)
        return Posted(entry_id, True)

    def _replay(self, key: str, digest: str) -> Posted:
        """The key was posted before: the same transfers are a no-op, others a clash."""
        existing = self.conn.execute(_ENTRY_BY_KEY, {"k": key}).first()
        if existing.digest != digest:
            raise LedgerError("exists_with_different_transfers", key)
        return Posted(existing.id, False)

    def entry(self, key: str) -> Entry | None:
        head = self.conn.execute(select(journal_entries).where(journal_entries.c.key == key)).first()
        if head is None:
            return None
        d, c = accounts.alias("d"), accounts.alias("c")
        rows = self.conn.execute(
            select(d.c.code, c.c.code, transfers.c.amount, transfers.c.code)
            .join(d, d.c.id == transfers.c.debit_account_id)
            .join(c, c.c.id == transfers.c.credit_account_id)
            .where(transfers.c.entry_id == head.id)
            .order_by(transfers.c.id)
        ).all()
        return Entry(head.key, head.kind, tuple(Transfer(*r) for r in rows), ref=head.ref, memo=head.memo)

    def has_entry(self, key: str) -> bool:
        return self.conn.execute(_ENTRY_BY_KEY, {"k": key}).first() is not None

    def movements(self, codes: list[str], *, newest_first: bool = False, limit: int | None = None) -> list[Movement]:
        """Every transfer touching the named accounts, with its entry, in posting order."""
        ids = {r.id: r.code for r in self._rows(sorted(set(codes)), lock=False).values()}
        if not ids:
            return []
        order = (
            (journal_entries.c.posted_at.desc(), transfers.c.id.desc())
            if newest_first
            else (journal_entries.c.posted_at, transfers.c.id)
        )
        stmt = (
            select(
                journal_entries.c.key,
                journal_entries.c.kind,
                journal_entries.c.posted_at,
                transfers.c.amount,
                transfers.c.code,
                transfers.c.debit_account_id,
                transfers.c.credit_account_id,
                journal_entries.c.ref,
            )
            .join(journal_entries, journal_entries.c.id == transfers.c.entry_id)
            .where(or_(transfers.c.debit_account_id.in_(list(ids)), transfers.c.credit_account_id.in_(list(ids))))
            .order_by(*order)
            .limit(limit)
        )
        return [
            Movement(
                r.key,
                r.kind,
                r.posted_at,
                r.amount,
                r.code,
                ids.get(r.debit_account_id),
                ids.get(r.credit_account_id),
                r.ref,
            )
            for r in self.conn.execute(stmt)
        ]

    # Invariants ----------------------------------------------------------------------------

    def check_invariants(self) -> list[str]:
        """Every way the ledger could be wrong, as sentences; an empty list means it is sound."""
        problems = []
        total_d, total_c = self.conn.execute(
            select(func.coalesce(func.sum(accounts.c.debits), 0), func.coalesce(func.sum(accounts.c.credits), 0))
        ).one()
        if total_d != total_c:
            problems.append(f"Σ debits {total_d} ≠ Σ credits {total_c}")
        posted_d = dict(
            self.conn.execute(
                select(transfers.c.debit_account_id, func.sum(transfers.c.amount)).group_by(
                    transfers.c.debit_account_id
                )
            ).all()
        )
        posted_c = dict(
            self.conn.execute(
                select(transfers.c.credit_account_id, func.sum(transfers.c.amount)).group_by(
                    transfers.c.credit_account_id
                )
            ).all()
        )
        for row in self.conn.execute(select(accounts)):
            if row.debits != posted_d.get(row.id, 0) or row.credits != posted_c.get(row.id, 0):
                problems.append(f"{row.code}: balances differ from its transfers")
            if row.floor is not None and row.credits - row.debits < row.floor:
                problems.append(f"{row.code}: balance {row.credits - row.debits} below floor {row.floor}")
            if row.kind == "person_bucket" and row.floor is None:
                problems.append(f"{row.code}: a person's bucket without a floor")
        return problems
