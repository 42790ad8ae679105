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
import hashlib
import logging
import re
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from hone.exceptions import ModelError

if TYPE_CHECKING:
    from hone.models.embeddings import Embedder

log = logging.getLogger("hone")

_COMMENT = re.compile(r"#[^\n]*|//[^\n]*|/\*.*?\*/", re.DOTALL)
_TOKEN = re.compile(r"[A-Za-z_]\w*|\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|\S")


@functools.lru_cache(maxsize=256)  # (a 2 KB program's set is about 50 KB)
def shingles(code: str, k: int = 4) -> frozenset[int]:
    """Hashes of every run of `k` consecutive tokens of `code` (comments dropped)."""
    tokens = _TOKEN.findall(_COMMENT.sub(" ", code))
    if len(tokens) < k:
        return frozenset({_stable_hash(tokens)})
    return frozenset(_stable_hash(tokens[i : i + k]) for i in range(len(tokens) - k + 1))


def _stable_hash(tokens: list[str]) -> int:
    # Not hash(): str hashes change with PYTHONHASHSEED, so the same two programs would be
    # near copies in one process and not in the next (and a replay could differ).
    digest = hashlib.blake2b("\x1f".join(tokens).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little", signed=True)


def similarity(a: str, b: str) -> float:
    """Jaccard similarity of the two programs' shingles, from 0 (nothing shared) to 1."""
    x, y = shingles(a), shingles(b)
    return len(x & y) / len(x | y) if x or y else 1.0


class NoveltyFilter:
    """Rejects programs nearly identical to one already evaluated (threshold 0: off).

    Each evaluated program is remembered by a MinHash signature of its shingles (64 hashes);
    a new program's signature is compared with theirs all at once (numpy), and the few
    programs estimated most similar (if near the threshold) are compared exactly
    (`similarity`). `among`, when given, names the programs to compare with (the population
    passes its best and newest, so that a check costs the same however long the run).
    `codes` fetches programs by id (from the store) for the exact comparison; without it,
    the filter keeps every program in memory.
    """

    def __init__(
        self,
        threshold: float = 0.0,
        seen: Iterable[tuple[int, str]] = (),
        codes: Callable[[Sequence[int]], dict[int, str]] | None = None,
    ) -> None:
        self.threshold = threshold
        self.codes = codes
        self._rows: dict[int, int] = {}  # program id: its row of signatures
        self._ids: list[int] = []
        self._signatures: Any = None  # numpy, a row of 64 hashes per program, grown 2x
        self._kept: dict[int, str] = {}  # programs by id (the newest only, with `codes`)
        for candidate_id, code in seen:
            self.remember(candidate_id, code)

    def remember(self, candidate_id: int, code: str) -> None:
        """Count a program as evaluated."""
        if not self.threshold:
            return  # off: nothing to index
        np = _numpy()
        if self._signatures is None:
            self._signatures = np.zeros((64, 64), dtype=np.uint16)
        elif len(self._ids) == len(self._signatures):
            self._signatures = np.concatenate([self._signatures, np.zeros_like(self._signatures)])
        self._rows[candidate_id] = len(self._ids)
        self._signatures[len(self._ids)] = _signature(code)
        self._ids.append(candidate_id)
        self._kept[candidate_id] = code
        if self.codes is not None and len(self._kept) > _KEPT:
            del self._kept[next(iter(self._kept))]

    def near_copy(
        self, code: str, exclude: Iterable[int] = (), among: Iterable[int] | None = None
    ) -> tuple[int, float] | None:
        """(id, similarity) of the most similar evaluated program (of those `among`, when
        given) when it is at least `threshold` similar but not identical, else None."""
        if not self.threshold or not self._ids:
            return None
        np = _numpy()
        skip = set(exclude)
        if among is None:
            rows = np.arange(len(self._ids))
        else:
            rows = np.fromiter((self._rows[i] for i in among if i in self._rows), dtype=np.int64)
        estimate = (self._signatures[rows] == _signature(code)).mean(axis=1)
        near = estimate >= self.threshold - _MARGIN
        rows, estimate = rows[near], estimate[near]
        by_estimate = rows[np.argsort(-estimate, kind="stable")].tolist()
        ids = [i for r in by_estimate if (i := self._ids[r]) not in skip][:_EXACT]
        texts = self._texts(ids)  # the most similar by estimate, compared exactly
        best: tuple[int, float] | None = None
        for candidate_id, other in texts.items():
            if other == code:
                continue
            score = similarity(code, other)
            if score >= self.threshold and (best is None or score > best[1]):
                best = (candidate_id, score)
        return best

    def _texts(self, ids: list[int]) -> dict[int, str]:
        texts = {i: self._kept[i] for i in ids if i in self._kept}
        missing = [i for i in ids if i not in texts]
        if missing and self.codes is not None:
            texts.update(self.codes(missing))
        return dict(sorted(texts.items()))

    async def check(
        self, code: str, among: Iterable[int] | None = None
    ) -> tuple[int, float] | None:
        """`near_copy`, with the interface of `EmbeddingNovelty`."""
        return self.near_copy(code, among=among)


_KEPT = 2000  # programs a filter with `codes` keeps in memory
_MARGIN = 0.1  # below the threshold, of estimated similarity, still compared exactly
_EXACT = 8  # programs compared exactly, the most similar by estimate


@functools.cache
def _numpy() -> Any:
    import numpy  # (here: hone starts without it when the filter is off)

    return numpy


@functools.cache
def _hashing() -> tuple[Any, Any]:
    """The 64 hash functions of the MinHash signature (a fixed seed)."""
    np = _numpy()
    rng = np.random.default_rng(20261201)
    multiply = rng.integers(1, 2**63, size=64, dtype=np.uint64) | np.uint64(1)
    add = rng.integers(0, 2**63, size=64, dtype=np.uint64)
    return multiply, add


def _signature(code: str) -> Any:
    """The program's MinHash signature: for each of 64 hash functions, the least hash of its
    shingles (the share of equal entries of two signatures estimates their similarity)."""
    np = _numpy()
    multiply, add = _hashing()
    values = np.fromiter(
        (h & 0xFFFFFFFFFFFFFFFF for h in shingles(code)), dtype=np.uint64, count=-1
    )
    with np.errstate(over="ignore"):
        mixed = values[None, :] * multiply[:, None] + add[:, None]
    return (mixed.min(axis=1) >> np.uint64(48)).astype(np.uint16)  # (16 bits: 128 B a program)


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

    async def check(
        self, code: str, among: Iterable[int] | None = None
    ) -> tuple[int, float] | None:
        """(id, similarity) of the most similar evaluated program (of those `among`, when
        given) when at least `threshold` similar but not identical, else None."""
        np = _numpy()
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
        wanted = None if among is None else set(among)
        for candidate_id, score in zip(self.ids, scores.tolist(), strict=True):
            if (wanted is not None and candidate_id not in wanted) or self.codes[
                candidate_id
            ] == code:
                continue
            if score >= self.threshold and (best is None or score > best[1]):
                best = (candidate_id, float(score))
        return best

    def _add(self, candidate_id: int, vector: Any) -> None:
        np = _numpy()
        self.ids.append(candidate_id)
        row = vector[None, :]
        self.vectors = row if self.vectors is None else np.vstack([self.vectors, row])


def _unit(vectors: Any) -> Any:
    np = _numpy()
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms == 0, 1.0, norms)
