"""Choosing what goes back to the model: the `Strategy` protocol and greedy top-k."""

from __future__ import annotations

import functools
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from hone.config import Objective, SearchConfig
from hone.store import Candidate


@dataclass(frozen=True)
class Selection:
    """What one prompt shows: the parent to improve, other good programs, recent failures."""

    parent: Candidate
    inspirations: tuple[Candidate, ...] = ()
    failures: tuple[Candidate, ...] = ()
    niche: int | None = None  # the island or cell the new hypothesis will belong to


class Strategy(Protocol):
    """Picks the candidates a prompt shows the model."""

    def select(self, population: Sequence[Candidate], rng: random.Random) -> Selection:
        """Choose from the evaluated population (at least one candidate has a score)."""
        ...


@dataclass(frozen=True)
class TopK:
    """Greedy: improve the best program, shown with the next best and the latest failures."""

    objective: Objective = "maximize"
    k: int = 2
    failures: int = 2

    def select(self, population: Sequence[Candidate], rng: random.Random) -> Selection:
        """The best `k` distinct programs (best is the parent) and the newest failures."""
        ranked = ranked_distinct(population, self.objective)
        if not ranked:
            raise ValueError("no candidate has a score yet")
        failed = recent_failures(population, self.failures)
        return Selection(ranked[0], tuple(ranked[1 : self.k]), failed)


def ranked_distinct(population: Sequence[Candidate], objective: Objective) -> list[Candidate]:
    """Scored candidates best first; among equal programs only the earliest is kept."""
    sign = -1.0 if objective == "maximize" else 1.0
    keyed = [
        (sign * e.score, c.id, c)
        for c in population
        if (e := c.evaluation).status == "ok" and e.score is not None
    ]
    keyed.sort(key=lambda item: item[:2])
    scored = [c for *_, c in keyed]
    seen: set[str] = set()
    result = []
    for c in scored:
        key = _layout_free(c.code or "")
        if key not in seen:
            seen.add(key)
            result.append(c)
    return result


def recent_failures(population: Sequence[Candidate], n: int) -> tuple[Candidate, ...]:
    """The `n` newest failed hypotheses, newest first."""
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
    name = search.strategy
    if name == "top-k":
        return TopK(objective, search.top_k, search.failures_shown)
    if name in ("weighted", "power-law"):
        from hone.strategies.weighted import Weighted

        power = 1.0 if name == "power-law" else 0.0
        return Weighted(objective, search.top_k, search.failures_shown, power=power)
    if name == "pareto":
        from hone.strategies.pareto import Pareto

        return Pareto(objective, search.objectives, search.top_k, search.failures_shown)
    if name == "islands":
        from hone.strategies.islands import Islands

        return Islands(
            objective, search.islands, search.reset_every, search.top_k, search.failures_shown
        )
    from hone.strategies.map_elites import MapElites

    return MapElites(objective, search.features, search.top_k, search.failures_shown)


@functools.lru_cache(maxsize=4096)
def _layout_free(code: str) -> str:
    return "\n".join(line.rstrip() for line in code.strip().splitlines())


__all__ = [
    "Selection",
    "Strategy",
    "TopK",
    "make_strategy",
    "ranked_distinct",
    "recent_failures",
]
