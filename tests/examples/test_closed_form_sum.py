"""The closed-form-sum example: its evaluator verifies answer() with hone.verifiers.math."""

from __future__ import annotations

import importlib.util
import textwrap
from pathlib import Path
from types import ModuleType

import pytest

from hone.evaluation import Evaluation

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "closed_form_sum"


def load_evaluator() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "closed_form_sum_evaluate", EXAMPLE / "evaluate.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def evaluator() -> ModuleType:
    return load_evaluator()


def write_program(tmp_path: Path, body: str) -> str:
    path = tmp_path / "candidate.py"
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    return str(path)


def answering(tmp_path: Path, text: str) -> str:
    return write_program(tmp_path, f"def answer():\n    return {text!r}\n")


def test_task_folder_is_complete() -> None:
    for name in ("task.toml", "initial.py", "evaluate.py", "README.md"):
        assert (EXAMPLE / name).is_file(), name
    source = (EXAMPLE / "initial.py").read_text(encoding="utf-8").splitlines()
    assert "# EVOLVE-BLOCK-START" in source
    assert "# EVOLVE-BLOCK-END" in source


def test_starting_program_is_wrong_but_parseable(evaluator: ModuleType) -> None:
    result = evaluator.evaluate(str(EXAMPLE / "initial.py"))
    assert isinstance(result, Evaluation)
    assert result.ok
    assert result.score == pytest.approx(0.757732, abs=1e-6)
    assert result.feedback.startswith("answer() = 'n**4/4': not equal: ")
    assert "at n = 1 the candidate is 0.25 but the reference is 1" in result.feedback


@pytest.mark.parametrize(
    "text",
    ["(n*(n+1)/2)**2", "n^2 (n+1)^2 / 4", "binomial(n+1, 2)^2", "0.25*n**4 + n**3/2 + n**2/4"],
)
def test_a_correct_closed_form_scores_one(evaluator: ModuleType, tmp_path: Path, text: str) -> None:
    result = evaluator.evaluate(answering(tmp_path, text))
    assert result.score == 1.0
    assert result.metrics["symbolic"] == 1.0


def test_a_closer_wrong_answer_scores_higher(evaluator: ModuleType, tmp_path: Path) -> None:
    start = evaluator.evaluate(str(EXAMPLE / "initial.py")).score
    near = evaluator.evaluate(answering(tmp_path, "n**2*(n+1)**2/4 + 1")).score
    assert start < near < 1.0


@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [
        (
            "def answer():\n    return \"__import__('os').system('touch PWNED')\"\n",
            "invalid-output",
            "unknown name '__import__'",
        ),
        ('def answer():\n    return "Sum(k**3, (k, 1, n))"\n', "invalid-output", "unknown name"),
        ('def answer():\n    return "n**4/4 +"\n', "invalid-output", "cannot parse"),
        ('def answer():\n    return "9**9**9**9"\n', "invalid-output", "exponent"),
        ("def answer():\n    return 42\n", "invalid-output", "must return a string"),
        ("def solve():\n    return 'n'\n", "error", "no answer() function"),
    ],
)
def test_garbage_and_malicious_answers_fail_with_a_reason(
    evaluator: ModuleType, tmp_path: Path, body: str, status: str, fragment: str
) -> None:
    result = evaluator.evaluate(write_program(tmp_path, body))
    assert result.status == status
    assert result.score is None
    assert fragment in result.reason
    assert not (tmp_path / "PWNED").exists()
    assert not Path("PWNED").exists()
