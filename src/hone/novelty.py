"""Near-copies: a similarity between programs, to skip evaluating what is hardly new.

By default programs are compared by the Jaccard similarity of their token shingles (runs of
`k` tokens, comments and layout ignored); with an embedding model configured, by the cosine
similarity of their embeddings (`EmbeddingNovelty`). A hypothesis at least `threshold` similar
to a program already evaluated is rejected before it is evaluated, with a reason naming that
program, so the model is told to change more. Exact copies are not rejected here: the
evaluation cache reuses their outcome.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from hone.exceptions import ModelError

if TYPE_CHECKING:
    from hone.models.embeddings import Embedder

log = logging.getLogger("hone")

_COMMENT = re.compile(r"#[^\n]*|//[^\n]*|/\*.*?\*/", re.DOTALL)
_TOKEN = re.compile(r"[A-Za-z_]\w*|\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|\S")


@functools.lru_cache(maxsize=4096)
def shingles(code: str, k: int = 4) -> frozenset[int]:
    """Hashes of every run of `k` consecutive tokens of `code` (comments dropped)."""
    tokens = _TOKEN.findall(_COMMENT.sub(" ", code))
    if len(tokens) < k:
        return frozenset({hash(tuple(tokens))})
    return frozenset(hash(tuple(tokens[i : i + k])) for i in range(len(tokens) - k + 1))


def similarity(a: str, b: str) -> float:
    """Jaccard similarity of the two programs' shingles, from 0 (nothing shared) to 1."""
    x, y = shingles(a), shingles(b)
    return len(x & y) / len(x | y) if x or y else 1.0


@dataclass
class NoveltyFilter:
    """Rejects programs nearly identical to one already evaluated (threshold 0: off)."""

    threshold: float = 0.0
    seen: list[tuple[int, str]] = field(default_factory=list)

    def remember(self, candidate_id: int, code: str) -> None:
        """Count a program as evaluated."""
        self.seen.append((candidate_id, code))

    def near_copy(self, code: str, exclude: Iterable[int] = ()) -> tuple[int, float] | None:
        """(id, similarity) of the most similar evaluated program when it is at least
        `threshold` similar but not identical, else None."""
        if not self.threshold:
            return None
        skip = set(exclude)
        best: tuple[int, float] | None = None
        for candidate_id, other in self.seen:
            if candidate_id in skip or other == code:
                continue
            score = similarity(code, other)
            if score >= self.threshold and (best is None or score > best[1]):
                best = (candidate_id, score)
        return best

    async def check(self, code: str) -> tuple[int, float] | None:
        """`near_copy`, with the interface of `EmbeddingNovelty`."""
        return self.near_copy(code)


class EmbeddingNovelty:
    """Rejects programs whose embedding is at least `threshold` cosine-similar to that of an
    evaluated program. Programs are embedded in batches: each check embeds the new program
    together with every evaluated program not embedded yet. When the embedding model fails,
    the check lets the program through (with a warning) rather than lose it."""

    def __init__(self, threshold: float, embedder: Embedder) -> None:
        self.threshold = threshold
        self.embedder = embedder
        self.ids: list[int] = []
        self.vectors: Any = None  # a numpy array, a row per evaluated program
        self.waiting: list[tuple[int, str]] = []
        self.known: dict[str, Any] = {}  # vectors of checked programs, by text
        self.codes: dict[int, str] = {}

    def remember(self, candidate_id: int, code: str) -> None:
        """Count a program as evaluated (embedded at the next check, unless already known)."""
        self.codes[candidate_id] = code
        vector = self.known.pop(code, None)
        if vector is None:
            self.waiting.append((candidate_id, code))
        else:
            self._add(candidate_id, vector)

    async def check(self, code: str) -> tuple[int, float] | None:
        """(id, similarity) of the most similar evaluated program when at least `threshold`
        similar but not identical, else None."""
        import numpy as np

        batch, self.waiting = self.waiting, []  # other checks may run while this one waits
        try:
            embedded = await self.embedder.embed([c for _, c in batch] + [code])
            vectors = _unit(np.asarray(embedded, dtype=float))
        except ModelError as exc:
            self.waiting = batch + self.waiting
            log.warning("the novelty filter is skipped for this hypothesis: %s", exc)
            return None
        for (candidate_id, _), vector in zip(batch, vectors[:-1], strict=True):
            self._add(candidate_id, vector)
        mine = vectors[-1]
        self.known[code] = mine
        if not self.ids:
            return None
        scores = self.vectors @ mine
        best: tuple[int, float] | None = None
        for candidate_id, score in zip(self.ids, scores.tolist(), strict=True):
            if self.codes[candidate_id] == code:
                continue
            if score >= self.threshold and (best is None or score > best[1]):
                best = (candidate_id, float(score))
        return best

    def _add(self, candidate_id: int, vector: Any) -> None:
        import numpy as np

        self.ids.append(candidate_id)
        row = vector[None, :]
        self.vectors = row if self.vectors is None else np.vstack([self.vectors, row])


def _unit(vectors: Any) -> Any:
    import numpy as np

    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms == 0, 1.0, norms)
