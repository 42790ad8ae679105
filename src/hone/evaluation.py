"""The outcome of verifying one hypothesis."""

from __future__ import annotations

import dataclasses
import importlib.util
import math
import sys
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Literal, TypeAlias

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
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Evaluation:
        """Inverse of `to_json`."""
        status = data.get("status", "ok")
        if status not in STATUSES:
            status = "invalid-output"
        return cls(
            score=data.get("score"),
            metrics=dict(data.get("metrics") or {}),
            feedback=str(data.get("feedback") or ""),
            status=status,
            reason=str(data.get("reason") or ""),
            seconds=float(data.get("seconds") or 0.0),
            cpu_seconds=float(data.get("cpu_seconds") or 0.0),
        )


MAX_METRICS = 1000  # metrics kept per evaluation (their names cut at MAX_NAME characters)
MAX_NAME = 200
MAX_TEXT = 20_000  # characters of feedback, and of a failure's reason


def bounded(evaluation: Evaluation) -> Evaluation:
    """The evaluation with its metrics, feedback and reason cut to the sizes hone keeps, each
    cut said (an evaluator that returns a million metrics must not fill the store or the
    prompts)."""
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
        evaluation, metrics=kept, feedback=_cut(feedback), reason=_cut(reason)
    )


def _cut(text: str) -> str:
    if len(text) <= MAX_TEXT:
        return text
    return text[:MAX_TEXT] + f"\n[truncated: {len(text):,} characters in all]"


def coerce_result(value: object) -> Evaluation:
    """Turn what an evaluator returned (float, dict or Evaluation) into an Evaluation, cut to
    the sizes hone keeps (`bounded`).

    Never raises: a value that is not a usable score becomes an `invalid-output` evaluation.
    """
    return bounded(_coerced(value))


def _coerced(value: object) -> Evaluation:
    if isinstance(value, Evaluation):
        if value.status == "pending":
            return Evaluation.failed(
                "invalid-output", "the evaluator returned a pending Evaluation; give it a score"
            )
        if value.status == "ok" and not _finite(value.score):
            return Evaluation.failed(
                "invalid-output",
                f"the evaluator returned an Evaluation whose score is {value.score!r}, "
                "not a finite number",
                metrics=value.metrics,
            )
        return value
    if isinstance(value, bool):
        return Evaluation.failed(
            "invalid-output", f"the evaluator returned {value!r}; return a float or a dict"
        )
    if isinstance(value, int | float):
        if not _finite(value):
            return Evaluation.failed("invalid-output", f"the evaluator returned {value!r}")
        return Evaluation(score=float(value))
    if isinstance(value, Mapping):
        return _from_dict(value)
    return Evaluation.failed(
        "invalid-output",
        f"the evaluator returned a {type(value).__name__}; return a float, a dict with "
        "'combined_score' or 'score', or a hone.Evaluation",
    )


def _from_dict(value: Mapping[Any, Any]) -> Evaluation:
    metrics: Metrics = {}
    for key, item in value.items():
        if isinstance(item, int | float) and not isinstance(item, bool):
            metrics[str(key)] = float(item)
    components = value.get("components")
    if isinstance(components, Mapping):  # Eureka-style statistics per component
        for name, stats in components.items():
            if isinstance(stats, Mapping):
                for stat, number in stats.items():
                    if isinstance(number, int | float) and not isinstance(number, bool):
                        metrics[f"{name}.{stat}"] = float(number)
    feedback = str(value.get("feedback") or "")
    error = value.get("error")
    if error:
        return Evaluation.failed("error", str(error), metrics=metrics, feedback=feedback)
    for key in SCORE_KEYS:
        if key in value:
            score = value[key]
            if isinstance(score, bool) or not isinstance(score, int | float) or not _finite(score):
                return Evaluation.failed(
                    "invalid-output",
                    f"the evaluator's {key!r} is {score!r}, not a finite number",
                    metrics={k: v for k, v in metrics.items() if _finite(v)},
                    feedback=feedback,
                )
            metrics.pop(key, None)
            return Evaluation(score=float(score), metrics=metrics, feedback=feedback)
    return Evaluation.failed(
        "invalid-output",
        f"the evaluator's dict has no 'combined_score' or 'score' key (keys: {sorted(map(str, value))})",
        metrics=metrics,
        feedback=feedback,
    )


def _finite(x: object) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


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
