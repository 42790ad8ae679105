"""The hypotheses a run has verified: `Candidate`, the best so far, the ranking strategies draw
from, the evaluation cache and the near-copy filter.

Everything here is kept up to date as each hypothesis is registered, so that the cost of a
hypothesis does not grow with the size of the run: the ranking is kept sorted, failures and
children are counted as they come, and only the programs a prompt may show (the best
`ARCHIVE`, the newest) stay whole in memory; the others are fetched from the store when asked
for (`full`).
"""

from __future__ import annotations

import bisect
import dataclasses
import hashlib
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from hone.edits import program_key
from hone.evaluation import Evaluation
from hone.objective import Objective, better, signed

ARCHIVE = 1000  # the best distinct programs kept whole in memory; strategies draw from them
_RECENT = 200  # the newest hypotheses kept whole as well
Fetch = Callable[[Sequence[int]], list["Candidate"]]  # whole candidates by id, from the store


def key_of(code: str) -> str:
    """Equal for programs that differ only in comments, docstrings or layout (a digest)."""
    return hashlib.blake2b(program_key(code).encode(), digest_size=12).hexdigest()


TUNE = "tune"  # the kind of a parameter-tuning trial, and of the note its stage leaves


@dataclass(frozen=True, slots=True)
class Candidate:
    """One hypothesis: its program, where it came from, and how it was evaluated."""

    id: int
    round: int
    code: str | None
    evaluation: Evaluation
    parent_ids: tuple[int, ...] = ()
    call_id: int | None = None
    output: str = ""
    cached_from: int | None = None  # an identical program evaluated earlier, whose outcome this is
    niche: int | None = None  # where the search strategy placed it (e.g. its island)
    kind: str = ""  # TUNE: a parameter-tuning trial (hone.tuning); "": the start or the model's
    key: str = field(default="", compare=False)  # `key_of(code)`; "" when there is no code

    def __post_init__(self) -> None:
        if not self.key and self.code is not None:
            object.__setattr__(self, "key", key_of(self.code))

    @property
    def score(self) -> float | None:
        """The score when the evaluation succeeded, else None."""
        return self.evaluation.score if self.evaluation.ok else None

    @property
    def stripped(self) -> bool:
        """True when the program was left in the store (`Population.full` brings it back)."""
        return self.code is None and bool(self.key)


@dataclass(frozen=True, slots=True)
class Added:
    """What registering a hypothesis changed (`Population.add`): strategies are told it."""

    candidate: Candidate
    index: int  # its place in the order of registration (0: the first)
    new_best: bool  # the best so far now
    improved_parent: bool  # scored better than the parent it edited
    ranks: bool  # joined the ranking (scored, and the first or best of its program so far)
    displaced: int | None = None  # the equal program it put out of the ranking, if any


class NearCopies(Protocol):
    """Finds evaluated programs nearly identical to a new one (`hone.novelty`)."""

    threshold: float  # 0: off

    def remember(self, candidate_id: int, code: str) -> None:
        """Count a program as evaluated."""
        ...

    async def check(
        self, code: str, among: Iterable[int] | None = None
    ) -> tuple[int, float] | None:
        """(id, similarity) of the most similar evaluated program (of those `among`, when
        given) at or above the threshold (identical ones aside), else None."""
        ...


@dataclass
class Population:
    """Every registered hypothesis in order, the best so far, the distinct scored programs
    best first (`ranked`), the failures, how often each program was a parent, and what is
    known about programs: the outcome of each distinct one (the cache) and the near-copy
    filter. `fetch` brings back programs left in the store (none without it)."""

    objective: Objective
    near_copies: NearCopies
    fetch: Fetch | None = None
    members: list[Candidate] = field(default_factory=list)
    best: Candidate | None = None
    best_round: int = 0
    ranked: list[Candidate] = field(default_factory=list)  # distinct scored, best first
    children: Counter[int] = field(default_factory=Counter)  # by parent id
    replaced: int = 0  # times a ranked program gave way to an equal one ranking before it
    _improvers: set[int] = field(default_factory=set)  # ids that scored better than their parent
    _order: list[tuple[float, int]] = field(default_factory=list)  # ranked's sort keys
    _ranked_by_key: dict[str, Candidate] = field(default_factory=dict)
    _failures: list[int] = field(default_factory=list)  # ids, oldest first
    _by_key: dict[str, int] = field(default_factory=dict)  # the first of each program
    _by_id: dict[int, Candidate] = field(default_factory=dict)
    _position: dict[int, int] = field(default_factory=dict)  # index in members
    _by_round: dict[int, list[int]] = field(default_factory=dict)
    _whole: list[int] = field(default_factory=list)  # ids whose program is in memory
    _added: int = 0  # since the last compaction

    @classmethod
    def of(
        cls,
        objective: Objective,
        near_copies: NearCopies,
        members: Iterable[Candidate] = (),
        fetch: Fetch | None = None,
    ) -> Population:
        """A population holding `members` (a resumed run's), in order."""
        population = cls(objective, near_copies, fetch)
        for candidate in members:
            population.add(candidate)
        return population

    def add(self, candidate: Candidate) -> Added:
        """Register a verified hypothesis; what that changed."""
        improved = self._improved(candidate)
        if improved:
            self._improvers.add(candidate.id)
        index = self._position[candidate.id] = len(self.members)
        self.members.append(candidate)
        self._by_id[candidate.id] = candidate
        self._by_round.setdefault(candidate.round, []).append(candidate.id)
        if candidate.parent_ids:
            self.children[candidate.parent_ids[0]] += 1
        if candidate.key and candidate.evaluation.status not in ("killed", "duplicate"):
            self._by_key.setdefault(candidate.key, candidate.id)
            if candidate.code is not None:
                self.near_copies.remember(candidate.id, candidate.code)
        if candidate.code is not None:
            self._whole.append(candidate.id)
        score = candidate.score
        ranks, displaced = False, None
        if score is None:
            if not candidate.evaluation.ok:
                self._failures.append(candidate.id)
        else:
            ranks, displaced = self._rank(candidate, score)
        self._added += 1
        if self.fetch is not None and self._added >= ARCHIVE:
            self._compact()
        new_best = score is not None and better(self.objective, score, self.best_score)
        if new_best:
            self.best, self.best_round = candidate, candidate.round
        return Added(candidate, index, new_best, improved, ranks, displaced)

    def _rank(self, candidate: Candidate, score: float) -> tuple[bool, int | None]:
        """Rank a scored candidate: whether it ranks, and the id of the one it displaced."""
        order = (-signed(self.objective, score), candidate.id)
        same = self._ranked_by_key.get(candidate.key) if candidate.key else None
        if same is not None:
            if same.score is None or (-signed(self.objective, same.score), same.id) < order:
                return False, None  # the same program ranks already, before this one
            self._unrank(same)
        index = bisect.bisect(self._order, order)
        self._order.insert(index, order)
        self.ranked.insert(index, candidate)
        if candidate.key:
            self._ranked_by_key[candidate.key] = candidate
        return True, same.id if same is not None else None

    def _unrank(self, candidate: Candidate) -> None:
        self.replaced += 1
        assert candidate.score is not None
        index = bisect.bisect_left(
            self._order, (-signed(self.objective, candidate.score), candidate.id)
        )
        del self._order[index], self.ranked[index]

    @property
    def best_score(self) -> float | None:
        """The best score so far (None when nothing scored)."""
        return self.best.score if self.best is not None else None

    def __contains__(self, candidate_id: int) -> bool:
        return candidate_id in self._by_id

    def __len__(self) -> int:
        return len(self.members)

    def ranks(self, candidate: Candidate) -> bool:
        """True when the candidate is in `ranked` (scored, and the first of its program)."""
        if candidate.score is None:
            return False
        if not candidate.key:
            return True
        ranked = self._ranked_by_key.get(candidate.key)
        return ranked is not None and ranked.id == candidate.id

    def get(self, candidate_id: int) -> Candidate:
        """A registered hypothesis by id (its program may be in the store only: `full`)."""
        return self._by_id[candidate_id]

    def full(self, candidate: Candidate) -> Candidate:
        """The candidate with its program and output, fetched from the store if need be."""
        if not candidate.stripped or self.fetch is None:
            return candidate
        [whole] = self.fetch([candidate.id])
        return whole

    def recent_failures(self, n: int) -> tuple[Candidate, ...]:
        """The `n` newest failed hypotheses, newest first."""
        return tuple(self._by_id[i] for i in reversed(self._failures[-n:])) if n > 0 else ()

    def cached(self, program: str) -> Candidate | None:
        """The registered hypothesis with the same program, up to comments and layout."""
        found = self._by_key.get(key_of(program))
        return self.full(self._by_id[found]) if found is not None else None

    async def near_copy(self, program: str) -> tuple[int, float] | None:
        """(id, similarity) of an evaluated program the new one nearly copies, else None:
        of the best ARCHIVE distinct programs and the newest (in a long run, a copy of an old
        weak program is no threat to the search). Exact copies are the cache's business."""
        if not self.near_copies.threshold or self.cached(program) is not None:
            return None
        if len(self.members) <= ARCHIVE + _RECENT:
            return await self.near_copies.check(program)
        among = {c.id for c in self.ranked[:ARCHIVE]} | {c.id for c in self.members[-_RECENT:]}
        return await self.near_copies.check(program, among)

    async def near_copy_failure(self, program: str) -> Evaluation | None:
        """The failure, said to the model, of a program that nearly copies an evaluated one
        (`near_copy`), else None."""
        near = await self.near_copy(program)
        if near is None:
            return None
        why = f"a near-copy of program #{near[0]} (similarity {near[1]:.2f}); change more than that"
        return Evaluation.failed("duplicate", why)

    def improved(self, candidate: Candidate) -> bool:
        """True when the registered hypothesis scored better than the parent it edited (as
        `add` found)."""
        return candidate.id in self._improvers

    def _improved(self, candidate: Candidate) -> bool:
        parent = self._by_id.get(candidate.parent_ids[0]) if candidate.parent_ids else None
        if candidate.score is None or parent is None or parent.score is None:
            return False
        return better(self.objective, candidate.score, parent.score)

    def of_round(self, round_: int) -> list[Candidate]:
        """The registered hypotheses of one round."""
        return [self._by_id[i] for i in self._by_round.get(round_, ())]

    def _compact(self) -> None:
        """Leave in the store the programs no prompt is likely to show: all but the best
        ARCHIVE distinct ones, the best, and the newest."""
        self._added = 0
        keep = {c.id for c in self.ranked[:ARCHIVE]} | {i for i in self._whole[-_RECENT:]}
        if self.best is not None:
            keep.add(self.best.id)
        whole = []
        for candidate_id in self._whole:
            if candidate_id in keep:
                whole.append(candidate_id)
                continue
            old = self._by_id[candidate_id]
            lean = dataclasses.replace(old, code=None, output="")
            self._by_id[candidate_id] = lean
            self.members[self._position[candidate_id]] = lean
            if self._ranked_by_key.get(old.key) is old:
                self._ranked_by_key[old.key] = lean
                assert old.score is not None
                order = (-signed(self.objective, old.score), old.id)
                self.ranked[bisect.bisect_left(self._order, order)] = lean
        self._whole = whole
