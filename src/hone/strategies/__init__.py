"""Choosing what goes back to the model: the `Strategy` protocol, greedy top-k, and the
registry of strategies.

Adding a strategy: a module with ``make(search, objective) -> Strategy``, one line in
`STRATEGIES` and its name in `hone.settings.StrategyName` (the settings check and the CLI's
choices come from that).

A strategy that keeps state of its own draws from hypotheses the population need not hold in
memory in a long run (an island's best, a cell's elite, the front): it says which (`keeps`),
and the population keeps them there; any other it asks for is read from the store.

A strategy is asked (`select`) and told (`tell`), as pyribs' ask/tell and FunSearch's
`register_program`: the loop tells it of every registered hypothesis, in order (a resumed run
tells it of the stored ones again, in id order), so that a strategy with state of its own
(islands, cells, a front) keeps it up to date as hypotheses come, and says where it placed
each one (`Placement`, which the store keeps and the dashboard draws). It chooses from the
run's `Population`, whose ranking and failures are kept up to date too, so that choosing costs
about the same at a hundred hypotheses or a hundred thousand (`benchmarks/scale.py`); a plain
list of candidates works as well (tests): the strategy is told of it then and there.
"""

from __future__ import annotations

import dataclasses
import importlib
import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol, TypeAlias

from hone.objective import Objective, signed
from hone.population import Added, Candidate, Population
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
    copies: int = 0  # the newest model answers that copied an evaluated program (population)

    def whole(self, full: Callable[[Candidate], Candidate]) -> Selection:
        """The selection with the programs a prompt shows brought back (`Population.full`)."""
        return replace(
            self, parent=full(self.parent), inspirations=tuple(map(full, self.inspirations))
        )


Pool: TypeAlias = Population | Sequence[Candidate]  # what a strategy chooses from


@dataclass(frozen=True)
class Placement:
    """Where a strategy put a hypothesis when it was told of it (the store keeps it as JSON,
    the dashboard draws it). This base is "nowhere in particular" (top-k, weighted)."""

    def as_json(self) -> dict[str, Any]:
        """The placement as the store keeps it: its fields, those left unset aside."""
        return {
            k: v
            for k, v in dataclasses.asdict(self).items()
            if v is not None and v != () and v != {}
        }


NOWHERE = Placement()


class Strategy(Protocol):
    """Picks the candidates a prompt shows the model, and is told of each outcome."""

    def select(self, population: Pool, rng: random.Random) -> Selection:
        """Choose from the evaluated population (at least one candidate has a score)."""
        ...

    def tell(self, added: Added, population: Population) -> Placement:
        """Take in a hypothesis just registered in `population` (what `Population.add`
        returned); where it was placed."""
        ...


class Keeps(Protocol):
    """A strategy that draws from hypotheses beyond the population's best and newest."""

    def keeps(self) -> Iterable[int]:
        """The ids of the hypotheses it may draw next (kept in memory by the population)."""
        ...


@dataclass
class Following:
    """Which population a strategy's state follows, and how many of its members it has been
    told of: a strategy handed a population it was not told of (a list, in tests) is told of
    its members then, in order."""

    of: Population | None = None
    told: int = 0

    def untold(self, population: Population, upto: int) -> tuple[bool, list[Candidate]]:
        """The members before `upto` not told yet, and True first when the state follows
        another population (it must start anew, and the members are all of them)."""
        anew = self.of is not population
        if anew:
            self.of, self.told = population, 0
        members = population.members[self.told : upto] if upto > self.told else []
        self.told = max(self.told, upto)
        return anew, members


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

    def tell(self, added: Added, population: Population) -> Placement:
        """Nothing to keep: the population's ranking is all top-k needs."""
        return NOWHERE


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
    "NOWHERE",
    "STRATEGIES",
    "Following",
    "Keeps",
    "Placement",
    "Pool",
    "Selection",
    "Strategy",
    "TopK",
    "as_population",
    "make_strategy",
    "ranked_distinct",
    "recent_failures",
]
