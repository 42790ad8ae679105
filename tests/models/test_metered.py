"""The metered model: every call of a run goes through it."""

import asyncio
from pathlib import Path

import pytest

from hone.models.base import Completion, Request
from hone.models.metered import Metered
from hone.store import Store


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
