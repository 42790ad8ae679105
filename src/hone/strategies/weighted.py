"""ShinkaEvolve-style parent selection: weighted by score, with a bonus for rarely-used parents
(or, with `power`, by rank alone: the i-th best is drawn with weight i ** -power).

Each of the best POOL distinct scored programs gets weight ``sigmoid(lam * (s - median) / spread) / (1 + children)``
where ``s`` is its score signed so that higher is better, ``spread`` the interquartile range
of the scores and ``children`` how many hypotheses have used it as their parent so far. Good
programs are chosen often, but a good program that has been tried many times yields to one
that has not, so the search does not collapse onto the single best.
"""

from __future__ import annotations

import math
import random
import statistics
from dataclasses import dataclass
from typing import TYPE_CHECKING

from hone.objective import Objective, signed
from hone.population import Added, Candidate, Population
from hone.strategies import (
    NOWHERE,
    Placement,
    Pool,
    Selection,
    as_population,
    recent_failures,
)

if TYPE_CHECKING:
    from hone.settings import SearchConfig


POOL = 100  # parents are drawn from the best POOL distinct programs (an archive, as ShinkaEvolve's)


@dataclass(frozen=True)
class Weighted:
    """Sample the parent by score and novelty; show the best others as inspirations."""

    objective: Objective = "maximize"
    k: int = 2
    failures: int = 2
    sharpness: float = 10.0  # lam: how strongly the score decides
    power: float = 0.0  # > 0: weight rank ** -power instead (power-law, by rank only)

    def weights(self, population: Pool) -> list[tuple[Candidate, float]]:
        """Each of the best POOL distinct scored candidates with its selection weight (not
        normalised)."""
        population = as_population(population, self.objective)
        ranked = population.ranked[:POOL]
        if not ranked:
            raise ValueError("no candidate has a score yet")
        if self.power > 0:
            return [(c, (rank + 1) ** -self.power) for rank, c in enumerate(ranked)]
        scores = [signed(self.objective, c.score or 0.0) for c in ranked]
        middle = statistics.median(scores)
        if len(scores) >= 4:
            q1, _, q3 = statistics.quantiles(scores, n=4)
            spread = q3 - q1
        else:
            spread = max(scores) - min(scores)
        spread = spread or 1.0
        children = population.children
        return [
            (c, _sigmoid(self.sharpness * (s - middle) / spread) / (1 + children[c.id]))
            for c, s in zip(ranked, scores, strict=True)
        ]

    def select(self, population: Pool, rng: random.Random) -> Selection:
        """A weighted draw of the parent; the best other programs as inspirations."""
        population = as_population(population, self.objective)
        weighted = self.weights(population)
        total = sum(w for _, w in weighted)
        pick = rng.random() * total
        parent = weighted[-1][0]
        for candidate, weight in weighted:
            pick -= weight
            if pick < 0:
                parent = candidate
                break
        others = tuple(c for c, _ in weighted if c.id != parent.id)[: self.k - 1]
        return Selection(parent, others, recent_failures(population, self.failures))

    def tell(self, added: Added, population: Population) -> Placement:
        """Nothing to keep: the population's ranking and children counts are all it needs."""
        return NOWHERE


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(min(x, 60.0), -60.0)))


def make(search: SearchConfig, objective: Objective) -> Weighted:
    """`weighted` (ShinkaEvolve) or `power-law` (weight 1/rank)."""
    power = 1.0 if search.strategy == "power-law" else 0.0
    return Weighted(objective, search.top_k, search.failures_shown, power=power)
