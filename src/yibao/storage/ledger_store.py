"""The ledger on the database: accounts, atomic idempotent entries, floors, and invariant checks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import BigInteger, String, any_, bindparam, cast, delete, func, or_, select, text, union_all, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from yibao.ledger.model import (
    Entry,
    LedgerError,
    Transfer,
    kind_of,
    net_changes,
    over_totals,
    shard_of,
    sharded,
    totals_refusal,
    validate,
)
from yibao.storage import raw
from yibao.storage.tables import account_shards, accounts, journal_entries, transfers


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
    entry_id: int | None  # None: sent later (``post(…, new_key=True)``)
    applied: bool  # False: the key had been applied before with the same transfers


def _totals(column):
    """An account's total in ``column``: its own row plus every shard's running sum."""
    shards = (
        select(cast(func.coalesce(func.sum(account_shards.c[column.name]), 0), BigInteger))
        .where(account_shards.c.account_id == accounts.c.id)
        .scalar_subquery()
    )
    return (column + shards).label(column.name)


_COLUMNS = (accounts.c.id, accounts.c.code, accounts.c.kind, accounts.c.floor)
_ROWS = (
    select(*_COLUMNS, _totals(accounts.c.debits), _totals(accounts.c.credits))
    .where(accounts.c.code.in_(bindparam("codes", expanding=True)))
    .order_by(accounts.c.id)
)
# Person buckets locked (in id order) and the sharded accounts read, in one statement (PostgreSQL);
# arrays instead of expanding IN lists: one text for any number of accounts, so it is prepared once
# per connection and sent past SQLAlchemy (``storage.raw``).
_LOCKED_ARR = (
    select(*_COLUMNS, accounts.c.debits, accounts.c.credits)
    .where(accounts.c.code == any_(bindparam("locked", type_=ARRAY(String))))
    .order_by(accounts.c.id)
    .with_for_update()
    .cte("locked")
)
_ROWS_PG_ARR = union_all(
    select(_LOCKED_ARR),
    select(*_COLUMNS, _totals(accounts.c.debits), _totals(accounts.c.credits)).where(
        accounts.c.code == any_(bindparam("plain", type_=ARRAY(String)))
    ),
)
_ENTRY_BY_KEY = select(journal_entries.c.id, journal_entries.c.digest).where(journal_entries.c.key == bindparam("k"))
_INSERT_TRANSFERS = transfers.insert()
_UPDATE_ACCOUNTS = (
    update(accounts)
    .where(accounts.c.id == bindparam("k_id"))
    .values(debits=bindparam("d"), credits=bindparam("c"), floor=bindparam("f"))
)


def _add_to_shards(sqlite: bool):
    ins = (sqlite_insert if sqlite else pg_insert)(account_shards)
    return ins.on_conflict_do_update(
        index_elements=[account_shards.c.account_id, account_shards.c.shard],
        set_={
            "debits": account_shards.c.debits + ins.excluded.debits,
            "credits": account_shards.c.credits + ins.excluded.credits,
        },
    )


_ADD_TO_SHARDS = {True: _add_to_shards(True), False: _add_to_shards(False)}
_CLAIM_KEY_SQLITE = (
    sqlite_insert(journal_entries)
    .values(
        key=bindparam("key"),
        kind=bindparam("kind"),
        ref=bindparam("ref"),
        digest=bindparam("digest"),
        posted_at=bindparam("posted_at"),
        memo=bindparam("memo"),
    )
    .on_conflict_do_nothing(index_elements=["key"])
    .returning(journal_entries.c.id)
)
# One entry in one statement on PostgreSQL; arrays keep the text fixed, so it is prepared once per
# connection. Transfers keep their order (ids follow it: entry() and reversals read them back in it).
_POST_PG = text(
    """
WITH e AS (
    INSERT INTO journal_entries (key, kind, ref, digest, posted_at, memo)
    VALUES (:key, :kind, :ref, :digest, :posted_at, :memo)
    ON CONFLICT (key) DO NOTHING
    RETURNING id
), t AS (
    INSERT INTO transfers (entry_id, debit_account_id, credit_account_id, amount, code)
    SELECT e.id, v.d, v.c, v.a, v.code
    FROM e, unnest(CAST(:t_d AS integer[]), CAST(:t_c AS integer[]), CAST(:t_a AS bigint[]),
                   CAST(:t_code AS varchar[])) WITH ORDINALITY AS v(d, c, a, code, n)
    ORDER BY v.n
), s AS (
    INSERT INTO account_shards (account_id, shard, debits, credits)
    SELECT v.id, :shard, v.d, v.c
    FROM e, unnest(CAST(:s_id AS integer[]), CAST(:s_d AS bigint[]), CAST(:s_c AS bigint[])) AS v(id, d, c)
    ORDER BY v.id
    ON CONFLICT (account_id, shard) DO UPDATE
    SET debits = account_shards.debits + excluded.debits, credits = account_shards.credits + excluded.credits
), u AS (
    UPDATE accounts SET debits = v.d, credits = v.c, floor = v.f
    FROM e, unnest(CAST(:u_id AS integer[]), CAST(:u_d AS bigint[]), CAST(:u_c AS bigint[]),
                   CAST(:u_f AS bigint[])) AS v(id, d, c, f)
    WHERE accounts.id = v.id
)
SELECT id FROM e
"""
)


# The same, for a key new by construction (``post(…, new_key=True)``): no ON CONFLICT, so a key that
# existed after all fails the statement — and, sent with the COMMIT, the whole unit of work.
_POST_PG_NEW = text(_POST_PG.text.replace("    ON CONFLICT (key) DO NOTHING\n", "", 1))
assert _POST_PG_NEW.text != _POST_PG.text


class LedgerStore:
    def __init__(self, tx):
        self.tx = tx
        self.conn = tx.conn
        self._prefetched: dict[str, AccountRow] = {}  # read by locked_balances(also=…), used by the next post
        # buckets locked with other reads (``locked_ahead``): (codes looked for, also, rows found)
        self._ahead: tuple[set[str], tuple[str, ...], dict[str, AccountRow]] | None = None

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
        if floor is not None and sharded(code):
            raise ValueError(f"only a person's bucket has a floor: {code}")
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

    def _rows(self, codes: list[str], lock: bool, also: tuple[str, ...] = ()) -> dict[str, AccountRow]:
        """The accounts' rows with their totals. ``lock`` holds the person buckets among ``codes``
        (in id order; never a sharded account, whose totals nobody needs to hold); ``also`` are
        read in the same statement without a lock."""
        if lock and not self.tx.sqlite:
            wanted = set(codes) | set(also)
            locked = sorted(c for c in wanted if not sharded(c))
            plain = sorted(c for c in wanted if sharded(c))
            return {r[1]: AccountRow(*r) for r in raw.rows(self.tx, _ROWS_PG_ARR, {"locked": locked, "plain": plain})}
        else:
            rows = self.conn.execute(_ROWS, {"codes": sorted(set(codes) | set(also))})
        return {r.code: AccountRow(*r) for r in rows}

    def balances(self, codes: list[str], *, lock: bool = False) -> dict[str, int]:
        """Balances of the named accounts (missing accounts read as 0). ``lock`` holds person buckets."""
        rows = self._rows(sorted(set(codes)), lock)
        return {c: rows[c].balance if c in rows else 0 for c in codes}

    def locked_ahead(self, wanted: set[str], also: tuple[str, ...], rows: dict[str, AccountRow]) -> None:
        """Person buckets locked, and the accounts ``also`` read, by a statement that went out with
        other reads (``family_reads.family_of(lock=…)``): ``wanted`` the bucket codes it looked for,
        ``rows`` those that exist. The next ``locked_balances`` uses them if they cover its codes."""
        self._ahead = (wanted, also, rows)

    def locked_balances(self, codes: list[str], *, also: tuple[str, ...] = ()) -> dict[str, int]:
        """Lock the named person buckets that exist (in id order) and return their balances.

        ``also``: accounts the next ``post`` of this transaction will touch (the fund, the
        institution, cash), read in the same statement so that ``post`` need not read again.
        Already locked and read ahead (``locked_ahead``) when those covered every code asked for."""
        ahead, self._ahead = self._ahead, None
        if ahead is not None and set(codes) <= ahead[0] and set(also) == set(ahead[1]):
            rows = ahead[2]
        else:  # nothing ahead, or a payer granted since the statement looked: lock them now
            rows = self._rows(sorted(set(codes)), lock=True, also=also)
        self._prefetched = rows
        return {c: r.balance for c, r in rows.items() if c in codes}

    def account(self, code: str) -> AccountRow | None:
        return self._rows([code], False).get(code)

    # Entries -------------------------------------------------------------------------------

    def post(self, entry: Entry, now: datetime, *, new_key: bool = False) -> Posted:
        """Apply an entry atomically (inside the caller's transaction) or refuse it whole.

        Person buckets are locked and checked against their floors; accounts without a floor get
        the entry's net change added to the running sum its key picks (``ledger.model.shard_of``).

        ``new_key``: the caller knows no entry has this key (it names an id reserved in this unit
        of work). The floors are checked here as always, then on PostgreSQL the entry waits and goes
        with the unit of work's next round trip (``raw.later``: with the COMMIT, for a settlement);
        were the key there after all, the statement fails and the whole unit of work with it.
        ``Posted.entry_id`` is then None."""
        validate(entry)
        digest = entry.digest()
        changes = net_changes(entry.transfers)
        codes = sorted(changes)
        prefetched, self._prefetched = self._prefetched, {}
        if all(c in prefetched for c in codes):
            rows = {c: prefetched[c] for c in codes}  # read (person buckets locked) earlier in this transaction
        else:
            rows = self._rows(codes, lock=True)
        opened = [c for c in codes if c not in rows and sharded(c)]
        if opened:  # funds, institutions, cash and external sources open on first use
            for code in opened:
                self.open_account(code, now)
            rows.update(self._rows(opened, lock=False))
        missing = [c for c in codes if c not in rows]
        if missing:
            if self.conn.execute(_ENTRY_BY_KEY, {"k": entry.key}).first() is not None:
                return self._replay(entry.key, digest)
            raise LedgerError("account_not_found", ", ".join(missing))
        updates, shard_adds = [], []
        shard = shard_of(entry.key)
        for code in codes:
            row = rows[code]
            d, c = changes[code]
            if over_totals(row.debits + d, row.credits + c):
                if self.conn.execute(_ENTRY_BY_KEY, {"k": entry.key}).first() is not None:
                    return self._replay(entry.key, digest)
                raise totals_refusal(code)
            if sharded(code):
                shard_adds.append({"account_id": row.id, "shard": shard, "debits": d, "credits": c})
                continue
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
            updates.append({"k_id": row.id, "d": row.debits + d, "c": row.credits + c, "f": floor})
        # The key is claimed under the person buckets' locks; a concurrent post of the same key that
        # got there first makes this one a replay (or a clash), never a second posting.
        transfer_rows = [(rows[t.debit].id, rows[t.credit].id, t.amount, t.code) for t in entry.transfers]
        shard_adds.sort(key=lambda a: a["account_id"])  # in id order: two entries never wait in a cycle
        if not self.tx.sqlite and new_key:
            raw.later(self.tx, _POST_PG_NEW, _pg_params(entry, digest, now, transfer_rows, shard, shard_adds, updates))
            return Posted(None, True)
        if not self.tx.sqlite:
            entry_id = self._post_pg(entry, digest, now, transfer_rows, shard, shard_adds, updates)
        else:
            entry_id = self._post_each(entry, digest, now, transfer_rows, shard_adds, updates)
        if entry_id is None:
            return self._replay(entry.key, digest)
        return Posted(entry_id, True)

    def _post_pg(self, entry, digest, now, transfer_rows, shard, shard_adds, updates) -> int | None:
        """The whole entry in one statement (one round trip): the key, its transfers, the running
        sums and the person buckets' totals — all or nothing, nothing at all if the key exists."""
        found = raw.first(self.tx, _POST_PG, _pg_params(entry, digest, now, transfer_rows, shard, shard_adds, updates))
        return None if found is None else found[0]

    def _post_each(self, entry, digest, now, transfer_rows, shard_adds, updates) -> int | None:
        """SQLite: the same writes as statements of their own (no round trips to save in-process)."""
        entry_id = self.conn.execute(
            _CLAIM_KEY_SQLITE,
            dict(key=entry.key, kind=entry.kind, ref=entry.ref, digest=digest, posted_at=now, memo=entry.memo),
        ).scalar()
        if entry_id is None:
            return None
        if transfer_rows:
            self.conn.execute(
                _INSERT_TRANSFERS,
                [
                    {"entry_id": entry_id, "debit_account_id": d, "credit_account_id": c, "amount": a, "code": code}
                    for d, c, a, code in transfer_rows
                ],
            )
        if shard_adds:
            self.conn.execute(_ADD_TO_SHARDS[True], shard_adds)
        if updates:
            self.conn.execute(_UPDATE_ACCOUNTS, updates)
        return entry_id

    def roll_up(self, code: str) -> None:
        """Fold an account's shards into its own row (totals unchanged); waits for the postings that
        hold a shard. Optional housekeeping: balances are right with or without it."""
        if not sharded(code):
            return
        row = self.conn.execute(self.tx.for_update(select(accounts.c.id).where(accounts.c.code == code))).first()
        if row is None:
            return
        shards = self.conn.execute(
            self.tx.for_update(
                select(account_shards.c.debits, account_shards.c.credits).where(account_shards.c.account_id == row.id)
            )
        ).all()
        d, c = sum(s.debits for s in shards), sum(s.credits for s in shards)
        self.conn.execute(delete(account_shards).where(account_shards.c.account_id == row.id))
        self.conn.execute(
            update(accounts)
            .where(accounts.c.id == row.id)
            .values(debits=accounts.c.debits + d, credits=accounts.c.credits + c)
        )

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
        shard_d, shard_c = self.conn.execute(
            select(
                func.coalesce(func.sum(account_shards.c.debits), 0),
                func.coalesce(func.sum(account_shards.c.credits), 0),
            )
        ).one()
        if total_d + shard_d != total_c + shard_c:
            problems.append(f"Σ debits {total_d + shard_d} ≠ Σ credits {total_c + shard_c}")
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
        in_shards: dict[int, list[int]] = {}
        for r in self.conn.execute(select(account_shards)):
            got = in_shards.setdefault(r.account_id, [0, 0])
            got[0] += r.debits
            got[1] += r.credits
        for row in self.conn.execute(select(accounts)):
            d, c = in_shards.get(row.id, (0, 0))
            if row.debits + d != posted_d.get(row.id, 0) or row.credits + c != posted_c.get(row.id, 0):
                problems.append(f"{row.code}: balances differ from its transfers")
            if row.floor is not None and row.credits - row.debits < row.floor:
                problems.append(f"{row.code}: balance {row.credits - row.debits} below floor {row.floor}")
            if row.kind == "person_bucket" and row.floor is None:
                problems.append(f"{row.code}: a person's bucket without a floor")
            if row.kind == "person_bucket" and row.id in in_shards:
                problems.append(f"{row.code}: a person's bucket with running sums by shard")
        return problems


def _pg_params(entry: Entry, digest: str, now: datetime, transfer_rows, shard: int, shard_adds, updates) -> dict:
    """The parameters of the one-statement entry (``_POST_PG``): arrays, so its text never changes."""
    return {
        "key": entry.key,
        "kind": entry.kind,
        "ref": entry.ref,
        "digest": digest,
        "posted_at": now,
        "memo": entry.memo,
        "t_d": [r[0] for r in transfer_rows],
        "t_c": [r[1] for r in transfer_rows],
        "t_a": [r[2] for r in transfer_rows],
        "t_code": [r[3] for r in transfer_rows],
        "shard": shard,
        "s_id": [a["account_id"] for a in shard_adds],
        "s_d": [a["debits"] for a in shard_adds],
        "s_c": [a["credits"] for a in shard_adds],
        "u_id": [u["k_id"] for u in updates],
        "u_d": [u["d"] for u in updates],
        "u_c": [u["c"] for u in updates],
        "u_f": [u["f"] for u in updates],
    }
