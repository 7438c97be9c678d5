"""Shared fixtures: a store on SQLite (always) and on PostgreSQL (when YIBAO_TEST_PG_URL is set).

Tests that take ``store`` or ``platform`` run once per database. PostgreSQL tests get a database of
their own per xdist worker (created on first use) and an emptied schema per test.
"""

from __future__ import annotations

import atexit
import os
import re
import threading
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from yibao.services.platform import FixedClock, Platform
from yibao.storage import tables
from yibao.storage.db import normalize_url
from yibao.storage.uow import Store

PG_URL = os.environ.get("YIBAO_TEST_PG_URL")
ACCEPTANCE = Path(__file__).parent / "acceptance"
START = datetime(2025, 6, 1, 10, 0, 0)

_pg_ready: dict[str, str] = {}


def pg_worker_url(worker: str) -> str:
    """A database for this xdist worker, created on first use, schema at head."""
    if worker in _pg_ready:
        return _pg_ready[worker]
    base = normalize_url(PG_URL)
    # One database per test process and worker, so that concurrent runs never share one.
    name = f"yibao_test_{re.sub(r'[^a-z0-9]', '', worker.lower()) or 'main'}_{os.getpid()}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first()
        if exists:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    atexit.register(_drop_database, base, name)
    url = base.rsplit("/", 1)[0] + f"/{name}"
    store = Store.open(url)  # Alembic to head: the PostgreSQL half runs the real migrations
    store.dispose()
    _pg_ready[worker] = url
    return url


def _drop_database(base: str, name: str) -> None:
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    except Exception:  # the server may be gone at exit; a leftover test database is harmless
        pass
    finally:
        admin.dispose()


def empty_pg(store: Store) -> None:
    names = ", ".join(f'"{t.name}"' for t in tables.metadata.sorted_tables)
    with store.engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


DATABASES = ["sqlite", pytest.param("pg", marks=pytest.mark.pg)]


def require_pg() -> str:
    """The PostgreSQL URL, or skip the test with the reason (a laptop without PostgreSQL)."""
    if not PG_URL:
        pytest.skip("PostgreSQL tests need YIBAO_TEST_PG_URL (e.g. postgresql://postgres@127.0.0.1:5432/test)")
    return PG_URL


@pytest.fixture(params=DATABASES)
def store(request, worker_id):
    if request.param == "sqlite":
        s = Store.open("sqlite://", create=True)
    else:
        require_pg()
        s = Store.open(pg_worker_url(worker_id), migrate=False)
        empty_pg(s)
    yield s
    s.dispose()


@pytest.fixture
def sqlite_store():
    s = Store.open("sqlite://", create=True)
    yield s
    s.dispose()


@pytest.fixture
def pg_store(worker_id):
    require_pg()
    s = Store.open(pg_worker_url(worker_id), migrate=False)
    empty_pg(s)
    yield s
    s.dispose()


@pytest.fixture
def platform(store) -> Platform:
    return Platform(store, FixedClock(START))


@pytest.fixture
def worker_id(request) -> str:
    return getattr(request.config, "workerinput", {}).get("workerid", "main")


@pytest.fixture(autouse=True)
def _no_thread_outlives_its_test():
    """A non-daemon thread left running keeps pytest alive after its summary (a hang in CI): every
    thread a test starts must be a daemon or be finished when the test ends."""
    before = set(threading.enumerate())
    yield
    left = [
        th
        for th in threading.enumerate()
        if th not in before and not th.daemon and th.is_alive() and not _pool_worker(th)
    ]
    for th in left:
        th.join(5)
    still = [th.name for th in left if th.is_alive()]
    assert not still, f"non-daemon thread(s) still running after the test: {still}"


def _pool_worker(th: threading.Thread) -> bool:
    """An idle ``concurrent.futures`` worker (asyncio's executor, Playwright's): its pool shuts it
    down at exit, so it cannot keep the process alive."""
    return getattr(getattr(th, "_target", None), "__module__", "") == "concurrent.futures.thread"
