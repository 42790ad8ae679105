"""`Metered`, where every model answer enters a run: whatever a backend returns (text that is no
UTF-8, token counts no SQLite integer holds, numpy numbers) is stored as the paid answer it is,
before anything else can fail on it, and counted sanely."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from hone.exceptions import ModelError, StorageError
from hone.inbound import MAX_ANSWER, MAX_ERROR, MAX_TOKENS
from hone.models.base import Completion, Request, Style
from hone.models.metered import Metered
from hone.store import Store


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
