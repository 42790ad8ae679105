"""Deadlines that count only the time hone had: a stopped process (SIGSTOP, Ctrl-Z) is not
charged to what it waits for.

CLOCK_MONOTONIC stops while the machine sleeps but runs on while this process is stopped, so a
plain `asyncio.wait_for` of 30 s, stopped for 40, times out at the first look after SIGCONT,
even when the answer came meanwhile and sits unread in a pipe. Here the wait looks every
`TICK` seconds and counts a gap between two looks as at most `TICK + SLACK`: time the process
did not run (or an event loop blocked that long) is not counted. A deadline reached is checked
once more, so an answer that arrived in the last gap is taken, not timed out.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")
TICK = 1.0  # seconds between looks at the clock while waiting
SLACK = 0.25  # a look this much later than asked still counts whole (a busy event loop)


class Stopwatch:
    """Seconds this process had since the watch started, counted look by look."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, most: float = TICK + SLACK):
        self.clock, self.most = clock, most
        self.last = clock()
        self.elapsed = 0.0

    def look(self) -> float:
        """The time counted so far, this gap included (at most `most` of it)."""
        now = self.clock()
        self.elapsed += min(max(now - self.last, 0.0), self.most)
        self.last = now
        return self.elapsed


async def within(
    awaitable: Awaitable[T],
    seconds: float,
    *,
    tick: float = TICK,
    clock: Callable[[], float] = time.monotonic,
) -> T:
    """`awaitable`'s result, or TimeoutError once it has had `seconds` of this process's
    time (it is cancelled then, as by `asyncio.wait_for`)."""
    task = asyncio.ensure_future(awaitable)
    watch = Stopwatch(clock, tick + SLACK)
    try:
        while True:
            left = seconds - watch.elapsed
            await asyncio.wait({task}, timeout=max(min(tick, left), 0.0))
            if task.done():
                return task.result()
            if seconds - watch.look() <= 0:
                # one more turn of the loop: what arrived during a stop is read now
                await asyncio.wait({task}, timeout=SLACK)
                if task.done():
                    return task.result()
                raise TimeoutError
    finally:
        if not task.done():
            task.cancel()
            with contextlib.suppress(BaseException):
                await task


__all__ = ["SLACK", "TICK", "Stopwatch", "within"]
