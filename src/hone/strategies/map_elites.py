"""MAP-Elites (as in AlphaEvolve): keep the best program of every cell of a feature grid.

The features are metrics the evaluator returns, each cut into bins (`[search] features =
{metric = [low, high, bins]}`, or ``[bins]`` for a range that follows the values seen so far,
as OpenEvolve scales its features). Three are built in, used when the evaluator does not
report them (OpenEvolve's): ``complexity``, the program's length in characters; ``score``;
and ``diversity``, the program's mean distance (length, lines, characters used) to a
reference set of up to 20 programs. A hypothesis improves the elite of a randomly chosen
occupied cell and is shown the elites of the neighbouring cells as inspirations, so the search
keeps programs that are good in different ways instead of only the best one. A program whose
feature is missing or not a finite number is on no cell.

The grid is kept up to date as the strategy is told of each hypothesis; each one's placement
says which cell it fell in, from which feature values, whether it became the cell's elite, and
(when the grid was worked out anew, as a range that follows the values grows) the whole grid.
"""

from __future__ import annotations

import bisect
import math
import random
from array import array
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

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

Cell = tuple[int, ...]
Range = tuple[float, float, int]  # low, high, bins
BUILT_IN = ("complexity", "diversity", "score")
REFERENCE_SIZE = 20  # programs the diversity feature is measured against


@dataclass(frozen=True)
class Elite:
    """One occupied cell of the grid: its best program and how many programs fell in it."""

    cell: Cell
    id: int
    programs: int


@dataclass(frozen=True)
class CellPlacement(Placement):
    """The cell a hypothesis fell in, the feature values it was worked out from, and the grid
    when it was worked out anew at this hypothesis."""

    cell: Cell | None = None  # None: off the grid (not scored, a copy, or a feature missing)
    features: dict[str, float | None] | None = None  # by name (None: not reported)
    elite: bool = False  # the best of its cell now
    ranges: tuple[Range, ...] = ()  # each feature's (low, high, bins), in name order
    grid: tuple[Elite, ...] | None = None  # every occupied cell, when the grid was redone


class _Vectors:
    """Each ranked program's feature values by id, in arrays (a few bytes a program, where a
    dict of tuples costs over a hundred): none yet, none (a feature missing), or a vector."""

    def __init__(self) -> None:
        self.state = array("B")  # by id: 0 none yet, 1 no vector, 2 a vector
        self.values: list[array[float]] = []  # one column per feature, by id

    def __contains__(self, candidate_id: int) -> bool:
        return 0 <= candidate_id < len(self.state) and self.state[candidate_id] > 0

    def get(self, candidate_id: int) -> tuple[float, ...] | None:
        """The program's vector (None: none, or a feature missing)."""
        if candidate_id not in self or self.state[candidate_id] == 1:
            return None
        return tuple(column[candidate_id] for column in self.values)

    def __setitem__(self, candidate_id: int, vector: tuple[float, ...] | None) -> None:
        if len(self.state) <= candidate_id:  # (grown at least twice over: growing is rare)
            more = max(candidate_id + 1 - len(self.state), len(self.state))
            self.state.extend(bytes(more))
            for column in self.values:
                column.extend(array("d", bytes(8 * more)))
        if vector is not None and len(self.values) < len(vector):
            self.values = [array("d", bytes(8 * len(self.state))) for _ in vector]
        self.state[candidate_id] = 1 if vector is None else 2
        for column, value in zip(self.values, vector or (), strict=False):
            column[candidate_id] = value

    def __iter__(self) -> Iterator[int]:
        return (i for i, state in enumerate(self.state) if state)

    def clear(self) -> None:
        """Forget every vector."""
        self.state, self.values = array("B"), []


@dataclass
class _Grid(Following):
    """The grid after the members told so far: each ranked program's feature values (worked
    out once), the ranges, every cell's elite as (sort key, id) and how many programs fell in
    each cell; the reference set of the diversity feature."""

    replaced: int = 0  # the population's count of displaced programs when last seen
    reference: list[int] = field(default_factory=list)  # the first REFERENCE_SIZE ranked, by id
    shown: list[Candidate] = field(default_factory=list)  # the reference programs, whole
    vectors: _Vectors = field(default_factory=_Vectors)
    low: dict[int, float] = field(default_factory=dict)
    high: dict[int, float] = field(default_factory=dict)
    ranges: tuple[Range, ...] | None = None
    elites: dict[Cell, tuple[float, int]] = field(default_factory=dict)
    counts: dict[Cell, int] = field(default_factory=dict)
    redone: bool = False  # the grid was worked out anew at the last update


@dataclass
class MapElites:
    """Uniform choice among occupied cells; the elites of nearby cells as inspirations."""

    objective: Objective = "maximize"
    features: Mapping[str, Sequence[float]] = field(default_factory=dict)
    k: int = 2
    failures: int = 2
    grid: _Grid = field(default_factory=_Grid, compare=False, repr=False)
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
        self._follow(pool, len(pool))
        return {cell: pool.get(entry[1]) for cell, entry in self.grid.elites.items()}

    def keeps(self) -> set[int]:
        """Every cell's elite (what `select` draws) and the diversity reference set."""
        return {entry[1] for entry in self.grid.elites.values()} | set(self.grid.reference)

    def tell(self, added: Added, population: Population) -> CellPlacement:
        """Put the hypothesis in its cell (when it ranks and has every feature)."""
        self._follow(population, added.index + 1)
        grid, candidate = self.grid, added.candidate
        assert grid.ranges is not None
        vector = grid.vectors.get(candidate.id)
        redone = (
            tuple(Elite(c, e[1], grid.counts.get(c, 0)) for c, e in sorted(grid.elites.items()))
            if grid.redone
            else None
        )
        if candidate.id not in grid.vectors:
            return CellPlacement(ranges=grid.ranges, grid=redone)
        names = sorted(self.features)
        if vector is None:  # a feature is missing: say which were there
            whole = population.full(candidate)
            found = {n: self._value(n, whole, grid.shown) for n in names}
            return CellPlacement(features=found, ranges=grid.ranges, grid=redone)
        cell = _cell(vector, grid.ranges)
        elite = grid.elites.get(cell, (0.0, -1))[1] == candidate.id
        values: dict[str, float | None] = dict(zip(names, vector, strict=True))
        return CellPlacement(cell, values, elite, grid.ranges, redone)

    def _follow(self, pool: Population, upto: int) -> None:
        """Bring the grid up to date with the members before `upto`: each program's feature
        values are worked out once, and the grid is worked out anew only when a range that
        follows the values grows or the diversity feature's reference set changes."""
        grid = self.grid
        anew, untold = grid.untold(pool, upto)
        grid.redone = False
        if anew or grid.replaced != pool.replaced:  # (a displaced program leaves the grid)
            self.grid = grid = _Grid(pool, upto, pool.replaced, redone=True)
            untold = pool.members[:upto]
        new = [c for c in untold if pool.ranks(c)]
        reference = grid.reference
        grown = False
        for candidate in new:
            if len(reference) < REFERENCE_SIZE:
                bisect.insort(reference, candidate.id)
                grown = True
        rebuild = grown and "diversity" in self.features
        if rebuild:  # every distance is to the reference set: all anew
            grid.vectors.clear()
            grid.low, grid.high = {}, {}
            new = pool.ranking()
        code = "complexity" in self.features or "diversity" in self.features
        if code and (grown or not grid.shown):
            grid.shown = [pool.full(pool.get(i)) for i in reference]
        shown = grid.shown if code else []
        low, high = grid.low, grid.high
        for candidate in new:
            vector = self._vector(pool.full(candidate) if code else candidate, shown)
            grid.vectors[candidate.id] = vector
            for i, value in enumerate(vector or ()):
                low[i], high[i] = min(low.get(i, value), value), max(high.get(i, value), value)
        ranges = self._ranges(low, high)
        if rebuild or ranges != grid.ranges:
            grid.ranges = ranges
            grid.elites.clear()
            grid.counts.clear()
            grid.redone = True
            scored = [(i, pool.score_of(i)) for i in grid.vectors]  # (none read from the store)
        else:
            scored = [(c.id, c.score) for c in new]
        for candidate_id, score in scored:
            vector = grid.vectors.get(candidate_id)
            if vector is None or score is None:
                continue
            cell = _cell(vector, ranges)
            entry = (-signed(self.objective, score), candidate_id)
            grid.counts[cell] = grid.counts.get(cell, 0) + 1
            if cell not in grid.elites or entry < grid.elites[cell]:
                grid.elites[cell] = entry

    def _vector(
        self, candidate: Candidate, reference: Sequence[Candidate]
    ) -> tuple[float, ...] | None:
        found = [self._value(name, candidate, reference) for name in sorted(self.features)]
        if any(v is None or not math.isfinite(v) for v in found):  # (inf or nan: no cell)
            return None
        return tuple(float(v) for v in found if v is not None)

    def _ranges(self, low: dict[int, float], high: dict[int, float]) -> tuple[Range, ...]:
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
        code = _text(candidate)
        if name == "complexity":
            return float(len(code))
        if name == "score":
            return candidate.score
        others = [c for c in reference if c.id != candidate.id and _text(c) != code]
        if not others:
            return 0.0
        mine = self._shape(code)
        return sum(_distance(mine, self._shape(_text(c))) for c in others) / len(others)

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


def _cell(vector: tuple[float, ...], ranges: tuple[Range, ...]) -> Cell:
    return tuple(_bin(v, *r) for v, r in zip(vector, ranges, strict=True))


def _bin(value: float, low: float, high: float, bins: int) -> int:
    scaled = (value - low) / (high - low) if high > low else 0.5
    return min(max(int(scaled * bins), 0), bins - 1)


def _distance(a: tuple[int, int, frozenset[str]], b: tuple[int, int, frozenset[str]]) -> float:
    """OpenEvolve's cheap program distance: length, line count and the characters used."""
    return 0.1 * abs(a[0] - b[0]) + 10.0 * abs(a[1] - b[1]) + 0.5 * len(a[2] ^ b[2])


def _text(candidate: Candidate) -> str:
    """The program as one text (`Tree.text`; "" when it has none in memory)."""
    return candidate.tree.text if candidate.tree is not None else ""
