"""The one place that knows whether a score is better: maximise or minimise."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal, TypeAlias

Objective: TypeAlias = Literal["maximize", "minimize"]
OBJECTIVES: tuple[Objective, ...] = ("maximize", "minimize")


def better(objective: Objective, a: float, b: float | None) -> bool:
    """True when score `a` is strictly better than `b` (any score beats None)."""
    if b is None:
        return True
    return a > b if objective == "maximize" else a < b


def reaches(objective: Objective, score: float, bar: float) -> bool:
    """True when `score` is at least as good as `bar` (a target, a cascade threshold)."""
    return score >= bar if objective == "maximize" else score <= bar


def signed(objective: Objective, score: float) -> float:
    """The score with its sign turned so that higher is always better."""
    return score if objective == "maximize" else -score


def best(objective: Objective, scores: Iterable[float]) -> float | None:
    """The best of `scores`, or None when there are none."""
    found: float | None = None
    for score in scores:
        if better(objective, score, found):
            found = score
    return found


def wording(objective: Objective) -> str:
    """'higher' or 'lower': which way is better, for prompts and people."""
    return "higher" if objective == "maximize" else "lower"
