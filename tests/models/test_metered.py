"""The metered model sends no more requests at once than the server serves or `[model]
max_in_flight` allows; a request that waits in hone has its deadline start when it is sent."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import hone
from hone.budget import Budget
from hone.models.base import Request
from hone.task import Task
from hone.testing import FunctionModel


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
