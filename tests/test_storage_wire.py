"""storage.wire: statements on libpq's pipeline, past psycopg's Python layers (PostgreSQL only).

What must hold: values go and come back exactly as through SQLAlchemy; the transaction is psycopg's
(BEGIN in the first round trip, COMMIT in the last, nothing left open); a failing statement raises
psycopg's own class and applies nothing after it; a connection whose statements were deallocated
behind its back recovers; and statements are prepared once per connection and types.
"""

import time
from datetime import UTC, date, datetime

import psycopg
import pytest
from sqlalchemy import String, bindparam, func, literal_column, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.types import BigInteger, Boolean, Date, DateTime, Integer

from conftest import START, pg_worker_url
from support import family_world
from yibao.errors import DomainError, refuse
from yibao.services.platform import FixedClock, Platform
from yibao.storage import raw, wire
from yibao.storage.db import make_engine
from yibao.storage.tables import accumulators
from yibao.storage.uow import Store

pytestmark = pytest.mark.pg

YEAR, CAT = 2025, "pharmacy"

_ECHO = select(
    bindparam("i", type_=Integer),
    bindparam("big", type_=BigInteger),
    bindparam("s", type_=String),
    bindparam("none", type_=String),
    bindparam("at", type_=DateTime(timezone=True)),
    bindparam("d", type_=Date),
    bindparam("flag", type_=Boolean),
    bindparam("codes", type_=ARRAY(String)),
    bindparam("ints", type_=ARRAY(BigInteger)),
    bindparam("none_list", type_=ARRAY(Integer)),
    literal_column("'100%'"),
)


@pytest.fixture
def pg_platform(pg_store):
    return Platform(pg_store, FixedClock(START))


def _driver(tx):
    return tx.conn.connection.driver_connection


def test_values_go_and_come_back_as_through_sqlalchemy(pg_store):
    params = {
        "i": 7,
        "big": 2**62,
        "s": "张三 O'Brien %s",
        "none": None,
        "at": datetime(2025, 3, 1, 8, 30, 15, 123456, tzinfo=UTC),
        "d": date(2025, 2, 28),
        "flag": True,
        "codes": ["甲", 'q"uote', "back\\slash", "a,b", "{x}", " sp ", "", None, "NULL"],
        "ints": [1, -2, 2**62, None],
        "none_list": [],
    }
    with pg_store.uow() as tx:
        by_wire = raw.rows(tx, _ECHO, params)
        by_sqlalchemy = [tuple(r) for r in tx.conn.execute(_ECHO, params)]
    assert by_wire == by_sqlalchemy
    assert by_wire[0][:4] == (7, 2**62, "张三 O'Brien %s", None) and by_wire[0][10] == "100%"
    assert by_wire[0][7] == params["codes"] and by_wire[0][8] == params["ints"] and by_wire[0][9] == []


def test_begin_rides_with_the_first_round_trip_and_commit_with_the_last(pg_store):
    sent = []
    raw.STATEMENT_LISTENERS.append(lambda sql, params, count, new: sent.append((sql, new)))
    try:
        with pg_store.uow() as tx:
            pgconn = _driver(tx).pgconn
            assert pgconn.transaction_status == psycopg.pq.TransactionStatus.IDLE
            raw.rows(
                tx, _ECHO, dict.fromkeys(("i", "big", "s", "none", "at", "d", "flag", "codes", "ints", "none_list"))
            )
            assert pgconn.transaction_status == psycopg.pq.TransactionStatus.INTRANS
            raw.later(tx, text("CREATE TEMP TABLE w (x int)"), {})
        assert pgconn.transaction_status == psycopg.pq.TransactionStatus.IDLE
    finally:
        raw.STATEMENT_LISTENERS.clear()
    assert [s for s, _ in sent][-1] == "COMMIT" and sent[-1][1] is False  # in the same round trip
    assert sum(new for _, new in sent) == 2  # the read, then the write with the commit


def test_a_failing_statement_raises_psycopgs_class_and_nothing_after_it_applies(pg_platform):
    son = family_world(pg_platform).son.person
    with pytest.raises(psycopg.errors.ForeignKeyViolation), pg_platform.store.uow() as tx:
        tx.care.add_to_accumulator(10**9, YEAR, CAT, 1, 1)  # no such person
        tx.care.add_to_accumulator(son.id, YEAR, CAT, 5, 5)
        raw.flush(tx)
    with pg_platform.store.uow() as tx:  # the connection is usable and nothing was written
        assert tx.care.accumulator(son.id, YEAR, CAT) == (0, 0)


def test_a_refusal_rolls_back_and_the_connection_keeps_its_statements(pg_platform):
    son = family_world(pg_platform).son.person
    for _ in range(3):  # SQLAlchemy's own statements too: psycopg must not answer the rollback with DEALLOCATE ALL
        with pytest.raises(DomainError), pg_platform.store.uow() as tx:
            tx.conn.execute(select(accumulators.c.year).where(accumulators.c.person_id == son.id)).all()
            tx.care.add_to_accumulator(son.id, YEAR, CAT, 1, 1)
            assert tx.care.accumulator(son.id, YEAR, CAT) == (1, 1)
            raise refuse("E2207-008")
    with pg_platform.store.uow() as tx:
        assert tx.care.accumulator(son.id, YEAR, CAT) == (0, 0)


_PLUS_ONE = select(bindparam("n", type_=Integer) + 1)


def test_statements_deallocated_behind_its_back_are_prepared_again(pg_store, worker_id):
    one = Store(make_engine(pg_worker_url(worker_id), pool_size=1))  # one connection: the same one each time
    try:
        with pytest.raises(psycopg.errors.InvalidSqlStatementName), one.uow() as tx:
            assert raw.rows(tx, _PLUS_ONE, {"n": 1}) == [(2,)]
            assert wire.of(_driver(tx)).prepared
            tx.conn.execute(text("DEALLOCATE ALL"))
            raw.rows(tx, _PLUS_ONE, {"n": 1})
        with one.uow() as tx:
            assert raw.rows(tx, _PLUS_ONE, {"n": 2}) == [(3,)]
    finally:
        one.dispose()


def test_each_statement_is_prepared_once_per_connection_and_types(pg_store):
    with pg_store.uow() as tx:
        w = wire.of(_driver(tx))
        before = len(w.prepared)
        for n in (1, 2, 3):
            assert raw.rows(tx, _PLUS_ONE, {"n": n}) == [(n + 1,)]
        assert len(w.prepared) == before + 1


def test_past_the_bound_statements_go_unprepared(pg_store, monkeypatch):
    monkeypatch.setattr(wire, "MAX_PREPARED", 0)
    with pg_store.uow() as tx:
        w = wire.of(_driver(tx))
        w.prepared.clear()
        assert raw.rows(tx, select(bindparam("n", type_=Integer) * 2), {"n": 21}) == [(42,)]
        assert not w.prepared


def test_a_connection_the_server_closed_is_replaced_before_use(pg_store, worker_id):
    one = Store(make_engine(pg_worker_url(worker_id), pool_size=1))
    try:
        with one.uow() as tx:
            pid = raw.rows(tx, select(func.pg_backend_pid()), {})[0][0]
        dsn = pg_worker_url(worker_id).replace("postgresql+psycopg:", "postgresql:")
        with psycopg.connect(dsn, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
            deadline = time.monotonic() + 30
            while admin.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone():
                assert time.monotonic() < deadline, "the backend did not end"
                time.sleep(0.05)
        with one.uow() as tx:  # no error: the dead connection was noticed at checkout, without a ping
            assert raw.rows(tx, _PLUS_ONE, {"n": 41}) == [(42,)]
            assert raw.rows(tx, select(func.pg_backend_pid()), {})[0][0] != pid
    finally:
        one.dispose()


def test_a_value_that_cannot_be_sent_raises_before_anything_is_sent(pg_store):
    with pytest.raises(psycopg.ProgrammingError), pg_store.uow() as tx:
        raw.later(tx, text("CREATE TEMP TABLE sent_half (x int)"), {})
        raw.rows(tx, _PLUS_ONE, {"n": object()})
    with pg_store.uow() as tx:  # the connection is clean and usable
        assert raw.rows(tx, _PLUS_ONE, {"n": 1}) == [(2,)]


_PLAN_MODE = select(func.current_setting("plan_cache_mode"))


def test_our_statements_keep_their_generic_plans_and_no_other_transaction_is_touched(pg_store):
    """A transaction the wire begins plans our prepared statements once (PostgreSQL would otherwise
    plan some of them again on every execution); ``SET LOCAL`` ends with it."""
    with pg_store.uow() as tx:
        assert raw.first(tx, _PLAN_MODE, {}) == ("force_generic_plan",)
    with pg_store.uow() as tx:  # the same pooled connection, a transaction SQLAlchemy begins
        assert tx.conn.execute(_PLAN_MODE).scalar() == "auto"
