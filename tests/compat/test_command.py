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


# The search scores f() against 10; `score.py holdout` (the validate command) against the
# held-out target, 7, which only the checks of new bests can read.
SCORE = """\
import json, os, runpy, sys

f = runpy.run_path(os.environ["HONE_PROGRAM"])["f"]
target = 10.0
if sys.argv[1:] == ["holdout"]:
    with open(os.path.join(os.environ["HONE_TASK"], "holdout", "target.txt")) as data:
        target = float(data.read())
print(json.dumps({"score": -abs(f() - target)}))
"""
VALIDATED = """\
instruction = "Make f() return 10."

[evaluation]
command = "python $HONE_TASK/score.py"
validate_command = "python $HONE_TASK/score.py holdout"
holdout = ["holdout"]
workers = 1
"""


@pytest.fixture
def validated_task(tmp_path: Path) -> Path:
    from tests.conftest import PROGRAM

    root = tmp_path / "task"
    (root / "holdout").mkdir(parents=True)
    (root / "task.toml").write_text(VALIDATED)
    (root / "initial.py").write_text(PROGRAM)
    (root / "score.py").write_text(SCORE)
    (root / "holdout" / "target.txt").write_text("7\n")
    return root


def test_the_validate_command_scores_each_new_best_on_the_held_out_data(
    validated_task: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The validate command runs where a Python validate would (each new best), and its
    score is stored beside the search score; a new best worse on held-out is overfitting."""
    from hone.cli import main
    from hone.store import opened
    from hone.trust import OVERFITTING
    from tests.helpers import block, task_of

    result = hone.run(
        task_of(validated_task),
        model=ScriptedModel([block(7.0), block(10.0)]),
        run_dir=tmp_path / "run",
        budget=hone.Budget(max_llm_calls=2),
    )
    assert [(c.score, c.holdout) for c in result.history] == [
        (-9.0, -6.0),
        (-3.0, 0.0),
        (0.0, -3.0),
    ]
    assert result.best is not None and (result.best.id, result.best.holdout) == (3, -3.0)
    with opened(tmp_path / "run") as store:
        validations = [r["candidate_id"] for r in store.findings() if r["check_name"] == "validate"]
        [(_, note)] = store.notes(OVERFITTING)
    assert sorted(validations) == [1, 2, 3]  # the new bests, each once
    assert "#3 beats #2 in search (0 against -3) but not on held-out (-3 against 0)" in note
    assert main(["show", str(tmp_path / "run")]) == 0
    assert "best: search 0, held-out -3 (#3, round 2)" in capsys.readouterr().out


def test_a_candidate_cannot_read_the_data_of_the_validate_command_while_it_is_searched(
    validated_task: Path, tmp_path: Path
) -> None:
    """The hostile candidate of tests/test_trust.py, searched by a command: the validate
    command of the start reads the held-out data, the candidate finds none."""
    from tests.test_trust import searched_hostile

    searched_hostile(validated_task, tmp_path / "run")


def test_only_the_checks_worker_is_given_the_validate_command(tmp_path: Path) -> None:
    from hone.compat import load

    settings = {"command": "true", "validate_command": "false"}
    toml = str(tmp_path / "task.toml")
    assert dict(load("hone", toml, settings).checks) == {}  # a search's worker
    assert set(load("hone", toml, {**settings, "checks": True}).checks) == {"validate"}


@pytest.mark.parametrize(
    ("toml", "sentence"),
    [
        (
            'validate_command = ""\n',
            "validate_command is empty; give the shell command that scores a candidate on the "
            "held-out data, or remove the key",
        ),
        (
            'validate_command = "python score.py holdout"\n',
            "validate_command is the held-out validation of a task scored by [evaluation] "
            "command, and this task has none; set command too",
        ),
        (
            'command = "python score.py"\nvalidate_command = "python score.py holdout"\n'
            'validator = "validate.py"\n',
            "validate_command and validator = 'validate.py' both define the held-out "
            "validation; keep one of them",
        ),
    ],
)
def test_a_bad_validate_command_is_refused_with_one_sentence(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], toml: str, sentence: str
) -> None:
    from hone.cli import main

    root = tmp_path / "task"
    root.mkdir()
    (root / "task.toml").write_text(f'instruction = "Make X larger."\n\n[evaluation]\n{toml}')
    (root / "initial.py").write_text("X = 3\n")
    (root / "evaluate.py").write_text("def evaluate(program_path):\n    return 1.0\n")
    if "command =" in toml.replace("validate_command", ""):
        (root / "evaluate.py").unlink()
    with pytest.raises(TaskError) as raised:
        Task.from_dir(root)
    assert sentence in str(raised.value)
    assert main(["run", str(root), "--max-llm-calls", "0", "--run-dir", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert sentence in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
