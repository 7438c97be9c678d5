"""storage.raw: statements past SQLAlchemy, writes that wait for a round trip, reads done ahead.

What waits (``raw.later``) must behave exactly as if it had been sent at once: seen by the next
statement of the same unit of work whoever sends it, committed with it, rolled back with it, and a
failure among the waiting writes fails the unit of work whole.
"""

import pytest
from sqlalchemy import bindparam, select

from support import family_world
from yibao.errors import DomainError, refuse
from yibao.settlement.model import CatalogItem
from yibao.storage import raw
from yibao.storage.tables import accumulators

YEAR, CAT = 2025, "pharmacy"


def _acc_sqlalchemy(tx, person_id: int) -> tuple[int, int] | None:
    r = tx.conn.execute(
        select(accumulators.c.deductible_used, accumulators.c.fund_paid).where(
            accumulators.c.person_id == person_id, accumulators.c.year == YEAR, accumulators.c.category == CAT
        )
    ).first()
    return None if r is None else (r[0], r[1])


def test_a_waiting_write_is_seen_by_the_next_statement_whoever_sends_it(platform):
    son = family_world(platform).son.person
    with platform.store.uow() as tx:
        tx.care.add_to_accumulator(son.id, YEAR, CAT, 100, 200)
        assert _acc_sqlalchemy(tx, son.id) == (100, 200)  # through SQLAlchemy: flushed first
        tx.care.add_to_accumulator(son.id, YEAR, CAT, 1, 2)
        assert tx.care.accumulator(son.id, YEAR, CAT) == (101, 202)
        tx.care.add_to_accumulator(son.id, YEAR, CAT, 1, 2)
        assert tx.care.institution("nobody") is None  # a raw statement carries the waiting write along
        assert not tx.later
    with platform.store.uow() as tx:
        assert tx.care.accumulator(son.id, YEAR, CAT) == (102, 204)


def test_waiting_writes_are_committed_with_the_unit_of_work(platform):
    son = family_world(platform).son.person
    with platform.store.uow() as tx:
        tx.care.add_to_accumulator(son.id, YEAR, CAT, 7, 8)  # nothing after it: sent with the commit
    with platform.store.uow() as tx:
        assert tx.care.accumulator(son.id, YEAR, CAT) == (7, 8)


@pytest.mark.parametrize("keep_writes", [False, True])
def test_waiting_writes_follow_a_refusal(platform, keep_writes):
    son = family_world(platform).son.person
    err = refuse("E2207-008")
    err.keep_writes = keep_writes
    with pytest.raises(DomainError), platform.store.uow() as tx:
        tx.care.add_to_accumulator(son.id, YEAR, CAT, 5, 6)
        raise err
    with platform.store.uow() as tx:
        assert tx.care.accumulator(son.id, YEAR, CAT) == ((5, 6) if keep_writes else (0, 0))


def test_a_failing_waiting_write_fails_the_whole_unit_of_work(platform):
    son = family_world(platform).son.person
    with pytest.raises(Exception), platform.store.uow() as tx:  # noqa: B017 - the driver's own error
        tx.care.add_to_accumulator(son.id, YEAR, CAT, 3, 4)
        tx.care.add_to_accumulator(10**9, YEAR, CAT, 1, 1)  # no such person: the foreign key refuses it
    with platform.store.uow() as tx:
        assert tx.care.accumulator(son.id, YEAR, CAT) == (0, 0)  # the first write went back too


def test_a_waiting_write_inside_a_rolled_back_savepoint_is_undone(platform):
    son = family_world(platform).son.person
    with platform.store.uow() as tx:
        with pytest.raises(RuntimeError), tx.savepoint():
            tx.care.add_to_accumulator(son.id, YEAR, CAT, 9, 9)
            raise RuntimeError("undo")
        tx.care.add_to_accumulator(son.id, YEAR, CAT, 1, 1)
    with platform.store.uow() as tx:
        assert tx.care.accumulator(son.id, YEAR, CAT) == (1, 1)


def test_together_answers_each_statement_in_order(platform):
    son = family_world(platform).son.person
    with platform.store.uow() as tx:
        tx.care.add_to_accumulator(son.id, YEAR, CAT, 11, 12)
        inst, acc = raw.together(tx, [tx.care.institution_read("nobody"), (_ACC, {"p": son.id})])
        assert inst == [] and acc == [(11, 12)]


_ACC = select(accumulators.c.deductible_used, accumulators.c.fund_paid).where(
    accumulators.c.person_id == bindparam("p")
)


def test_what_was_read_ahead_is_forgotten_once_written(platform):
    son = family_world(platform).son.person
    with platform.store.uow() as tx:
        tx.reference.put_item(CatalogItem("X001", "甲", "01"))
        assert tx.care.catalog(["X001"])["X001"].chrgitm_lv == "01"
        tx.reference.put_item(CatalogItem("X001", "甲", "02"))
        assert tx.care.catalog(["X001"])["X001"].chrgitm_lv == "02"  # not the copy read before
    with platform.store.uow() as tx:
        before = tx.people.insurances(son.id)
        assert tx.people.by_psn_no(son.psn_no, lock=True) == son  # insurances read in the same trip
        ins = before[-1]
        tx.people.suspend_insurance(ins.id, ins.begin)
        assert tx.people.insurances(son.id)[-1].suspended_from == ins.begin
