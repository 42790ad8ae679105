"""Parameter tuning (LLaMEA-HPO, LLM-SR): the numeric constants of a promising program's
EVOLVE blocks (every block of every file of its tree; a file without blocks, all of it) are
tuned by an optimiser library (Optuna's CMA-ES sampler, started at the
program's own values: a local search around a program the model wrote), with no model call.

Each trial is a program with other values for the constants, evaluated in the sandbox like any
hypothesis and stored as one of kind "tune" with the tuned program as its parent. The loop
asks `Tuner.after` once a hypothesis is registered: the most promising program not tuned yet
(`Tuner.choose`: the best one with constants among the few best) gets a stage of `[search]
tune_trials` trials, within `[budget] max_evaluations`. What a stage found goes into the store as a note that chat prompts carry.

The model proposes structure, tuning fits numbers (LLM-SR's division of labour): besides float
literals, the values of a dict of named parameters a program introduces (`params = {"a": 0.5,
"b": 2}`: integers too) are tuned, first, and with `[search] tune_strings` (or a `# tune`
comment on its line) the numbers inside a string, a formula such as `"n**4/4 + n**3/2"`
(exponents excepted: they are structure), and the implicit factor 1 of each of its terms that
has no number of its own (the `n**3` of `"n**4/4 + n**3"`: a term the model proposed, whose
coefficient tuning fits). Those are not searched by CMA-ES but stepped, one at a time, through
simple fractions and multiples (`ladder`): a formula is exact or wrong, and no optimiser lands
on 1/4 by chance. A number that is a whole term of the formula's sum (the `1` of
`"n**2*(n+1)**2/4 + 1"`) is first tried at 0: without that term. When the ladder stops
helping (or after its third sweep), a formula of several numbers is fitted jointly
(`hone.simplex`'s Nelder–Mead on the coefficients they make) and the fit snapped to simple
fractions (`Tuner._fit`). When the evaluator reports residuals (`Evaluation.residuals`), a
formula of several terms is instead expanded into a coefficient per term (`hone.formulas`) and
fitted to them by least squares (`hone.least_squares`), then snapped (`Tuner._least_squares`).
When a program has other constants too, the ladder gets half of a stage's trials and CMA-ES the
rest.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import math
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from hone.constants import (
    FORMULA_KINDS,
    Constant,
    Value,
    change,
    constants,
    divides,
    exact,
    ladder,
    literal,
    snap,
    snap_coefficient,
    substitute,
    substitute_tree,
    tree_constants,
)
from hone.exceptions import MissingDependencyError
from hone.formulas import Formula, expanded
from hone.least_squares import Residuals, levenberg_marquardt
from hone.objective import better, reaches
from hone.population import TUNE, Candidate, Population
from hone.seeds import library_seed
from hone.simplex import nelder_mead
from hone.store import Store
from hone.task import Task
from hone.tree import Tree

log = logging.getLogger("hone")
KIND = TUNE  # the kind of a tuning trial's hypothesis, and of the note a stage leaves
PROMISING = 4  # the best scored programs a program to tune is chosen from
STAGE = "tune_stage"  # the meta key of the stage under way (None between stages)
SWEEPS_BEFORE_FIT = 3  # a formula of several numbers: the ladder's sweeps before the joint fit
Verify = Callable[[Candidate], Awaitable[Candidate]]
Register = Callable[[Candidate], object]  # registers a trial (Loop._add)
# evaluates settings of a stage's constants, in order (None: the budget was lowered)
Evaluate = Callable[[list[list[Value]]], Awaitable[list[Candidate] | None]]
EvaluateTrees = Callable[[list[Tree]], Awaitable[list[Candidate] | None]]  # ... these programs


@dataclass(frozen=True)
class Stage:
    """A tuning stage as the store records it while it runs (meta `STAGE`)."""

    parent: int  # the program tuned
    trials: int  # how many trials it was given
    batch: int  # trials asked at a time (evaluated together)


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
            tree = population.full(candidate).tree
            tunable = bool(self._constants(tree)) if tree is not None else False
            self._tunable[candidate.id] = tunable
        return tunable

    def _constants(self, tree: Tree) -> list[Constant]:
        return tree_constants(tree, strings=self.task.search.tune_strings)

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
        in the order they were asked, are `earlier`). Numbers in strings are tried first, one
        at a time, on a ladder of simple multiples (`ladder`); the other constants then by
        CMA-ES, with the trials left."""
        optuna = _optuna()
        self.tuned.add(parent.id)
        tree = parent.tree
        assert tree is not None  # (a program that scored, whole: `Population.full`)
        found = self._constants(tree)
        if stage is None:
            left = self.left
            trials = self.task.search.tune_trials
            trials = trials if left is None else min(trials, left)
            batch = max(1, self.task.evaluation.worker_count)
            stage = Stage(parent.id, trials, batch)
            self.store.set_meta(**{STAGE: dataclasses.asdict(stage)})
        trials, batch, again = stage.trials, stage.batch, list(earlier or ())
        best, evaluated = parent, 0
        values: list[Value] = [exact(tree, c) for c in found]  # the best's
        if not found:
            trials = 0  # (a program edited since its stage began: nothing to tune)

        async def evaluate_trees(asked: list[Tree]) -> list[Candidate] | None:
            """The trials of `asked`, in order: those evaluated before a stop (`again`), then
            new ones; None when the budget was lowered since the stage began."""
            nonlocal again, trials, evaluated
            if len(again) < len(asked) and self.left == 0:
                return None
            trials -= len(asked)
            evaluated += len(asked)
            reused, again = again[: len(asked)], again[len(asked) :]
            fresh = [self._store(parent, p) for p in asked[len(reused) :]]
            self.spent += len(fresh)
            done = [*reused, *await asyncio.gather(*(verify(c) for c in fresh))]
            for candidate in done[len(reused) :]:  # (reused ones were registered on resuming)
                register(candidate)
            return done

        async def evaluate(asked: list[list[Value]]) -> list[Candidate] | None:
            """The trials of these settings of the constants (`evaluate_trees`)."""
            return await evaluate_trees([substitute_tree(tree, found, v) for v in asked])

        def improves(candidate: Candidate) -> bool:
            return self._beats(candidate, best)

        # an evaluator that reports residuals: a formula of several terms is expanded and its
        # coefficients fitted by least squares, instead of the ladder (`_least_squares`)
        formula = self._formula(parent, tree, found)
        if formula is not None and trials < len(formula.terms) + 3:
            formula = None  # (too few trials for a step of the fit: the ladder's)
        rewritten = ""
        if formula is not None:
            fitted = await self._least_squares(formula, tree, trials, evaluate_trees)
            if fitted is not None and improves(fitted[0]):
                best = fitted[0]
                rewritten = f'the formula "{formula.text_before}" → "{formula.text(fitted[1])}"'
            trials = 0

        # a sweep tries each step from the same values (each setting once in a stage); the
        # next sweep starts from its best (the best step of all, not the first that helps: a
        # first step that merely helps leads two wrong coefficients to offset each other). The
        # ladder gets half the stage when there are other constants, for CMA-ES
        rest = [i for i, c in enumerate(found) if c.kind not in FORMULA_KINDS]
        ladder_left = (trials + 1) // 2 if rest else trials
        fitting = len(found) - len(rest) >= 2  # a formula of several numbers (`_fit`)
        base, seen = values, {tuple(values)}

        def sweep(base: list[Value]) -> list[list[Value]]:
            settings = []
            for index, value in ladder(found, base):
                setting = [value if i == index else v for i, v in enumerate(base)]
                if tuple(setting) not in seen:
                    seen.add(tuple(setting))
                    settings.append(setting)
            return settings

        steps, sweeps = sweep(base), 1
        while ladder_left > 0 and steps:
            size = min(batch, ladder_left)
            asked, steps = steps[:size], steps[size:]
            done = await evaluate(asked)
            if done is None:
                break
            ladder_left -= len(asked)
            for tried, candidate in zip(asked, done, strict=True):
                if improves(candidate):
                    best, values = candidate, tried
            if not steps and values is not base:
                if fitting and sweeps == SWEEPS_BEFORE_FIT:
                    break  # (the fit gets the rest: the ladder may creep on for long)
                base, sweeps = values, sweeps + 1
                steps = sweep(base)
        # when the ladder stops helping, a formula of several numbers is fitted jointly (its
        # coefficients offset each other: no step of one alone helps), then snapped
        if ladder_left > 1 and fitting and not self._reached(best):
            fitted = await self._fit(tree, found, values, ladder_left, evaluate)
            if fitted is not None and improves(fitted[0]):
                best, values = fitted
        names = [f"c{i}" for i in rest]
        spread = self.task.search.tune_spread
        space = {
            f"c{i}": optuna.distributions.FloatDistribution(*found[i].bounds(spread)) for i in rest
        }
        maximize = self.task.objective == "maximize"
        sampler = optuna.samplers.CmaEsSampler(seed=library_seed(self.seed, parent.id))
        study = optuna.create_study(
            sampler=sampler, direction="maximize" if maximize else "minimize"
        )
        fixed = list(values)  # the strings' values the ladder found
        while trials > 0 and rest:
            trials_asked = [study.ask(space) for _ in range(min(batch, trials))]
            asked = []
            for t in trials_asked:
                tried = list(fixed)
                for i, n in zip(rest, names, strict=True):
                    tried[i] = t.params[n]
                asked.append(tried)
            done = await evaluate(asked)
            if done is None:
                break
            for trial, tried, candidate in zip(trials_asked, asked, done, strict=True):
                if candidate.score is None:
                    study.tell(trial, state=optuna.trial.TrialState.FAIL)
                    continue
                study.tell(trial, candidate.score)
                if improves(candidate):
                    best, values = candidate, tried
        if evaluated:
            changes = rewritten if formula is not None else self._changes(parent, found, values)
            self._note(parent, best, evaluated, changes)
        self.store.set_meta(**{STAGE: None})

    def _reached(self, candidate: Candidate) -> bool:
        """True when `candidate` reaches the task's target (nothing left to fit)."""
        target, score = self.task.budget.target, candidate.score
        return (
            target is not None and score is not None and reaches(self.task.objective, score, target)
        )

    async def _fit(
        self,
        tree: Tree,
        found: list[Constant],
        values: list[Value],
        trials: int,
        evaluate: Evaluate,
    ) -> tuple[Candidate, list[Value]] | None:
        """Fit a formula's numbers together from `values`, within `trials`: Nelder–Mead
        (`hone.simplex`) on the coefficients they make (a divisor as its reciprocal), then one
        trial of the best point with each coefficient snapped to a simple fraction, or to 0
        near it (`_snap`). The best trial and its values; None when none was evaluated."""
        fit = [i for i, c in enumerate(found) if c.kind in FORMULA_KINDS]
        flips = [divides(tree, found[i]) for i in fit]

        def coefficients(setting: list[Value]) -> list[Value]:
            return [
                1 / setting[i] if flip else setting[i] for i, flip in zip(fit, flips, strict=True)
            ]

        def setting(point: Sequence[Value]) -> list[Value] | None:
            out = list(values)
            for i, flip, x in zip(fit, flips, point, strict=True):
                if flip and x == 0:
                    return None  # a division by zero: not a formula
                out[i] = 1 / x if flip else x
            return out

        start = [float(c) for c in coefficients(values)]
        sign = -1.0 if self.task.objective == "maximize" else 1.0  # the search minimises
        best: tuple[Candidate, list[Value]] | None = None
        search = nelder_mead(start)
        points = next(search)
        while len(points) < trials:  # (one trial kept for the snapped point)
            settings = [setting(p) for p in points]
            asked = [s for s in settings if s is not None]
            done = await evaluate(asked)
            if done is None:
                return best
            trials -= len(points)  # (a point not evaluated counts too: the loop ends)
            results = iter(done)
            told = []
            for tried in settings:
                candidate = next(results) if tried is not None else None
                if tried is None or candidate is None or candidate.score is None:
                    told.append(math.inf)
                    continue
                told.append(sign * candidate.score)
                if best is None or self._beats(candidate, best[0]):
                    best = candidate, tried
            if best is not None and self._reached(best[0]):
                return best
            points = search.send(told)
        if best is None:
            return None
        snapped = setting(
            [snap_coefficient(x, s) for x, s in zip(coefficients(best[1]), start, strict=True)]
        )
        if snapped is not None and snapped != best[1]:
            done = await evaluate([snapped])
            if done and self._beats(done[0], best[0]):
                best = done[0], snapped
        return best

    def _beats(self, candidate: Candidate, best: Candidate) -> bool:
        """True when `candidate` scored, better than `best`."""
        return candidate.score is not None and better(
            self.task.objective, candidate.score, best.score
        )

    @staticmethod
    def _changes(parent: Candidate, found: list[Constant], values: list[Value]) -> str:
        """'4 → 3, n**3 → 0.5*n**3': the constants that `values` change."""
        before = parent.tree or Tree()
        return ", ".join(
            change(before.get(c.path, ""), c, v)
            for c, v in zip(found, values, strict=True)
            if c.value != v
        )

    def _formula(self, parent: Candidate, tree: Tree, found: list[Constant]) -> Formula | None:
        """The formula of several terms that `found` are the numbers of, expanded, when the
        evaluator reported residuals for `parent` (what `_least_squares` fits); else None."""
        formula = expanded(tree, found)
        if formula is None or len(formula.terms) < 2:
            return None
        return formula if parent.evaluation.residuals or self.store.residuals([parent.id]) else None

    async def _least_squares(
        self, formula: Formula, tree: Tree, trials: int, evaluate: EvaluateTrees
    ) -> tuple[Candidate, list[Value]] | None:
        """Fit the expanded formula's coefficients to the evaluator's residuals within
        `trials` (`hone.least_squares`: Levenberg–Marquardt), then one trial with each
        coefficient snapped to a simple fraction, or to 0 near it. The best trial and its
        coefficients; None when none was evaluated."""
        best: tuple[Candidate, list[Value]] | None = None
        search = levenberg_marquardt(formula.coefficients)
        points = next(search)
        while len(points) < trials:  # (one trial kept for the snapped point)
            done = await evaluate([formula.tree(tree, p) for p in points])
            if done is None:
                return best
            trials -= len(points)
            # (a resumed stage's trials come from the store, their residuals with them)
            stored = self.store.residuals(
                [c.id for c in done if c.score is not None and not c.evaluation.residuals]
            )
            told: list[Residuals] = []
            for point, candidate in zip(points, done, strict=True):
                if candidate.score is None:
                    told.append(None)
                    continue
                told.append(candidate.evaluation.residuals or stored.get(candidate.id))
                if best is None or self._beats(candidate, best[0]):
                    best = candidate, list(point)
            if best is not None and self._reached(best[0]):
                return best
            try:
                points = search.send(told)
            except StopIteration:
                break
        if best is None:
            return None
        snapped = [
            snap_coefficient(x, s) for x, s in zip(best[1], formula.coefficients, strict=True)
        ]
        if snapped != best[1] and trials > 0:
            done = await evaluate([formula.tree(tree, snapped)])
            if done and self._beats(done[0], best[0]):
                best = done[0], snapped
        return best

    def _noted(self, stage: Stage) -> bool:
        """True when the stage got as far as its note (it stopped before its record was
        cleared)."""
        head = _head(stage.parent)
        return any(text.startswith(head) for _, text in self.store.notes(KIND))

    def _store(self, parent: Candidate, program: Tree) -> Candidate:
        return self.store.add_candidate(
            round=parent.round, tree=program, parent_ids=(parent.id,), niche=parent.niche, kind=KIND
        )

    def _note(self, parent: Candidate, best: Candidate, trials: int, changes: str) -> None:
        """Record what the stage found (the best's `changes`), for the prompts
        (`hone.reflection.Memory`)."""
        head = _head(parent.id) + f"{trials} trials, no model calls): "
        if best is parent:
            text = head + f"no setting of its constants beat its score {_g(parent)}."
        else:
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


__all__ = [
    "FORMULA_KINDS",
    "KIND",
    "STAGE",
    "Constant",
    "Stage",
    "Tuner",
    "constants",
    "ladder",
    "literal",
    "snap",
    "substitute",
    "substitute_tree",
    "tree_constants",
]
