"""A Pareto front for tasks with several objectives, each a metric the evaluator returns.

`[search] objectives = {speed = "maximize", size = "minimize"}` names them. A program is on the
front when no other program is at least as good in every objective and better in one; the
parent is drawn uniformly from the front, and the front members nearest to it (by rank in each
objective) are shown as inspirations.

The front is kept up to date as the strategy is told of each hypothesis; each one's placement
says whether it joined the front and which members it pushed off (and the whole front, when it
was worked out anew).
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, cast

from hone.objective import Objective, signed
from hone.population import Added, Candidate, Population
from hone.strategies import (
    Following,
    Placement,
    Pool,
    Selection,
    as_population,
    ranked_distinct,
    recent_failures,
)

if TYPE_CHECKING:
    from hone.settings import SearchConfig


Point = tuple[float, ...]


@dataclass(frozen=True)
class FrontPlacement(Placement):
    """Whether a hypothesis joined the front, whom it pushed off, and the whole front when it
    was worked out anew at this hypothesis."""

    front: bool = False
    dominated: tuple[int, ...] = ()  # front members it dominates, off the front now
    members: tuple[int, ...] | None = None  # the whole front, when worked out anew


@dataclass
class _Front(Following):
    """The non-dominated distinct programs told so far, by id, with their points."""

    replaced: int = 0  # the population's count of displaced programs when last seen
    points: dict[int, Point] = field(default_factory=dict)
    dominated: dict[int, tuple[int, ...]] = field(default_factory=dict)  # by the id that did
    redone: bool = False  # the front was worked out anew at the last update


@dataclass
class Pareto:
    """Uniform choice on the Pareto front of the named objectives."""

    objective: Objective = "maximize"  # the score's, for candidates without the metrics
    objectives: Mapping[str, str] = field(default_factory=dict)
    k: int = 2
    failures: int = 2
    state: _Front = field(default_factory=_Front, compare=False, repr=False)

    def point(self, candidate: Candidate) -> tuple[float, ...] | None:
        """The candidate's objective values, each signed so that higher is better."""
        values = []
        for name, direction in sorted(self.objectives.items()):
            value = candidate.evaluation.metrics.get(name)
            if value is None or not math.isfinite(value):  # (inf or nan: off the front)
                return None
            values.append(signed(cast(Objective, direction), value))
        return tuple(values)

    def front(self, population: Pool) -> list[Candidate]:
        """The non-dominated distinct programs, in id order."""
        pool = as_population(population, self.objective)
        self._follow(pool, len(pool))
        return [pool.get(i) for i in sorted(self.state.points)]

    def keeps(self) -> set[int]:
        """The front (what `select` draws)."""
        return set(self.state.points)

    def tell(self, added: Added, population: Population) -> FrontPlacement:
        """Put the hypothesis on the front when nothing there dominates it."""
        self._follow(population, added.index + 1)
        state, found = self.state, added.candidate.id
        members = tuple(sorted(state.points)) if state.redone else None
        dominated = state.dominated.pop(found, ())
        return FrontPlacement(found in state.points, dominated, members)

    def _follow(self, pool: Population, upto: int) -> None:
        """Bring the front up to date with the members before `upto`."""
        state = self.state
        anew, untold = state.untold(pool, upto)
        state.redone = False
        if anew or state.replaced != pool.replaced:  # (a displaced program leaves the front)
            self.state = state = _Front(pool, upto, pool.replaced, redone=True)
            untold = pool.members[:upto]
        front = state.points
        state.dominated.clear()
        for candidate in untold:
            p = self.point(candidate) if pool.ranks(candidate) else None
            if p is None or any(_dominates(q, p) for q in front.values()):
                continue
            off = tuple(i for i, q in front.items() if _dominates(p, q))
            for other in off:
                del front[other]
            front[candidate.id] = p
            if off:
                state.dominated[candidate.id] = off

    def select(self, population: Pool, rng: random.Random) -> Selection:
        """A random front member as parent, the front members closest to it as inspirations."""
        population = as_population(population, self.objective)
        front = self.front(population)
        if not front:  # no candidate reports the objectives: fall back to the best score
            ranked = ranked_distinct(population, self.objective)
            return Selection(
                ranked[0], tuple(ranked[1 : self.k]), recent_failures(population, self.failures)
            )
        parent = front[rng.randrange(len(front))]
        here = self.point(parent)
        assert here is not None
        others = sorted(
            (c for c in front if c.id != parent.id),
            key=lambda c: (
                sum(abs(a - b) for a, b in zip(self.point(c) or here, here, strict=True)),
                c.id,
            ),
        )
        return Selection(
            parent, tuple(others[: self.k - 1]), recent_failures(population, self.failures)
        )


def _dominates(q: tuple[float, ...], p: tuple[float, ...]) -> bool:
    """True when point q is at least as good as p in every objective and differs from it."""
    return q != p and all(b >= a for a, b in zip(p, q, strict=True))


def make(search: SearchConfig, objective: Objective) -> Pareto:
    """`pareto` over `[search] objectives`."""
    return Pareto(objective, search.objectives, search.top_k, search.failures_shown)
