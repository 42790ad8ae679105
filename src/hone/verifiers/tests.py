"""Test suites as verifiers: input/expected-output cases, or test functions with asserts.

Called from a task's ``evaluate(program_path)`` (inside hone's sandbox)::

    from hone.verifiers.tests import load_cases, run_cases

    CASES = load_cases(Path(__file__).parent / "cases.jsonl")

    def evaluate(program_path):
        return run_cases(program_path, "solve", CASES)

The score is the fraction of cases (or test functions) that pass; the failing ones go back to
the model as feedback: input, expected and what the program gave, or the assertion with the
values it compared. A bad program never raises here: it scores what it passes, or fails with
a reason (it does not import, it lacks the function). A bad *task* (a missing or unparsable
cases or tests file, no cases) raises, so its author sees it on the first run.

The candidate runs in this process, so it could tamper with the verifier; when the score must
not be forgeable, use the trusted ``evaluate_program`` form (docs/tasks.md) instead.
"""

from __future__ import annotations

import ast
import copy
import importlib.util
import json
import math
import signal
import sys
import threading
import traceback
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import CodeType, ModuleType
from typing import Any, TypeAlias

from hone import syntax
from hone.evaluation import Evaluation

Compare: TypeAlias = Callable[[Any, Any], bool]  # compare(got, expected) -> passed
FEEDBACK_CHARS = 3000  # the whole feedback, at most
LINE_CHARS = 400  # one failing case or test


@dataclass(frozen=True)
class Case:
    """Call the function with `args` (and `kwargs`); it should return `expected`."""

    args: tuple[Any, ...]
    expected: Any
    kwargs: tuple[tuple[str, Any], ...] = ()


CaseLike: TypeAlias = Case | Sequence[Any] | Mapping[str, Any]


class CaseTimeout(BaseException):
    """A case or test ran past its time limit (a BaseException, so ``except Exception`` in
    the candidate does not swallow it)."""


def load_cases(path: str | Path) -> list[Case]:
    """Cases from a JSON file (a list) or JSON lines; each item ``{"args": [...],
    "expected": ..., "kwargs": {...}}`` (kwargs optional) or ``[args, expected]``."""
    text = Path(path).read_text(encoding="utf-8")
    try:
        items = json.loads(text)
    except ValueError:
        items = []
        for number, line in enumerate(text.splitlines(), 1):
            if line.strip():
                try:
                    items.append(json.loads(line))
                except ValueError as exc:
                    raise ValueError(f"{path}: line {number} is not JSON ({exc})") from None
    if not isinstance(items, list):
        raise ValueError(f"{path}: expected a list of cases or one case per line")
    return [as_case(item, f"{path} case {i}") for i, item in enumerate(items, 1)]


def as_case(item: CaseLike, where: str = "case") -> Case:
    """A `Case` from a Case, an ``(args, expected)`` pair or a dict with args/expected/kwargs."""
    if isinstance(item, Case):
        return item
    if isinstance(item, Mapping) and "args" in item and "expected" in item:
        args, expected, kwargs = item["args"], item["expected"], item.get("kwargs") or {}
    elif isinstance(item, list | tuple) and len(item) == 2:
        (args, expected), kwargs = item, {}
    else:
        raise ValueError(
            f'{where}: expected {{"args": [...], "expected": ...}} or (args, expected), '
            f"got {_short(item, 80)}"
        )
    if not isinstance(args, list | tuple) or not isinstance(kwargs, Mapping):
        raise ValueError(f"{where}: args must be a list or tuple and kwargs a mapping")
    return Case(tuple(args), expected, tuple(sorted((str(k), v) for k, v in kwargs.items())))


def run_cases(
    program_path: str | Path,
    function: str,
    cases: Iterable[CaseLike],
    *,
    compare: Compare | None = None,
    tolerance: float = 0.0,
    timeout_per_case: float | None = 10.0,
    shown: int = 5,
) -> Evaluation:
    """Score `function` of the program on `cases`: the fraction whose result equals the
    expected one (`same`: exact, or numbers within a relative and absolute `tolerance`;
    `compare(got, expected)` replaces it). A case that raises or exceeds `timeout_per_case`
    seconds fails; the first `shown` failures are the feedback."""
    checked = [as_case(case, f"case {i}") for i, case in enumerate(cases, 1)]
    if not checked:
        raise ValueError("run_cases needs at least one case")
    if compare is not None and tolerance:
        raise ValueError("pass either compare or tolerance, not both")
    equal = compare or (lambda got, expected: same(got, expected, tolerance))
    program = str(program_path)
    with _imported(program, f"hone_candidate_{uuid.uuid4().hex}") as (module, error):
        target = getattr(module, function, None) if module else None
        if module is None or not callable(target):
            reason = error or f"the program defines no function {function!r}"
            return Evaluation.failed("error", reason, feedback=reason)
        failures: list[str] = []
        for number, case in enumerate(checked, 1):
            call = f"case {number}: {_call(function, case)}"
            try:
                with _time_limit(timeout_per_case):
                    args, kwargs = _fresh(case)
                    got = target(*args, **kwargs)
                    if not equal(got, case.expected):
                        failures.append(
                            f"{call} returned {_short(got)}, expected {_short(case.expected)}"
                        )
            except CaseTimeout:
                failures.append(f"{call} did not return within {timeout_per_case:g} s")
            except (Exception, SystemExit) as exc:
                failures.append(f"{call} raised {_exception(exc, program)}")
    return _score(len(checked), failures, shown, "cases")


def run_test_functions(
    program_path: str | Path,
    tests_path: str | Path,
    *,
    module_name: str = "candidate",
    timeout_per_test: float | None = 10.0,
    shown: int = 5,
) -> Evaluation:
    """Run every ``test_*`` function of the file `tests_path`, in which ``import candidate``
    (or `module_name`) is the program; score = the fraction that pass. A plain ``assert``
    that fails reports the values it compared, as pytest would."""
    program = str(program_path)
    tests_file = Path(tests_path)
    try:
        source = tests_file.read_text(encoding="utf-8")
        code = compile(_explain_asserts(source), str(tests_file), "exec")
    except (OSError, SyntaxError, ValueError) as exc:
        raise ValueError(f"cannot load the test file {str(tests_file)!r}: {exc}") from None
    with _imported(program, module_name) as (module, error):
        if module is None:
            return Evaluation.failed("error", error, feedback=error)
        tests = ModuleType(f"hone_tests_{uuid.uuid4().hex}")
        tests.__file__ = str(tests_file)
        sys.modules[tests.__name__] = tests
        try:
            return _run_tests(tests, code, program, str(tests_file), timeout_per_test, shown)
        finally:
            sys.modules.pop(tests.__name__, None)


def _run_tests(
    tests: ModuleType,
    code: CodeType,
    program: str,
    tests_file: str,
    timeout: float | None,
    shown: int,
) -> Evaluation:
    try:
        with _time_limit(timeout):
            exec(code, tests.__dict__)
    except CaseTimeout:
        reason = f"loading the tests did not finish within {timeout:g} s"
        return Evaluation.failed("timeout", reason, feedback=reason)
    except (Exception, SystemExit) as exc:  # e.g. `from candidate import name` it lacks
        reason = f"loading the tests raised {_exception(exc, program)}"
        return Evaluation.failed("error", reason, feedback=reason)
    functions = [
        (name, value)
        for name, value in vars(tests).items()
        if name.startswith("test")
        and callable(value)
        and getattr(value, "__module__", None) == tests.__name__  # not imported ones
    ]
    if not functions:
        raise ValueError(f"the test file {tests_file!r} has no test_* functions")
    failures = []
    for name, test in functions:
        try:
            with _time_limit(timeout):
                test()
        except CaseTimeout:
            failures.append(f"{name} did not finish within {timeout:g} s")
        except AssertionError as exc:
            failures.append(f"{name} failed: {_assertion(exc, tests_file)}")
        except (Exception, SystemExit) as exc:
            failures.append(f"{name} raised {_exception(exc, program)}")
    return _score(len(functions), failures, shown, "tests")


def same(got: Any, expected: Any, tolerance: float = 0.0) -> bool:
    """Equality, recursively through lists, tuples and dicts, with numbers within a relative
    and absolute `tolerance` (NaN equals NaN; True is not 1; a list equals a tuple, since
    JSON has no tuples; numpy arrays and scalars compare as lists and numbers)."""
    got, expected = _plain(got), _plain(expected)
    if isinstance(expected, bool) or isinstance(got, bool):
        return type(got) is type(expected) and got == expected
    if isinstance(expected, int | float):
        if not isinstance(got, int | float):
            return False
        if isinstance(expected, int) and isinstance(got, int):
            return got == expected
        if math.isnan(expected) or math.isnan(got):
            return math.isnan(expected) and math.isnan(got)
        return got == expected or math.isclose(got, expected, rel_tol=tolerance, abs_tol=tolerance)
    if isinstance(expected, str | bytes) or expected is None:
        return type(got) is type(expected) and got == expected
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


def _fresh(case: Case) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """A copy of the arguments, so a function that changes them cannot change the cases."""
    try:
        return copy.deepcopy((case.args, dict(case.kwargs)))
    except Exception:  # not copyable (a generator, a lock): the task's own objects, as they are
        return case.args, dict(case.kwargs)


def _plain(value: Any) -> Any:
    """numpy arrays and scalars as Python lists and numbers."""
    if hasattr(value, "tolist") and type(value).__module__.startswith("numpy"):
        return value.tolist()
    return value


def _score(total: int, failures: list[str], shown: int, noun: str) -> Evaluation:
    passed = total - len(failures)
    feedback = f"{passed} of {total} {noun} pass"
    if failures:
        lines = [_clip(line, LINE_CHARS) for line in failures[: max(shown, 0)]]
        more = len(failures) - len(lines)
        feedback += "; failing:\n" + "\n".join(f"- {line}" for line in lines)
        if more:
            feedback += f"\n- ... and {more} more"
    return Evaluation(
        score=passed / total,
        metrics={"passed": float(passed), "total": float(total)},
        feedback=_clip(feedback, FEEDBACK_CHARS),
    )


@contextmanager
def _imported(path: str, name: str) -> Iterator[tuple[ModuleType | None, str]]:
    """The program imported as module `name` (registered in sys.modules meanwhile, as
    dataclasses and pickle need, then the previous entry restored), or None and why not."""
    previous = sys.modules.get(name)
    try:
        module: ModuleType | None = None
        error = ""
        try:
            spec = importlib.util.spec_from_file_location(name, path)
            if spec is None or spec.loader is None:
                raise ImportError(f"cannot load {path!r} as a Python module")
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            spec.loader.exec_module(module)
        except SyntaxError as exc:
            module = None
            error = f"the program does not parse (SyntaxError at line {exc.lineno}: {exc.msg})"
        except (Exception, SystemExit) as exc:
            module, error = None, f"importing the program raised {_exception(exc, path)}"
        yield module, error
    finally:
        if previous is None:
            sys.modules.pop(name, None)
        else:
            sys.modules[name] = previous


@contextmanager
def _time_limit(seconds: float | None) -> Iterator[None]:
    """Raise CaseTimeout in the block after `seconds` (SIGALRM: main thread only; elsewhere
    the sandbox's timeout of the whole evaluation is the limit)."""
    if not seconds or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum: int, frame: object) -> None:
        raise CaseTimeout

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


class _AssertExplainer(ast.NodeTransformer):
    """``assert a == b`` becomes: evaluate a and b once, and on failure raise an
    AssertionError showing both values (pytest's idea, for one comparison or one value)."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.count = 0

    def visit_Assert(self, node: ast.Assert) -> Any:
        self.generic_visit(node)
        text = ast.get_source_segment(self.source, node.test) or "assertion"
        self.count += 1
        names = [f"@hone_{self.count}_{i}" for i in range(2)]  # '@': cannot clash
        load = [ast.Name(id=n, ctx=ast.Load()) for n in names]
        test = node.test
        if isinstance(test, ast.Compare) and len(test.ops) == 1:
            values = [test.left, test.comparators[0]]
            check: ast.expr = ast.Compare(left=load[0], ops=test.ops, comparators=[load[1]])
            shown: ast.expr = ast.BinOp(
                left=ast.Call(ast.Name("repr", ast.Load()), [load[0]], []),
                op=ast.Add(),
                right=ast.BinOp(
                    left=ast.Constant(f" {_OPS.get(type(test.ops[0]), '?')} "),
                    op=ast.Add(),
                    right=ast.Call(ast.Name("repr", ast.Load()), [load[1]], []),
                ),
            )
        else:
            values = [test]
            check = load[0]
            shown = ast.Call(ast.Name("repr", ast.Load()), [load[0]], [])
        message = ast.BinOp(
            left=ast.Constant(f"assert {text} (got "),
            op=ast.Add(),
            right=ast.BinOp(left=shown, op=ast.Add(), right=ast.Constant(")")),
        )
        if node.msg is not None:
            message = ast.BinOp(
                left=ast.BinOp(
                    left=ast.Call(ast.Name("str", ast.Load()), [node.msg], []),
                    op=ast.Add(),
                    right=ast.Constant(": "),
                ),
                op=ast.Add(),
                right=message,
            )
        statements: list[ast.stmt] = [
            ast.Assign(targets=[ast.Name(id=n, ctx=ast.Store())], value=v)
            for n, v in zip(names, values, strict=False)
        ]
        statements.append(
            ast.If(
                test=ast.UnaryOp(op=ast.Not(), operand=check),
                body=[
                    ast.Raise(
                        exc=ast.Call(ast.Name("AssertionError", ast.Load()), [message], []),
                        cause=None,
                    )
                ],
                orelse=[],
            )
        )
        for statement in statements:
            ast.copy_location(statement, node)
        return statements


_OPS: dict[type, str] = {
    ast.Eq: "==",
    ast.NotEq: "!=",
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
    ast.Is: "is",
    ast.IsNot: "is not",
    ast.In: "in",
    ast.NotIn: "not in",
}


def _explain_asserts(source: str) -> ast.Module:
    tree = _AssertExplainer(source).visit(syntax.parse(source))
    assert isinstance(tree, ast.Module)
    return ast.fix_missing_locations(tree)


def _call(function: str, case: Case) -> str:
    parts = [_short(a, 80) for a in case.args] + [f"{k}={_short(v, 80)}" for k, v in case.kwargs]
    return f"{function}({', '.join(parts)})"


def _exception(exc: BaseException, program: str) -> str:
    """``ValueError: message (line 3 of the program)``: the innermost frame in the program."""
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if f.filename == program]
    if isinstance(exc, SyntaxError) and exc.filename == program and exc.lineno:
        where = f" (line {exc.lineno} of the program)"
    elif ours:
        where = f" (line {ours[-1].lineno} of the program)"
    elif frames and frames[-1].filename != __file__:
        where = f" ({Path(frames[-1].filename).name} line {frames[-1].lineno})"
    else:
        where = ""
    return f"{type(exc).__name__}: {_clip(_text(exc), 200)}{where}"


def _assertion(exc: AssertionError, tests_file: str) -> str:
    message = _text(exc)
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == tests_file]
    line = f" (line {frames[-1].lineno})" if frames else ""
    if message:
        return _clip(message, 300) + line
    source = frames[-1].line if frames else ""
    return (source or "assertion failed") + line


def _text(exc: BaseException) -> str:
    try:
        return str(exc)
    except Exception:
        return "(unprintable)"


def _short(value: Any, limit: int = 120) -> str:
    try:
        text = repr(value)
    except Exception:
        text = f"<{type(value).__name__} whose repr raised>"
    return _clip(text, limit)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


__all__ = [
    "Case",
    "CaseLike",
    "CaseTimeout",
    "Compare",
    "as_case",
    "load_cases",
    "run_cases",
    "run_test_functions",
    "same",
]
