"""Near-copies: similarity of programs and the filter's decisions."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

import hone
from hone.budget import Budget
from hone.exceptions import ModelError
from hone.novelty import EmbeddingNovelty, NoveltyFilter, similarity
from hone.session import Session, run_meta
from hone.store import Store
from hone.task import Task
from hone.testing import ScriptedModel
from tests.helpers import FakeClock

PROGRAM = """
def priority(item, bins):
    gap = bins - item
    score = -gap * 1.5 + 0.25 * bins
    return score / (1 + abs(gap))
"""


def test_signatures_do_not_change_with_the_interpreters_hash_seed() -> None:
    """A near copy in one process is a near copy in the next (a resumed or replayed run)."""
    script = (
        "from hone.novelty import _signature, shingles; import sys; "
        "code = sys.stdin.read(); print(sorted(shingles(code))[:5], _signature(code).tolist())"
    )
    seen = {
        subprocess.run(
            [sys.executable, "-c", script],
            input=PROGRAM,
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
        ).stdout
        for seed in ("0", "19", "4242")
    }
    assert len(seen) == 1


def test_comments_and_layout_do_not_count_but_changes_do() -> None:
    commented = PROGRAM.replace("gap = bins - item", "gap = bins - item  # remaining room")
    assert similarity(PROGRAM, commented) == 1.0
    nudged = PROGRAM.replace("1.5", "1.6")
    rewritten = "def priority(item, bins):\n    return -(bins - item) ** 2\n"
    assert 0.7 < similarity(PROGRAM, nudged) < 1.0
    assert similarity(PROGRAM, rewritten) < 0.3


def test_the_filter_rejects_only_what_reaches_the_threshold() -> None:
    novelty = NoveltyFilter(threshold=0.9)
    novelty.remember(7, PROGRAM)
    commented = PROGRAM.replace("return score", "# scale it\n    return score")
    assert novelty.near_copy(commented) == (7, 1.0)
    assert novelty.near_copy(PROGRAM) is None  # an exact copy is the cache's business
    assert novelty.near_copy(PROGRAM.replace("1.5", "2.5").replace("0.25", "0.5")) is None
    assert NoveltyFilter(threshold=0.0, seen=[(7, PROGRAM)]).near_copy(commented) is None


def test_a_near_copy_is_not_evaluated(make_task, tmp_path: Path) -> None:
    body = "    a = 0.25\n    b = a * 2.0\n    c = b - 0.5\n    d = c + a\n    return d\n"
    first = f"```python\ndef f():\n{body}```"  # f() = 0.25, worse than the start's 1.0
    again = f"```python\ndef f():\n{body.replace('c + a', 'c + a + 0.0')}```"  # 0.77 alike
    task = Task.from_dir(make_task())
    task = dataclasses.replace(
        task,
        budget=Budget(max_llm_calls=2, patience=None),
        search=dataclasses.replace(
            task.search, hypotheses_per_round=1, novelty=0.75, fix_attempts=0
        ),
    )
    model = ScriptedModel([first, again])
    result = hone.run(task, model=model, run_dir=tmp_path / "run")
    _start, kept, rejected = result.history
    assert kept.evaluation.ok
    assert rejected.evaluation.status == "duplicate"
    assert f"near-copy of program #{kept.id}" in rejected.evaluation.reason
    assert rejected.evaluation.seconds == 0.0


class LetterEmbedder:
    """A stand-in embedding: letter counts, so similar texts get similar vectors."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.fail = False

    async def embed(self, texts: list[str]) -> list[list[float]]:
        self.batches.append(list(texts))
        if self.fail:
            raise ModelError("the embedding server is down")
        await asyncio.sleep(0)
        letters = "abcdefghijklmnopqrstuvwxyz0123456789*+-"
        return [[float(Counter(t)[ch]) for ch in letters] for t in texts]

    async def close(self) -> None:
        pass


def test_embedding_filter_rejects_near_copies_by_cosine_similarity() -> None:
    embedder = LetterEmbedder()
    novelty = EmbeddingNovelty(0.99, embedder)
    novelty.remember(1, PROGRAM)
    novelty.remember(2, "def other():\n    return [x * x for x in range(10)]\n")
    nudged = PROGRAM.replace("1.5", "1.6")
    rewritten = "def priority(item, bins):\n    return -(bins - item) ** 2\n"

    near = asyncio.run(novelty.check(nudged))
    assert near is not None and near[0] == 1 and 0.99 <= near[1] < 1.0
    assert embedder.batches[0] == [PROGRAM, novelty.codes[2], nudged]  # evaluated ones batched
    assert asyncio.run(novelty.check(rewritten)) is None
    assert embedder.batches[1] == [rewritten]  # nothing embedded twice
    assert asyncio.run(novelty.check(PROGRAM)) is None  # identical: the cache's business
    novelty.remember(3, rewritten)
    assert len(embedder.batches) == 3 and novelty.ids == [1, 2, 3]  # known vector reused


def test_embedding_filter_lets_programs_through_when_the_server_fails(caplog) -> None:
    embedder = LetterEmbedder()
    novelty = EmbeddingNovelty(0.5, embedder)
    novelty.remember(1, PROGRAM)
    embedder.fail = True
    assert asyncio.run(novelty.check(PROGRAM.replace("1.5", "1.6"))) is None
    assert "novelty filter is skipped" in caplog.text
    assert novelty.waiting == [(1, PROGRAM)]  # embedded at the next check instead
    embedder.fail = False
    assert asyncio.run(novelty.check(PROGRAM.replace("1.5", "1.7"))) is not None


@pytest.mark.parametrize("threshold", [0.0, 0.99])
def test_the_loop_uses_the_embedding_model_when_one_is_given(
    make_task, tmp_path: Path, threshold: float
) -> None:
    body = "    a = 0.25\n    b = a * 2.0\n    c = b - 0.5\n    d = c + a\n    return d\n"
    first = f"```python\ndef f():\n{body}```"
    again = f"```python\ndef f():\n{body.replace('0.5', '0.6')}```"
    task = Task.from_dir(make_task())
    task = dataclasses.replace(
        task,
        budget=Budget(max_llm_calls=2, patience=None),
        search=dataclasses.replace(
            task.search, hypotheses_per_round=1, novelty=threshold, fix_attempts=0
        ),
    )
    embedder = LetterEmbedder()
    result = hone.run(
        task, model=ScriptedModel([first, again]), run_dir=tmp_path / "run", embedder=embedder
    )
    statuses = [c.evaluation.status for c in result.history]
    if threshold:
        assert statuses == ["ok", "ok", "duplicate"]
        assert (
            f"near-copy of program #{result.history[1].id}" in result.history[2].evaluation.reason
        )
        assert embedder.batches  # the embeddings decided, not the token shingles
    else:
        assert statuses == ["ok", "ok", "ok"] and not embedder.batches  # off: never called


def test_an_unknown_embedding_model_is_a_clear_error() -> None:
    from hone.exceptions import ConfigError
    from hone.models.embeddings import make_embedder

    with pytest.raises(ConfigError, match="use openai:<model>"):
        make_embedder("sentence-transformers:all-MiniLM", None)


def test_a_hypothesis_waiting_for_its_novelty_check_is_not_lost(make_task, tmp_path: Path) -> None:
    clock = FakeClock()

    class StuckEmbedder(LetterEmbedder):
        async def embed(self, texts: list[str]) -> list[list[float]]:
            clock.advance(10)  # the time budget runs out while the check waits
            await asyncio.Event().wait()
            return []

    task = Task.from_dir(make_task())
    task = dataclasses.replace(
        task,
        budget=Budget(max_llm_calls=1, patience=None, max_seconds=1.5),
        search=dataclasses.replace(task.search, hypotheses_per_round=1, novelty=0.9),
    )
    answer = "```python\ndef f():\n    return 7.0\n```"
    run_dir = tmp_path / "run"
    store = Store.create(run_dir, run_meta(task, 0))
    session = Session(
        task, store, 0, model=ScriptedModel([answer]), embedder=StuckEmbedder(), clock=clock
    )
    result = asyncio.run(session.drive())
    assert result.stop_reason == "max_seconds" and len(result.history) == 1
    resumed = hone.resume(run_dir, budget={"max_seconds": 30}, model=ScriptedModel([]))
    assert [c.score for c in resumed.history] == [-9.0, -3.0]  # verified on resume, not lost
