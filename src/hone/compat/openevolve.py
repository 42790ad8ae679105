"""OpenEvolve's evaluator contract (`[evaluation] contract = "openevolve"`), next to hone's own
`hone.evaluation.coerce_result`: what `evaluate(program_path)` or its cascade stages return
becomes an `Evaluation` by OpenEvolve's rules, which differ from hone's in four places.

* The result is a dict (every entry a metric) or any object with ``.metrics`` and
  ``.artifacts`` (OpenEvolve's `EvaluationResult`, or `hone.compat.EvaluationResult` when
  OpenEvolve is not installed); an async `evaluate` is awaited.
* The score is ``combined_score`` when it converts to a number, else the mean of the numeric,
  non-boolean metrics that are not MAP-Elites features (`[evaluation] feature_dimensions`), else
  the mean of all numeric ones; ``error`` is a metric like any other.
* A non-empty ``error`` string next to a score is a scored program whose feedback says so (in
  hone's contract it fails the program); without any score it fails the program.
* With ``evaluate_stage1`` (and `cascade`), stages replace ``evaluate``: a stage passes when
  ``combined_score`` (else the mean of numeric metrics other than ``error``, booleans counted)
  reaches its threshold; stage 2 runs after stage 1 passes ``thresholds[0]``, stage 3 after
  the merged result passes ``thresholds[1]``; after stage 2 the results are merged (numbers
  only, ``error`` dropped, the later stage winning); a stage after the first that fails or
  times out keeps the earlier results, with ``stage<N>_passed: 0``.

Artifacts and non-numeric metrics become the feedback the model sees. hone differs from
OpenEvolve, on purpose, where OpenEvolve would score a failure 0 and keep it as a parent: an
exception or timeout in `evaluate` or stage 1, or a result of another type, is a failed
evaluation with its reason (docs/migrating.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import inspect
import math
import signal
import sys
import threading
import types
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from hone import inbound
from hone.compat import EvaluationResult, Loaded, import_evaluator
from hone.evaluation import Evaluation
from hone.sandbox import describe

DEFAULT_THRESHOLDS = (0.5, 0.75, 0.9)  # OpenEvolve's (hone.formats.openevolve sets them)
ARTIFACT_CHARS = 20_480  # each artifact is cut here (OpenEvolve's prompt.max_artifact_bytes)
_STAGES = 3  # OpenEvolve calls evaluate_stage1 to evaluate_stage3
_TIMER_SIGNAL = signal.SIGRTMIN + 3  # a signal of its own: evaluators may use SIGALRM


@dataclass(frozen=True)
class Outcome:
    """One call's result in OpenEvolve's terms: metrics of any type, and artifacts."""

    metrics: dict[str, Any]
    artifacts: dict[str, Any] = field(default_factory=dict)


def install_stand_in() -> None:
    """Make ``from openevolve.evaluation_result import EvaluationResult`` work without
    OpenEvolve installed (the real package is used when it is)."""
    if "openevolve" in sys.modules or importlib.util.find_spec("openevolve") is not None:
        return
    package = types.ModuleType("openevolve")
    package.__path__ = []
    module = types.ModuleType("openevolve.evaluation_result")
    module.EvaluationResult = EvaluationResult  # type: ignore[attr-defined]
    package.evaluation_result = module  # type: ignore[attr-defined]
    package.EvaluationResult = EvaluationResult  # type: ignore[attr-defined]
    sys.modules["openevolve"] = package
    sys.modules["openevolve.evaluation_result"] = module


def load(path: str, settings: Mapping[str, Any]) -> Loaded:
    """The OpenEvolve evaluator at `path` (``openevolve.evaluation_result`` importable in it),
    run untrusted: OpenEvolve's evaluators import the candidate themselves."""
    install_stand_in()
    return Loaded(evaluator(import_evaluator(path), settings))


def evaluator(module: types.ModuleType, settings: Mapping[str, Any]) -> Callable[[str], Evaluation]:
    """The `evaluate(program_path) -> Evaluation` of an OpenEvolve evaluator module, with
    the worker's settings (cascade, cascade_thresholds, stage_timeout, feature_dimensions)."""
    stages: list[Callable[[str], object]] = []
    if settings.get("cascade", True):
        while len(stages) < _STAGES and callable(
            stage := getattr(module, f"evaluate_stage{len(stages) + 1}", None)
        ):
            stages.append(stage)
    final = getattr(module, "evaluate", None)
    if not stages and not callable(final):
        raise ImportError("it defines no callable 'evaluate' (nor 'evaluate_stage1')")
    thresholds = tuple(float(t) for t in settings.get("thresholds", DEFAULT_THRESHOLDS))
    dimensions = tuple(settings.get("feature_dimensions", ()))
    seconds = float(settings.get("stage_timeout", 0.0))

    def evaluate(program_path: str) -> Evaluation:
        if stages:
            return cascade(stages, program_path, thresholds, dimensions, seconds)
        result = call(final, program_path, seconds, "evaluate()")  # type: ignore[arg-type]
        return result if isinstance(result, Evaluation) else to_evaluation(result, dimensions)

    return evaluate


def cascade(
    stages: Sequence[Callable[[str], object]],
    program_path: str,
    thresholds: Sequence[float],
    dimensions: Sequence[str],
    seconds: float = 0.0,
) -> Evaluation:
    """Run OpenEvolve's cascade of up to three stages on one program (thresholds ``()``: every
    stage runs; OpenEvolve itself would fail every program)."""
    first = call(stages[0], program_path, seconds, "evaluate_stage1")
    if isinstance(first, Evaluation):
        return first
    if len(stages) < 2:
        return to_evaluation(first, dimensions)
    if thresholds and not passes(first.metrics, thresholds[0]):
        return to_evaluation(first, dimensions, _stopped(1, thresholds[0]))
    second = call(stages[1], program_path, seconds, "evaluate_stage2")
    if isinstance(second, Evaluation):
        return to_evaluation(_failed_stage(first, 2, second), dimensions, _why(2, second))
    merged = merge(first, second)
    if len(stages) < 3 or len(thresholds) == 1:
        return to_evaluation(merged, dimensions)
    if thresholds and not passes(merged.metrics, thresholds[1]):
        return to_evaluation(merged, dimensions, _stopped(2, thresholds[1]))
    third = call(stages[2], program_path, seconds, "evaluate_stage3")
    if isinstance(third, Evaluation):
        return to_evaluation(_failed_stage(merged, 3, third), dimensions, _why(3, third))
    return to_evaluation(merge(merged, third), dimensions)


def call(
    function: Callable[[str], object], program_path: str, seconds: float, what: str
) -> Outcome | Evaluation:
    """One call of an evaluator function: its outcome, or the failed Evaluation saying why it
    has none (an exception, `seconds` passed, or a result of the wrong type)."""
    try:
        with time_limit(seconds):
            value = function(program_path)
            if inspect.isawaitable(value):
                value = asyncio.run(_awaited(value))
    except StageTimeout:
        return Evaluation.failed("timeout", f"{what} did not finish within {seconds:g} s")
    except MemoryError as exc:
        return Evaluation.failed("memory", f"{what} ran out of memory: {describe(exc)}")
    except Exception as exc:
        return Evaluation.failed("error", f"{what} raised {describe(exc)}")
    result = outcome(value)
    if isinstance(result, str):
        return Evaluation.failed("invalid-output", f"{what} {result}")
    return result


def outcome(value: object) -> Outcome | str:
    """A returned value as an Outcome, or why OpenEvolve would not accept it."""
    if isinstance(value, Mapping):
        return Outcome(_plain(value))
    metrics = getattr(value, "metrics", None)
    if isinstance(metrics, Mapping):
        artifacts = getattr(value, "artifacts", None) or {}
        if not isinstance(artifacts, Mapping):
            artifacts = {"artifacts": artifacts}
        return Outcome(_plain(metrics), dict(artifacts))
    return (
        f"returned a {type(value).__name__}; return a dict of metrics or an EvaluationResult "
        "(OpenEvolve would score it 0 as an error)"
    )


def fitness(metrics: Mapping[str, Any], dimensions: Sequence[str] = ()) -> float | None:
    """OpenEvolve's score of a result: ``combined_score``, else the mean of the numeric
    non-boolean metrics that are not features, else of all numeric ones (None: nothing
    numeric, where OpenEvolve says 0.0)."""
    if "combined_score" in metrics:
        with contextlib.suppress(TypeError, ValueError, OverflowError):
            return float(metrics["combined_score"])
    numbers = {k: float(v) for k, v in metrics.items() if _number(v)}
    kept = [v for k, v in numbers.items() if k not in dimensions] or list(numbers.values())
    return sum(kept) / len(kept) if kept else None


def passes(metrics: Mapping[str, Any], threshold: float) -> bool:
    """OpenEvolve's cascade test: ``combined_score`` (else the mean of the numbers other than
    ``error``, booleans counted) reaches `threshold`."""
    score = metrics.get("combined_score")
    if isinstance(score, int | float):
        return float(score) >= threshold
    values = [float(v) for k, v in metrics.items() if k != "error" and isinstance(v, int | float)]
    return bool(values) and sum(values) / len(values) >= threshold


def merge(earlier: Outcome, later: Outcome) -> Outcome:
    """Two stages' results as one: their numbers (booleans as 0/1, ``error`` dropped), the
    later stage's winning, and all artifacts."""
    metrics = {
        key: float(value)
        for source in (earlier.metrics, later.metrics)
        for key, value in source.items()
        if key != "error" and isinstance(value, int | float)
    }
    return Outcome(metrics, {**earlier.artifacts, **later.artifacts})


def to_evaluation(result: Outcome, dimensions: Sequence[str] = (), note: str = "") -> Evaluation:
    """The Evaluation of one OpenEvolve result: its score, numeric metrics, and feedback
    made of its other metrics, its artifacts and `note`."""
    metrics = result.metrics
    numbers = {
        str(k): float(v)
        for k, v in metrics.items()
        if k != "combined_score" and isinstance(v, int | float) and math.isfinite(v)
    }
    lines = [f"{k}: {_text(v)}" for k, v in metrics.items() if not isinstance(v, int | float)]
    lines += [f"{k}:\n{_text(v)}" for k, v in result.artifacts.items()]
    feedback = "\n".join([*lines, *([note] if note else [])])
    error = metrics.get("error")
    error_text = error.strip() if isinstance(error, str) else ""
    score = fitness(metrics, dimensions)
    if score is None:
        if error_text:
            return Evaluation.failed("error", error_text, metrics=numbers, feedback=feedback)
        return Evaluation.failed(
            "invalid-output",
            "the evaluator returned no combined_score and no numeric metric "
            f"(keys: {sorted(map(str, metrics))})",
            metrics=numbers,
            feedback=feedback,
        )
    if not math.isfinite(score):
        return Evaluation.failed(
            "invalid-output", f"the evaluator's score is {score!r}, not a finite number",
            metrics=numbers, feedback=feedback,
        )  # fmt: skip
    return Evaluation(score=score, metrics=numbers, feedback=feedback)


class StageTimeout(BaseException):
    """A stage ran past its time limit (a BaseException: `except Exception` in an evaluator
    does not swallow it)."""


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise StageTimeout in this (the main) thread after `seconds` (0: no limit)."""
    if seconds <= 0 or threading.current_thread() is not threading.main_thread():
        yield
        return
    state = {"armed": True}

    def expire(signum: int, frame: object) -> None:
        if state["armed"]:
            state["armed"] = False
            raise StageTimeout

    main = threading.main_thread().ident
    assert main is not None
    previous = signal.signal(_TIMER_SIGNAL, expire)
    timer = threading.Timer(seconds, signal.pthread_kill, (main, _TIMER_SIGNAL))
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        state["armed"] = False
        timer.cancel()
        timer.join()  # a signal already sent is handled (as a no-op) before the handler goes
        signal.signal(_TIMER_SIGNAL, signal.SIG_DFL if previous is None else previous)


async def _awaited(value: Any) -> object:
    return await value


def _plain(metrics: Mapping[Any, Any]) -> dict[Any, Any]:
    """The metrics with numpy's numbers as Python floats, and an integer too large for a float
    as an infinity of its sign (not a finite score: invalid-output), as `hone.inbound` reads
    numbers; other values as they are."""
    plain = dict(metrics)
    for key, value in plain.items():
        if inbound.is_number(value):
            try:
                plain[key] = inbound.as_float(value)
            except OverflowError:
                plain[key] = math.inf if value > 0 else -math.inf
    return plain


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and not math.isnan(value)


def _text(value: object) -> str:
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    text = value if isinstance(value, str) else str(value)
    if len(text) > ARTIFACT_CHARS:
        return text[:ARTIFACT_CHARS] + "\n... (truncated)"
    return text


def _failed_stage(earlier: Outcome, number: int, failure: Evaluation) -> Outcome:
    extra: dict[str, Any] = {f"stage{number}_passed": 0.0}
    if failure.status == "timeout":
        extra["timeout"] = True
    return Outcome({**earlier.metrics, **extra}, earlier.artifacts)


def _why(number: int, failure: Evaluation) -> str:
    return f"stage {number} failed ({failure.status}): {failure.reason}"


def _stopped(number: int, threshold: float) -> str:
    return f"stopped after stage {number}: its result is below the cascade threshold {threshold:g}"
