"""The gateway's admission (``api.admission``): few calls at once, first come first run, one more
each patience while calls keep waiting, back down when the limit is not in use."""

from __future__ import annotations

import asyncio

import pytest

from yibao.api.admission import Admission, admission

WAIT_S = 5.0  # every wait here has a bound: a broken admission fails, never hangs


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, WAIT_S))


async def settle(n: int = 3) -> None:
    for _ in range(n):
        await asyncio.sleep(0)


def test_few_at_once_first_come_first_run():
    async def main():
        gate = Admission(base=2, most=2, patience_s=60)
        order: list[int] = []

        async def call(i: int, release: asyncio.Event):
            await gate.enter()
            order.append(i)
            await release.wait()
            gate.leave()

        releases = [asyncio.Event() for _ in range(5)]
        tasks = []
        for i in range(5):
            tasks.append(asyncio.create_task(call(i, releases[i])))
            await settle()
        assert order == [0, 1] and gate.running == 2 and gate.waiting == 3
        releases[1].set()
        await settle()
        assert order == [0, 1, 2] and gate.running == 2
        for r in releases:
            r.set()
        await asyncio.gather(*tasks)
        assert order == [0, 1, 2, 3, 4] and gate.running == 0 and gate.waiting == 0

    run(main())


def test_a_long_wait_lets_one_more_run_then_the_limit_comes_back():
    async def main():
        gate = Admission(base=1, most=3, patience_s=0.02)
        holder_release, second_in = asyncio.Event(), asyncio.Event()
        await gate.enter()  # the holder: waits on "the database", never leaves meanwhile

        async def second():
            await gate.enter()
            second_in.set()
            await holder_release.wait()
            gate.leave()

        task = asyncio.create_task(second())
        await settle()
        assert not second_in.is_set() and gate.limit == 1
        await asyncio.wait_for(second_in.wait(), WAIT_S)  # admitted after the patience, holder still in
        assert gate.limit == 2 and gate.running == 2
        holder_release.set()
        await task
        gate.leave()
        assert gate.running == 0 and gate.limit == 1  # nobody waits, the limit unused: back to base

    run(main())


def test_the_limit_never_passes_most():
    async def main():
        gate = Admission(base=1, most=2, patience_s=0.005)
        release = asyncio.Event()

        async def call():
            await gate.enter()
            await release.wait()
            gate.leave()

        tasks = [asyncio.create_task(call()) for _ in range(6)]
        while gate.limit < 2:
            await asyncio.sleep(0.005)
        await asyncio.sleep(0.05)  # ten patiences more: still 2
        assert gate.limit == 2 and gate.running == 2 and gate.waiting == 4
        release.set()
        await asyncio.gather(*tasks)
        assert gate.running == 0

    run(main())


def test_a_caller_gone_while_waiting_takes_no_place():
    async def main():
        gate = Admission(base=1, most=1, patience_s=60)
        await gate.enter()
        gone = asyncio.create_task(gate.enter())
        await settle()
        gone.cancel()
        with pytest.raises(asyncio.CancelledError):
            await gone
        after = asyncio.create_task(gate.enter())
        await settle()
        gate.leave()
        await asyncio.wait_for(after, WAIT_S)
        assert gate.running == 1 and gate.waiting == 0
        gate.leave()
        assert gate.running == 0

    run(main())


def test_one_admission_per_event_loop():
    async def ours():
        return admission()

    a, b = asyncio.run(ours()), asyncio.run(ours())
    assert a is not b  # a server process has one loop; each test client runs its own
    with pytest.raises(ValueError):
        Admission(base=0)
