"""`hone.run` and `hone.resume` from Python."""

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

import hone
from hone.exceptions import RunDirError, TaskError
from hone.testing import ScriptedModel
from tests.conftest import PROGRAM, answer


def test_a_run_started_without_a_task_folder_resumes_with_its_task(
    make_task, tmp_path: Path
) -> None:
    folder = make_task()
    task = hone.Task(
        name="loose",
        instruction="Make f() return 10.",
        program=PROGRAM,
        evaluator=folder / "evaluate.py",
        program_filename="initial.py",
    )  # no root: built in Python
    model = ScriptedModel([answer(2.0)])
    first = hone.run(
        task, model=model, run_dir=tmp_path / "run", budget=hone.Budget(max_llm_calls=1)
    )
    assert first.usage.calls == 1
    with pytest.raises(RunDirError, match=r"resume it with hone.resume\(run_dir, task=task\)"):
        hone.resume(tmp_path / "run")
    again = hone.resume(
        tmp_path / "run",
        task=task,
        budget={"max_llm_calls": 2},
        model=ScriptedModel(
            [answer(2.0), "```python\ndef f():\n    return 5.0\n```"]
        ),  # goes on at the 2nd
    )
    assert again.usage.calls == 2 and again.best is not None and again.best.score == -5.0


def test_three_runs_of_one_task_started_in_the_same_second_all_complete(
    make_task, tmp_path: Path
) -> None:
    """Three processes pick the same folder name (the clock says one second for all): each
    claims its own folder by creating it, and all three runs finish."""
    task = make_task()
    fixed = "import time; time.strftime = lambda *a: '20260101-000000'; "
    start = (
        fixed
        + "from hone.cli import main; raise SystemExit(main(['run', %r, '--max-llm-calls', '0']))"
    )
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", start % str(task)],
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(3)
    ]
    outputs = [run.communicate(timeout=240)[0] for run in runs]
    assert [run.returncode for run in runs] == [0, 0, 0], outputs
    folders = sorted(p.name for p in (tmp_path / "runs").iterdir())
    assert folders == ["task-20260101-000000", "task-20260101-000000-2", "task-20260101-000000-3"]
    for folder in folders:
        with sqlite3.connect(tmp_path / "runs" / folder / "hone.db") as db:
            status = db.execute("SELECT value FROM meta WHERE key = 'status'").fetchone()
        assert json.loads(status[0]) == "stopped"
    assert all("best score -9" in out for out in outputs), outputs


def test_resume_takes_the_budget_run_takes(make_task, tmp_path: Path) -> None:
    first = hone.run(
        hone.Task.from_dir(make_task()),
        model=ScriptedModel([answer(2.0)]),
        run_dir=tmp_path / "run",
        budget=hone.Budget(max_llm_calls=1),
    )
    assert first.usage.calls == 1
    again = hone.resume(
        tmp_path / "run",
        budget=hone.Budget(max_llm_calls=2, patience=None),
        model=ScriptedModel([answer(2.0), "```python\ndef f():\n    return 5.0\n```"]),
    )
    assert again.usage.calls == 2 and again.best is not None and again.best.score == -5.0


def test_errors_raised_to_python_name_the_parameter_not_only_the_option(make_task) -> None:
    task = hone.Task.from_dir(make_task())
    with pytest.raises(hone.UserError, match=r"give base_url \(--base-url") as raised:
        hone.run(task, model="openai:gpt-4o-mini")
    assert "pass --base-url" not in str(raised.value)


def test_a_task_made_in_python_has_its_instruction_checked(make_task, tmp_path: Path) -> None:
    folder = make_task()
    task = hone.Task(
        name="loose",
        instruction="x" * (10 << 20),
        program=PROGRAM,
        evaluator=folder / "evaluate.py",
    )
    with pytest.raises(TaskError, match=r"the task's instruction is 10,485,760 characters"):
        hone.run(task, model=ScriptedModel([]), run_dir=tmp_path / "run")
    assert not (tmp_path / "run").exists()
