"""A Pareto front for tasks with several objectives, each a metric the evaluator returns.

`[search] objectives = {speed = "maximize", size = "minimize"}` names them. A program is on the
front when no other program is at least as good in every objective and better in one; the
parent is drawn uniformly from the front, and the front members nearest to it (by rank in each
objective) are shown as inspirations.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from hone.objective import Objective, signed
from hone.population import Candidate
from hone.strategies import Pool, Selection, as_population, ranked_distinct, recent_failures

if TYPE_CHECKING:
    from hone.settings import SearchConfig


@dataclass(frozen=True)
class Pareto:
    """Uniform choice on the Pareto front of the named objectives."""

    objective: Objective = "maximize"  # the score's, for candidates without the metrics
    objectives: Mapping[str, str] = field(default_factory=dict)
    k: int = 2
    failures: int = 2
    # the front after the first `seen` members of `of` (kept up to date)
    _state: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def point(self, candidate: Candidate) -> tuple[float, ...] | None:
        """The candidate's objective values, each signed so that higher is better."""
        values = []
        for name, direction in sorted(self.objectives.items()):
            value = candidate.evaluation.metrics.get(name)
            if value is None:
                return None
            values.append(signed(cast(Objective, direction), value))
        return tuple(values)

    def front(self, population: Pool) -> list[Candidate]:
        """The non-dominated distinct programs, in id order."""
        pool = as_population(population, self.objective)
        state = self._state
        if state.get("of") is not pool or state.get("replaced") != pool.replaced:
            state.update(of=pool, replaced=pool.replaced, seen=0, front={})
        front: dict[int, tuple[float, ...]] = state["front"]  # id: point
        for candidate in pool.members[state["seen"] :]:
            p = self.point(candidate) if pool.ranks(candidate) else None
            if p is None or any(_dominates(q, p) for q in front.values()):
                continue
            for other in [i for i, q in front.items() if _dominates(p, q)]:
                del front[other]
            front[candidate.id] = p
        state["seen"] = len(pool.members)
        return [pool.get(i) for i in sorted(front)]

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
