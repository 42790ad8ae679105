"""MAP-Elites (as in AlphaEvolve): keep the best program of every cell of a feature grid.

The features are metrics the evaluator returns, each cut into bins (`[search] features =
{metric = [low, high, bins]}`). A hypothesis improves the elite of a randomly chosen occupied
cell and is shown the elites of the neighbouring cells as inspirations, so the search keeps
programs that are good in different ways instead of only the best one.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from hone.objective import Objective
from hone.population import Candidate
from hone.strategies import Selection, ranked_distinct, recent_failures

if TYPE_CHECKING:
    from hone.settings import SearchConfig

Cell = tuple[int, ...]


@dataclass(frozen=True)
class MapElites:
    """Uniform choice among occupied cells; the elites of nearby cells as inspirations."""

    objective: Objective = "maximize"
    features: Mapping[str, Sequence[float]] = field(default_factory=dict)
    k: int = 2
    failures: int = 2

    def cell(self, candidate: Candidate) -> Cell | None:
        """The grid cell of a candidate (None when a feature metric is missing)."""
        index = []
        for name, (low, high, bins) in sorted(self.features.items()):
            value = candidate.evaluation.metrics.get(name)
            if value is None:
                return None
            n = int(bins)
            index.append(min(max(int((value - low) / (high - low) * n), 0), n - 1))
        return tuple(index)

    def elites(self, population: Sequence[Candidate]) -> dict[Cell, Candidate]:
        """The best candidate of every occupied cell."""
        grid: dict[Cell, Candidate] = {}
        for candidate in ranked_distinct(population, self.objective):  # best first
            cell = self.cell(candidate)
            if cell is not None and cell not in grid:
                grid[cell] = candidate
        return grid

    def select(self, population: Sequence[Candidate], rng: random.Random) -> Selection:
        """A random occupied cell's elite as parent, its nearest neighbours' as inspirations."""
        grid = self.elites(population)
        if not grid:  # no candidate reports the features: fall back to the best
            ranked = ranked_distinct(population, self.objective)
            return Selection(
                ranked[0], tuple(ranked[1 : self.k]), recent_failures(population, self.failures)
            )
        cells = sorted(grid)
        here = cells[rng.randrange(len(cells))]
        near = sorted(
            (c for c in cells if c != here),
            key=lambda c: (sum(abs(a - b) for a, b in zip(c, here, strict=True)), c),
        )
        return Selection(
            grid[here],
            tuple(grid[c] for c in near[: self.k - 1]),
            recent_failures(population, self.failures),
        )


def make(search: SearchConfig, objective: Objective) -> MapElites:
    """`map-elites` (AlphaEvolve) over `[search] features`."""
    return MapElites(objective, search.features, search.top_k, search.failures_shown)
