"""Choosing what goes back to the model: the `Strategy` protocol, greedy top-k, and the
registry of strategies.

Adding a strategy: a module with ``make(search, objective) -> Strategy``, one line in
`STRATEGIES` and its name in `hone.settings.StrategyName` (the settings check and the CLI's
choices come from that).

A strategy gets the run's `Population`, whose ranking and failures are kept up to date as
hypotheses come in, so that choosing costs about the same at a hundred hypotheses or a
hundred thousand (`benchmarks/scale.py`); a plain list of candidates works too (tests).
"""

from __future__ import annotations

import importlib
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Protocol, TypeAlias

from hone.objective import Objective, signed
from hone.population import Candidate, Population
from hone.settings import SearchConfig, StrategyName

STRATEGIES: dict[StrategyName, str] = {
    "top-k": "hone.strategies",
    "weighted": "hone.strategies.weighted",
    "power-law": "hone.strategies.weighted",
    "islands": "hone.strategies.islands",
    "map-elites": "hone.strategies.map_elites",
    "pareto": "hone.strategies.pareto",
}


@dataclass(frozen=True)
class Selection:
    """What one prompt shows: the parent to improve, other good programs, recent failures."""

    parent: Candidate
    inspirations: tuple[Candidate, ...] = ()
    failures: tuple[Candidate, ...] = ()
    niche: int | None = None  # the island or cell the new hypothesis will belong to

    def whole(self, full: Callable[[Candidate], Candidate]) -> Selection:
        """The selection with the programs a prompt shows brought back (`Population.full`)."""
        return replace(
            self, parent=full(self.parent), inspirations=tuple(map(full, self.inspirations))
        )


Pool: TypeAlias = Population | Sequence[Candidate]  # what a strategy chooses from


class Strategy(Protocol):
    """Picks the candidates a prompt shows the model."""

    def select(self, population: Pool, rng: random.Random) -> Selection:
        """Choose from the evaluated population (at least one candidate has a score)."""
        ...


@dataclass(frozen=True)
class TopK:
    """Greedy: improve the best program, shown with the next best and the latest failures."""

    objective: Objective = "maximize"
    k: int = 2
    failures: int = 2

    def select(self, population: Pool, rng: random.Random) -> Selection:
        """The best `k` distinct programs (best is the parent) and the newest failures."""
        ranked = ranked_distinct(population, self.objective)
        if not ranked:
            raise ValueError("no candidate has a score yet")
        failed = recent_failures(population, self.failures)
        return Selection(ranked[0], tuple(ranked[1 : self.k]), failed)


def as_population(pool: Pool, objective: Objective) -> Population:
    """The pool as a `Population` (a list is registered into a new one)."""
    if isinstance(pool, Population):
        return pool
    from hone.novelty import NoveltyFilter

    return Population.of(objective, NoveltyFilter(), pool)


def ranked_distinct(population: Pool, objective: Objective) -> list[Candidate]:
    """Scored candidates best first; among equal programs only the earliest is kept (a
    population's own ranking: do not change it)."""
    if isinstance(population, Population):
        return population.ranked
    keyed = [
        (-signed(objective, e.score), c.id, c)
        for c in population
        if (e := c.evaluation).status == "ok" and e.score is not None
    ]
    keyed.sort(key=lambda item: item[:2])
    scored = [c for *_, c in keyed]
    seen: set[str] = set()
    result = []
    for c in scored:
        if c.key not in seen:
            seen.add(c.key)
            result.append(c)
    return result


def recent_failures(population: Pool, n: int) -> tuple[Candidate, ...]:
    """The `n` newest failed hypotheses, newest first."""
    if isinstance(population, Population):
        return population.recent_failures(n)
    if n <= 0:
        return ()
    found: list[Candidate] = []
    for c in reversed(population):
        if not c.evaluation.ok:
            found.append(c)
            if len(found) == n:
                break
    return tuple(found)


def make_strategy(search: SearchConfig, objective: Objective) -> Strategy:
    """The strategy `[search] strategy` names, with its settings."""
    module = importlib.import_module(STRATEGIES[search.strategy])
    strategy: Strategy = module.make(search, objective)
    return strategy


def make(search: SearchConfig, objective: Objective) -> TopK:
    """`top-k`."""
    return TopK(objective, search.top_k, search.failures_shown)


__all__ = [
    "STRATEGIES",
    "Pool",
    "Selection",
    "Strategy",
    "TopK",
    "as_population",
    "make_strategy",
    "ranked_distinct",
    "recent_failures",
]
