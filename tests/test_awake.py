"""Deadlines that count only the time hone had (`hone.awake`)."""

from __future__ import annotations

import asyncio
import time

import pytest

from hone.awake import Stopwatch, within


def test_a_gap_between_looks_counts_at_most_a_tick() -> None:
    now = [0.0]
    watch = Stopwatch(lambda: now[0], most=1.25)
    now[0] = 0.5
    assert watch.look() == 0.5
    now[0] = 100.5  # stopped for 100 s
    assert watch.look() == 1.75
    now[0] = 101.0
    assert watch.look() == 2.25


def test_a_wait_that_never_ends_times_out() -> None:
    async def go() -> None:
        await within(asyncio.Event().wait(), 0.3, tick=0.05)

    with pytest.raises(TimeoutError):
        asyncio.run(go())


def test_time_the_process_did_not_have_is_not_counted() -> None:
    """The clock jumps 1,000 s (a SIGSTOP) while the answer is on its way: it is taken."""
    offset = [0.0]

    def clock() -> float:
        return time.monotonic() + offset[0]

    async def answer() -> str:
        await asyncio.sleep(0.1)
        offset[0] = 1_000.0  # the process was stopped meanwhile
        await asyncio.sleep(0.2)
        return "answer"

    async def go() -> str:
        return await within(answer(), 0.5, tick=0.05, clock=clock)

    assert asyncio.run(go()) == "answer"


def test_a_cancelled_wait_cancels_what_it_waited_for() -> None:
    cancelled = []

    async def forever() -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.append(True)
            raise

    async def go() -> None:
        waiting = asyncio.ensure_future(within(forever(), 60))
        await asyncio.sleep(0.05)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting

    asyncio.run(go())
    assert cancelled == [True]
