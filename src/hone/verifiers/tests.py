"""Test suites as verifiers: input/expected-output cases, or test functions with asserts.

Called from a task's ``evaluate(program_path)`` (inside hone's sandbox)::

    from hone.verifiers.tests import load_cases, run_cases

    CASES = load_cases(Path(__file__).parent / "cases.jsonl")

    def evaluate(program_path):
        return run_cases(program_path, "solve", CASES)

The score is the fraction of cases (or test functions) that pass; the failing ones go back to
the model as feedback: input, expected and what the program gave, or the assertion's message.
"""

from __future__ import annotations

import importlib.util
import json
import math
import signal
import sys
import traceback
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from hone.evaluation import Evaluation


@dataclass(frozen=True)
class Case:
    """Call the function with `args` (and `kwargs`); it should return `expected`."""

    args: tuple[Any, ...]
    expected: Any
    kwargs: tuple[tuple[str, Any], ...] = ()


class CaseTimeout(Exception):
    """A case ran past its time limit."""


def load_cases(path: str | Path) -> list[Case]:
    """Cases from JSON (a list) or JSON lines; each item ``{"args": [...], "expected": ...,
    "kwargs": {...}}`` or ``[args, expected]``."""
    text = Path(path).read_text(encoding="utf-8")
    try:
        items = json.loads(text)
    except ValueError:
        items = [json.loads(line) for line in text.splitlines() if line.strip()]
    if not isinstance(items, list):
        raise ValueError(f"{path}: expected a list of cases")
    return [_case(item, f"{path} case {i}") for i, item in enumerate(items, 1)]


def run_cases(
    program_path: str | Path,
    function: str,
    cases: Sequence[Case],
    *,
    tolerance: float = 0.0,
    timeout_per_case: float | None = None,
    shown: int = 5,
) -> Evaluation:
    """Score `function` of the program on `cases`: the fraction that return what is expected
    (numbers within a relative `tolerance`, recursively through lists, tuples and dicts)."""
    if not cases:
        raise ValueError("run_cases needs at least one case")
    module, error = _load(program_path)
    target = getattr(module, function, None) if module else None
    if module is None or not callable(target):
        reason = error or f"the program defines no function {function!r}"
        return Evaluation.failed("error", reason, feedback=reason)
    failures: list[str] = []
    for case in cases:
        try:
            with _time_limit(timeout_per_case):
                got = target(*case.args, **dict(case.kwargs))
        except Exception as exc:
            failures.append(f"{_call(function, case)} raised {_exception(exc)}")
            continue
        if not same(got, case.expected, tolerance):
            failures.append(
                f"{_call(function, case)} returned {_short(got)}, expected {_short(case.expected)}"
            )
    return _score(len(cases), failures, shown, "cases")


def run_test_functions(
    program_path: str | Path,
    tests_path: str | Path,
    *,
    module_name: str = "candidate",
    timeout_per_test: float | None = None,
    shown: int = 5,
) -> Evaluation:
    """Run every ``test_*`` function of `tests_path`, in which ``import candidate`` (or
    `module_name`) is the program; score = the fraction that pass (do not raise)."""
    module, error = _load(program_path, module_name)
    if module is None:
        return Evaluation.failed("error", error, feedback=error)
    sys.modules[module_name] = module
    tests, error = _load(tests_path, "hone_tests")
    if tests is None:
        raise ValueError(f"the test file {str(tests_path)!r} failed to load: {error}")
    functions = [
        (name, value)
        for name, value in vars(tests).items()
        if name.startswith("test") and callable(value)
    ]
    if not functions:
        raise ValueError(f"the test file {str(tests_path)!r} has no test_* functions")
    failures = []
    for name, test in functions:
        try:
            with _time_limit(timeout_per_test):
                test()
        except AssertionError as exc:
            failures.append(f"{name} failed: {_assertion(exc)}")
        except Exception as exc:
            failures.append(f"{name} raised {_exception(exc)}")
    return _score(len(functions), failures, shown, "tests")


def same(got: Any, expected: Any, tolerance: float = 0.0) -> bool:
    """Equality, with numbers compared within a relative `tolerance`, recursively (numpy
    arrays and scalars compare as lists and numbers; True is not 1)."""
    if hasattr(got, "tolist") and not isinstance(got, str | bytes):
        got = got.tolist()
    if isinstance(expected, bool) or isinstance(got, bool):
        return type(got) is type(expected) and got == expected
    if isinstance(expected, float) or (isinstance(got, float) and isinstance(expected, int)):
        if not isinstance(got, int | float):
            return False
        return math.isclose(got, expected, rel_tol=tolerance, abs_tol=tolerance) or (
            got == expected
        )
    if isinstance(expected, list | tuple):
        return (
            isinstance(got, list | tuple)
            and len(got) == len(expected)
            and all(same(g, e, tolerance) for g, e in zip(got, expected, strict=True))
        )
    if isinstance(expected, dict):
        return (
            isinstance(got, dict)
            and got.keys() == expected.keys()
            and all(same(got[k], expected[k], tolerance) for k in expected)
        )
    try:
        return bool(got == expected)
    except Exception:
        return False


def _score(total: int, failures: list[str], shown: int, noun: str) -> Evaluation:
    passed = total - len(failures)
    feedback = f"{passed} of {total} {noun} pass"
    if failures:
        lines = failures[:shown]
        more = len(failures) - len(lines)
        feedback += "; failing:\n" + "\n".join(f"- {line}" for line in lines)
        if more:
            feedback += f"\n- ... and {more} more"
    return Evaluation(
        score=passed / total,
        metrics={"passed": float(passed), "total": float(total)},
        feedback=feedback,
    )


def _load(path: str | Path, name: str = "candidate") -> tuple[ModuleType | None, str]:
    try:
        spec = importlib.util.spec_from_file_location(name, str(path))
        if spec is None or spec.loader is None:
            return None, f"cannot load {str(path)!r} as a Python module"
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    except Exception as exc:
        return None, f"importing the program failed: {_exception(exc)}"
    return module, ""


@contextmanager
def _time_limit(seconds: float | None) -> Iterator[None]:
    if not seconds:
        yield
        return

    def expire(signum: int, frame: object) -> None:
        raise CaseTimeout(f"did not return within {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _case(item: Any, where: str) -> Case:
    if isinstance(item, dict) and "args" in item and "expected" in item:
        args, kwargs = item["args"], item.get("kwargs") or {}
        expected = item["expected"]
    elif isinstance(item, list) and len(item) == 2:
        (args, expected), kwargs = item, {}
    else:
        raise ValueError(
            f'{where}: expected {{"args": [...], "expected": ...}} or [args, expected]'
        )
    if not isinstance(args, list) or not isinstance(kwargs, dict):
        raise ValueError(f"{where}: args must be a list and kwargs an object")
    return Case(tuple(args), expected, tuple(sorted(kwargs.items())))


def _call(function: str, case: Case) -> str:
    parts = [_short(a, 60) for a in case.args] + [f"{k}={_short(v, 60)}" for k, v in case.kwargs]
    return f"{function}({', '.join(parts)})"


def _exception(exc: BaseException) -> str:
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename != __file__]
    where = f" at line {frames[-1].lineno}" if frames else ""
    return f"{type(exc).__name__}: {_short(str(exc), 200, quote=False)}{where}"


def _assertion(exc: AssertionError) -> str:
    message = str(exc)
    if message:
        return _short(message, 300, quote=False)
    frames = traceback.extract_tb(exc.__traceback__)
    return f"assert at line {frames[-1].lineno}: {frames[-1].line}" if frames else "assert failed"


def _short(value: Any, limit: int = 120, *, quote: bool = True) -> str:
    text = repr(value) if quote else str(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


__all__ = [
    "Case",
    "CaseTimeout",
    "load_cases",
    "run_cases",
    "run_test_functions",
    "same",
]
