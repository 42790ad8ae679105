"""Parameter tuning (LLaMEA-HPO, LLM-SR): the numeric constants of a promising program's
EVOLVE block are tuned by an optimiser library (Optuna's CMA-ES sampler, started at the
program's own values: a local search around a program the model wrote), with no model call.

Each trial is a program with other values for the constants, evaluated in the sandbox like any
hypothesis and stored as one of kind "tune" with the tuned program as its parent. The loop
asks `Tuner.after` once a hypothesis is registered: the most promising program not tuned yet
(`Tuner.choose`: the best one with constants among the few best) gets a stage of `[search]
tune_trials` trials, within `[budget] max_evaluations`. What a stage found goes into the store as a note that chat prompts carry.
"""

from __future__ import annotations

import asyncio
import dataclasses
import io
import logging
import math
import re
import tokenize
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from hone.edits import region
from hone.exceptions import MissingDependencyError
from hone.objective import better
from hone.population import TUNE, Candidate, Population
from hone.seeds import library_seed
from hone.store import Store
from hone.task import Task

log = logging.getLogger("hone")
KIND = TUNE  # the kind of a tuning trial's hypothesis, and of the note a stage leaves
MAX_CONSTANTS = 12  # tuned at once: the first ones of the block
PROMISING = 4  # the best scored programs a program to tune is chosen from
STAGE = "tune_stage"  # the meta key of the stage under way (None between stages)
_FLOAT = re.compile(r"(?<![\w.])(?:\d+\.\d*|\.\d+|\d+(?:\.\d*)?[eE][-+]?\d+)(?![\w.])")

Verify = Callable[[Candidate], Awaitable[Candidate]]
Register = Callable[[Candidate], object]  # registers a trial (Loop._add)


@dataclass(frozen=True)
class Stage:
    """A tuning stage as the store records it while it runs (meta `STAGE`)."""

    parent: int  # the program tuned
    trials: int  # how many trials it was given
    batch: int  # trials asked at a time (evaluated together)


@dataclass(frozen=True)
class Constant:
    """A floating-point literal of a program: where it is and its value."""

    start: int  # offset in the program
    end: int
    value: float

    def bounds(self, spread: float) -> tuple[float, float]:
        """The range searched: the value ± `spread` of it (its sign kept). CMA-ES starts in the
        middle, the value itself, with steps of a sixth of the range."""
        low, high = sorted((self.value * (1 - spread), self.value * (1 + spread)))
        return low, high


def constants(program: str, language: str = "python") -> list[Constant]:
    """The non-zero floating-point literals of the program's EVOLVE block (the whole program
    without markers), in order; a Python program's strings and comments are skipped."""
    try:
        parts = region(program)
    except ValueError:
        return []
    base = len(parts.prefix)
    spans = _python_floats(parts.body) if language == "python" else None
    if spans is None:
        spans = [(m.start(), m.end()) for m in _FLOAT.finditer(_blank_comments(parts.body))]
    found = []
    for start, end in spans:
        value = float(parts.body[start:end])
        if value != 0 and math.isfinite(value):
            found.append(Constant(base + start, base + end, value))
    return found[:MAX_CONSTANTS]


def substitute(program: str, found: list[Constant], values: list[float]) -> str:
    """The program with each constant replaced by its new value."""
    out, last = [], 0
    for constant, value in zip(found, values, strict=True):
        out += [program[last : constant.start], literal(value)]
        last = constant.end
    return "".join(out) + program[last:]


def literal(value: float) -> str:
    """A float literal of `value` to 6 significant digits (always with a point or exponent)."""
    text = f"{value:.6g}"
    return text if any(c in text for c in ".en") else text + ".0"


def _python_floats(body: str) -> list[tuple[int, int]] | None:
    """Spans of float NUMBER tokens, or None when the block does not tokenize on its own."""
    starts = [0]
    for line in body.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))
    spans = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(body).readline):
            text = tok.string
            if tok.type == tokenize.NUMBER and _FLOAT.fullmatch(text):
                start = starts[tok.start[0] - 1] + tok.start[1]
                spans.append((start, start + len(text)))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return None
    return spans


def _blank_comments(code: str) -> str:
    """`code` with // and /* */ comments blanked out (offsets kept)."""
    blank = lambda m: " " * len(m.group())  # noqa: E731
    return re.sub(r"/\*.*?\*/|//[^\n]*", blank, code, flags=re.DOTALL)


class Tuner:
    """Tunes the constants of promising programs, a stage at a time, within the budget.

    A stage is recorded in the store as it starts (`STAGE`: the program tuned, its number of
    trials and the batch size), so that a run stopped in the middle of one (a kill, Ctrl-C)
    finishes that stage first when resumed: the sampler, seeded the same, is asked again the
    trials already evaluated and told their stored scores, then the remaining trials go to the
    same program."""

    def __init__(self, task: Task, store: Store, seed: int) -> None:
        self.task, self.store, self.seed = task, store, seed
        parents = store.parents_of_kind(KIND)
        self.spent = len(parents)  # trials evaluated in this run, resumed ones included
        self.tuned = {ids[0] for ids in parents if ids}
        self._tunable: dict[int, bool] = {}  # by candidate id: has constants to tune
        self._lock = asyncio.Lock()
        cut = store.meta().tune_stage
        self._cut: Stage | None = Stage(**cut) if cut else None  # a stage to finish first

    @property
    def left(self) -> int | None:
        """Trials the evaluation budget still allows (None: no limit)."""
        limit = self.task.budget.max_evaluations
        return None if limit is None else max(limit - self.spent, 0)

    def wants(self, candidate: Candidate, population: Population) -> bool:
        """True when `candidate` should be tuned now."""
        if (
            not self.task.search.tune
            or candidate.kind == KIND
            or candidate.id in self.tuned
            or self.left == 0
        ):
            return False
        tunable = self._tunable.get(candidate.id)
        if tunable is None:
            code = population.full(candidate).code or ""
            tunable = self._tunable[candidate.id] = bool(constants(code, self.task.language))
        return tunable

    def choose(self, population: Population) -> Candidate | None:
        """The most promising program to tune: the best of the `PROMISING` best scored
        programs that has constants, was not tuned yet and is not itself a trial (the best
        one when it qualifies; otherwise a runner-up, such as a model's program with constants
        when the best, the start say, has none)."""
        return next((c for c in population.ranked[:PROMISING] if self.wants(c, population)), None)

    async def after(self, population: Population, verify: Verify, register: Register) -> None:
        """Finish a stage a stopped run left, else tune the most promising program, if there
        is one to tune (`choose`)."""
        if self._cut is None and self.choose(population) is None:
            return
        async with self._lock:
            cut, self._cut = self._cut, None
            if cut is not None and cut.parent in population and not self._noted(cut):
                earlier = [
                    c
                    for c in population.members
                    if c.kind == KIND and c.parent_ids[:1] == (cut.parent,)
                ]
                cut_parent = population.full(population.get(cut.parent))
                await self._stage(cut_parent, verify, register, cut, sorted(earlier, key=_id))
                return
            if cut is not None:
                self.store.set_meta(**{STAGE: None})
            parent = self.choose(population)
            if parent is not None:
                await self._stage(population.full(parent), verify, register)

    async def _stage(
        self,
        parent: Candidate,
        verify: Verify,
        register: Register,
        stage: Stage | None = None,
        earlier: list[Candidate] | None = None,
    ) -> None:
        """Tune `parent`'s constants: a new stage, or the rest of `stage` (whose trials so far,
        in the order they were asked, are `earlier`)."""
        optuna = _optuna()
        self.tuned.add(parent.id)
        code = parent.code or ""
        found = constants(code, self.task.language)
        names = [f"c{i}" for i in range(len(found))]
        spread = self.task.search.tune_spread
        space = {
            n: optuna.distributions.FloatDistribution(*c.bounds(spread))
            for n, c in zip(names, found, strict=True)
        }
        maximize = self.task.objective == "maximize"
        sampler = optuna.samplers.CmaEsSampler(seed=library_seed(self.seed, parent.id))
        study = optuna.create_study(
            sampler=sampler, direction="maximize" if maximize else "minimize"
        )
        if stage is None:
            left = self.left
            trials = self.task.search.tune_trials
            trials = trials if left is None else min(trials, left)
            batch = max(1, self.task.evaluation.worker_count)
            stage = Stage(parent.id, trials, batch)
            self.store.set_meta(**{STAGE: dataclasses.asdict(stage)})
        trials, batch, again = stage.trials, stage.batch, list(earlier or ())
        best, evaluated = parent, 0
        if not found:
            trials = 0  # (a program edited since its stage began: nothing to tune)
        while trials > 0:
            count = min(batch, trials)
            if len(again) < count and self.left == 0:
                break  # the budget was lowered since the stage began
            asked = [study.ask(space) for _ in range(count)]
            trials -= len(asked)
            programs = [substitute(code, found, [t.params[n] for n in names]) for t in asked]
            # the trials evaluated before the stop, asked again in the same order, then new ones
            reused, again = again[: len(asked)], again[len(asked) :]
            fresh = [self._store(parent, p) for p in programs[len(reused) :]]
            self.spent += len(fresh)
            evaluated += len(asked)
            done = [*reused, *await asyncio.gather(*(verify(c) for c in fresh))]
            for i, (trial, candidate) in enumerate(zip(asked, done, strict=True)):
                if i >= len(reused):  # (the reused ones were registered as the run resumed)
                    register(candidate)
                if candidate.score is None:
                    study.tell(trial, state=optuna.trial.TrialState.FAIL)
                    continue
                study.tell(trial, candidate.score)
                if best.score is None or better(self.task.objective, candidate.score, best.score):
                    best = candidate
        if evaluated:
            self._note(parent, best, found, evaluated)
        self.store.set_meta(**{STAGE: None})

    def _noted(self, stage: Stage) -> bool:
        """True when the stage got as far as its note (it stopped before its record was
        cleared)."""
        head = _head(stage.parent)
        return any(text.startswith(head) for _, text in self.store.notes(KIND))

    def _store(self, parent: Candidate, program: str) -> Candidate:
        return self.store.add_candidate(
            round=parent.round, code=program, parent_ids=(parent.id,), niche=parent.niche, kind=KIND
        )

    def _note(self, parent: Candidate, best: Candidate, found: list[Constant], trials: int) -> None:
        """Record what the stage found, for the prompts (`hone.reflection.Memory`)."""
        head = _head(parent.id) + f"{trials} trials, no model calls): "
        if best is parent:
            text = head + f"no setting of its {len(found)} constants beat its score {_g(parent)}."
        else:
            tuned = constants(best.code or "", self.task.language)
            changes = ", ".join(
                f"{(parent.code or '')[a.start : a.end]} → {(best.code or '')[b.start : b.end]}"
                for a, b in zip(found, tuned, strict=False)
                if a.value != b.value
            )
            text = (
                head + f"program #{best.id} scores {_g(best)} (from {_g(parent)}) with {changes}."
            )
        self.store.add_note(round=parent.round, kind=KIND, text=text)
        log.info(text)


def _head(parent: int) -> str:
    return f"Parameter tuning of program #{parent} ("


def _id(candidate: Candidate) -> int:
    return candidate.id


def _g(candidate: Candidate) -> str:
    return f"{candidate.score:.6g}" if candidate.score is not None else "nothing"


def _optuna() -> Any:
    try:
        import optuna
    except ImportError:
        raise MissingDependencyError("optuna") from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


__all__ = ["KIND", "STAGE", "Constant", "Stage", "Tuner", "constants", "literal", "substitute"]
