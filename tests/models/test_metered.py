"""`Metered`, where every model answer enters a run: whatever a backend returns (text that is no
UTF-8, token counts no SQLite integer holds, numpy numbers) is stored as the paid answer it is,
before anything else can fail on it, and counted sanely; and no more requests are sent at once
than the server serves or `[model] max_in_flight` allows, a request that waits in hone having
its deadline start when it is sent."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import hone
from hone.budget import Budget
from hone.exceptions import ModelError, StorageError
from hone.inbound import MAX_ANSWER, MAX_ERROR, MAX_TOKENS
from hone.models.base import Completion, Request, Style
from hone.models.metered import Metered
from hone.store import Store
from hone.task import Task
from hone.testing import FunctionModel


class Answers:
    """A model that returns whatever objects it is given, one per call."""

    name = "test:raw"
    style: Style = "chat"

    def __init__(self, *answers: Any) -> None:
        self.answers = list(answers)

    async def generate(self, request: Request) -> Any:
        return self.answers.pop(0)

    async def close(self) -> None:
        pass


def call(meter: Metered, times: int = 1) -> list[tuple[Completion, int]]:
    async def go() -> list[tuple[Completion, int]]:
        done = []
        for _ in range(times):
            meter.reserve()
            done.append(await meter.call(Request(text="hello there"), 1))
        return done

    return asyncio.run(go())


def test_what_a_backend_returns_is_stored_as_valid_text_and_sane_counts(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = Store.create(tmp_path / "run")
    model = Answers(
        Completion("answer \ud800 one", 10**20, -(10**9)),
        Completion("two", np.int64(7), None),  # type: ignore[arg-type]
        Completion("x" * (MAX_ANSWER * 2), -5, 3),
    )
    meter = Metered(store, timeout=5, model=model)
    with caplog.at_level(logging.WARNING, logger="hone"):
        done = call(meter, 3)
    rows = list(store.calls())
    assert [r["completion"] for r in rows][:2] == ["answer \ufffd one", "two"]
    assert done[0][0].text == "answer \ufffd one"  # the loop parses what is stored
    assert (
        len(rows[2]["completion"]) <= MAX_ANSWER and "[answer truncated: " in rows[2]["completion"]
    )
    assert [(r["prompt_tokens"], r["completion_tokens"]) for r in rows] == [
        (MAX_TOKENS, 0),
        (7, 1),  # no count given: estimated from the answer, as for any backend
        (0, 3),
    ]
    assert meter.usage.tokens == MAX_TOKENS + 11 and store.usage() == meter.usage
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    clamped = [w for w in warnings if "reported" in w]
    assert clamped == [
        "test:raw reported 100000000000000000000 tokens for a call; counted as "
        f"{MAX_TOKENS} (hone keeps a count between 0 and 2**53)"
    ]  # once per run
    store.close()


def test_the_answer_is_stored_before_anything_else_can_fail_on_it(tmp_path: Path) -> None:
    store = Store.create(tmp_path / "run")
    meter = Metered(store, timeout=5, model=Answers(Completion("paid for", 3, 4)))

    def full(**values: Any) -> None:  # the write after the answer's: the disk filled up
        raise StorageError("cannot write to the run's database (database or disk is full)")

    store.set_meta = full  # type: ignore[method-assign]
    with pytest.raises(StorageError):
        call(meter)
    assert [r["completion"] for r in store.calls()] == ["paid for"]  # kept for resume
    store.close()


class Failing:
    """A model whose server answers with megabytes of error, on several lines."""

    name = "test:failing"
    style: Style = "chat"

    async def generate(self, request: Request) -> Completion:
        raise ModelError("test:failing answered 400: " + "no\n" * 500_000 + "\ud800")

    async def close(self) -> None:
        pass


def test_a_servers_error_of_megabytes_is_one_bounded_line(tmp_path: Path) -> None:
    store = Store.create(tmp_path / "run")
    meter = Metered(store, timeout=5, model=Failing())
    with pytest.raises(ModelError) as raised:
        call(meter)
    message = str(raised.value)
    assert len(message) <= MAX_ERROR and "\n" not in message
    assert message.startswith("test:failing answered 400: no no no")
    assert message.endswith("[truncated: 1,500,028 characters in all]")
    [(stored,)] = store.conn.execute("SELECT error FROM llm_calls").fetchall()
    assert stored == message  # kept with the failed call, as said
    store.close()


class Counting(FunctionModel):
    """Answers after `seconds`, counting the requests it holds at once."""

    def __init__(self, seconds: float, slots: int | None = None) -> None:
        super().__init__(self._answer)
        self.seconds, self.now, self.most = seconds, 0, 0
        if slots is not None:
            self.slots = slots  # (hone.models.base.Slotted: a server that says its slots)

    async def _answer(self, request: Request) -> str:
        self.now += 1
        self.most = max(self.most, self.now)
        await asyncio.sleep(self.seconds)
        self.now -= 1
        return "```python\ndef f():\n    return 2.0\n```"


def run(task_dir: Path, tmp_path: Path, model: FunctionModel, **model_settings) -> hone.RunResult:
    task = Task.from_dir(task_dir).configured(model=model_settings)
    task = dataclasses.replace(
        task,
        budget=Budget(max_llm_calls=4, patience=None),
        search=dataclasses.replace(task.search, hypotheses_per_round=4),
    )
    return hone.run(task, model=model, run_dir=tmp_path / "run")


def test_the_servers_slots_bound_the_requests_in_flight(make_task, tmp_path: Path) -> None:
    model = Counting(0.2, slots=2)
    result = run(make_task(), tmp_path, model)
    assert result.usage.calls == 4 and model.most == 2


def test_max_in_flight_bounds_them_and_the_deadline_starts_when_sent(
    make_task, tmp_path: Path
) -> None:
    """One at a time, 0.6 s each, a 1 s deadline: the fourth is sent 1.8 s after it was
    asked for and still answers in time."""
    model = Counting(0.6)
    result = run(make_task(), tmp_path, model, max_in_flight=1, timeout=1.0)
    assert model.most == 1
    assert (result.usage.calls, result.usage.failed) == (4, 0)


def test_without_a_limit_a_round_is_sent_at_once(make_task, tmp_path: Path) -> None:
    model = Counting(0.2)
    run(make_task(), tmp_path, model)
    assert model.most == 4


def test_a_call_cancelled_as_its_answer_comes_is_cancelled(tmp_path: Path) -> None:
    """A run stopped (Ctrl-C) just as a model answers stops that call too: Python 3.11's
    `asyncio.wait_for` returned the answer instead, and the run, going on with a hypothesis
    its stop had given up on, waited forever for an evaluation worker already closed."""
    caller: list[asyncio.Task[object]] = []

    class AnswersAsItIsCancelled:
        name, style = "m", "chat"

        async def generate(self, request: Request) -> Completion:
            caller[0].cancel()  # the stop comes while the answer is on its way
            return Completion("an answer", 1, 1)

        async def close(self) -> None:
            pass

    store = Store.create(tmp_path / "run", {})
    meter = Metered(store, timeout=5, model=AnswersAsItIsCancelled())  # type: ignore[arg-type]

    async def call() -> object:
        task = asyncio.current_task()
        assert task is not None
        caller.append(task)
        meter.reserve()
        return await meter.call(Request(text="p"), 1)

    with pytest.raises(asyncio.CancelledError):
        asyncio.run(call())
    assert meter.in_flight == 0
