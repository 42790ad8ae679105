"""`hone.run` and `hone.resume` from Python."""

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
