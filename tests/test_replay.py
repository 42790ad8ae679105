"""Deterministic runs and `hone replay`: the same seed and answers give the same run."""

import asyncio
import dataclasses
import json
import random
from pathlib import Path

import pytest

import hone
from hone.budget import Budget
from hone.cli import main
from hone.exceptions import ModelError, ReplayError, RunDirError
from hone.models.base import Request
from hone.replay import replay
from hone.session import Session, run_meta
from hone.store import Store
from hone.task import Task
from hone.testing import FunctionModel
from tests.helpers import FakeClock, stored, wait_until_async


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
    fixes = [c for c in recorded.history if c.evaluation.status == "invalid-edit"]
    assert recorded.usage.calls == 16 and len(recorded.history) > 8  # fixes and analyses too
    del fixes
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
    assert main(["show", str(run_dir)]) == 0
    assert f"deterministic: hone replay {run_dir} reproduces it" in capsys.readouterr().out
    assert main(["replay", str(run_dir), "--run-dir", str(tmp_path / "again")]) == 0
    out = capsys.readouterr().out
    assert "the replay is identical" in out and "5 hypotheses" in out
    assert (tmp_path / "again" / "best.py").read_text() == (run_dir / "best.py").read_text()
    assert main(["show", str(tmp_path / "again")]) == 0
    assert f"a replay of {run_dir.resolve()}" in capsys.readouterr().out


def deterministic(task_dir: Path, **budget: object) -> Task:
    task = Task.from_dir(task_dir)
    return dataclasses.replace(
        task,
        budget=Budget(**{"patience": None, **budget}),
        search=dataclasses.replace(task.search, hypotheses_per_round=4, deterministic=True),
    )


@pytest.mark.parametrize("mode", [True, False], ids=["deterministic", "pipelined"])
def test_a_failed_fix_call_keeps_the_answer_as_a_failed_hypothesis(
    make_task, tmp_path: Path, mode: bool
) -> None:
    def answer(request: Request) -> str:
        if "could not be applied" in request.as_text():
            raise ModelError("the server fell over")
        return "no code" if request.seed % 2 else rewrite(float(request.seed % 9))

    task = deterministic(make_task(), max_llm_calls=8)
    task = dataclasses.replace(task, search=dataclasses.replace(task.search, deterministic=mode))
    result = hone.run(task, model=FunctionModel(answer), run_dir=tmp_path / "run", seed=3)
    assert result.stop_reason == "max_llm_calls"
    kept = [c for c in result.history if c.evaluation.status == "invalid-edit"]
    assert any("no code" in c.evaluation.reason for c in kept)  # kept, unfixed
    assert len(result.history) - 1 == result.usage.calls  # every answer became a hypothesis


def test_a_deterministic_run_stopped_by_time_keeps_what_was_verified(
    make_task, tmp_path: Path
) -> None:
    """The time budget is read from the session's clock: here one the test moves, once the
    round's first answer is verified (by real workers) and while its second is awaited."""
    clock, calls, db = FakeClock(), iter(range(100)), tmp_path / "run" / "hone.db"
    first_verified = "SELECT status != 'pending' FROM candidates WHERE id = 2"

    async def answer(request: Request) -> str:
        n = next(calls)
        if n == 1:  # the round's second answer comes after the time is up
            await wait_until_async(lambda: bool(stored(db, first_verified)), "the first answer")
            clock.advance(1)
            await asyncio.Event().wait()
        return rewrite(9.0 if n == 0 else 5.0)

    task = deterministic(make_task(), max_llm_calls=8, max_seconds=0.5)
    store = Store.create(tmp_path / "run", run_meta(task, 0))
    session = Session(task, store, 0, model=FunctionModel(answer), clock=clock)
    result = asyncio.run(session.drive())
    assert result.stop_reason == "max_seconds"
    assert [c.score for c in result.history] == [-9.0, -1.0]  # the first answer, verified
    assert result.best is not None and result.best.score == -1.0
    assert "return 9.0" in (tmp_path / "run" / "best.py").read_text()
    with pytest.raises(RunDirError, match="stopped by its time budget or resumed"):
        replay(tmp_path / "run")


def test_a_resumed_run_is_not_replayed(make_task, tmp_path: Path) -> None:
    model = FunctionModel(lambda r: rewrite(float(r.seed % 13)))
    hone.run(deterministic(make_task(), max_llm_calls=4), model=model, run_dir=tmp_path / "run")
    hone.resume(tmp_path / "run", budget={"max_llm_calls": 8}, model=model)
    with pytest.raises(RunDirError, match="resumed"):
        replay(tmp_path / "run")


def test_many_differences_are_counted_not_listed() -> None:
    from hone.evaluation import Evaluation
    from hone.population import Candidate
    from hone.replay import differences

    old = [Candidate(i, 1, f"x = {i}", Evaluation(score=float(i))) for i in range(1, 21)]
    new = [Candidate(i, 1, f"x = {i}", Evaluation(score=float(-i))) for i in range(1, 21)]
    found = differences(old, new)
    assert len(found) == 10 and found[-1] == "… and 11 more differences"
    assert found[0] == "hypothesis #1: score 1.0 recorded, -1.0 replayed"


def test_replay_of_the_current_folder(make_task, tmp_path: Path, monkeypatch, capsys) -> None:
    model = FunctionModel(lambda r: rewrite(float(r.seed % 13)))
    hone.run(deterministic(make_task(), max_llm_calls=4), model=model, run_dir=tmp_path / "run")
    monkeypatch.chdir(tmp_path / "run")
    assert main(["replay", "."]) == 0
    assert "the replay is identical" in capsys.readouterr().out
    assert (tmp_path / "run-replay" / "hone.db").is_file()
