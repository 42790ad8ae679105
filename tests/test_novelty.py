"""Near-copies: similarity of programs and the filter's decisions."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import hone
from hone.config import Budget
from hone.novelty import NoveltyFilter, similarity
from hone.task import Task
from hone.testing import ScriptedModel

PROGRAM = """
def priority(item, bins):
    gap = bins - item
    score = -gap * 1.5 + 0.25 * bins
    return score / (1 + abs(gap))
"""


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
