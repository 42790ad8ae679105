"""What makes a run's result one to trust: the checks of each new best.

A search finds its evaluator's weak spots, so a new best is checked before it is reported:

* held-out validation: the evaluator's `validate(program_path)` (or `[evaluation] validator`,
  or a command task's `[evaluation] validate_command`) scores it on data no search evaluation
  could read (`[evaluation] holdout`, hidden from the search's sandbox and shown only to these
  runs); the held-out score is stored beside the search score, and a new best that is better
  in search but worse on held-out than the previous best says the search is overfitting (a
  note);
* strict re-checks: `verify_strict(program_path)` returns true or false (and a reason); a
  best that fails it, or fails on the held-out data, is not verified: it stays in the
  population, but the run's answer (`answer`) is the best one that is.

The checks run in workers of their own (`Checker`, a `hone.executors.local.ProcessPool` made
with `checks=True`), one check at a time, never in the search's; each outcome is a finding in
the store.
"""

from __future__ import annotations

import ast
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

from hone import syntax
from hone.compat import CHECKS, Entry
from hone.evaluation import Evaluation
from hone.events import EventHandler, Finding
from hone.executors import Verified
from hone.objective import Objective, better
from hone.population import Candidate, Population
from hone.settings import Selection
from hone.store import Store
from hone.tree import Tree

log = logging.getLogger("hone")

OVERFITTING = "overfitting"  # the kind of the note a sign of overfitting leaves
PROBES = ("score_range", "reproduce", "perturb")  # the exploit probes' findings


@runtime_checkable
class Checker(Protocol):
    """Runs an evaluator's checks (`checks`, of `hone.compat.CHECKS`) on a program."""

    checks: tuple[Entry, ...]

    async def verify(self, program: Tree, entry: Entry = "evaluate") -> Verified:
        """Run `entry` on `program`; failures are Evaluations."""
        ...

    async def close(self) -> None:
        """Stop its workers; never raises."""
        ...


def defined_checks(
    evaluator: Path, validator: Path | None, *, command: bool = False
) -> tuple[Entry, ...]:
    """The checks the evaluator file (and the validator file, whose `evaluate` counts as its
    `validate`) define at their top level, read without running them; `command`: the task
    has an `[evaluation] validate_command`, its `validate` (`hone.compat.command`)."""
    names = _functions(evaluator) | ({"validate"} if command else set())
    if validator is not None:
        found = _functions(validator)
        names |= found | ({"validate"} if "evaluate" in found else set())
    return tuple(entry for entry in CHECKS if entry in names)


def _functions(path: Path) -> set[str]:
    try:
        tree = syntax.parse(path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
        return set()  # (the worker says what is wrong with it)
    kinds = (ast.FunctionDef, ast.AsyncFunctionDef)
    return {node.name for node in tree.body if isinstance(node, kinds)}


class Fresh(Protocol):
    """Evaluates a program again, in a sandbox that never ran another candidate."""

    async def evaluate(self, program: Tree, eval_seed: int = 0) -> Verified:
        """The evaluation, with `eval_seed` as HONE_EVAL_SEED ([evaluation] perturb)."""
        ...


@dataclass(frozen=True)
class Probes:
    """The exploit probes a run's new bests get ([evaluation] noise, score_range, perturb)."""

    fresh: Fresh
    noise: float | None = None  # None: no reproduction
    score_range: tuple[float, ...] = ()
    perturb: bool = False

    @property
    def any(self) -> bool:
        """True when some probe is asked for."""
        return self.noise is not None or bool(self.score_range) or self.perturb


@dataclass
class Trust:
    """The checks of one run's new bests (see the module's docstring)."""

    checker: Checker | None
    store: Store
    objective: Objective
    emit: EventHandler
    validate_top: int = 5
    probes: Probes | None = None
    previous: Candidate | None = None  # the last new best validated
    _done: set[tuple[int, str]] = field(default_factory=set)  # (id, check) run already

    def __post_init__(self) -> None:
        for row in self.store.findings():
            self._done.add((row["candidate_id"], row["check_name"]))
        validated = [i for i, check in sorted(self._done) if check == "validate"]
        if validated:  # (a resumed run compares with the last best it validated)
            self.previous = self.store.candidate(validated[-1])

    async def new_best(self, candidate: Candidate) -> Candidate:
        """Run every check on a new best; it, with what they found (stored as findings)."""
        await self._check(candidate)
        if self.probes is not None:
            await self._probe(candidate, self.probes)
        checked = self.store.candidate(candidate.id)
        previous, self.previous = self.previous, checked
        if checked.holdout is not None and previous is not None:
            self._compare(checked, previous)
        return checked

    async def finish(self, population: Population, select: Selection = "search") -> None:
        """At the end: check the best `validate_top` distinct programs not checked yet, and
        probe the run's answer (`answer`) until it is one that was probed (a program as good
        as a new best in search is no new best, and was not)."""
        checks = self.checker.checks if self.checker is not None else ()
        for candidate in population.ranked[: self.validate_top]:
            if any((candidate.id, check) not in self._done for check in checks):
                await self._check(population.full(candidate))
        for _ in range(self.validate_top) if self.probes is not None else ():
            found = answer(self.store.candidates(lean=True), self.objective, select)
            if found is None or any((found.id, probe) in self._done for probe in PROBES):
                return
            assert self.probes is not None
            await self._probe(self.store.candidate(found.id), self.probes)

    async def _check(self, candidate: Candidate) -> None:
        assert candidate.tree is not None  # (a scored hypothesis has a program)
        if self.checker is None:
            return
        for check in self.checker.checks:
            if (candidate.id, check) in self._done:
                continue
            self._done.add((candidate.id, check))
            done = (await self.checker.verify(candidate.tree, check)).evaluation
            text = done.feedback if done.ok else f"{done.status}: {done.reason}"
            if check == "validate":  # (a program that fails on held-out data is no answer)
                self._found(candidate, check, done.ok, text, done.score if done.ok else None)
            else:  # verify_strict's evaluation: score 1 passed, 0 failed
                self._found(candidate, check, done.ok and done.score == 1.0, text, None)

    async def _probe(self, candidate: Candidate, probes: Probes) -> None:
        """The exploit probes: the score within the declared range, reproduced in a fresh
        sandbox, and again with another instance seed, within the noise."""
        score, tree = candidate.score, candidate.tree
        assert score is not None and tree is not None  # (a new best)
        if probes.score_range:
            low, high = probes.score_range
            inside = low <= score <= high
            where = "within" if inside else "outside"
            text = f"score {score:.6g} {where} the declared range [{low:g}, {high:g}]"
            self._found(candidate, "score_range", inside, text, None)
        if probes.noise is not None:
            again = (await probes.fresh.evaluate(tree)).evaluation
            self._again(candidate, "reproduce", again, probes.noise, "in a fresh sandbox")
        if probes.perturb:
            seed = candidate.id  # (another than the search's 0, the same on a resume)
            again = (await probes.fresh.evaluate(tree, eval_seed=seed)).evaluation
            where = f"with HONE_EVAL_SEED={seed}"
            self._again(candidate, "perturb", again, probes.noise or 0.0, where)

    def _again(
        self, candidate: Candidate, probe: str, again: Evaluation, noise: float, where: str
    ) -> None:
        """A probe's second evaluation, held to the first's score within `noise`."""
        score = candidate.score
        assert score is not None
        if not again.ok or again.score is None:
            text = f"score {score:.6g}, then {again.status} {where}: {again.reason}"
            self._found(candidate, probe, False, text, None)
            return
        passed = abs(again.score - score) <= noise
        verb = "reproduced as" if passed else "then"
        text = f"score {score:.6g} {verb} {again.score:.6g} {where} (noise {noise:g})"
        self._found(candidate, probe, passed, text, None)

    def _compare(self, candidate: Candidate, previous: Candidate) -> None:
        """A new best worse on held-out than the best before it: the search is overfitting."""
        assert candidate.holdout is not None and candidate.score is not None
        if previous.holdout is None or previous.score is None:
            return
        if not better(self.objective, previous.holdout, candidate.holdout):
            return
        text = (
            f"the search may be overfitting: #{candidate.id} beats #{previous.id} in search "
            f"({candidate.score:.6g} against {previous.score:.6g}) but not on held-out "
            f"({candidate.holdout:.6g} against {previous.holdout:.6g})"
        )
        self.store.add_note(round=candidate.round, kind=OVERFITTING, text=text)
        self.emit(Finding(candidate, OVERFITTING, False, text))

    def _found(
        self, candidate: Candidate, check: str, passed: bool, text: str, score: float | None
    ) -> None:
        self._done.add((candidate.id, check))
        self.store.add_finding(candidate.id, check, passed, text, score)
        if not passed:
            self.emit(Finding(candidate, check, False, text))


def answer(
    candidates: Iterable[Candidate], objective: Objective, select: Selection = "search"
) -> Candidate | None:
    """The run's final answer: of the scored hypotheses no check failed, the best in search,
    or (`select` "holdout") the best on held-out of those validated (none validated: the
    best in search)."""
    best: Candidate | None = None
    held: Candidate | None = None
    for candidate in candidates:
        score = candidate.score
        if score is None or candidate.verified is False:
            continue
        if better(objective, score, best.score if best is not None else None):
            best = candidate
        holdout = candidate.holdout
        if holdout is not None and better(
            objective, holdout, held.holdout if held is not None else None
        ):
            held = candidate
    return held if select == "holdout" and held is not None else best


__all__ = ["OVERFITTING", "Checker", "Fresh", "Probes", "Trust", "answer", "defined_checks"]
