"""FunSearch's islands: separate populations that evolve apart, the weaker half reset.

Every hypothesis is assigned an island at random; its parent and inspirations come from that
island only, and it joins that island (its `niche`). The starting program belongs to every
island. Every `reset_every` hypotheses, the islands whose best score is in the weaker half
are emptied and re-seeded with the best program of a randomly chosen surviving island, which
keeps diversity while letting good lineages spread.

The islands are recomputed from the population each time (in id order), so a resumed run sees
the same islands it had.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from hone.objective import Objective, signed
from hone.population import Candidate
from hone.strategies import Selection, ranked_distinct, recent_failures

if TYPE_CHECKING:
    from hone.settings import SearchConfig


@dataclass(frozen=True)
class Islands:
    """Greedy search within randomly chosen islands, with periodic resets."""

    objective: Objective = "maximize"
    count: int = 4
    reset_every: int = 40
    k: int = 2
    failures: int = 2
    seed: int = 0  # for the choice of which island re-seeds a reset one

    def members(self, population: Sequence[Candidate]) -> list[list[Candidate]]:
        """The candidates of each island, after every reset so far."""
        islands: list[list[Candidate]] = [[] for _ in range(self.count)]
        founders = [c for c in population if c.niche is None]
        for island in islands:
            island.extend(founders)
        placed = 0
        for candidate in population:
            if candidate.niche is None or not 0 <= candidate.niche < self.count:
                continue
            islands[candidate.niche].append(candidate)
            placed += 1
            if placed % self.reset_every == 0:
                self._reset(islands, placed)
        return islands

    def select(self, population: Sequence[Candidate], rng: random.Random) -> Selection:
        """Pick an island at random, then its best program and the next best."""
        islands = self.members(population)
        number = rng.randrange(self.count)
        ranked = ranked_distinct(islands[number], self.objective)
        if not ranked:  # a reset island whose seed has no score cannot happen; be safe
            ranked = ranked_distinct(population, self.objective)
        return Selection(
            ranked[0],
            tuple(ranked[1 : self.k]),
            recent_failures(islands[number], self.failures),
            niche=number,
        )

    def _reset(self, islands: list[list[Candidate]], placed: int) -> None:
        bests = [ranked_distinct(island, self.objective)[:1] for island in islands]
        order = sorted(
            range(self.count),
            key=lambda i: (
                (-signed(self.objective, bests[i][0].score or 0.0), i)
                if bests[i]
                else (float("inf"), i)
            ),
        )  # best island first
        keep, reset = order[: (self.count + 1) // 2], order[(self.count + 1) // 2 :]
        chooser = random.Random(self.seed * 1_000_003 + placed)
        for number in reset:
            donor = bests[chooser.choice(keep)]
            islands[number] = list(donor)


def make(search: SearchConfig, objective: Objective) -> Islands:
    """`islands` (FunSearch)."""
    return Islands(
        objective, search.islands, search.reset_every, search.top_k, search.failures_shown
    )
