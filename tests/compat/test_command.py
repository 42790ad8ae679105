"""`[evaluation] command`: a shell command scores each candidate in its tree's root, in the
sandbox, with a real pytest run's counts as metrics and its failures as feedback."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

import hone
from hone.exceptions import TaskError
from hone.task import Task
from hone.testing import ScriptedModel
from tests.conftest import named

CALC = """\
def double(x):
    return 2 * x


def value():
    return 1
"""
TESTS = """\
from calc import double, value


def test_double():
    assert double(3) == 6


def test_value_is_positive():
    assert value() > 0
"""
BENCH = """\
import json

import calc

print("benchmarking")
print(json.dumps({"score": calc.value(), "calls": 1}))
"""
TOML = """\
instruction = "Make value() larger while the tests pass."
program = "pkg"
editable = ["calc.py"]
context = ["tests/test_calc.py"]

[evaluation]
command = "python -m pytest -q -x -p no:cacheprovider tests && python -m bench"
timeout = 60
workers = 1
"""


def package_task(root: Path, toml: str = TOML) -> Path:
    (root / "pkg" / "tests").mkdir(parents=True)
    (root / "task.toml").write_text(toml)
    (root / "pkg" / "calc.py").write_text(CALC)
    (root / "pkg" / "tests" / "test_calc.py").write_text(TESTS)
    (root / "pkg" / "bench.py").write_text(BENCH)
    return root


def test_the_command_scores_a_tree_and_a_failing_test_run_is_its_feedback(
    tmp_path: Path,
) -> None:
    task = Task.from_dir(package_task(tmp_path / "task"))
    assert task.evaluator == (tmp_path / "task" / "task.toml").resolve()
    broken = "Triple.\n\n" + named("calc.py", "    return 2 * x", "    return 3 * x")
    better = "Larger.\n\n" + named("calc.py", "    return 1", "    return 5")
    result = hone.run(
        task,
        model=ScriptedModel([broken, better]),
        run_dir=tmp_path / "run",
        budget=task.budget.merged(max_llm_calls=2),
    )
    start, failed, improved = result.history
    assert start.score == 1.0
    assert start.evaluation.metrics == {
        "calls": 1.0,
        "tests_passed": 2.0,
        "tests_failed": 0.0,
        "tests_errors": 0.0,
    }
    assert start.evaluation.feedback == "pytest: 0 failed, 2 passed, 0 errors"
    assert failed.evaluation.status == "error" and failed.score is None
    assert failed.evaluation.metrics == {
        "tests_passed": 0.0,
        "tests_failed": 1.0,
        "tests_errors": 0.0,
    }
    assert failed.evaluation.reason.startswith(
        "the command exited with status 1; pytest: 1 failed, 0 passed, 0 errors\n"
        "FAILED tests/test_calc.py::test_double - assert 9 == 6"
    )
    assert "E       assert 9 == 6" in failed.evaluation.feedback
    assert "benchmarking" not in failed.output  # -x and &&: the benchmark never ran
    assert improved.score == 5.0 and result.best is not None and result.best.id == improved.id
    assert "benchmarking" in improved.output


def test_a_one_file_task_runs_its_command_beside_the_file(tmp_path: Path) -> None:
    root = tmp_path / "task"
    root.mkdir()
    (root / "initial.py").write_text("X = 3\n")
    (root / "check.py").write_text(
        "import json, os, runpy, sys\n"
        "program = runpy.run_path(os.environ['HONE_PROGRAM'])\n"
        "assert os.path.dirname(os.environ['HONE_PROGRAM']) == os.getcwd()\n"
        "print(json.dumps({'score': program['X'], 'python': int(sys.executable.endswith('python'))}))\n"
    )
    (root / "task.toml").write_text(
        'instruction = "Make X larger."\n\n[evaluation]\n'
        'command = "python $HONE_TASK/check.py"\nworkers = 1\n'
    )
    task = Task.from_dir(root)
    result = hone.run(
        task,
        model=ScriptedModel([]),
        run_dir=tmp_path / "run",
        budget=task.budget.merged(max_llm_calls=0),
    )
    start = result.history[0]
    assert start.score == 3.0 and start.evaluation.metrics == {"python": 1.0}


@pytest.mark.parametrize(
    ("extra", "sentence"),
    [
        (
            'evaluator = "evaluate.py"\n',
            "[evaluation] command scores the candidates, so the evaluator",
        ),
        ('contract = "shinka"\n', "command runs in place of an evaluator, so it takes no"),
    ],
)
def test_a_command_beside_an_evaluator_or_a_contract_is_refused(
    tmp_path: Path, extra: str, sentence: str
) -> None:
    toml = TOML
    if extra.startswith("evaluator"):
        toml = extra + toml
        (tmp_path / "task").mkdir()
        (tmp_path / "task" / "evaluate.py").write_text("def evaluate(p):\n    return 1.0\n")
    else:
        toml = toml.replace("timeout = 60\n", "timeout = 60\n" + extra)
    with pytest.raises(TaskError, match=textwrap.dedent(sentence).replace("[", r"\[")):
        Task.from_dir(package_task(tmp_path / "task", toml))


def test_pytest_runs_over_a_farm_of_links_to_the_base(tmp_path: Path) -> None:
    """Where no overlay can be mounted, the base's files (the tests, the benchmark) are links
    in the candidate's tree: pytest and the benchmark run over them alike (``python -m bench``:
    ``python bench.py`` would put the folder its link resolves to, the base, first on
    sys.path, and import the base's calc.py)."""
    from hone.compat.command import evaluator
    from hone.sandbox.materialise import Base, materialise

    folder = package_task(tmp_path / "task") / "pkg"
    files = {"calc.py": CALC.replace("return 1", "return 4")}
    tree = materialise(files, Base.scan(folder), tmp_path / "work", strategy="farm")
    try:
        assert (tmp_path / "work" / "tests" / "test_calc.py").is_symlink()
        command = "python -m pytest -q -x -p no:cacheprovider tests && python -m bench"
        evaluation = evaluator(command, tmp_path / "task", 60.0)(str(tmp_path / "work"))
    finally:
        tree.remove()
    assert evaluation.ok and evaluation.score == 4.0
    assert evaluation.metrics["tests_passed"] == 2.0


def test_a_command_that_scores_its_own_test_run_keeps_the_failures_as_feedback(
    tmp_path: Path,
) -> None:
    from hone.compat.command import evaluator

    folder = package_task(tmp_path / "task") / "pkg"
    (folder / "calc.py").write_text(CALC.replace("return 2 * x", "return 3 * x"))
    score = "import json; print(json.dumps({'score': 0.5}))"
    command = f'python -m pytest -q -p no:cacheprovider tests; python -c "{score}"'
    evaluation = evaluator(command, tmp_path / "task", 60.0)(str(folder))
    assert evaluation.ok and evaluation.score == 0.5
    assert evaluation.metrics == {"tests_passed": 1.0, "tests_failed": 1.0, "tests_errors": 0.0}
    assert evaluation.feedback.splitlines()[:2] == [
        "pytest: 1 failed, 1 passed, 0 errors",
        "FAILED tests/test_calc.py::test_double - assert 9 == 6",
    ]


def test_a_command_that_runs_too_long_is_a_timeout(tmp_path: Path) -> None:
    from hone.compat.command import evaluator

    evaluation = evaluator("echo started; sleep 30", tmp_path, 1.0)(str(tmp_path))
    assert evaluation.status == "timeout"
    assert evaluation.reason.startswith("the command did not finish within 1 s")
