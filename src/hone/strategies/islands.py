"""FunSearch's islands: separate populations that evolve apart, the weaker half reset.

Every hypothesis is assigned an island at random; its parent and inspirations come from that
island only, and it joins that island (its `niche`). The starting program belongs to every
island. Every `reset_every` hypotheses, the islands whose best score is in the weaker half
are emptied and re-seeded with the best program of a randomly chosen surviving island, which
keeps diversity while letting good lineages spread.

The islands are kept up to date as the strategy is told of each hypothesis (a resumed run is
told of the stored ones again, in id order, and sees the same islands it had); each one's
placement says which island it joined and which islands were reset after it.
"""

from __future__ import annotations

import bisect
import random
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
)

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
class Reset:
    """An island emptied and re-seeded with the best program of a surviving one."""

    island: int
    donor: int  # the surviving island
    seed: int | None  # the program it was re-seeded with (None: the donor had none scored)


@dataclass(frozen=True)
class IslandPlacement(Placement):
    """Which island a hypothesis joined, and the resets its arrival set off."""

    island: int | None = None  # None: a founder (on every island), or a niche the run lacks
    founder: bool = False  # a starting program: a member of every island
    resets: tuple[Reset, ...] = ()  # the weaker half, reset right after it joined
    rebuilt: bool = False  # a founder that came late: the islands were worked out anew


@dataclass
class _State(Following):
    """The islands, and how many hypotheses were placed on one (resets come every
    `reset_every` of them)."""

    islands: list[_Island] = field(default_factory=list)
    placed: int = 0
    resets: dict[int, tuple[Reset, ...]] = field(default_factory=dict)  # by the id setting them off
    stale: bool = False  # a founder came late: the islands are to be worked out anew


@dataclass
class Islands:
    """Greedy search within randomly chosen islands, with periodic resets."""

    objective: Objective = "maximize"
    count: int = 4
    reset_every: int = 40
    k: int = 2
    failures: int = 2
    seed: int = 0  # for the choice of which island re-seeds a reset one
    state: _State = field(default_factory=_State, compare=False, repr=False)

    def members(self, population: Pool) -> list[list[Candidate]]:
        """The candidates of each island, after every reset so far, in the order they
        joined."""
        pool = as_population(population, self.objective)
        self._follow(pool, len(pool))
        return [[pool.get(i) for i in island.joined] for island in self.state.islands]

    def keeps(self) -> set[int]:
        """Each island's best `k` and newest failures (what `select` draws)."""
        found: set[int] = set()
        for island in self.state.islands:
            found.update(i for _, i in island.order[: self.k])
            found.update(island.failed[-self.failures :] if self.failures > 0 else ())
        return found

    def tell(self, added: Added, population: Population) -> IslandPlacement:
        """Put the hypothesis on the island it was made for (a founder on every one); every
        `reset_every` placements, reset the weaker half."""
        candidate, state = added.candidate, self.state
        late = state.placed > 0 and state.of is population and state.told == added.index
        if candidate.niche is None and late:
            # A founder after others: the islands are worked out anew when next needed (one
            # rebuild for a run of them, as a resumed run's tuning trials of a founder come).
            state.told, state.stale = state.told + 1, True
            return IslandPlacement(founder=True, rebuilt=True)
        rebuilt = self._follow(population, added.index + 1)
        if candidate.niche is None:
            return IslandPlacement(founder=True, rebuilt=rebuilt)
        if not 0 <= candidate.niche < self.count:
            return IslandPlacement()
        resets = self.state.resets.pop(candidate.id, ())
        return IslandPlacement(candidate.niche, resets=resets)

    def _follow(self, pool: Population, upto: int) -> bool:
        """Bring the islands up to date with the members before `upto`; True when a late
        founder had them worked out anew (founders come first on every island)."""
        state = self.state
        anew, untold = state.untold(pool, upto)
        late = state.stale or any(c.niche is None for c in untold)
        rebuilt = late and state.placed > 0
        if anew or late:
            state.islands = [_Island() for _ in range(self.count)]
            state.placed, state.stale = 0, False
            untold = pool.members[:upto]
            for island in state.islands:
                for candidate in untold:
                    if candidate.niche is None:
                        island.add(candidate, self.objective)
        state.resets.clear()
        for candidate in untold:
            if candidate.niche is None or not 0 <= candidate.niche < self.count:
                continue
            state.islands[candidate.niche].add(candidate, self.objective)
            state.placed += 1
            if state.placed % self.reset_every == 0:
                state.resets[candidate.id] = self._reset(state.islands, state.placed, pool)
        return rebuilt

    def select(self, population: Pool, rng: random.Random) -> Selection:
        """Pick an island at random, then its best program and the next best."""
        pool = as_population(population, self.objective)
        self._follow(pool, len(pool))
        number = rng.randrange(self.count)
        island = self.state.islands[number]
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

    def _reset(self, islands: list[_Island], placed: int, pool: Population) -> tuple[Reset, ...]:
        bests = [island.order[:1] for island in islands]
        order = sorted(
            range(self.count), key=lambda i: (bests[i][0][0], i) if bests[i] else (float("inf"), i)
        )  # best island first
        keep, reset = order[: (self.count + 1) // 2], order[(self.count + 1) // 2 :]
        chooser = random.Random(self.seed * 1_000_003 + placed)
        done = []
        for number in reset:
            donor = chooser.choice(keep)
            fresh = _Island()
            for _, candidate_id in bests[donor]:
                fresh.add(pool.get(candidate_id), self.objective)
            islands[number] = fresh
            done.append(Reset(number, donor, bests[donor][0][1] if bests[donor] else None))
        return tuple(done)


def make(search: SearchConfig, objective: Objective) -> Islands:
    """`islands` (FunSearch)."""
    return Islands(
        objective, search.islands, search.reset_every, search.top_k, search.failures_shown
    )
