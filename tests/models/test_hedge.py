"""Hedged requests: a stalled call gets a second request, the first answer wins, both are
stored; against the fault server on loopback (a real OpenAI SDK client), and `race` alone."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path

import pytest

import hone
from hone.budget import Budget
from hone.models.base import Completion, Request
from hone.models.hedge import Hedge, race
from hone.models.metered import Metered
from hone.models.pool import Endpoint, Pool
from hone.store import Store
from hone.task import Task
from tests.faults.server import STALLED, FaultServer


def test_the_policy_waits_for_three_answers_then_four_medians_and_two_seconds() -> None:
    policy = Hedge()
    assert policy.delay([0.1, 0.1]) is None  # too few answered calls to know what is slow
    assert policy.delay([0.1, 0.2, 0.3]) == 2.0  # 4 x 0.2 s is less than the floor
    assert policy.delay([3.0, 1.0, 2.0, 9.0]) == 10.0  # 4 x the median, 2.5 s
    assert Hedge(window=3).delay([100.0, 1.0, 1.0, 1.0]) == 4.0  # the last calls only


@pytest.mark.slow
def test_one_stalled_call_does_not_hold_the_run(make_task, tmp_path: Path) -> None:
    """12 calls, the fifth never answered: the run ends once its hedge answers, long before
    the model timeout, and the store shows the pair."""
    server = FaultServer("stall-once").start()
    try:
        task = Task.from_dir(make_task()).configured(
            budget=Budget(max_llm_calls=12, patience=None),
            search={"hypotheses_per_round": 4},
            evaluation={"workers": 2},
            model={"timeout": 120.0},  # what the run would wait without a hedge
        )
        result = hone.run(task, model="openai:m", base_url=server.url, run_dir=tmp_path / "run")
    finally:
        server.stop()
    assert result.usage.calls == 12 and result.best is not None
    log = server.log
    assert len(log) == 13 and log[STALLED - 1].mode == "stall"
    hedge = [
        e for e in log if (e.prompt, e.seed) == (log[STALLED - 1].prompt, log[STALLED - 1].seed)
    ]
    assert len(hedge) == 2 and hedge[1].mode == "ok"  # the same request, sent again
    with sqlite3.connect(tmp_path / "run" / "hone.db") as db:
        rows = db.execute(
            "SELECT id, error, purpose, latency FROM llm_calls ORDER BY id"
        ).fetchall()
        used = {r[0] for r in db.execute("SELECT call_id FROM candidates")}
    pair = [(i, error, json.loads(purpose), latency) for i, error, purpose, latency in rows
            if "hedge" in json.loads(purpose or "{}")]  # fmt: skip
    [(first, why, first_purpose, waited), (second, none, second_purpose, _)] = sorted(
        pair, key=lambda r: r[2]["hedge"]
    )
    assert first_purpose["hedge"] == 1 and second_purpose["hedge"] == 2
    assert why == f"cancelled: call #{second}, the same request, answered first (hedged)"
    assert none is None and second in used and first not in used
    assert waited >= 2.0  # hedged after the floor (cancelled, not timed out: `why` says so)
    assert [error for _, error, _, _ in rows if error] == [why]  # no other failure


def answer_after(seconds: float, text: str, log: list[str]) -> object:
    async def send() -> Completion:
        log.append(text)
        await asyncio.sleep(seconds)
        return Completion(text, 1, 1)

    return send


def test_the_first_answer_wins_and_the_other_is_cancelled() -> None:
    sent: list[str] = []
    delays = iter([60.0, 0.05])  # the request stalls, its hedge answers

    async def send() -> Completion:
        seconds = next(delays)
        sent.append(f"after {seconds}")
        await asyncio.sleep(seconds)
        return Completion("answer", 1, 1)

    outcome = asyncio.run(race(send, 30.0, delay=lambda: 0.1, alone=lambda: True))
    assert sent == ["after 60.0", "after 0.05"]
    assert outcome.winner is outcome.attempts[1]
    assert outcome.attempts[0].cancelled and not outcome.timed_out


def test_a_call_becomes_hedgeable_once_others_have_answered() -> None:
    """The stalled call started before 3 calls were answered (a round's first calls start
    together); the answers that come while it waits make it hedgeable."""
    known: list[float | None] = [None]
    delays = iter([60.0, 0.05])

    async def send() -> Completion:
        await asyncio.sleep(next(delays))
        return Completion("answer")

    async def go() -> object:
        waiting = asyncio.ensure_future(
            race(send, 30.0, delay=lambda: known[0], alone=lambda: True)
        )
        await asyncio.sleep(0.3)
        known[0] = 0.1  # three other calls answered meanwhile
        return await waiting

    outcome = asyncio.run(go())
    assert outcome.hedged and outcome.winner is outcome.attempts[1]  # type: ignore[attr-defined]


def test_no_hedge_while_other_calls_are_in_flight() -> None:
    calls = 0

    async def send() -> Completion:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.4)
        return Completion("answer")

    outcome = asyncio.run(race(send, 30.0, delay=lambda: 0.05, alone=lambda: False))
    assert calls == 1 and not outcome.hedged and outcome.winner is outcome.attempts[0]


def test_the_deadline_bounds_both_requests() -> None:
    async def send() -> Completion:
        await asyncio.sleep(60)
        return Completion("never")

    outcome = asyncio.run(race(send, 0.6, delay=lambda: 0.1, alone=lambda: True))
    assert outcome.timed_out and outcome.winner is None and len(outcome.attempts) == 2
    assert all(a.cancelled for a in outcome.attempts)


def test_a_failed_request_waits_for_its_hedge_and_a_lone_failure_is_returned() -> None:
    results = iter(["stall-then-fail", "answer"])

    async def send() -> Completion:
        what = next(results)
        if what == "stall-then-fail":
            await asyncio.sleep(0.3)
            raise ConnectionError("reset")
        await asyncio.sleep(0.5)
        return Completion("late answer")

    outcome = asyncio.run(race(send, 30.0, delay=lambda: 0.1, alone=lambda: True))
    assert isinstance(outcome.attempts[0].error, ConnectionError)
    assert outcome.winner is outcome.attempts[1]

    async def fails() -> Completion:
        raise ConnectionError("refused")

    alone = asyncio.run(race(fails, 30.0, delay=lambda: None, alone=lambda: True))
    assert alone.winner is None and isinstance(alone.attempts[0].error, ConnectionError)


class Slow:
    """A server's model that answers after `seconds` (None: never)."""

    name, style = "openai:m", "chat"

    def __init__(self, seconds: float | None) -> None:
        self.seconds, self.asked = seconds, 0

    async def generate(self, request: Request) -> Completion:
        self.asked += 1
        if self.seconds is None:
            await asyncio.Event().wait()
        await asyncio.sleep(self.seconds or 0.0)
        return Completion("an answer", 1, 1)

    async def close(self) -> None:
        pass


def test_a_hedge_goes_to_another_server_while_other_calls_are_in_flight(tmp_path: Path) -> None:
    """A call stalls at a while another request waits at c: its hedge goes out all the same,
    to b (a server it has not tried, with the fewest in flight), and a is taken out."""
    a, b, c = Slow(None), Slow(0.0), Slow(0.0)
    servers = [Endpoint(f"http://{n}/v1", m) for n, m in zip("abc", (a, b, c), strict=True)]
    pool = Pool(servers)
    store = Store.create(tmp_path / "run", {})
    meter = Metered(store, timeout=30, model=pool, hedge=Hedge(1.0, 0.1, 1))
    meter._latencies.append(0.01)  # (one answered call: the stall is known to be slow)
    other = pool.lease(servers[2])  # another call's request, in flight at c
    meter._running += 1

    async def go() -> None:
        meter.reserve()
        await meter.call(Request(text="1"), 1)

    asyncio.run(go())
    pool.release(other)
    assert (a.asked, b.asked, c.asked) == (1, 1, 0)
    rows = store.conn.execute(
        "SELECT endpoint, error, json_extract(purpose, '$.hedge') FROM llm_calls ORDER BY id"
    ).fetchall()
    assert [(e, (error or "")[:10], h) for e, error, h in rows] == [
        ("http://b/v1", "", 2),
        ("http://a/v1", "cancelled:", 1),
    ]
    assert not servers[0].in_service and servers[0].reason.startswith("stalled: its hedge at")
