"""A pool of model servers: where each request goes, how long a failed server stays out and
when it is probed (with a clock the test moves), and, end to end, four fault servers on
loopback behind `--base-url` four times, one dying mid-run and one stalling."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import subprocess
from pathlib import Path

import pytest

from hone.exceptions import ModelError
from hone.models.base import Completion, Request
from hone.models.pool import Backoff, Endpoint, Pool
from tests.faults.server import FaultServer
from tests.helpers import FakeClock, environment, hone_command


class Stub:
    """A server's model that answers at once (`slots`: what it says it serves)."""

    style = "chat"

    def __init__(self, slots: int | None = None) -> None:
        self.name = "openai:m"
        self.slots = slots

    async def generate(self, request: Request) -> Completion:
        return Completion("an answer", 1, 1)

    async def close(self) -> None:
        pass


class Probing(Stub):
    """A server's model with a probe that waits for the test, then says `error` or nothing."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()
        self.probes: list[float] = []
        self.error = ""

    async def probe(self, timeout: float) -> None:
        self.probes.append(timeout)
        await self.gate.wait()
        if self.error:
            raise ModelError(self.error)


def servers(*models: Stub, limits: tuple[int, ...] = ()) -> list[Endpoint]:
    limits = limits or (0,) * len(models)
    names = "abcd"[: len(models)]
    return [Endpoint(f"http://{n}/v1", m, k) for n, m, k in zip(names, models, limits, strict=True)]


def test_the_back_off_doubles_from_one_second_to_a_minute() -> None:
    assert [Backoff().after(n) for n in range(1, 10)] == [1, 2, 4, 8, 16, 32, 60, 60, 60]
    assert Backoff().after(10**6) == 60  # (no overflow after a very long outage)


def test_each_request_goes_to_the_server_with_fewest_in_flight_ties_in_turn() -> None:
    a, b, c = servers(Stub(), Stub(slots=1), Stub(), limits=(0, 0, 2))
    pool = Pool([a, b, c], clock=FakeClock())
    assert (a.limit, b.limit, c.limit) == (None, 1, 2)  # its own limit, or what it serves
    first = [pool.lease(pool.pick()) for _ in range(3)]  # type: ignore[arg-type]
    assert [lease.endpoint for lease in first] == [a, b, c]  # all equal: in turn
    # b is full (1 slot), a and c hold one each: a, then c (in turn), then c is full too
    assert [pool.lease(pool.pick()).endpoint for _ in range(2)] == [a, c]  # type: ignore[arg-type]
    assert pool.pick() is a and pool.pick(exclude=[a]) is None  # only a has room
    pool.release(first[1])  # b's request ends: b has the fewest in flight
    assert pool.pick() is b and pool.pick(exclude=[b]) is a
    pool.release(first[1])  # (released twice: nothing more)
    assert b.in_flight == 0 and a.in_flight == 2


def test_a_failed_server_is_out_for_a_growing_back_off_and_probed_before_it_is_back() -> None:
    clock = FakeClock()
    a, b = servers(Stub(), Stub())
    pool = Pool([a, b], clock=clock)
    sent = [pool.lease(a) for _ in range(3)]
    pool.failed(sent[0], "reset")
    pool.failed(sent[1], "reset")  # sent before a was taken out: says nothing new
    pool.answered(sent[2])  # nor does this
    assert (a.failures, a.out_until, a.in_service) == (1, clock.now + 1.0, False)
    assert pool.pick() is b and pool.pick(exclude=[b]) is None and not pool.usable([b])
    clock.advance(0.999)
    assert pool.due() == []
    clock.advance(0.001)
    assert pool.due() == [a]  # back-off over: probed before it takes a request
    pool.probing(a)
    assert pool.due() == [] and pool.pick(exclude=[b]) is None
    outs = []
    for _ in range(7):  # each failed probe: out for twice as long, at most a minute
        pool.probed(a, "cannot reach http://a/v1")
        assert a.out_until is not None
        outs.append(a.out_until - clock.now)
        clock.now = a.out_until
        pool.probing(a)
    assert outs == [2, 4, 8, 16, 32, 60, 60]
    pool.probed(a, None)  # it answers: back in service, its failures not forgotten yet
    assert a.in_service and a.failures == 8 and pool.pick(exclude=[b]) is a
    pool.answered(pool.lease(a))  # a real answer ends them
    again = pool.lease(a)
    pool.failed(again, "500")
    assert a.failures == 1 and a.out_until == clock.now + 1.0


def test_a_pool_of_one_is_never_taken_out() -> None:
    [a] = servers(Stub())
    pool = Pool([a], clock=FakeClock())
    pool.failed(pool.lease(a), "reset")  # nowhere else to send: it stays
    assert a.in_service and a.failures == 0 and pool.pick() is a


def test_a_request_waits_for_room_and_when_every_server_is_out_goes_to_the_one_back_soonest() -> (
    None
):
    async def go() -> None:
        clock = FakeClock()
        a, b = servers(Stub(), Stub(), limits=(1, 1))
        pool = Pool([a, b], clock=clock)
        on_a, on_b = await pool.acquire(), await pool.acquire()
        waiting = asyncio.ensure_future(pool.acquire())
        await asyncio.sleep(0.05)
        assert not waiting.done()  # both full: it waits here
        pool.release(on_a)
        third = await asyncio.wait_for(waiting, 5)
        assert third.endpoint is a
        pool.failed(third, "reset")
        pool.release(third)
        clock.advance(0.5)
        pool.failed(on_b, "reset")
        pool.release(on_b)
        last = await asyncio.wait_for(pool.acquire(), 5)  # a is back in 0.5 s, b in 1 s
        assert last.endpoint is a and not a.in_service
        pool.answered(last)  # it answered after all: back in service
        assert a.in_service and not b.in_service

    asyncio.run(go())


def test_a_server_back_from_its_back_off_takes_requests_once_its_probe_answers() -> None:
    async def go() -> None:
        clock = FakeClock()
        prober = Probing()
        a, b = servers(prober, Stub())
        pool = Pool([a, b], clock=clock)
        failing = pool.lease(a)
        pool.failed(failing, "reset")
        pool.release(failing)
        clock.advance(1.0)
        lease = await pool.acquire()  # the probe starts; the request goes to b meanwhile
        await asyncio.sleep(0)
        assert lease.endpoint is b and a.probing and prober.probes == [5.0]
        prober.error = "cannot reach http://a/v1"
        prober.gate.set()
        while a.probing:
            await asyncio.sleep(0.01)
        assert a.failures == 2 and a.out_until == clock.now + 2.0  # out again, for longer
        clock.advance(2.0)
        prober.error = ""
        await pool.acquire()  # b again; a's second probe answers
        while a.probing or not a.in_service:
            await asyncio.sleep(0.01)
        assert (await pool.acquire()).endpoint is a  # in service, and the least busy

    asyncio.run(go())


def backoff_respected(requests: list[tuple[float, float]], slack: float = 0.05) -> int:
    """Check that requests to a server that stalls (each (sent, ended), ended when its hedge
    answered and it was taken out) come back no sooner than each back-off allows (1, 2, 4 s
    ...); how many times it was taken out."""
    out_at, times = min(end for _, end in requests), 1
    while True:
        later = [(sent, end) for sent, end in requests if sent > out_at]
        if not later:
            return times
        assert min(sent for sent, _ in later) >= out_at + Backoff().after(times) - slack
        out_at, times = min(end for _, end in later), times + 1


@pytest.mark.slow
def test_four_servers_one_dies_and_one_stalls_the_run_loses_nothing(
    make_task, tmp_path: Path
) -> None:
    """Two good servers, one that dies after its eighth answer, one that never answers: the
    run ends on its budget, every call is answered by some server, the dead one gets no
    request once its death was seen, the stalled one none sooner than its back-off allows,
    and no request waits for the 60 s deadline."""
    good = [FaultServer("ok", delay=0.5).start() for _ in range(2)]
    dying = FaultServer("die", dies=8, delay=0.5).start()
    stalled = FaultServer("stall").start()
    pool = [*good, dying, stalled]
    run_dir = tmp_path / "run"
    urls = [arg for server in pool for arg in ("--base-url", server.url)]
    command = hone_command(
        "run", str(make_task("[search]\nfix_attempts = 0\n")), "--model", "openai:m", *urls, "--run-dir", str(run_dir),
        "--max-llm-calls", "100", "--hypotheses", "4", "--workers", "2", "--patience", "off",
        "--model-timeout", "60",
    )  # fmt: skip
    try:
        done = subprocess.run(
            command, env=environment(), capture_output=True, text=True, timeout=600
        )
    finally:
        for server in pool:
            server.stop()
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and "a model call failed" not in done.stderr
    with sqlite3.connect(run_dir / "hone.db") as db:
        meta = dict(db.execute("SELECT key, value FROM meta"))
        calls = db.execute(
            "SELECT id, endpoint, started, latency, error, seed, COALESCE(prompt_z, prompt), purpose "
            "FROM llm_calls"
        ).fetchall()
        statuses = [row[0] for row in db.execute("SELECT status FROM candidates")]
        made = {row[0] for row in db.execute("SELECT call_id FROM candidates")}
    assert json.loads(meta["stop_reason"]) == "max_llm_calls"
    assert json.loads(meta["model"])["base_urls"] == [server.url for server in pool]
    # no hypothesis lost: every request that failed was the same call's as one answered
    answered = {(seed, prompt) for _, _, _, _, error, seed, prompt, _ in calls if error is None}
    failed = [row for row in calls if row[4] is not None]
    assert failed and all((seed, prompt) in answered for *_, seed, prompt, _ in failed)
    assert "pending" not in statuses and len(statuses) == 1 + len(made - {None})
    used = [c for c in calls if c[4] is None]  # every answer a hypothesis was made of
    assert {c[0] for c in used} == made - {None}
    by_server = {server.url: [c for c in calls if c[1] == server.url] for server in pool}
    assert sum(map(len, by_server.values())) == len(calls)  # each stored with its server
    # spread by load: the two good servers within a factor of two of each other
    a, b = (sum(c[4] is None for c in by_server[s.url]) for s in good)
    assert min(a, b) * 2 >= max(a, b), (a, b)
    # the dying server answered its eight, and got nothing once its death was seen
    dead = by_server[dying.url]
    assert sum(c[4] is None for c in dead) == 8 and len(dying.answered()) == 8
    seen = min(c[2] + c[3] for c in dead if c[4] is not None)
    assert all(c[2] <= seen + 0.001 for c in dead), "a request went to a dead server"
    assert dying.dead and dying.log[8].mode == "die"
    # the stalled server: each of its requests beaten by a hedge elsewhere (none waited for
    # the timeout), and sent again only once its back-off was over and a probe answered
    stalls = by_server[stalled.url]
    assert stalls and all(c[4].startswith("cancelled: call #") for c in stalls)
    taken_out = backoff_respected([(c[2], c[2] + c[3]) for c in stalls])
    probes = [e for e in stalled.gets if e.prompt.endswith("/models")]
    assert len(probes) >= taken_out - 1  # each return was probed first


def test_a_probe_asks_get_models_through_each_sdk_and_takes_any_answer_but_a_5xx() -> None:
    from hone.models.anthropic import AnthropicModel
    from hone.models.openai import OpenAIModel

    server = FaultServer("500").start()  # generation fails; GET /v1/models answers
    root = server.url.removesuffix("/v1")

    async def go() -> list[str]:
        said = []
        models = [
            OpenAIModel("m", base_url=server.url),  # GET /v1/models
            AnthropicModel("m", base_url=root),  # GET /v1/models
            OpenAIModel("m", base_url=root),  # GET /models: 404, an answer all the same
        ]
        for model in models:
            await model.probe(5.0)
        server.die()
        for model in models[:2]:
            try:
                await model.probe(5.0)
            except ModelError as exc:
                said.append(str(exc))
        for model in models:
            await model.close()
        return said

    try:
        said = asyncio.run(go())
    finally:
        server.stop()
    assert [e.prompt for e in server.gets if e.mode == "get"] == ["/v1/models"] * 2 + ["/models"]
    assert said == [f"cannot reach {server.url}", f"cannot reach {root}"]
