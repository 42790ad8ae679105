"""Hedged requests (Dean and Barroso, "The Tail at Scale", 2013): one stalled model call does
not hold the run for the whole model timeout.

Once a call has taken `Hedge.factor` times the median latency of the run's answered calls, and
at least `Hedge.floor` seconds, after `Hedge.after` calls were answered, while nothing else is
in flight, the same request is sent a second time. The first answer wins; the other request
is cancelled (or, when both answered at once, kept unused). The call's deadline counts from the
first request and bounds both. `race` runs one such call; `hone.models.metered.Metered` stores
every request it made.

Only backends that talk to a server hedge (`hone.models.call_hedged`): the embedded model's
calls share this machine's cores, so a second request would slow both.
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from hone.awake import SLACK, TICK, Stopwatch
from hone.models.base import Completion

POLL = 0.25  # seconds between looks for a quiet moment, once a hedge is due


@dataclass(frozen=True)
class Hedge:
    """When a call gets a second request: after `factor` times the median latency of the last
    `window` answered calls and at least `floor` seconds, once `after` calls were answered."""

    factor: float = 4.0
    floor: float = 2.0
    after: int = 3
    window: int = 50

    def delay(self, latencies: Sequence[float]) -> float | None:
        """Seconds after which a call is hedged (None: too few answered calls to know)."""
        recent = list(latencies)[-self.window :]
        if len(recent) < self.after:
            return None
        return max(self.factor * statistics.median(recent), self.floor)


@dataclass
class Attempt:
    """One request of a call: 1 the request, 2 its hedge."""

    number: int
    task: asyncio.Task[Completion]
    wall: float  # time.time() when sent
    started: float  # the clock when sent
    ended: float | None = None  # the clock when it answered, failed or was cancelled
    cancelled: bool = False  # cancelled because the other one answered first

    @property
    def answered(self) -> bool:
        """True when this request got an answer."""
        return self.task.done() and not self.task.cancelled() and self.task.exception() is None

    @property
    def error(self) -> BaseException | None:
        """Why it got no answer (None: it answered, or was cancelled)."""
        if not self.task.done() or self.task.cancelled():
            return None
        return self.task.exception()


@dataclass
class Race:
    """A call's requests and which one answered first (None: none did)."""

    attempts: list[Attempt] = field(default_factory=list)
    winner: Attempt | None = None
    timed_out: bool = False

    @property
    def hedged(self) -> bool:
        """True when a second request was sent."""
        return len(self.attempts) > 1


async def race(
    send: Callable[[], Awaitable[Completion]],
    timeout: float,
    *,
    delay: Callable[[], float | None],
    alone: Callable[[], bool],
    clock: Callable[[], float] = time.monotonic,
    wall: Callable[[], float] = time.time,
) -> Race:
    """Send a request, and a second one once it has waited `delay()` seconds (asked again at
    each look: other calls answer meanwhile; None: not yet) when `alone()` says nothing else is
    in flight; the first answer wins. `timeout` (this process's own time, `hone.awake`) bounds
    both. Failures are in the attempts, never raised."""
    result = Race()

    def start(number: int) -> None:
        task = asyncio.ensure_future(send())
        result.attempts.append(Attempt(number, task, wall(), clock()))

    start(1)
    watch = Stopwatch(clock, TICK + SLACK)
    try:
        while True:
            now = clock()
            for attempt in result.attempts:
                if attempt.task.done() and attempt.ended is None:
                    attempt.ended = now
            answered = [a for a in result.attempts if a.answered]
            if answered:
                result.winner = answered[0]  # (both at once: the first request's answer)
                return result
            running = {a.task for a in result.attempts if not a.task.done()}
            if not running:
                return result  # every request failed
            elapsed = watch.look()
            if elapsed >= timeout:
                await asyncio.wait(running, timeout=SLACK)  # what came during a stop counts
                if any(a.answered for a in result.attempts):
                    continue
                result.timed_out = True
                return result
            after = delay() if len(result.attempts) == 1 else None
            if after is not None and elapsed >= after and alone():
                start(2)
                continue
            waits = [TICK, timeout - elapsed]
            if after is not None:
                waits.append(max(after - elapsed, POLL))
            await asyncio.wait(running, timeout=min(waits), return_when=asyncio.FIRST_COMPLETED)
    finally:
        for attempt in result.attempts:
            if not attempt.task.done():
                attempt.task.cancel()
                attempt.cancelled = True
        for attempt in result.attempts:
            with contextlib.suppress(BaseException):
                await attempt.task
            if attempt.ended is None:
                attempt.ended = clock()


__all__ = ["Attempt", "Hedge", "Race", "race"]
