"""FunSearch's islands: separate populations that evolve apart, the weaker half reset.

Every hypothesis is assigned an island at random; its parent and inspirations come from that
island only, and it joins that island (its `niche`). The starting program belongs to every
island. Every `reset_every` hypotheses, the islands whose best score is in the weaker half
are emptied and re-seeded with the best program of a randomly chosen surviving island, which
keeps diversity while letting good lineages spread.

The islands follow from the population in id order (each select brings them up to date with
the hypotheses registered since the last one), so a resumed run sees the same islands it had.
"""

from __future__ import annotations

import bisect
import random
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from hone.objective import Objective, signed
from hone.population import Candidate, Population
from hone.strategies import Pool, Selection, as_population, ranked_distinct

if TYPE_CHECKING:
    from hone.settings import SearchConfig


@dataclass
class _Island:
    """One island: its distinct scored programs best first (as (sort key, id)), its
    failures, and every member."""

    order: list[tuple[float, int]] = field(default_factory=list)
    keys: dict[str, tuple[float, int]] = field(default_factory=dict)
    failed: list[int] = field(default_factory=list)
    joined: list[int] = field(default_factory=list)  # every member, in the order it joined

    def add(self, candidate: Candidate, objective: Objective) -> None:
        self.joined.append(candidate.id)
        if candidate.score is None:
            if not candidate.evaluation.ok:
                self.failed.append(candidate.id)
            return
        entry = (-signed(objective, candidate.score), candidate.id)
        same = self.keys.get(candidate.key) if candidate.key else None
        if same is not None:
            if same < entry:
                return
            del self.order[bisect.bisect_left(self.order, same)]
        bisect.insort(self.order, entry)
        if candidate.key:
            self.keys[candidate.key] = entry


@dataclass(frozen=True)
class Islands:
    """Greedy search within randomly chosen islands, with periodic resets."""

    objective: Objective = "maximize"
    count: int = 4
    reset_every: int = 40
    k: int = 2
    failures: int = 2
    seed: int = 0  # for the choice of which island re-seeds a reset one
    # what the islands were after the first `seen` members of `of` (kept up to date)
    _state: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def members(self, population: Pool) -> list[list[Candidate]]:
        """The candidates of each island, after every reset so far, in the order they
        joined."""
        pool = as_population(population, self.objective)
        return [[pool.get(i) for i in island.joined] for island in self._islands(pool)]

    def _islands(self, pool: Population) -> list[_Island]:
        """The islands, brought up to date with the members registered since last time."""
        state = self._state
        founders = sum(1 for c in pool.members[state.get("seen", 0) :] if c.niche is None)
        if state.get("of") is not pool or founders:  # a new population, or a new founder
            state.update(of=pool, seen=0, placed=0, islands=[_Island() for _ in range(self.count)])
            for island in state["islands"]:
                for candidate in pool.members:
                    if candidate.niche is None:
                        island.add(candidate, self.objective)
        islands: list[_Island] = state["islands"]
        for candidate in pool.members[state["seen"] :]:
            if candidate.niche is None or not 0 <= candidate.niche < self.count:
                continue
            islands[candidate.niche].add(candidate, self.objective)
            state["placed"] += 1
            if state["placed"] % self.reset_every == 0:
                self._reset(islands, state["placed"], pool)
        state["seen"] = len(pool.members)
        return islands

    def select(self, population: Pool, rng: random.Random) -> Selection:
        """Pick an island at random, then its best program and the next best."""
        pool = as_population(population, self.objective)
        islands = self._islands(pool)
        number = rng.randrange(self.count)
        island = islands[number]
        ranked = [pool.get(i) for _, i in island.order[: self.k]]
        if not ranked:  # a reset island whose seed has no score cannot happen; be safe
            ranked = ranked_distinct(pool, self.objective)[: self.k]
        failed = tuple(pool.get(i) for i in reversed(island.failed[-self.failures :]))
        return Selection(
            ranked[0],
            tuple(ranked[1 : self.k]),
            failed if self.failures > 0 else (),
            niche=number,
        )

    def _reset(self, islands: list[_Island], placed: int, pool: Population) -> None:
        bests = [island.order[:1] for island in islands]
        order = sorted(
            range(self.count), key=lambda i: (bests[i][0][0], i) if bests[i] else (float("inf"), i)
        )  # best island first
        keep, reset = order[: (self.count + 1) // 2], order[(self.count + 1) // 2 :]
        chooser = random.Random(self.seed * 1_000_003 + placed)
        for number in reset:
            donor = bests[chooser.choice(keep)]
            fresh = _Island()
            for _, candidate_id in donor:
                fresh.add(pool.get(candidate_id), self.objective)
            islands[number] = fresh


def make(search: SearchConfig, objective: Objective) -> Islands:
    """`islands` (FunSearch)."""
    return Islands(
        objective, search.islands, search.reset_every, search.top_k, search.failures_shown
    )
