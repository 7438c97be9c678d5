"""How many gateway calls one server process runs at once.

A settlement is mostly Python, and a process's threads share one interpreter lock: calls in flight
beyond the few that keep it busy only take turns on it, each turn a hand-off the operating system
orders as it likes. At half of one core's load ~16 calls were in flight on the 40 threads and p99
was 100–250 ms while the process was half idle (``bench/results/2026-12-04-stop24.md``). So few calls
run (``BASE``) and the others wait in arrival order.

A fixed few lose capacity when the database is slow: the calls running then wait on their round
trips, not on the lock (4 threads delivered 20–35 % less than 40 at three quarters of one core's
load). So when the oldest waiting call has waited ``PATIENCE_S``, one more may run, and one more
each ``PATIENCE_S`` after that while calls keep waiting (up to ``MOST``, the gateway's threads);
when a call ends with nobody waiting and the limit not in use, the limit comes down by one.

Everything here runs on the event loop's thread (``asyncio``): no lock.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections import deque
from collections.abc import Callable

BASE = 4  # calls run at once while none waits long: enough to cover a settlement's round trips
MOST = 40  # the gateway's threads (``api.app.GATEWAY_THREADS``)
PATIENCE_S = 0.010  # a wait this long means the calls running wait on the database: admit one more


class Admission:
    """Calls run at once: ``enter`` before a call, ``leave`` after it (first come, first run)."""

    def __init__(
        self,
        base: int = BASE,
        most: int = MOST,
        patience_s: float = PATIENCE_S,
        clock: Callable[[], float] = time.monotonic,
    ):
        if not 1 <= base <= most:
            raise ValueError("admission: 1 ≤ base ≤ most")
        self.base, self.most, self.patience_s, self.clock = base, most, patience_s, clock
        self.limit = base
        self.running = 0
        self._waiting: deque[tuple[float, asyncio.Future]] = deque()
        self._timer: asyncio.TimerHandle | None = None

    @property
    def waiting(self) -> int:
        return sum(1 for _, f in self._waiting if not f.done())

    async def enter(self) -> None:
        if self.running < self.limit and not self._waiting:
            self.running += 1
            return
        fut = asyncio.get_running_loop().create_future()
        self._waiting.append((self.clock(), fut))
        if self.limit < self.most:
            self._arm(self._waiting[0][0] + self.patience_s)
        try:
            await fut
        except asyncio.CancelledError:
            if fut.done() and not fut.cancelled():  # admitted as it was cancelled: the place goes on
                self.leave()
            raise

    def leave(self) -> None:
        self.running -= 1
        if self.limit > self.base and not self.waiting and self.running < self.limit - 1:
            self.limit -= 1
        self._admit()

    def _admit(self) -> None:
        while self._waiting and self.running < self.limit:
            _, fut = self._waiting.popleft()
            if fut.done():  # its caller went away while waiting
                continue
            self.running += 1
            fut.set_result(None)

    def _arm(self, due: float) -> None:
        if self._timer is None:
            loop = asyncio.get_running_loop()
            self._timer = loop.call_later(max(0.0, due - self.clock()), self._tick)

    def _tick(self) -> None:
        self._timer = None
        while self._waiting and self._waiting[0][1].done():
            self._waiting.popleft()
        if not self._waiting or self.limit >= self.most:
            return
        now, oldest = self.clock(), self._waiting[0][0]
        if now - oldest >= self.patience_s:
            self.limit += 1
            self._admit()
            due = now + self.patience_s  # one more per patience while calls keep waiting
        else:
            due = oldest + self.patience_s
        if self._waiting:
            self._arm(due)


_ADMISSIONS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Admission] = weakref.WeakKeyDictionary()


def admission() -> Admission:
    """The running event loop's (one per server process; a test's client runs a loop of its own)."""
    loop = asyncio.get_running_loop()
    got = _ADMISSIONS.get(loop)
    if got is None:
        got = _ADMISSIONS[loop] = Admission()
    return got
