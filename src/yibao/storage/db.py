"""Engines: an SQLite file by default (WAL, one writer at a time), PostgreSQL by URL.

SQLite transactions start with ``BEGIN IMMEDIATE`` so that a settlement takes the write lock before
it reads the balances it will change; PostgreSQL uses row locks (``SELECT … FOR UPDATE``) instead.
"""

from __future__ import annotations

import select
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.pool import StaticPool

MEMORY_URL = "sqlite://"


def normalize_url(url: str) -> str:
    """Accept ``postgresql://`` and plain file paths; use psycopg 3 for PostgreSQL."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    if "://" not in url:
        return f"sqlite:///{Path(url).resolve()}"
    return url


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def make_engine(url: str = MEMORY_URL, *, pool_size: int = 20) -> Engine:
    url = normalize_url(url)
    if url.startswith("sqlite"):
        memory = url in ("sqlite://", "sqlite:///:memory:")
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            poolclass=StaticPool if memory else None,
        )
        _sqlite_pragmas(engine, memory)
        return engine
    # psycopg itself prepares nothing (``prepare_threshold=None``): the settlement path's statements
    # are prepared by ``storage.wire`` under names of its own, and psycopg, when it has prepared
    # statements of its own, answers every ROLLBACK with ``DEALLOCATE ALL`` — which would drop those.
    # ``pool_size`` connections at most, each kept once opened (no overflow): an overflow connection
    # is closed when it comes back, so under bursts the server opened ~12 a second, each a new
    # backend with cold caches that prepares the settlement's statements again
    # (``bench/http_latency.py``: connections opened).
    engine = create_engine(
        url,
        pool_size=pool_size,
        max_overflow=0,
        connect_args={"prepare_threshold": None},
    )
    event.listen(engine, "checkout", _alive)
    return engine


def _alive(dbapi_conn, _record, _proxy) -> None:
    """A pooled connection the server has closed is replaced before use (SQLAlchemy retries the
    checkout on ``DisconnectionError``). Instead of a ping — a round trip on every unit of work —
    look at the socket: an idle connection has nothing to read unless the server spoke unasked,
    and it only does that to say goodbye (shutdown, restart, a terminated backend)."""
    if dbapi_conn.closed or dbapi_conn.broken:
        raise DisconnectionError("the connection is closed")
    poller = select.poll()
    poller.register(dbapi_conn.pgconn.socket, select.POLLIN | select.POLLPRI)
    if poller.poll(0):
        dbapi_conn.close()
        raise DisconnectionError("the database closed the connection")


def _sqlite_pragmas(engine: Engine, memory: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):  # pragma: no cover - exercised through every test
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        if not memory:
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):  # pragma: no cover - exercised through every test
        read_only = conn.get_execution_options().get("yibao_read_only", False)
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")
