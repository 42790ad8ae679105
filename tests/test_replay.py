"""Deterministic runs and `hone replay`: the same seed and answers give the same run."""

import asyncio
import dataclasses
import json
import random
from pathlib import Path

import pytest

import hone
from hone.cli import main
from hone.config import Budget
from hone.exceptions import ReplayError, RunDirError
from hone.models.base import Request
from hone.replay import replay
from hone.task import Task
from hone.testing import FunctionModel


def rewrite(value: float) -> str:
    return f"```python\ndef f():\n    return {value!r}\n```"


def jittery_model(jitter_seed: int) -> FunctionModel:
    """Answers from the request's seed (a garbage answer one time in five, so the fix step
    runs); how long an answer takes depends on `jitter_seed`, so answers come back in a
    different order from run to run."""
    delays = random.Random(jitter_seed)

    async def answer(request: Request) -> str:
        await asyncio.sleep(delays.random() * 0.03)
        if "Analyse this round" in request.as_text():
            return f"- analysis {request.seed % 97}"
        if request.seed % 5 == 0 and "could not be applied" not in request.as_text():
            return "no code here"
        return rewrite(float(request.seed % 23))

    return FunctionModel(answer)


def run(task_dir: Path, where: Path, jitter: int, deterministic: bool) -> hone.RunResult:
    task = Task.from_dir(task_dir)
    task = dataclasses.replace(
        task,
        budget=Budget(max_llm_calls=16, patience=None),
        search=dataclasses.replace(
            task.search, hypotheses_per_round=4, deterministic=deterministic, reflection=True
        ),
    )
    return hone.run(task, model=jittery_model(jitter), run_dir=where, seed=5)


def outline(result: hone.RunResult) -> list[tuple]:
    return [
        (c.id, c.round, c.parent_ids, c.code, c.score, c.evaluation.status) for c in result.history
    ]


def test_deterministic_runs_do_not_depend_on_timing(make_task, tmp_path: Path) -> None:
    task_dir = make_task()
    a = run(task_dir, tmp_path / "a", jitter=1, deterministic=True)
    b = run(task_dir, tmp_path / "b", jitter=2, deterministic=True)
    assert len(a.history) > 10
    assert outline(a) == outline(b)
    assert a.usage == b.usage
    # Without the barrier, the same timings change the run (so the check above can fail).
    c = run(task_dir, tmp_path / "c", jitter=1, deterministic=False)
    d = run(task_dir, tmp_path / "d", jitter=2, deterministic=False)
    assert outline(c) != outline(d)


def test_replay_reproduces_a_recorded_run(make_task, tmp_path: Path) -> None:
    recorded = run(make_task(), tmp_path / "run", jitter=3, deterministic=True)
    statuses = {c.evaluation.status for c in recorded.history}
    assert "invalid-edit" in statuses or recorded.usage.calls > len(recorded.history) - 1
    replayed = replay(tmp_path / "run")
    assert replayed.identical, replayed.differences
    assert replayed.result.run_dir == tmp_path / "run-replay"
    assert outline(replayed.result) == outline(recorded)
    assert replayed.result.usage == recorded.usage
    assert replayed.result.best is not None and recorded.best is not None
    assert replayed.result.best.score == recorded.best.score


def test_replay_notices_a_changed_evaluator(make_task, tmp_path: Path) -> None:
    task_dir = make_task()
    run(task_dir, tmp_path / "run", jitter=4, deterministic=True)
    evaluator = task_dir / "evaluate.py"
    evaluator.write_text(evaluator.read_text().replace("10", "11"))
    with pytest.raises(ReplayError, match="diverged"):
        replay(tmp_path / "run")


def test_replay_refuses_a_run_whose_order_depended_on_timing(make_task, tmp_path: Path) -> None:
    run(make_task(), tmp_path / "run", jitter=5, deterministic=False)
    with pytest.raises(RunDirError, match="--deterministic"):
        replay(tmp_path / "run")


def test_replay_from_the_command_line(make_task, tmp_path: Path, capsys) -> None:
    answers = tmp_path / "answers.jsonl"
    answers.write_text("\n".join(json.dumps(rewrite(v)) for v in (3.0, 12.0, 8.0, 9.5)))
    run_dir = tmp_path / "run"
    argv = ["run", str(make_task()), "--model", f"scripted:{answers}", "--run-dir", str(run_dir)]
    assert main([*argv, "--deterministic", "--max-llm-calls", "4", "--hypotheses", "2"]) == 0
    capsys.readouterr()
    assert main(["replay", str(run_dir), "--run-dir", str(tmp_path / "again")]) == 0
    out = capsys.readouterr().out
    assert "the replay is identical" in out and "5 hypotheses" in out
    assert (tmp_path / "again" / "best.py").read_text() == (run_dir / "best.py").read_text()
