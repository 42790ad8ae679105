"""What the loop reports as it goes; the CLI renders these, a library user may subscribe."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from hone.budget import StopReason, Usage
from hone.population import Candidate


@dataclass(frozen=True)
class RunStarted:
    """A run began (or resumed) in `run_dir`."""

    run_dir: Path
    task: str
    model: str
    resumed: bool


@dataclass(frozen=True)
class RoundStarted:
    """A round of `hypotheses` hypotheses began."""

    round: int
    hypotheses: int


@dataclass(frozen=True)
class HypothesisEvaluated:
    """One hypothesis was verified (or rejected before verification)."""

    candidate: Candidate
    usage: Usage


@dataclass(frozen=True)
class NewBest:
    """A candidate beat every earlier one."""

    candidate: Candidate


@dataclass(frozen=True)
class Finding:
    """A check of a new best (`hone.trust`) found something: a check it failed (`check`:
    validate, verify_strict), or a sign that the search is overfitting."""

    candidate: Candidate
    check: str
    passed: bool
    text: str


@dataclass(frozen=True)
class Stopped:
    """The run stopped, and why."""

    reason: StopReason
    best: Candidate | None
    usage: Usage


__all__ = [
    "Event",
    "EventHandler",
    "Finding",
    "HypothesisEvaluated",
    "NewBest",
    "RoundStarted",
    "RunStarted",
    "StopReason",
    "Stopped",
]

Event = RunStarted | RoundStarted | HypothesisEvaluated | NewBest | Finding | Stopped
EventHandler = Callable[[Event], None]
