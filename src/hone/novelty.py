"""Near-copies: a cheap similarity between programs, to skip evaluating what is hardly new.

Programs are compared by the Jaccard similarity of their token shingles (runs of `k` tokens,
comments and layout ignored). A hypothesis at least `threshold` similar to a program already
evaluated is rejected before it is evaluated, with a reason naming that program, so the model
is told to change more. Exact copies are not rejected here: the evaluation cache reuses their
outcome.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

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
