"""The test-suite verifier: cases and test functions, passing and failing candidates."""

import json
from pathlib import Path

import pytest

from hone.verifiers.tests import Case, load_cases, run_cases, run_test_functions, same

CASES = [Case((2, 3), 5), Case((-1, 1), 0), Case((10, 5), 15), Case((0.1, 0.2), 0.3)]


def program(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "program.py"
    path.write_text(body)
    return path


def test_a_correct_program_passes_every_case(tmp_path: Path) -> None:
    ev = run_cases(
        program(tmp_path, "def add(a, b):\n    return a + b\n"), "add", CASES, tolerance=1e-9
    )
    assert ev.ok and ev.score == 1.0
    assert ev.metrics == {"passed": 4.0, "total": 4.0}
    assert ev.feedback == "4 of 4 cases pass"


def test_failing_cases_are_fed_back_with_input_expected_and_got(tmp_path: Path) -> None:
    body = "def add(a, b):\n    if a < 0:\n        raise ValueError('negative')\n    return a * b\n"
    ev = run_cases(program(tmp_path, body), "add", CASES, shown=2)
    assert ev.score == 0.0  # 2*3=6, raises, 10*5=50, 0.1*0.2 != 0.3
    assert "add(2, 3) returned 6, expected 5" in ev.feedback
    assert "add(-1, 1) raised ValueError: negative" in ev.feedback
    assert "... and 2 more" in ev.feedback


def test_partial_credit_and_float_tolerance(tmp_path: Path) -> None:
    body = "def add(a, b):\n    return a + b if a != 10 else 0\n"
    exact = run_cases(program(tmp_path, body), "add", CASES)
    assert exact.score == 0.5  # 0.1 + 0.2 != 0.3 exactly, and the (10, 5) case fails
    tolerant = run_cases(program(tmp_path, body), "add", CASES, tolerance=1e-9)
    assert tolerant.score == 0.75


def test_missing_function_and_broken_program_are_errors(tmp_path: Path) -> None:
    missing = run_cases(program(tmp_path, "def other():\n    pass\n"), "add", CASES)
    assert missing.status == "error" and "no function 'add'" in missing.reason
    broken = run_cases(program(tmp_path, "def add(a, b)\n    return a\n"), "add", CASES)
    assert broken.status == "error" and "SyntaxError" in broken.reason


def test_a_case_that_hangs_is_a_failure_not_a_hang(tmp_path: Path) -> None:
    body = "def add(a, b):\n    while a == 2:\n        pass\n    return a + b\n"
    ev = run_cases(program(tmp_path, body), "add", CASES[:3], timeout_per_case=0.2)
    assert ev.score == pytest.approx(2 / 3)
    assert "add(2, 3) raised CaseTimeout: did not return within 0.2 s" in ev.feedback


def test_cases_load_from_json_and_jsonl(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text(
        json.dumps([[[1, 2], 3], {"args": [1], "kwargs": {"b": 4}, "expected": 5}])
    )
    (tmp_path / "b.jsonl").write_text('{"args": [1, 2], "expected": 3}\n\n[[0, 0], 0]\n')
    assert load_cases(tmp_path / "a.json") == [Case((1, 2), 3), Case((1,), 5, (("b", 4),))]
    assert load_cases(tmp_path / "b.jsonl") == [Case((1, 2), 3), Case((0, 0), 0)]
    (tmp_path / "c.json").write_text('[{"input": 1}]')
    with pytest.raises(ValueError, match="case 1"):
        load_cases(tmp_path / "c.json")


@pytest.mark.parametrize(
    ("got", "expected", "result"),
    [
        (1, True, False),
        ([1, 2.0000001], [1, 2], False),
        ((1, 2), [1, 2], True),
        ({"a": 1}, {"a": 1.0}, True),
        ("1", 1, False),
    ],
)
def test_same(got: object, expected: object, result: bool) -> None:
    assert same(got, expected) is result


TESTS = """\
import candidate


def test_small():
    assert candidate.add(1, 2) == 3


def test_negative():
    assert candidate.add(-5, 2) == -3, "negative numbers"


def test_big():
    assert candidate.add(10**20, 1) == 10**20 + 1
"""


def test_test_functions_pass_and_fail_with_their_messages(tmp_path: Path) -> None:
    (tmp_path / "tests.py").write_text(TESTS)
    good = run_test_functions(
        program(tmp_path, "def add(a, b):\n    return a + b\n"), tmp_path / "tests.py"
    )
    assert good.score == 1.0 and good.feedback == "3 of 3 tests pass"
    bad = run_test_functions(
        program(tmp_path, "def add(a, b):\n    return abs(a) + b\n"), tmp_path / "tests.py"
    )
    assert bad.score == pytest.approx(2 / 3)
    assert "test_negative failed: negative numbers" in bad.feedback
