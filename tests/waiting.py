"""Waiting in tests: for an event or a count, always with a deadline, never on a fixed sleep.

A test that waits without a deadline turns a bug into a hang; one that sleeps a fixed time fails
on a busy machine. Everything here gives up with a clear assertion instead, and every thread it
starts is a daemon, so that nothing can keep the test process alive after the summary.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, text

DEADLINE = 120.0  # seconds: far longer than any wait takes on a loaded 2-core machine
POLL = 0.02  # how often a condition that has no event of its own is looked at


def wait_until(condition: Callable[[], Any], what: str, *, timeout: float = DEADLINE) -> Any:
    """Poll ``condition`` until it returns something true; that value, or an AssertionError naming
    ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        got = condition()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up after {timeout:.0f} s waiting for {what}")
        time.sleep(POLL)


def join_all(threads: list[threading.Thread], what: str, *, timeout: float = DEADLINE) -> None:
    """Join every thread within one overall deadline; an AssertionError if any is still running."""
    deadline = time.monotonic() + timeout
    for th in threads:
        th.join(max(0.0, deadline - time.monotonic()))
    alive = [th.name for th in threads if th.is_alive()]
    assert not alive, f"{what}: {len(alive)} thread(s) still running after {timeout:.0f} s: {alive}"


def start_daemon(target: Callable[[], Any], name: str | None = None) -> threading.Thread:
    th = threading.Thread(target=target, name=name, daemon=True)
    th.start()
    return th


def at_once(calls: list[Callable[[], Any]], *, timeout: float = DEADLINE) -> list[Any]:
    """Run the callables in daemon threads released together by a barrier; their results in order.

    A call that raises aborts the barrier (nobody is left waiting for it) and is re-raised here
    after the others finished; a call that does not finish within ``timeout`` fails the test.
    """
    out: list[Any] = [None] * len(calls)
    errors: list[BaseException] = []
    gate = threading.Barrier(len(calls), timeout=timeout)

    def run(k: int) -> None:
        try:
            gate.wait()
            out[k] = calls[k]()
        except BaseException as exc:  # reported below; never leave the others waiting
            errors.append(exc)
            gate.abort()

    threads = [start_daemon(lambda k=k: run(k), name=f"at-once-{k}") for k in range(len(calls))]
    join_all(threads, "calls released together", timeout=timeout)
    if errors:
        real = [e for e in errors if not isinstance(e, threading.BrokenBarrierError)]
        raise (real or errors)[0]
    return out


class Tally:
    """A count of acknowledged calls that a test can wait for (instead of sleeping while load runs)."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self.sent = 0
        self.acked = 0

    def add(self, acked: bool) -> None:
        with self._changed:
            self.sent += 1
            self.acked += acked
            self._changed.notify_all()

    def wait_acked(self, n: int, *, timeout: float = DEADLINE) -> None:
        with self._changed:
            if not self._changed.wait_for(lambda: self.acked >= n, timeout):
                raise AssertionError(
                    f"only {self.acked} of {self.sent} calls acknowledged after {timeout:.0f} s (waiting for {n})"
                )


def pg_lock_waiters(engine: Engine, *, event: str | None = None) -> int:
    """How many other sessions on this PostgreSQL database are waiting for a lock right now
    (``event``: only those waiting for that kind, e.g. ``advisory`` or ``transactionid``)."""
    sql = (
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        "AND pid <> pg_backend_pid() AND wait_event_type = 'Lock'"
    )
    with engine.connect() as conn:
        if event is None:
            n = conn.execute(text(sql)).scalar_one()
        else:
            n = conn.execute(text(sql + " AND wait_event = :e"), {"e": event}).scalar_one()
        conn.rollback()
    return int(n)
