"""The outcome of verifying one hypothesis."""

from __future__ import annotations

import dataclasses
import importlib.util
import itertools
import math
import sys
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Literal, TypeAlias

from hone import inbound
from hone.inbound import MAX_METRICS, MAX_NAME, MAX_TEXT

Score: TypeAlias = float
Metrics: TypeAlias = dict[str, float]

Status = Literal[
    "pending",  # stored, not verified yet (a stopped run verifies it when resumed)
    "ok",  # evaluated; has a finite score
    "error",  # the candidate or the evaluator raised, or the evaluator reported an error
    "timeout",  # killed at the wall-clock or CPU-time limit
    "memory",  # ran out of its memory limit
    "invalid-output",  # the evaluator returned something that is not a score
    "invalid-edit",  # the model's answer could not be turned into a program
    "duplicate",  # a near-copy of a program already evaluated (the novelty filter)
    "killed",  # the evaluation process died (signal, os._exit, out of memory)
]
STATUSES: tuple[Status, ...] = (
    "pending",
    "ok",
    "error",
    "timeout",
    "memory",
    "invalid-output",
    "invalid-edit",
    "duplicate",
    "killed",
)
SCORE_KEYS = ("combined_score", "score")
MAX_RESIDUALS = 1000  # an evaluation's residuals hone keeps (more: none kept)


@dataclass(frozen=True, slots=True)
class Evaluation:
    """What a verifier says of one program: a score, metrics, feedback, or why it failed."""

    score: Score | None = None
    metrics: Metrics = field(default_factory=dict)
    feedback: str = ""
    status: Status = "ok"
    reason: str = ""
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    # the signed errors at the points the evaluator compared (a formula's values minus the
    # data's, say): with them, tuning fits a formula's numbers by least squares
    # (`hone.least_squares`); empty when the evaluator gives none
    residuals: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        if self.score == 0.0:  # -0.0 prints as "-0" (and the store keeps no sign of zero)
            object.__setattr__(self, "score", 0.0)

    @property
    def ok(self) -> bool:
        """True when the program was evaluated and has a finite score."""
        return self.status == "ok" and self.score is not None

    @classmethod
    def pending(cls) -> Evaluation:
        """The outcome of a hypothesis that is stored but not verified yet."""
        return cls(status="pending")

    @classmethod
    def failed(cls, status: Status, reason: str, **kw: Any) -> Evaluation:
        """A failed evaluation with a reason a person (and the model) can read."""
        return cls(score=None, status=status, reason=reason, **kw)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (the store's and the sandbox's wire format)."""
        return {
            "score": self.score,
            "metrics": self.metrics,
            "feedback": self.feedback,
            "status": self.status,
            "reason": self.reason,
            "seconds": self.seconds,
            "cpu_seconds": self.cpu_seconds,
            "residuals": list(self.residuals),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Evaluation:
        """Inverse of `to_json`; what came over the wire is checked as an evaluator's value
        is (`checked`)."""
        status = data.get("status", "ok")
        if status not in STATUSES:
            status = "invalid-output"
        metrics, residuals = data.get("metrics"), data.get("residuals")
        return checked(
            cls(
                score=data.get("score"),
                metrics=dict(metrics) if isinstance(metrics, Mapping) else {},
                feedback=inbound.text(data.get("feedback") or ""),
                status=status,
                reason=inbound.text(data.get("reason") or ""),
                seconds=_seconds(data.get("seconds")),
                cpu_seconds=_seconds(data.get("cpu_seconds")),
                residuals=tuple(residuals) if isinstance(residuals, list) else (),
            )
        )


def bounded(evaluation: Evaluation) -> Evaluation:
    """The evaluation with its metrics, feedback and reason cut to the sizes hone keeps
    (`hone.inbound`), each cut said (an evaluator that returns a million metrics must not fill
    the store or the prompts)."""
    metrics, feedback, reason = evaluation.metrics, evaluation.feedback, evaluation.reason
    small = len(metrics) <= MAX_METRICS and len(feedback) <= MAX_TEXT and len(reason) <= MAX_TEXT
    if small and all(len(k) <= MAX_NAME for k in metrics):
        return evaluation
    kept = dict(list(metrics.items())[:MAX_METRICS])
    kept = {k[:MAX_NAME]: v for k, v in kept.items()}
    if len(metrics) > MAX_METRICS:
        note = f"[{len(metrics) - MAX_METRICS:,} more metrics dropped: hone keeps {MAX_METRICS}]"
        feedback = f"{feedback}\n{note}".strip()
    return dataclasses.replace(
        evaluation,
        metrics=kept,
        feedback=inbound.cut(feedback, MAX_TEXT),
        reason=inbound.cut(reason, MAX_TEXT),
    )


def checked(evaluation: Evaluation) -> Evaluation:
    """`evaluation` as hone keeps it, whoever made it: its text valid UTF-8, its score and
    metrics Python floats (numpy's too; a metric too large for a float is dropped and said),
    its residuals finite floats or none (dropped and said), an `ok` one without a finite score
    `invalid-output`, its sizes bounded. Never raises."""
    given = evaluation.metrics if isinstance(evaluation.metrics, Mapping) else {}
    metrics, dropped = _numbers(given.items())
    residuals = _residuals(evaluation.residuals, dropped)
    feedback = _noted(inbound.text(evaluation.feedback), dropped)
    reason = inbound.text(evaluation.reason)
    score: float | str | None = None
    if evaluation.score is not None:
        score = _score(evaluation.score, "the evaluator returned an Evaluation whose score is")
    if evaluation.status == "ok" and not isinstance(score, float):
        return bounded(
            Evaluation.failed(
                "invalid-output",
                score or "the evaluator returned an Evaluation with status ok and no score",
                metrics=metrics,
                feedback=feedback,
                seconds=evaluation.seconds,
                cpu_seconds=evaluation.cpu_seconds,
            )
        )
    return bounded(
        dataclasses.replace(
            evaluation,
            score=score if isinstance(score, float) else None,
            metrics=metrics,
            feedback=feedback,
            reason=reason,
            residuals=residuals,
        )
    )


def coerce_result(value: object) -> Evaluation:
    """Turn what an evaluator returned (a number, numpy's too, a dict or an Evaluation) into
    an Evaluation as hone keeps it (`checked`).

    Never raises: a value that is not a usable score becomes an `invalid-output` evaluation.
    """
    return checked(_coerced(value))


def _coerced(value: object) -> Evaluation:
    if isinstance(value, Evaluation):
        if value.status == "pending":
            return Evaluation.failed(
                "invalid-output", "the evaluator returned a pending Evaluation; give it a score"
            )
        return value
    if isinstance(value, Mapping):
        return _from_dict(value)
    if inbound.is_number(value):
        score = _score(value, "the evaluator returned")
        if isinstance(score, str):
            return Evaluation.failed("invalid-output", score)
        return Evaluation(score=score)
    if isinstance(value, bool) or type(value).__name__ in ("bool", "bool_"):  # numpy's too
        return Evaluation.failed(
            "invalid-output", f"the evaluator returned {value!r}; return a float or a dict"
        )
    return Evaluation.failed(
        "invalid-output",
        f"the evaluator returned a {type(value).__name__}; return a float, a dict with "
        "'combined_score' or 'score', or a hone.Evaluation",
    )


def _from_dict(value: Mapping[Any, Any]) -> Evaluation:
    metrics, dropped = _numbers(value.items(), quiet=SCORE_KEYS)  # (a bad score is said)
    components = value.get("components")
    if isinstance(components, Mapping):  # Eureka-style statistics per component
        for name, stats in components.items():
            if isinstance(stats, Mapping):
                found, lost = _numbers((f"{name}.{stat}", n) for stat, n in stats.items())
                metrics.update(found)
                dropped += lost
    feedback = _noted(inbound.text(value.get("feedback") or ""), dropped)
    error = value.get("error")
    if error:
        return Evaluation.failed("error", inbound.text(error), metrics=metrics, feedback=feedback)
    for key in SCORE_KEYS:
        if key in value:
            score = _score(value[key], f"the evaluator's {key!r} is")
            if isinstance(score, str):
                return Evaluation.failed(
                    "invalid-output",
                    score,
                    metrics={k: v for k, v in metrics.items() if math.isfinite(v)},
                    feedback=feedback,
                )
            metrics.pop(key, None)
            return Evaluation(score=score, metrics=metrics, feedback=feedback)
    return Evaluation.failed(
        "invalid-output",
        f"the evaluator's dict has no 'combined_score' or 'score' key (keys: {sorted(map(str, value))})",
        metrics=metrics,
        feedback=feedback,
    )


def _score(value: object, what: str) -> float | str:
    """`value` as a finite score, or why it is none (`what` begins the sentence)."""
    if inbound.is_number(value):
        try:
            number = inbound.as_float(value)
        except OverflowError as exc:
            return f"{what} {exc}"
        if math.isfinite(number):
            return number
    return f"{what} {_shown(value)}, not a finite number"


def _numbers(
    items: Iterable[tuple[object, object]], quiet: tuple[str, ...] = ()
) -> tuple[Metrics, list[str]]:
    """The items whose value is a number, as metrics named by valid text; and a note for
    each number dropped because no float holds it (but those named in `quiet`)."""
    metrics: Metrics = {}
    dropped: list[str] = []
    for key, item in items:
        if inbound.is_number(item):
            name = inbound.text(key)
            try:
                metrics[name] = inbound.as_float(item)
            except OverflowError as exc:
                if name not in quiet:
                    dropped.append(f"[metric {name[:MAX_NAME]!r} dropped: {exc}]")
    return metrics, dropped


def _residuals(given: object, dropped: list[str]) -> tuple[float, ...]:
    """An evaluator's residuals as Python floats; none (and a note in `dropped`) when they are
    not a sequence of finite numbers, or more than `MAX_RESIDUALS`."""
    if isinstance(given, str | bytes | Mapping) or not isinstance(given, Iterable):
        dropped.append(f"[residuals dropped: a sequence of numbers, not {_shown(given)}]")
        return ()
    values = list(itertools.islice(given, MAX_RESIDUALS + 1))
    if len(values) > MAX_RESIDUALS:
        dropped.append(f"[residuals dropped: more than the {MAX_RESIDUALS} hone keeps]")
        return ()
    out = []
    for value in values:
        try:
            number = inbound.as_float(value) if inbound.is_number(value) else math.nan
        except OverflowError:
            number = math.inf
        if not math.isfinite(number):
            dropped.append(f"[residuals dropped: {_shown(value)} is not a finite number]")
            return ()
        out.append(number)
    return tuple(out)


def _noted(feedback: str, notes: list[str]) -> str:
    return "\n".join([feedback, *notes]).strip() if notes else feedback


def _shown(value: object) -> str:
    """`value` as a reason quotes it: its repr, cut short (a string may be megabytes)."""
    text = inbound.text(repr(value))
    return text if len(text) <= 200 else text[:200] + "…"


def _seconds(value: object) -> float:
    return inbound.as_float(value) if inbound.finite(value) else 0.0


def load_program(program_path: str | Path) -> ModuleType:
    """Import a candidate program for an `evaluate(program_path)`: a fresh module under a
    unique name each time, so candidates never share state (nor stay in `sys.modules`)."""
    name = f"hone_candidate_{uuid.uuid4().hex}"
    spec = importlib.util.spec_from_file_location(name, program_path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load a Python module from {program_path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    finally:
        sys.modules.pop(name, None)
    return module
