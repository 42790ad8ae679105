"""The hypotheses a run has verified: `Candidate`, the best so far, the evaluation cache and
the near-copy filter."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

from hone.edits import program_key
from hone.evaluation import Evaluation
from hone.objective import Objective, better


@dataclass(frozen=True)
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
    kind: str = ""  # "tune": a parameter-tuning trial (hone.tuning); "": the start or the model's

    @property
    def score(self) -> float | None:
        """The score when the evaluation succeeded, else None."""
        return self.evaluation.score if self.evaluation.ok else None

    @functools.cached_property
    def key(self) -> str:
        """Equal for programs that differ only in comments, docstrings or layout."""
        return program_key(self.code or "")


class NearCopies(Protocol):
    """Finds evaluated programs nearly identical to a new one (`hone.novelty`)."""

    threshold: float  # 0: off

    def remember(self, candidate_id: int, code: str) -> None:
        """Count a program as evaluated."""
        ...

    async def check(self, code: str) -> tuple[int, float] | None:
        """(id, similarity) of the most similar evaluated program at or above the threshold
        (identical ones aside), else None."""
        ...


@dataclass
class Population:
    """Every registered hypothesis in order, the best so far, and what is known about
    programs: the outcome of each distinct one (the cache) and the near-copy filter."""

    objective: Objective
    near_copies: NearCopies
    members: list[Candidate] = field(default_factory=list)
    best: Candidate | None = None
    best_round: int = 0
    _by_key: dict[str, Candidate] = field(default_factory=dict)
    _by_id: dict[int, Candidate] = field(default_factory=dict)
    _by_round: dict[int, list[Candidate]] = field(default_factory=dict)

    @classmethod
    def of(
        cls, objective: Objective, near_copies: NearCopies, members: Iterable[Candidate] = ()
    ) -> Population:
        """A population holding `members` (a resumed run's), in order."""
        population = cls(objective, near_copies)
        for candidate in members:
            population.add(candidate)
        return population

    def add(self, candidate: Candidate) -> bool:
        """Register a verified hypothesis; True when it is the new best."""
        self.members.append(candidate)
        self._by_id[candidate.id] = candidate
        self._by_round.setdefault(candidate.round, []).append(candidate)
        if candidate.code is not None and candidate.evaluation.status not in (
            "killed",
            "duplicate",
        ):
            self._by_key.setdefault(candidate.key, candidate)
            self.near_copies.remember(candidate.id, candidate.code)
        score = candidate.score
        if score is not None and better(self.objective, score, self.best_score):
            self.best, self.best_round = candidate, candidate.round
            return True
        return False

    @property
    def best_score(self) -> float | None:
        """The best score so far (None when nothing scored)."""
        return self.best.score if self.best is not None else None

    def __contains__(self, candidate_id: int) -> bool:
        return candidate_id in self._by_id

    def get(self, candidate_id: int) -> Candidate:
        """A registered hypothesis by id."""
        return self._by_id[candidate_id]

    def cached(self, program: str) -> Candidate | None:
        """The registered hypothesis with the same program, up to comments and layout."""
        return self._by_key.get(program_key(program))

    async def near_copy(self, program: str) -> tuple[int, float] | None:
        """(id, similarity) of an evaluated program the new one nearly copies, else None.
        Exact copies are the cache's business, not this filter's."""
        if not self.near_copies.threshold or self.cached(program) is not None:
            return None
        return await self.near_copies.check(program)

    def improved(self, candidate: Candidate) -> bool:
        """True when the hypothesis scored better than the parent it edited."""
        parent = self._by_id.get(candidate.parent_ids[0]) if candidate.parent_ids else None
        if candidate.score is None or parent is None or parent.score is None:
            return False
        return better(self.objective, candidate.score, parent.score)

    def of_round(self, round_: int) -> list[Candidate]:
        """The registered hypotheses of one round."""
        return list(self._by_round.get(round_, ()))
