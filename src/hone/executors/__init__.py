"""Where evaluations run: the `Executor` protocol and its registry.

`local` (worker processes on this machine, `hone.executors.local`) and `ray` (actors on a Ray
cluster, `hone.executors.ray`); both run each candidate in hone's sandbox (`hone.sandbox`).
Adding an executor: a module with ``make(task) -> Executor``, one line in `EXECUTORS` and its
name in `hone.settings.ExecutorName`.
Modules load lazily, so the evaluation workers start without asyncio.
"""

from __future__ import annotations

import dataclasses
import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from hone.evaluation import Evaluation
from hone.settings import ExecutorName
from hone.tree import Tree

if TYPE_CHECKING:
    from hone.task import Task

EXECUTORS: dict[ExecutorName, str] = {
    "local": "hone.executors.local",
    "ray": "hone.executors.ray",
}


@dataclass(frozen=True)
class Attempt:
    """One try at evaluating a program on a node of a cluster: where it ran, how it ended."""

    node: str  # the node's id (Ray's)
    host: str  # the node's IP address
    outcome: str  # the evaluation's status, or "lost": the node died or stopped answering
    reason: str = ""  # why it was lost

    def as_json(self) -> dict[str, str]:
        """A JSON-ready dict (the store keeps a hypothesis's attempts as a list of these)."""
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class Verified:
    """An evaluation and the candidate's captured output."""

    evaluation: Evaluation
    output: str = ""
    started: float | None = None  # wall-clock time the candidate's process started
    # on a cluster: every try, in order, the last one the evaluation's (local runs: none)
    attempts: tuple[Attempt, ...] = ()


class Verifier(Protocol):
    """Scores one program (a tree of files: a one-file task's holds one). Never raises for a
    bad program: failures are Evaluations."""

    async def verify(self, program: Tree) -> Verified:
        """Evaluate `program` and say how it did."""
        ...


class Executor(Verifier, Protocol):
    """A verifier with workers to start and stop: what a run evaluates with."""

    protections: str  # what confines the candidates, once started (docs/security.md)

    def start(self) -> None:
        """Begin starting the workers in the background (idempotent)."""
        ...

    async def close(self) -> None:
        """Stop every worker; never raises."""
        ...


def make_executor(task: Task) -> Executor:
    """The executor a task's `[evaluation] executor` names, for its evaluator."""
    executor: Executor = importlib.import_module(EXECUTORS[task.evaluation.executor]).make(task)
    return executor


__all__ = ["EXECUTORS", "Attempt", "Executor", "Verified", "Verifier", "make_executor"]
