"""The test-suite verifier: cases and test functions, passing and failing candidates."""

import json
import sys
from pathlib import Path

import pytest

from hone.verifiers.tests import (
    Case,
    as_case,
    load_cases,
    run_cases,
    run_test_functions,
    same,
)

CASES = [Case((2, 3), 5), Case((-1, 1), 0), Case((10, 5), 15), Case((0.1, 0.2), 0.3)]


def program(tmp_path: Path, body: str, name: str = "program.py") -> Path:
    path = tmp_path / name
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
    assert ev.ok and ev.score == 0.0  # 2*3=6, raises, 10*5=50, 0.1*0.2 != 0.3
    assert ev.metrics == {"passed": 0.0, "total": 4.0}
    lines = ev.feedback.splitlines()
    assert lines[0] == "0 of 4 cases pass; failing:"
    assert lines[1] == "- case 1: add(2, 3) returned 6, expected 5"
    assert lines[2] == "- case 2: add(-1, 1) raised ValueError: negative (line 3 of the program)"
    assert lines[3] == "- ... and 2 more"


def test_partial_credit_names_only_the_failing_case(tmp_path: Path) -> None:
    body = "def add(a, b):\n    return a + b if a != 10 else 0\n"
    ev = run_cases(program(tmp_path, body), "add", CASES, tolerance=1e-9)
    assert ev.score == 0.75 and ev.metrics["passed"] == 3.0
    assert "case 3: add(10, 5) returned 0, expected 15" in ev.feedback
    assert "add(2, 3)" not in ev.feedback


def test_floats_are_exact_by_default_and_close_with_a_tolerance(tmp_path: Path) -> None:
    path = program(tmp_path, "def add(a, b):\n    return a + b\n")
    exact = run_cases(path, "add", CASES)
    assert exact.score == 0.75  # 0.1 + 0.2 != 0.3 exactly
    assert "returned 0.30000000000000004, expected 0.3" in exact.feedback
    assert run_cases(path, "add", CASES, tolerance=1e-9).score == 1.0


def test_a_custom_compare(tmp_path: Path) -> None:
    path = program(tmp_path, "def words(s):\n    return s.split()\n")
    cases = [(["b a"], ["a", "b"]), (["c"], ["c"])]
    assert run_cases(path, "words", cases).score == 0.5
    as_sets = run_cases(path, "words", cases, compare=lambda got, want: set(got) == set(want))
    assert as_sets.score == 1.0
    with pytest.raises(ValueError, match="not both"):
        run_cases(path, "words", cases, compare=lambda g, w: True, tolerance=0.1)


def test_a_result_of_the_wrong_type_fails(tmp_path: Path) -> None:
    path = program(tmp_path, "def add(a, b):\n    return str(a + b)\n")
    ev = run_cases(path, "add", [((1, 2), 3), ((2, 2), "4")])
    assert ev.score == 0.5
    assert "case 1: add(1, 2) returned '3', expected 3" in ev.feedback
    truthy = program(tmp_path, "def f():\n    return 1\n", "truthy.py")
    assert run_cases(truthy, "f", [((), True)]).score == 0.0  # 1 is not True


def test_cases_as_pairs_and_dicts_and_kwargs(tmp_path: Path) -> None:
    path = program(tmp_path, "def power(base, exp=2):\n    return base ** exp\n")
    cases = [((3,), 9), {"args": [2], "kwargs": {"exp": 10}, "expected": 1024}, ([5, 0], 1)]
    ev = run_cases(path, "power", cases)
    assert ev.score == 1.0 and ev.metrics["total"] == 3.0
    wrong = run_cases(path, "power", [{"args": [2], "kwargs": {"exp": 3}, "expected": 9}])
    assert "case 1: power(2, exp=3) returned 8, expected 9" in wrong.feedback
    with pytest.raises(ValueError, match="case 2"):
        run_cases(path, "power", [((3,), 9), ("no", "args", "here")])
    with pytest.raises(ValueError, match="at least one case"):
        run_cases(path, "power", [])


def test_missing_function_and_broken_program_are_errors(tmp_path: Path) -> None:
    missing = run_cases(program(tmp_path, "def other():\n    pass\n"), "add", CASES)
    assert missing.status == "error" and missing.reason == "the program defines no function 'add'"
    assert missing.score is None
    broken = run_cases(program(tmp_path, "def add(a, b)\n    return a\n"), "add", CASES)
    assert broken.status == "error"
    assert broken.reason.startswith("the program does not parse (SyntaxError at line 1")
    raising = run_cases(program(tmp_path, "x = 1\nraise RuntimeError('no data')\n"), "add", CASES)
    assert raising.status == "error"
    assert raising.reason == (
        "importing the program raised RuntimeError: no data (line 2 of the program)"
    )
    exiting = run_cases(program(tmp_path, "import sys\nsys.exit(3)\n"), "add", CASES)
    assert exiting.status == "error" and "SystemExit: 3" in exiting.reason


def test_a_case_that_hangs_is_a_failure_not_a_hang(tmp_path: Path) -> None:
    body = (
        "def add(a, b):\n"
        "    while a == 2:\n"
        "        try:\n"
        "            pass\n"
        "        except Exception:\n"  # cannot swallow the timeout
        "            pass\n"
        "    return a + b\n"
    )
    ev = run_cases(program(tmp_path, body), "add", CASES[:3], timeout_per_case=0.2)
    assert ev.score == pytest.approx(2 / 3)
    assert "case 1: add(2, 3) did not return within 0.2 s" in ev.feedback


def test_the_cases_are_not_changed_by_the_program(tmp_path: Path) -> None:
    path = program(tmp_path, "def f(xs):\n    xs.append(0)\n    return len(xs)\n")
    cases = [Case(([1, 2],), 3)]
    assert run_cases(path, "f", cases).score == 1.0
    assert run_cases(path, "f", cases).score == 1.0
    assert cases[0].args == ([1, 2],)


def test_arguments_that_cannot_be_copied_are_passed_as_they_are(tmp_path: Path) -> None:
    path = program(tmp_path, "def total(xs):\n    return sum(xs)\n")
    assert run_cases(path, "total", [(((x for x in (1, 2)),), 3)]).score == 1.0


def test_a_result_that_cannot_be_compared_or_shown_fails_cleanly(tmp_path: Path) -> None:
    body = (
        "class Odd:\n"
        "    def __eq__(self, other):\n        raise RuntimeError('no')\n"
        "    def __repr__(self):\n        raise RuntimeError('no')\n\n\n"
        "def f():\n    return Odd()\n"
    )
    ev = run_cases(program(tmp_path, body), "f", [((), 1), ((), {1})])
    assert ev.ok and ev.score == 0.0
    assert "case 1: f() returned <Odd whose repr raised>, expected 1" in ev.feedback
    assert "case 2: f() returned <Odd whose repr raised>, expected {1}" in ev.feedback


def test_each_call_imports_the_program_afresh(tmp_path: Path) -> None:
    first = program(tmp_path, "def f():\n    return 1\n", "a.py")
    second = program(tmp_path, "def f():\n    return 2\n", "b.py")
    assert run_cases(first, "f", [((), 1)]).score == 1.0
    assert run_cases(second, "f", [((), 1)]).score == 0.0
    assert not [name for name in sys.modules if name.startswith("hone_candidate_")]


def test_a_program_with_a_dataclass_imports(tmp_path: Path) -> None:
    body = (
        "from dataclasses import dataclass\n\n\n@dataclass\nclass P:\n    x: int\n\n\n"
        "def f(x):\n    return P(x).x\n"
    )
    assert run_cases(program(tmp_path, body), "f", [((4,), 4)]).score == 1.0


def test_feedback_is_truncated(tmp_path: Path) -> None:
    path = program(tmp_path, "def f(n):\n    return 'x' * n\n")
    ev = run_cases(path, "f", [((10_000,), "y")] * 50)
    assert ev.score == 0.0
    assert len(ev.feedback) < 3000
    assert "..." in ev.feedback and "and 45 more" in ev.feedback


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
    (tmp_path / "d.jsonl").write_text("[[1], 1]\n{oops\n")
    with pytest.raises(ValueError, match="line 2 is not JSON"):
        load_cases(tmp_path / "d.jsonl")


def test_loaded_cases_score_a_program(tmp_path: Path) -> None:
    (tmp_path / "cases.jsonl").write_text(
        "\n".join(json.dumps({"args": [w], "expected": w[::-1]}) for w in ("abc", "", "xy"))
    )
    path = program(tmp_path, "def rev(s):\n    return s[::-1]\n")
    assert run_cases(path, "rev", load_cases(tmp_path / "cases.jsonl")).score == 1.0


def test_as_case_accepts_the_three_forms() -> None:
    assert as_case(((1, 2), 3)) == Case((1, 2), 3)
    assert as_case({"args": [1], "expected": 2}) == Case((1,), 2)
    assert as_case(Case((), None)) == Case((), None)
    with pytest.raises(ValueError, match="args must be a list"):
        as_case((1, 2))


@pytest.mark.parametrize(
    ("got", "expected", "tolerance", "result"),
    [
        (1, True, 0.0, False),
        (True, True, 0.0, True),
        ([1, 2.0000001], [1, 2], 0.0, False),
        ([1, 2.0000001], [1, 2], 1e-6, True),
        ((1, 2), [1, 2], 0.0, True),
        ({"a": 1}, {"a": 1.0}, 0.0, True),
        ({"a": 1}, {"b": 1}, 0.0, False),
        ("1", 1, 0.0, False),
        (None, 0, 0.0, False),
        (0, None, 0.0, False),
        (float("nan"), float("nan"), 0.0, True),
        (1.0, float("nan"), 0.0, False),
        (2**60 + 1, 2**60, 0.1, False),  # integers are exact
    ],
)
def test_same(got: object, expected: object, tolerance: float, result: bool) -> None:
    assert same(got, expected, tolerance) is result


def test_same_compares_numpy_results_as_lists() -> None:
    np = pytest.importorskip("numpy")
    assert same(np.array([1, 2]), [1, 2])
    assert same(np.float64(0.5), 0.5)
    assert not same(np.array([1, 3]), [1, 2])


TESTS = """\
import candidate
from candidate import add


def helper():
    return 1


def test_small():
    assert candidate.add(1, 2) == 3


def test_negative():
    assert add(-5, 2) == -3, "negative numbers"


def test_big():
    assert candidate.add(10**20, 1) == 10**20 + 1


def test_truthy():
    assert candidate.add(0, 1)
"""


def test_test_functions_all_pass(tmp_path: Path) -> None:
    (tmp_path / "tests.py").write_text(TESTS)
    good = run_test_functions(
        program(tmp_path, "def add(a, b):\n    return a + b\n"), tmp_path / "tests.py"
    )
    assert good.ok and good.score == 1.0
    assert good.metrics == {"passed": 4.0, "total": 4.0}
    assert good.feedback == "4 of 4 tests pass"
    assert "candidate" not in sys.modules


def test_failing_test_functions_report_their_message_and_values(tmp_path: Path) -> None:
    (tmp_path / "tests.py").write_text(TESTS)
    bad = run_test_functions(
        program(tmp_path, "def add(a, b):\n    return abs(a) + b\n"), tmp_path / "tests.py"
    )
    assert bad.score == 0.75 and bad.metrics == {"passed": 3.0, "total": 4.0}
    assert bad.feedback.splitlines() == [
        "3 of 4 tests pass; failing:",
        "- test_negative failed: negative numbers: assert add(-5, 2) == -3 (got 7 == -3) (line 14)",
    ]
    zero = run_test_functions(
        program(tmp_path, "def add(a, b):\n    return 0\n"), tmp_path / "tests.py"
    )
    assert zero.score == 0.0
    assert "- test_small failed: assert candidate.add(1, 2) == 3 (got 0 == 3) (line 10)" in (
        zero.feedback
    )
    assert "- test_truthy failed: assert candidate.add(0, 1) (got 0) (line 22)" in zero.feedback


def test_test_functions_that_raise_or_hang(tmp_path: Path) -> None:
    (tmp_path / "tests.py").write_text(
        "import candidate\n\n\ndef test_one():\n    assert candidate.f(1) == 1\n\n\n"
        "def test_two():\n    assert candidate.f(2) == 2\n"
    )
    body = "def f(x):\n    if x == 1:\n        return 1 // 0\n    while True:\n        pass\n"
    ev = run_test_functions(program(tmp_path, body), tmp_path / "tests.py", timeout_per_test=0.2)
    assert ev.score == 0.0
    assert (
        "- test_one raised ZeroDivisionError: integer division or modulo by zero (line 3 of the program)"
        in ev.feedback
    )
    assert "- test_two did not finish within 0.2 s" in ev.feedback


def test_a_program_the_tests_cannot_import(tmp_path: Path) -> None:
    (tmp_path / "tests.py").write_text(TESTS)
    lacking = run_test_functions(
        program(tmp_path, "def sub(a, b):\n    return a - b\n"), tmp_path / "tests.py"
    )
    assert lacking.status == "error" and "loading the tests raised ImportError" in lacking.reason
    assert "cannot import name 'add'" in lacking.reason
    broken = run_test_functions(program(tmp_path, "def add(:\n"), tmp_path / "tests.py")
    assert broken.status == "error" and "does not parse" in broken.reason


def test_a_program_cannot_add_passing_tests(tmp_path: Path) -> None:
    (tmp_path / "tests.py").write_text(
        "from candidate import *\n\n\ndef test_real():\n    assert f() == 1\n"
    )
    body = "def f():\n    return 0\n\n\ndef test_fake():\n    pass\n"
    ev = run_test_functions(program(tmp_path, body), tmp_path / "tests.py")
    assert ev.metrics == {"passed": 0.0, "total": 1.0}


def test_a_bad_tests_file_is_the_task_authors_error(tmp_path: Path) -> None:
    path = program(tmp_path, "def add(a, b):\n    return a + b\n")
    with pytest.raises(ValueError, match="cannot load the test file"):
        run_test_functions(path, tmp_path / "missing.py")
    (tmp_path / "empty.py").write_text("import candidate\n")
    with pytest.raises(ValueError, match="no test_\\* functions"):
        run_test_functions(path, tmp_path / "empty.py")


def test_another_module_name(tmp_path: Path) -> None:
    (tmp_path / "tests.py").write_text(
        "import solution\n\n\ndef test_it():\n    assert solution.X == 3\n"
    )
    ev = run_test_functions(
        program(tmp_path, "X = 3\n"), tmp_path / "tests.py", module_name="solution"
    )
    assert ev.score == 1.0
