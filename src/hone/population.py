"""The hypotheses a run has verified: `Candidate`, the best so far, the ranking strategies draw
from, the evaluation cache and the near-copy filter.

Everything here is kept up to date as each hypothesis is registered, so that the cost of a
hypothesis does not grow with the size of the run: the ranking is kept sorted, failures and
children are counted as they come, and only the programs a prompt may show (the best
`ARCHIVE`, the newest) stay whole in memory; the others are fetched from the store when asked
for (`full`).

With a store to fetch from, memory does not grow with the run either: what each hypothesis
leaves in memory is a few numbers in arrays (its place, score, flags, children, and its
program's slot in `_Programs`), and only the candidates strategies draw from stay as objects
(the best `ARCHIVE` distinct programs, the newest, the newest failures, the best); any other
is read from the store by id when asked for (`get`, `members`), as it was left there
(`Candidate.stripped`). A snapshot of that state (`hone.snapshot`) is megabytes at a million
hypotheses, not gigabytes.

A hypothesis's program is a tree (`hone.tree.Tree`: a one-file task's holds one file). The
cache knows programs by `Tree.key` (equal up to comments and layout), the near-copy filter
compares `Tree.text` (a one-file tree's is its file's text).
"""

from __future__ import annotations

import bisect
import dataclasses
import hashlib
import math
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol, overload

from hone.edits import REPEAT
from hone.evaluation import Evaluation
from hone.objective import Objective, better, signed
from hone.tree import Tree

ARCHIVE = 1000  # the best distinct programs kept whole in memory; strategies draw from them
_RECENT = 200  # the newest hypotheses kept whole as well
COPIES_SEEN = 2  # the newest model answers `Population.copies` looks at
_FAILURES_KEPT = 64  # the newest failures kept in memory (prompts show the newest)
_ROUNDS_KEPT = 64  # the newest rounds whose members are listed in memory (older: looked up)
_NONE = -1  # no id
_IMPROVER = 1  # a flag: scored better than its parent
Fetch = Callable[[Sequence[int]], list["Candidate"]]  # candidates by id, from the store


TUNE = "tune"  # the kind of a parameter-tuning trial, and of the note its stage leaves


@dataclass(frozen=True, slots=True)
class Candidate:
    """One hypothesis: its program (a tree of files), where it came from, and how it was
    evaluated."""

    id: int
    round: int
    tree: Tree | None  # None: no program (an answer that did not apply), or left in the store
    evaluation: Evaluation
    parent_ids: tuple[int, ...] = ()
    call_id: int | None = None
    output: str = ""
    cached_from: int | None = None  # an identical program evaluated earlier, whose outcome this is
    niche: int | None = None  # where the search strategy placed it (e.g. its island)
    kind: str = ""  # TUNE: a parameter-tuning trial (hone.tuning); "": the start or the model's
    key: str = field(default="", compare=False)  # `tree.key`; "" when there is no program
    holdout: float | None = None  # the held-out score, once validated (hone.trust)
    verified: bool | None = None  # its checks as a new best passed (None: not checked)

    def __post_init__(self) -> None:
        if not self.key and self.tree is not None:
            object.__setattr__(self, "key", self.tree.key)

    @property
    def code(self) -> str | None:
        """The program's text when it is one file (`result.best.code`); None for a tree of
        several files (see `tree`) or none."""
        if self.tree is None or len(self.tree) != 1:
            return None
        return self.tree.text

    @property
    def score(self) -> float | None:
        """The score when the evaluation succeeded, else None."""
        return self.evaluation.score if self.evaluation.ok else None

    @property
    def stripped(self) -> bool:
        """True when the program was left in the store (`Population.full` brings it back)."""
        return self.tree is None and bool(self.key)


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
        """Count a program (its `Tree.text`) as evaluated."""
        ...

    async def check(
        self, code: str, among: Iterable[int] | None = None
    ) -> tuple[int, float] | None:
        """(id, similarity) of the most similar evaluated program (of those `among`, when
        given) at or above the threshold (identical ones aside), else None."""
        ...


def _hash(key: str) -> int:
    """A program key's 63-bit hash, never 0 (an empty slot), the same in every process."""
    digest = hashlib.blake2b(key.encode(), digest_size=8).digest()
    return (int.from_bytes(digest, "little") >> 1) or 1


class _Programs:
    """Each distinct program's first registered hypothesis (the cache's) and its ranked one,
    by key: a table over arrays (open addressing), so that a million programs cost tens of
    megabytes, pickled as bytes, where a dict of their keys would cost hundreds. A slot is
    found by the key's hash and confirmed by `same` (the id's program has that key), so that
    two keys of one hash stay apart."""

    def __init__(self, size: int = 1024) -> None:
        self.hashes = array("q", bytes(8 * size))
        self.first = array("q", [_NONE]) * size
        self.ranked = array("q", [_NONE]) * size
        self.used = 0

    def lookup(self, key: str, same: Callable[[int], bool]) -> tuple[int, int]:
        """(first id, ranked id) of the program, `_NONE` for each it lacks."""
        slot, found = self._probe(_hash(key), same)
        return (self.first[slot], self.ranked[slot]) if found else (_NONE, _NONE)

    def put(
        self, key: str, same: Callable[[int], bool], first: int = _NONE, ranked: int = _NONE
    ) -> None:
        """Record the program's first hypothesis (unless it has one) and its ranked one."""
        code = _hash(key)
        slot, found = self._probe(code, same)
        if not found:
            if 2 * (self.used + 1) > len(self.hashes):
                self._grow()
                slot, _ = self._probe(code, same)
            self.hashes[slot], self.used = code, self.used + 1
        if first != _NONE and self.first[slot] == _NONE:
            self.first[slot] = first
        if ranked != _NONE:
            self.ranked[slot] = ranked

    def _probe(self, code: int, same: Callable[[int], bool]) -> tuple[int, bool]:
        mask = len(self.hashes) - 1
        slot = code & mask
        while (found := self.hashes[slot]) != 0:
            if found == code:
                known = self.first[slot] if self.first[slot] != _NONE else self.ranked[slot]
                if same(known):
                    return slot, True
            slot = (slot + 1) & mask
        return slot, False

    def _grow(self) -> None:
        hashes, first, ranked = self.hashes, self.first, self.ranked
        size = 2 * len(hashes)
        self.hashes = array("q", bytes(8 * size))
        self.first = array("q", [_NONE]) * size
        self.ranked = array("q", [_NONE]) * size
        mask = size - 1
        for old, code in enumerate(hashes):
            if code:
                slot = code & mask
                while self.hashes[slot]:
                    slot = (slot + 1) & mask
                self.hashes[slot], self.first[slot], self.ranked[slot] = (
                    code,
                    first[old],
                    ranked[old],
                )


class Counts:
    """How many hypotheses took each id as their parent (0 for any other id), one number
    per id in an array."""

    def __init__(self) -> None:
        self.counts = array("q")

    def __getitem__(self, candidate_id: int) -> int:
        return self.counts[candidate_id] if 0 <= candidate_id < len(self.counts) else 0

    def add(self, candidate_id: int) -> None:
        """Count one more child of `candidate_id`."""
        _reach(self.counts, candidate_id, 0)
        self.counts[candidate_id] += 1

    def items(self) -> Iterator[tuple[int, int]]:
        """(id, children) of each id with any."""
        return ((i, n) for i, n in enumerate(self.counts) if n)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Counts) and dict(self.items()) == dict(other.items())

    __hash__ = None  # type: ignore[assignment]


def _reach(column: array, index: int, fill: float) -> None:  # type: ignore[type-arg]
    """Grow a column indexed by id to hold `index` (at least doubled, so that growing is
    rare)."""
    if index >= len(column):
        column.extend(array(column.typecode, [fill]) * max(index + 1 - len(column), len(column)))


class Members(Sequence[Candidate]):
    """A population's registered hypotheses in order, read from it by position (those not
    in memory from the store, in batches)."""

    def __init__(self, population: Population) -> None:
        self.population = population

    def __len__(self) -> int:
        return len(self.population._ids)

    @overload
    def __getitem__(self, index: int) -> Candidate: ...
    @overload
    def __getitem__(self, index: slice) -> list[Candidate]: ...
    def __getitem__(self, index: int | slice) -> Candidate | list[Candidate]:
        if isinstance(index, slice):
            return self.population.get_many(self.population._ids[index])
        return self.population.get(self.population._ids[index])

    def __iter__(self) -> Iterator[Candidate]:
        ids = self.population._ids
        for start in range(0, len(ids), 512):
            yield from self.population.get_many(ids[start : start + 512])


def _copies(candidate: Candidate) -> bool:
    """Whether a hypothesis copied a program already evaluated (`Population.copies`)."""
    evaluation = candidate.evaluation
    return (
        candidate.cached_from is not None
        or evaluation.status == "duplicate"
        or evaluation.reason == REPEAT
    )


@dataclass
class Population:
    """Every registered hypothesis in order (`members`), the best so far, the distinct scored
    programs best first (`ranked`: with a store, the best ARCHIVE of them), the failures, how
    often each program was a parent, and what is known about programs: the outcome of each
    distinct one (the cache) and the near-copy filter. `fetch` brings back programs left in
    the store (none without it), `lean` hypotheses without them (`fetch`, stripped, without
    it)."""

    objective: Objective
    near_copies: NearCopies
    fetch: Fetch | None = None
    lean: Fetch | None = None
    keep: Callable[[], Iterable[int]] | None = None  # what the strategy draws from (`keeps`)
    best: Candidate | None = None
    best_round: int = 0
    ranked: list[Candidate] = field(default_factory=list)  # distinct scored, best first
    children: Counts = field(default_factory=Counts)  # by parent id
    replaced: int = 0  # times a ranked program gave way to an equal one ranking before it
    id_sum: int = 0  # the sum of the registered ids (what a snapshot is checked by)
    _order: list[tuple[float, int]] = field(default_factory=list)  # ranked's sort keys
    _programs: _Programs = field(default_factory=_Programs)
    _ids: array = field(default_factory=lambda: array("q"))  # type: ignore[type-arg]
    _at: array = field(default_factory=lambda: array("q"))  # type: ignore[type-arg]
    _scores: array = field(default_factory=lambda: array("d"))  # type: ignore[type-arg]
    _flags: array = field(default_factory=lambda: array("B"))  # type: ignore[type-arg]
    _rounds: array = field(default_factory=lambda: array("q"))  # type: ignore[type-arg]
    _failures: array = field(default_factory=lambda: array("q"))  # type: ignore[type-arg]
    _hot: dict[int, Candidate] = field(default_factory=dict)  # the candidates in memory
    _by_round: dict[int, list[int]] = field(default_factory=dict)  # the newest rounds'
    _rounds_from: int | None = None  # rounds before it are looked up in `_rounds`
    _whole: list[int] = field(default_factory=list)  # ids whose program is in memory
    _added: int = 0  # since the last compaction
    _copied: tuple[bool, ...] = ()  # of the newest COPIES_SEEN model answers, which were copies

    @classmethod
    def of(
        cls,
        objective: Objective,
        near_copies: NearCopies,
        members: Iterable[Candidate] = (),
        fetch: Fetch | None = None,
        lean: Fetch | None = None,
    ) -> Population:
        """A population holding `members` (a resumed run's), in order."""
        population = cls(objective, near_copies, fetch, lean)
        for candidate in members:
            population.add(candidate)
        return population

    @property
    def members(self) -> Members:
        """Every registered hypothesis, in the order registered."""
        return Members(self)

    def add(self, candidate: Candidate) -> Added:
        """Register a verified hypothesis; what that changed."""
        improved = self._improved(candidate)
        cid, score = candidate.id, candidate.score
        index = len(self._ids)
        for column, fill in ((self._at, 0), (self._scores, math.nan), (self._flags, 0)):
            _reach(column, cid, fill)
        self._at[cid] = index + 1
        self._scores[cid] = math.nan if score is None else score
        self._flags[cid] = _IMPROVER if improved else 0
        self._ids.append(cid)
        self._rounds.append(candidate.round)
        self.id_sum += cid
        self._hot[cid] = candidate
        if self._rounds_from is None or candidate.round >= self._rounds_from:
            self._by_round.setdefault(candidate.round, []).append(cid)
        if candidate.parent_ids:
            self.children.add(candidate.parent_ids[0])
        if candidate.key and candidate.evaluation.status not in ("killed", "duplicate"):
            self._programs.put(candidate.key, self._same(candidate.key), first=cid)
            if candidate.tree is not None:
                self.near_copies.remember(cid, candidate.tree.text)
        if candidate.tree is not None:
            self._whole.append(cid)
        if candidate.parent_ids and candidate.kind != TUNE:
            self._copied = (*self._copied, _copies(candidate))[-COPIES_SEEN:]
        ranks, displaced = False, None
        if score is None:
            if not candidate.evaluation.ok:
                self._failures.append(cid)
        else:
            ranks, displaced = self._rank(candidate, score)
        new_best = score is not None and better(self.objective, score, self.best_score)
        if new_best:
            self.best, self.best_round = candidate, candidate.round
        self._added += 1
        if self.fetch is not None and self._added >= ARCHIVE:
            self._compact()
        return Added(candidate, index, new_best, improved, ranks, displaced)

    def _rank(self, candidate: Candidate, score: float) -> tuple[bool, int | None]:
        """Rank a scored candidate: whether it ranks, and the id of the one it displaced.
        With a store, only the best ARCHIVE stay in `ranked`: one pushed past them leaves it,
        and none comes back (a program displaced there gives way to one ranking before it)."""
        order = (-signed(self.objective, score), candidate.id)
        same = _NONE
        if candidate.key:
            _, same = self._programs.lookup(candidate.key, self._same(candidate.key))
        if same != _NONE:
            before = (-signed(self.objective, self._scores[same]), same)
            if before < order:
                return False, None  # the same program ranks already, before this one
            self._unrank(before)
        index = bisect.bisect(self._order, order)
        limit = ARCHIVE if self.fetch is not None else None
        if limit is None or index < limit:
            self._order.insert(index, order)
            self.ranked.insert(index, candidate)
            if limit is not None and len(self.ranked) > limit:
                del self._order[limit:], self.ranked[limit:]
        if candidate.key:
            self._programs.put(candidate.key, self._same(candidate.key), ranked=candidate.id)
        return True, same if same != _NONE else None

    def _unrank(self, order: tuple[float, int]) -> None:
        self.replaced += 1
        index = bisect.bisect_left(self._order, order)
        if index < len(self._order) and self._order[index] == order:
            del self._order[index], self.ranked[index]

    def _same(self, key: str) -> Callable[[int], bool]:
        """Whether a registered hypothesis's program has `key` (`_Programs` asks on a hash
        match)."""
        return lambda candidate_id: self.get(candidate_id).key == key

    @property
    def best_score(self) -> float | None:
        """The best score so far (None when nothing scored)."""
        return self.best.score if self.best is not None else None

    def __contains__(self, candidate_id: int) -> bool:
        return 0 <= candidate_id < len(self._at) and self._at[candidate_id] > 0

    def __len__(self) -> int:
        return len(self._ids)

    @property
    def held(self) -> int:
        """How many candidates are held in memory (with a store, a bounded number)."""
        return len(self._hot)

    def ranks(self, candidate: Candidate) -> bool:
        """True when the candidate is in the ranking (scored, and the first of its program;
        with a store, `ranked` holds the best ARCHIVE of them)."""
        if candidate.score is None:
            return False
        if not candidate.key:
            return True
        _, ranked = self._programs.lookup(candidate.key, self._same(candidate.key))
        return ranked == candidate.id

    def ranking(self) -> list[Candidate]:
        """Every ranked program, best first (`ranked` and, in a long run, those past it, read
        from the store)."""
        if self.fetch is None or len(self.ranked) < ARCHIVE:
            return list(self.ranked)
        found = [c for c in self.members if self.ranks(c)]
        assert all(c.score is not None for c in found)
        return sorted(found, key=lambda c: (-signed(self.objective, c.score or 0.0), c.id))

    def get(self, candidate_id: int) -> Candidate:
        """A registered hypothesis by id (its program may be in the store only: `full`)."""
        found = self._hot.get(candidate_id)
        if found is None:
            if candidate_id not in self:
                raise KeyError(candidate_id)
            [found] = self._read([candidate_id])
            self._hot[candidate_id] = found  # (until the next compaction)
        return found

    def score_of(self, candidate_id: int) -> float | None:
        """A registered hypothesis's score (`Candidate.score`), read from memory."""
        if candidate_id not in self:
            raise KeyError(candidate_id)
        score = self._scores[candidate_id]
        return None if math.isnan(score) else score

    def get_many(self, ids: Sequence[int]) -> list[Candidate]:
        """Registered hypotheses by id, in the order asked (those not in memory read from the
        store together, and not kept)."""
        hot = self._hot
        missing = [i for i in ids if i not in hot]
        for candidate_id in missing:
            if candidate_id not in self:
                raise KeyError(candidate_id)
        read = {c.id: c for c in self._read(missing)} if missing else {}
        return [hot[i] if i in hot else read[i] for i in ids]

    def _read(self, ids: Sequence[int]) -> list[Candidate]:
        """Hypotheses from the store, as compaction leaves them (`Candidate.stripped`)."""
        if self.lean is not None:
            return self.lean(ids)
        assert self.fetch is not None  # (only a population with a store leaves any there)
        return [dataclasses.replace(c, tree=None, output="") for c in self.fetch(ids)]

    def full(self, candidate: Candidate) -> Candidate:
        """The candidate with its program and output, fetched from the store if need be."""
        if not candidate.stripped or self.fetch is None:
            return candidate
        [whole] = self.fetch([candidate.id])
        if candidate.score is not None:  # (one of the best ARCHIVE stays whole: prompts show them)
            order = (-signed(self.objective, candidate.score), candidate.id)
            index = bisect.bisect_left(self._order, order)
            if index < len(self.ranked) and self._order[index] == order:
                self.ranked[index] = self._hot[candidate.id] = whole
        return whole

    @property
    def copies(self) -> int:
        """How many of the newest `COPIES_SEEN` model answers copied a program already
        evaluated: their parent unchanged, another (the cache's), or nearly another."""
        return sum(self._copied)

    def recent_failures(self, n: int) -> tuple[Candidate, ...]:
        """The `n` newest failed hypotheses, newest first."""
        return tuple(self.get(i) for i in reversed(self._failures[-n:])) if n > 0 else ()

    def cached(self, program: Tree) -> Candidate | None:
        """The registered hypothesis with the same program, up to comments and layout."""
        key = program.key
        found, _ = self._programs.lookup(key, self._same(key))
        return self.full(self.get(found)) if found != _NONE else None

    async def near_copy(self, program: Tree) -> tuple[int, float] | None:
        """(id, similarity) of an evaluated program the new one nearly copies, else None:
        of the best ARCHIVE distinct programs and the newest (in a long run, a copy of an old
        weak program is no threat to the search). Exact copies are the cache's business."""
        if not self.near_copies.threshold or self.cached(program) is not None:
            return None
        if len(self) <= ARCHIVE + _RECENT:
            return await self.near_copies.check(program.text)
        among = {c.id for c in self.ranked[:ARCHIVE]} | set(self._ids[-_RECENT:])
        return await self.near_copies.check(program.text, among)

    async def near_copy_failure(self, program: Tree) -> Evaluation | None:
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
        cid = candidate.id
        return cid in self and bool(self._flags[cid] & _IMPROVER)

    def _improved(self, candidate: Candidate) -> bool:
        parent = candidate.parent_ids[0] if candidate.parent_ids else _NONE
        if candidate.score is None or parent not in self or math.isnan(self._scores[parent]):
            return False
        return better(self.objective, candidate.score, self._scores[parent])

    def of_round(self, round_: int) -> list[Candidate]:
        """The registered hypotheses of one round."""
        if self._rounds_from is not None and round_ < self._rounds_from:
            ids = [self._ids[i] for i, r in enumerate(self._rounds) if r == round_]
        else:
            ids = self._by_round.get(round_, [])
        return self.get_many(ids)

    def _compact(self) -> None:
        """Leave in the store what no prompt is likely to show: the programs of all but the
        best ARCHIVE distinct ones, the best, and the newest; and every other hypothesis
        but the newest failures (read back by id when asked for), and the lists of old
        rounds."""
        self._added = 0
        keep = {c.id for c in self.ranked[:ARCHIVE]} | set(self._whole[-_RECENT:])
        if self.best is not None:
            keep.add(self.best.id)
        stay = keep | set(self._ids[-_RECENT:]) | set(self._failures[-_FAILURES_KEPT:])
        stay |= {c.id for c in self.ranked}
        if self.keep is not None:
            stay |= set(self.keep())
        whole = []
        for candidate_id in self._whole:
            if candidate_id in keep:
                whole.append(candidate_id)
                continue
            if candidate_id not in stay:
                continue
            old = self._hot[candidate_id]
            lean = dataclasses.replace(old, tree=None, output="")
            self._hot[candidate_id] = lean
            if self.ranks(old):
                assert old.score is not None
                index = bisect.bisect_left(
                    self._order, (-signed(self.objective, old.score), old.id)
                )
                if index < len(self.ranked) and self.ranked[index].id == old.id:
                    self.ranked[index] = lean
        self._whole = whole
        self._hot = {i: c for i, c in self._hot.items() if i in stay}
        newest = max(self._by_round, default=None)
        if newest is not None:
            self._rounds_from = newest - _ROUNDS_KEPT
            self._by_round = {r: i for r, i in self._by_round.items() if r >= self._rounds_from}
