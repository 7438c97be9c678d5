"""A settlement's family reads and the locks on the buckets it may draw go out in one round trip —
the one that locks the patient, right after the lock (issue 11: 5 → 4 → 3 round trips per 2102);
when the guess they were sent on proves wrong they are read again; when the lock could not cover a
payer the settlement asks for (a grant made between the two statements), that payer's buckets are
locked in a statement of their own — slower, never a draw on an unlocked account."""

from __future__ import annotations

import pytest

from conftest import START
from support import balances, call, family_world, pharmacy_input
from yibao.storage import raw
from yibao.storage.ledger_store import LedgerStore


@pytest.fixture
def p(pg_store):
    from yibao.services.platform import FixedClock, Platform

    platform = Platform(pg_store, FixedClock(START))
    platform.fam = family_world(platform)
    # a first settlement opens the fund's, the pharmacy's and cash's accounts (their first post reads
    # them again, as it always has); the tests look at the settlements after it
    first = call(platform, "2102", pharmacy_input(platform.fam.son, "1.00"), password="123456")
    assert first["infcode"] == 0, first["err_msg"]
    return platform


def _trips(sent: list[tuple[str, bool]]) -> list[list[str]]:
    trips: list[list[str]] = []
    for sql, new_trip in sent:
        if new_trip or not trips:
            trips.append([])
        trips[-1].append(sql)
    return trips


def _settle_from_the_family(p) -> tuple[dict, list[list[str]]]:
    sent: list[tuple[str, bool]] = []
    raw.STATEMENT_LISTENERS.append(lambda sql, params, count, new_trip: sent.append((sql, new_trip)))
    try:
        answer = call(p, "2102", pharmacy_input(p.fam.son, "10.00", acct_used="2"), password="123456")
    finally:
        raw.STATEMENT_LISTENERS.clear()
    assert answer["infcode"] == 0, answer["err_msg"]
    return answer, _trips(sent)


def _locks(trip: list[str]) -> list[str]:
    return [sql for sql in trip if "FROM accounts" in sql and "FOR UPDATE" in sql]


def test_the_buckets_are_locked_with_the_family_reads(p):
    father = balances(p, p.fam.father)
    _, trips = _settle_from_the_family(p)
    family = next(trip for trip in trips if any("FROM mutual_aid_grants" in sql for sql in trip))
    assert len(_locks(family)) == 1  # the family's buckets, locked in the family's round trip
    assert sum(len(_locks(trip)) for trip in trips) == 1  # and nowhere else
    assert sum(balances(p, p.fam.father)) == sum(father) - 1000  # the father's accounts paid


def test_the_family_goes_with_the_patients_lock_three_round_trips_in_all(p):
    _, trips = _settle_from_the_family(p)
    assert len(trips) == 3
    family = next(trip for trip in trips if any("FROM mutual_aid_grants" in sql for sql in trip))
    patient_lock = next(i for i, sql in enumerate(family) if sql.startswith("SELECT people.") and "FOR UPDATE" in sql)
    grants = next(i for i, sql in enumerate(family) if "FROM mutual_aid_grants" in sql)
    assert patient_lock < grants  # read under the patient's lock, never before it
    assert family.index(_locks(family)[0]) > patient_lock  # and the buckets locked after it


def test_a_wrong_guess_is_read_again_and_settles_the_same(p, monkeypatch):
    """The family was announced for another medical year (as for a claim whose visit began last
    year): the rows sent with the lock are not used, the family is read again, the money is right."""
    from yibao.storage import family_reads

    expect = family_reads.expect_family

    def another_year(tx, psn_no, now, year, category, *, lock):
        expect(tx, psn_no, now, year - 1, category, lock=lock)

    monkeypatch.setattr(family_reads, "expect_family", another_year)
    monkeypatch.setattr("yibao.services.settle.expect_family", another_year)
    father = balances(p, p.fam.father)
    _, trips = _settle_from_the_family(p)
    assert len(trips) == 4  # the round trip it would have saved
    assert sum(sql.startswith("SELECT mutual_aid_grants.") for trip in trips for sql in trip) == 2
    assert sum(balances(p, p.fam.father)) == sum(father) - 1000


def test_a_payer_the_lock_did_not_cover_is_locked_on_its_own(p, monkeypatch):
    ahead = LedgerStore.locked_ahead

    def without_payers(self, wanted, also, rows):  # as if the grant had been made after the lock looked
        own = {c for c in wanted if p.fam.son.person.psn_no in c}
        ahead(self, own, also, {c: r for c, r in rows.items() if c in own or c in also})

    monkeypatch.setattr(LedgerStore, "locked_ahead", without_payers)
    father = balances(p, p.fam.father)
    _, trips = _settle_from_the_family(p)
    assert sum(len(_locks(trip)) for trip in trips) == 2  # the family's, then the father's on its own
    assert sum(balances(p, p.fam.father)) == sum(father) - 1000  # and he still pays, under a lock
