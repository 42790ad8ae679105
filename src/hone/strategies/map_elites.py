"""MAP-Elites (as in AlphaEvolve): keep the best program of every cell of a feature grid.

The features are metrics the evaluator returns, each cut into bins (`[search] features =
{metric = [low, high, bins]}`, or ``[bins]`` for a range that follows the values seen so far,
as OpenEvolve scales its features). Three are built in, used when the evaluator does not
report them (OpenEvolve's): ``complexity``, the program's length in characters; ``score``;
and ``diversity``, the program's mean distance (length, lines, characters used) to a
reference set of up to 20 programs. A hypothesis improves the elite of a randomly chosen
occupied cell and is shown the elites of the neighbouring cells as inspirations, so the search
keeps programs that are good in different ways instead of only the best one.
"""

from __future__ import annotations

import bisect
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from hone.objective import Objective, signed
from hone.population import Candidate, Population
from hone.strategies import Pool, Selection, as_population, ranked_distinct, recent_failures

if TYPE_CHECKING:
    from hone.settings import SearchConfig

Cell = tuple[int, ...]
BUILT_IN = ("complexity", "diversity", "score")
REFERENCE_SIZE = 20  # programs the diversity feature is measured against


@dataclass(frozen=True)
class MapElites:
    """Uniform choice among occupied cells; the elites of nearby cells as inspirations."""

    objective: Objective = "maximize"
    features: Mapping[str, Sequence[float]] = field(default_factory=dict)
    k: int = 2
    failures: int = 2
    # the grid after the first `seen` members of `of` (kept up to date)
    _state: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    _shapes: dict[str, tuple[int, int, frozenset[str]]] = field(
        default_factory=dict, compare=False, repr=False
    )

    def cell(self, candidate: Candidate, population: Sequence[Candidate] = ()) -> Cell | None:
        """The grid cell of a candidate among `population` (which sets the ranges that follow
        the values seen, and diversity's reference set); None when a feature is missing."""
        return self._cells([candidate], population or [candidate]).get(candidate.id)

    def elites(self, population: Pool) -> dict[Cell, Candidate]:
        """The best candidate of every occupied cell."""
        pool = as_population(population, self.objective)
        return {cell: pool.get(entry[1]) for cell, entry in self._grid(pool).items()}

    def _grid(self, pool: Population) -> dict[Cell, tuple[float, int]]:
        """Each occupied cell's elite as (sort key, id), brought up to date with the members
        registered since the last call: each program's feature values are worked out once,
        and the grid is rebuilt only when a range that follows the values grows or the
        diversity feature's reference set changes."""
        state = self._state
        if state.get("of") is not pool or state.get("replaced") != pool.replaced:
            state.clear()
            state.update(of=pool, replaced=pool.replaced, seen=0, reference=[], ranges=None)
            state.update(vectors={}, grid={}, low={}, high={})
        vectors: dict[int, tuple[float, ...] | None] = state["vectors"]
        new = [c for c in pool.members[state["seen"] :] if pool.ranks(c)]
        state["seen"] = len(pool.members)
        reference: list[int] = state["reference"]  # the first REFERENCE_SIZE ranked, by id
        grown = False
        for candidate in new:
            if len(reference) < REFERENCE_SIZE:
                bisect.insort(reference, candidate.id)
                grown = True
        rebuild = grown and "diversity" in self.features
        if rebuild:  # every distance is to the reference set: all anew
            vectors.clear()
            state["low"], state["high"] = {}, {}
            new = list(pool.ranked)
        code = "complexity" in self.features or "diversity" in self.features
        if code and (grown or "shown" not in state):
            state["shown"] = [pool.full(pool.get(i)) for i in reference]
        shown: list[Candidate] = state.get("shown", []) if code else []
        low, high = state["low"], state["high"]
        for candidate in new:
            vector = self._vector(pool.full(candidate) if code else candidate, shown)
            vectors[candidate.id] = vector
            for i, value in enumerate(vector or ()):
                low[i], high[i] = min(low.get(i, value), value), max(high.get(i, value), value)
        ranges = self._ranges(low, high)
        grid: dict[Cell, tuple[float, int]] = state["grid"]
        if rebuild or ranges != state["ranges"]:
            state["ranges"] = ranges
            grid.clear()
            new = [pool.get(i) for i in vectors]
        for candidate in new:
            vector = vectors.get(candidate.id)
            if vector is None or candidate.score is None:
                continue
            cell = tuple(_bin(v, *r) for v, r in zip(vector, ranges, strict=True))
            entry = (-signed(self.objective, candidate.score), candidate.id)
            if cell not in grid or entry < grid[cell]:
                grid[cell] = entry
        return grid

    def _vector(
        self, candidate: Candidate, reference: Sequence[Candidate]
    ) -> tuple[float, ...] | None:
        found = [self._value(name, candidate, reference) for name in sorted(self.features)]
        if any(v is None for v in found):
            return None
        return tuple(float(v) for v in found if v is not None)

    def _ranges(
        self, low: dict[int, float], high: dict[int, float]
    ) -> tuple[tuple[float, float, int], ...]:
        ranges = []
        for i, name in enumerate(sorted(self.features)):
            spec = self.features[name]
            if len(spec) == 3:
                ranges.append((float(spec[0]), float(spec[1]), int(spec[2])))
            else:  # the range of the values seen so far
                ranges.append((low.get(i, 0.0), high.get(i, 0.0), int(spec[0])))
        return tuple(ranges)

    def _cells(
        self, candidates: Sequence[Candidate], population: Sequence[Candidate]
    ) -> dict[int, Cell]:
        names = sorted(self.features)
        reference = sorted(population, key=lambda c: c.id)[:REFERENCE_SIZE]
        values: dict[int, list[float]] = {}
        for candidate in {c.id: c for c in (*candidates, *population)}.values():
            found = [self._value(name, candidate, reference) for name in names]
            if all(v is not None for v in found):
                values[candidate.id] = [float(v) for v in found if v is not None]
        cells: dict[int, Cell] = {}
        ranges = []
        for i, name in enumerate(names):
            spec = self.features[name]
            if len(spec) == 3:
                ranges.append((float(spec[0]), float(spec[1]), int(spec[2])))
            else:  # the range of the values seen so far
                seen = [v[i] for v in values.values()] or [0.0]
                ranges.append((min(seen), max(seen), int(spec[0])))
        for candidate in candidates:
            vector = values.get(candidate.id)
            if vector is not None:
                cells[candidate.id] = tuple(
                    _bin(value, low, high, bins)
                    for value, (low, high, bins) in zip(vector, ranges, strict=True)
                )
        return cells

    def _value(
        self, name: str, candidate: Candidate, reference: Sequence[Candidate]
    ) -> float | None:
        value = candidate.evaluation.metrics.get(name)
        if value is not None or name not in BUILT_IN:
            return value
        code = candidate.code or ""
        if name == "complexity":
            return float(len(code))
        if name == "score":
            return candidate.score
        others = [c for c in reference if c.id != candidate.id and c.code != code]
        if not others:
            return 0.0
        mine = self._shape(code)
        return sum(_distance(mine, self._shape(c.code or "")) for c in others) / len(others)

    def _shape(self, code: str) -> tuple[int, int, frozenset[str]]:
        shape = self._shapes.get(code)
        if shape is None:
            shape = self._shapes[code] = (len(code), code.count("\n"), frozenset(code))
        return shape

    def select(self, population: Pool, rng: random.Random) -> Selection:
        """A random occupied cell's elite as parent, its nearest neighbours' as inspirations."""
        population = as_population(population, self.objective)
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


def _bin(value: float, low: float, high: float, bins: int) -> int:
    scaled = (value - low) / (high - low) if high > low else 0.5
    return min(max(int(scaled * bins), 0), bins - 1)


def _distance(a: tuple[int, int, frozenset[str]], b: tuple[int, int, frozenset[str]]) -> float:
    """OpenEvolve's cheap program distance: length, line count and the characters used."""
    return 0.1 * abs(a[0] - b[0]) + 10.0 * abs(a[1] - b[1]) + 0.5 * len(a[2] ^ b[2])
