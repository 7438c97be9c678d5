"""The ledger on both databases: random sequences of entries against a model, checked after every operation.

Each hypothesis example works on accounts of its own (a fresh code prefix), because the ``store``
fixture is not reset between examples; the global checks (invariants, Σ debits = Σ credits) hold
across everything ever posted in the store.
"""

import itertools
from dataclasses import dataclass, field
from datetime import datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, update

from support import db_snapshot
from yibao.ledger.model import (
    Entry,
    LedgerError,
    Transfer,
    cash_account,
    external_account,
    fund_account,
    institution_account,
    person_bucket,
    reversal,
)
from yibao.storage import tables

NOW = datetime(2025, 6, 1, 10, 0, 0)
_prefix = itertools.count(1)

DB_SETTINGS = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def accounts_for(px: str) -> tuple[list[str], list[str]]:
    """Three person buckets (floor 0) and four accounts without a floor."""
    persons = [
        person_bucket(f"{px}A", "current"),
        person_bucket(f"{px}A", "historical"),
        person_bucket(f"{px}B", "current"),
    ]
    others = [fund_account(px, "310100"), institution_account(px), cash_account(px), external_account(px)]
    return persons, others


def open_persons(store, codes: list[str]) -> None:
    with store.uow() as tx:
        for code in codes:
            tx.ledger.open_account(code, NOW, bucket=code.rsplit(":", 1)[1], floor=0)


def post(store, entry: Entry):
    with store.uow() as tx:
        return tx.ledger.post(entry, NOW)


def global_checks(store) -> None:
    with store.uow() as tx:
        assert tx.ledger.check_invariants() == []
        d, c = (
            sum(pair)
            for pair in zip(
                *(
                    tx.conn.execute(
                        select(func.coalesce(func.sum(t.c.debits), 0), func.coalesce(func.sum(t.c.credits), 0))
                    ).one()
                    for t in (tables.accounts, tables.account_shards)  # own rows + running sums by shard
                ),
                strict=True,
            )
        )
        assert d == c
        posted = tx.conn.execute(select(func.coalesce(func.sum(tables.transfers.c.amount), 0))).scalar_one()
        assert d == posted


def balances_of(store, codes: list[str]) -> dict[str, int]:
    with store.uow() as tx:
        return tx.ledger.balances(codes)


def entry_count(store, px: str) -> int:
    with store.uow() as tx:
        return tx.conn.execute(
            select(func.count()).select_from(tables.journal_entries).where(tables.journal_entries.c.key.like(f"{px}|%"))
        ).scalar_one()


# The model ---------------------------------------------------------------------------------------


@dataclass
class Model:
    px: str
    persons: list[str]
    others: list[str]
    balance: dict[str, int] = field(default_factory=dict)
    applied: dict[str, Entry] = field(default_factory=dict)  # key -> entry as posted

    @property
    def codes(self) -> list[str]:
        return self.persons + self.others

    def outcome(self, entry: Entry) -> str | None:
        """What the ledger must answer: None (applied), "replay", or the refusal reason."""
        if entry.key in self.applied:
            return "replay" if self.applied[entry.key].digest() == entry.digest() else "exists_with_different_transfers"
        after = dict(self.balance)
        for t in entry.transfers:
            after[t.debit] = after.get(t.debit, 0) - t.amount
            after[t.credit] = after.get(t.credit, 0) + t.amount
        if any(after.get(p, 0) < 0 for p in self.persons):
            return "floor_crossed"
        return None

    def apply(self, entry: Entry) -> None:
        for t in entry.transfers:
            self.balance[t.debit] = self.balance.get(t.debit, 0) - t.amount
            self.balance[t.credit] = self.balance.get(t.credit, 0) + t.amount
        self.applied[entry.key] = entry


transfer_spec = st.tuples(st.integers(0, 6), st.integers(0, 6), st.integers(1, 50_000))
operations = st.lists(
    st.one_of(
        st.tuples(st.just("post"), st.lists(transfer_spec, min_size=1, max_size=4)),
        st.tuples(st.just("replay"), st.integers(0, 50)),
        st.tuples(st.just("clash"), st.integers(0, 50), st.integers(1, 100)),
        st.tuples(st.just("reverse"), st.integers(0, 50)),
    ),
    min_size=1,
    max_size=12,
)


@DB_SETTINGS
@given(ops=operations)
def test_random_entries_keep_the_ledger_sound(store, ops):
    px = f"L{next(_prefix)}x"
    persons, others = accounts_for(px)
    open_persons(store, persons)
    model = Model(px, persons, others)
    serial = itertools.count()
    for op in ops:
        entry = _entry_for(op, model, serial)
        if entry is None:
            continue
        before_count = entry_count(store, px)
        expected = model.outcome(entry)
        if expected in (None, "replay"):
            posted = post(store, entry)
            assert posted.applied is (expected is None)
            if expected is None:
                model.apply(entry)
        else:
            with pytest.raises(LedgerError) as info:
                post(store, entry)
            assert info.value.reason == expected
        # After every operation: the database agrees with the model, and the ledger is sound.
        assert balances_of(store, model.codes) == {c: model.balance.get(c, 0) for c in model.codes}
        assert entry_count(store, px) == before_count + (1 if expected is None else 0)
        assert all(model.balance.get(p, 0) >= 0 for p in persons)
        global_checks(store)


def _entry_for(op, model: Model, serial) -> Entry | None:
    kind = op[0]
    if kind == "post":
        transfers = tuple(Transfer(model.codes[d], model.codes[c], amount, "test") for d, c, amount in op[1] if d != c)
        # (An entry without transfers is its own test below.)
        return Entry(f"{model.px}|e{next(serial)}", "test", transfers) if transfers else None
    if not model.applied:
        return None
    keys = sorted(model.applied)
    original = model.applied[keys[op[1] % len(keys)]]
    if kind == "replay":
        return Entry(original.key, original.kind, original.transfers, memo="again")
    if kind == "clash":
        first = original.transfers[0]
        changed = (Transfer(first.debit, first.credit, first.amount + op[2], first.code), *original.transfers[1:])
        return Entry(original.key, original.kind, changed)
    return reversal(original, f"{model.px}|rev:{original.key}", "reversal")


# Deterministic properties ------------------------------------------------------------------------


@pytest.fixture
def funded(store):
    """Two person buckets with money from outside, and the store."""
    a, b = person_bucket("PA", "current"), person_bucket("PA", "historical")
    open_persons(store, [a, b])
    post(
        store,
        Entry(
            "opening:PA",
            "opening",
            (
                Transfer(external_account("opening"), a, 10_000, "opening"),
                Transfer(external_account("opening"), b, 5_000, "opening"),
            ),
        ),
    )
    return store, a, b


def test_replay_with_same_transfers_changes_nothing(funded):
    store, a, _b = funded
    entry = Entry("pay:1", "settlement", (Transfer(a, institution_account("H1"), 3_000, "acct_pay"),))
    first = post(store, entry)
    assert first.applied
    before = db_snapshot(store)
    again = post(store, Entry("pay:1", "settlement", entry.transfers, ref="other ref", memo="retry"))
    assert again.applied is False
    assert again.entry_id == first.entry_id
    assert db_snapshot(store) == before
    assert balances_of(store, [a])[a] == 7_000
    global_checks(store)


@pytest.mark.parametrize(
    "changed",
    [
        lambda a: (Transfer(a, institution_account("H1"), 3_001, "acct_pay"),),
        lambda a: (Transfer(a, institution_account("H2"), 3_000, "acct_pay"),),
        lambda a: (Transfer(a, institution_account("H1"), 3_000, "mutual_aid"),),
        lambda a: (
            Transfer(a, institution_account("H1"), 1_000, "acct_pay"),
            Transfer(a, institution_account("H1"), 2_000, "acct_pay"),
        ),
    ],
)
def test_same_key_with_different_transfers_is_refused(funded, changed):
    store, a, _b = funded
    post(store, Entry("pay:1", "settlement", (Transfer(a, institution_account("H1"), 3_000, "acct_pay"),)))
    before = db_snapshot(store)
    with pytest.raises(LedgerError) as info:
        post(store, Entry("pay:1", "settlement", changed(a)))
    assert info.value.reason == "exists_with_different_transfers"
    assert db_snapshot(store) == before
    global_checks(store)


def test_floor_refuses_the_whole_entry(funded):
    store, a, b = funded
    before = db_snapshot(store)
    entry = Entry(
        "pay:big",
        "settlement",
        (
            Transfer(external_account("gift"), b, 1, "test"),  # fine on its own
            Transfer(a, institution_account("NEW"), 10_001, "acct_pay"),  # one fen too many
            Transfer(fund_account("360199", "310100"), institution_account("NEW"), 500, "fund_pay"),
        ),
    )
    with pytest.raises(LedgerError) as info:
        post(store, entry)
    assert info.value.reason == "floor_crossed"
    assert a in info.value.detail
    # No partial write: no journal row, no transfer, no balance moved, no account opened.
    assert db_snapshot(store) == before
    # Exactly the balance is fine.
    post(store, Entry("pay:exact", "settlement", (Transfer(a, institution_account("NEW"), 10_000, "acct_pay"),)))
    assert balances_of(store, [a, b]) == {a: 0, b: 5_000}
    with pytest.raises(LedgerError, match="floor_crossed"):
        post(store, Entry("pay:one-more", "settlement", (Transfer(a, institution_account("NEW"), 1, "acct_pay"),)))
    global_checks(store)


def test_floor_is_checked_on_the_net_change_of_an_entry(funded):
    store, a, b = funded
    # Draw 12_000 from a bucket holding 10_000, but move 5_000 into it in the same entry: net −7_000.
    entry = Entry(
        "move",
        "test",
        (Transfer(a, institution_account("H1"), 12_000, "acct_pay"), Transfer(b, a, 5_000, "rollover")),
    )
    post(store, entry)
    assert balances_of(store, [a, b]) == {a: 3_000, b: 0}
    global_checks(store)


def test_clawback_may_lower_a_floor_which_then_ratchets_back(funded):
    store, a, _b = funded
    claw = Entry(
        "claw",
        "clawback",
        (Transfer(a, external_account("clawback"), 15_000, "clawback"),),
        lower_floors=frozenset({a}),
    )
    post(store, claw)
    with store.uow() as tx:
        row = tx.ledger.account(a)
    assert (row.balance, row.floor) == (-5_000, -5_000)
    global_checks(store)
    # It may not go lower without permission...
    with pytest.raises(LedgerError, match="floor_crossed"):
        post(store, Entry("more", "settlement", (Transfer(a, institution_account("H1"), 1, "acct_pay"),)))
    # ...and a credit raises the floor towards zero.
    post(store, Entry("credit", "credit", (Transfer(external_account("credit"), a, 2_000, "credit"),)))
    with store.uow() as tx:
        row = tx.ledger.account(a)
    assert (row.balance, row.floor) == (-3_000, -3_000)
    post(store, Entry("credit2", "credit", (Transfer(external_account("credit"), a, 9_000, "credit"),)))
    with store.uow() as tx:
        row = tx.ledger.account(a)
    assert (row.balance, row.floor) == (6_000, 0)
    global_checks(store)


def test_reversal_restores_every_balance(funded):
    store, a, b = funded
    before = balances_of(store, [a, b, institution_account("H1"), fund_account("360199", "310100"), cash_account("H1")])
    entry = Entry(
        "setl:1",
        "settlement",
        (
            Transfer(fund_account("360199", "310100"), institution_account("H1"), 38_500, "fund_pay"),
            Transfer(a, institution_account("H1"), 10_000, "acct_pay"),
            Transfer(b, institution_account("H1"), 4_000, "mutual_aid"),
            Transfer(cash_account("H1"), institution_account("H1"), 123, "cash_pay"),
        ),
        ref="ST1",
    )
    post(store, entry)
    back = reversal(entry, "cancel:1", "cancellation")
    assert back.ref == "ST1"
    assert [(t.debit, t.credit, t.amount) for t in back.transfers] == [
        (t.credit, t.debit, t.amount) for t in entry.transfers
    ]
    assert post(store, back).applied
    assert balances_of(store, list(before)) == before
    assert not post(store, back).applied  # a second identical cancellation is a replay
    assert balances_of(store, list(before)) == before
    with store.uow() as tx:
        stored = tx.ledger.entry("setl:1")
        assert tx.ledger.has_entry("cancel:1")
    assert stored.transfers == entry.transfers and stored.ref == "ST1"
    global_checks(store)


def test_reversal_refused_when_the_money_was_spent(funded):
    store, a, _b = funded
    gift = Entry("gift", "test", (Transfer(external_account("gift"), a, 1_000, "test"),))
    post(store, gift)
    post(store, Entry("spend", "test", (Transfer(a, institution_account("H1"), 11_000, "acct_pay"),)))
    before = db_snapshot(store)
    with pytest.raises(LedgerError, match="floor_crossed"):
        post(store, reversal(gift, "ungift", "reversal"))
    assert db_snapshot(store) == before


@pytest.mark.parametrize(
    ("entry", "reason"),
    [
        (Entry("", "test", (Transfer("X:a", "X:b", 1, "t"),)), "missing_key"),
        (Entry("k0", "test", (Transfer("X:a", "X:b", 0, "t"),)), "amount_must_be_positive"),
        (Entry("k1", "test", (Transfer("X:a", "X:b", -5, "t"),)), "amount_must_be_positive"),
        (Entry("k2", "test", (Transfer("X:a", "X:b", True, "t"),)), "amount_must_be_positive"),
        (Entry("k3", "test", (Transfer("X:a", "X:b", 1.5, "t"),)), "amount_must_be_positive"),
        (Entry("k4", "test", (Transfer("X:a", "X:a", 1, "t"),)), "accounts_must_be_different"),
        (Entry("k5", "test", (Transfer("X:a", person_bucket("NOBODY", "current"), 1, "t"),)), "account_not_found"),
    ],
)
def test_malformed_entries_are_refused_without_writing(funded, entry, reason):
    store, _a, _b = funded
    before = db_snapshot(store)
    with pytest.raises(LedgerError) as info:
        post(store, entry)
    assert info.value.reason == reason
    assert db_snapshot(store) == before


def test_invariant_checker_notices_tampering(funded):
    store, a, _b = funded
    with store.uow() as tx:
        tx.conn.execute(
            update(tables.accounts).where(tables.accounts.c.code == a).values(credits=tables.accounts.c.credits + 1)
        )
    with store.uow() as tx:
        problems = tx.ledger.check_invariants()
    assert any("Σ debits" in p for p in problems)
    assert any(a in p and "transfers" in p for p in problems)


def test_person_bucket_without_floor_is_reported(store):
    code = person_bucket("NOFLOOR", "current")
    with store.uow() as tx:
        tx.ledger.open_account(code, NOW)
        assert any(code in p and "floor" in p for p in tx.ledger.check_invariants())


def test_entry_without_transfers_is_posted(funded):
    # Regression: post() once ran the accounts UPDATE with an empty parameter list and crashed.
    store, a, _b = funded
    before = balances_of(store, [a])
    assert post(store, Entry("nothing", "settlement", ())).applied
    assert balances_of(store, [a]) == before
    global_checks(store)


def test_roll_up_folds_the_shards_and_keeps_every_balance(funded):
    """Accounts without a floor keep running sums by shard; folding them into the account's own row
    changes no balance and leaves the ledger sound."""
    store, a, b = funded
    for i in range(40):  # keys spread over many shards
        post(store, Entry(f"roll|{i}", "test", (Transfer(a, "I:ROLL", 1, "t"), Transfer(b, "F:X:ROLL", 2, "t"))))
    before = balances_of(store, ["I:ROLL", "F:X:ROLL", a, b])
    assert before["I:ROLL"] == 40 and before["F:X:ROLL"] == 80
    with store.uow() as tx:
        tx.ledger.roll_up("I:ROLL")
        tx.ledger.roll_up(a)  # a person's bucket has no shards: nothing to do
    assert balances_of(store, ["I:ROLL", "F:X:ROLL", a, b]) == before
    with store.uow() as tx:
        count = tx.conn.execute(
            select(func.count())
            .select_from(tables.account_shards)
            .join(tables.accounts, tables.accounts.c.id == tables.account_shards.c.account_id)
            .where(tables.accounts.c.code == "I:ROLL")
        ).scalar_one()
    assert count == 0
    global_checks(store)


def test_an_entry_posted_as_new_goes_with_the_commit_and_a_key_that_existed_fails_it_whole(funded):
    store, a, _b = funded
    entry = Entry("pay:new", "settlement", (Transfer(a, institution_account("H1"), 3_000, "acct_pay"),))
    with store.uow() as tx:
        posted = tx.ledger.post(entry, NOW, new_key=True)
        assert posted.applied
    assert balances_of(store, [a])[a] == 7_000
    before = db_snapshot(store)
    with pytest.raises(Exception), store.uow() as tx:  # noqa: B017 - the driver's unique violation (SQLite: replay)
        tx.ledger.open_account(person_bucket("PZ", "current"), NOW, bucket="current", floor=0)
        posted = tx.ledger.post(entry, NOW, new_key=True)
        if posted.applied is False:  # SQLite posts at once: the replay is seen and refused here
            raise RuntimeError("replayed")
    assert db_snapshot(store) == before  # nothing of that unit of work stayed, the new account included
    with pytest.raises(LedgerError), store.uow() as tx:  # the floor is checked before anything is sent
        tx.ledger.post(
            Entry("pay:too-much", "settlement", (Transfer(a, institution_account("H1"), 7_001, "acct_pay"),)),
            NOW,
            new_key=True,
        )
    assert balances_of(store, [a])[a] == 7_000
    global_checks(store)
