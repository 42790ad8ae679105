"""A run's collaborators built once: a resumed run's strategy is told of the stored hypotheses
again, so that it chooses and places as the run would have gone on uninterrupted."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

import hone
from hone.testing import FunctionVerifier, ScriptedModel

VALUES = [3.0, 12.0, 6.0, 9.5, 4.0, 7.0, 11.0, 8.0, 2.0, 10.5]


def scored(program: str) -> dict[str, float]:
    namespace: dict[str, Any] = {}
    exec(program, namespace)
    value = float(namespace["run"]())
    return {"combined_score": -abs(value - 10.0), "value": value, "spread": abs(value - 5.0)}


def answers() -> ScriptedModel:
    return ScriptedModel([f"```python\ndef f():\n    return {v!r}\n```" for v in VALUES])


def placements(run_dir: Path) -> list[tuple[int, Any, Any]]:
    """(id, placement, parents) of every hypothesis, in the order placed."""
    with sqlite3.connect(run_dir / "hone.db") as db:
        rows = db.execute("SELECT id, placement, parent_ids FROM candidates ORDER BY placed")
        return [(i, json.loads(p), json.loads(parents)) for i, p, parents in rows]


@pytest.mark.parametrize(
    "search",
    [
        {"strategy": "islands", "islands": 3, "reset_every": 3},
        {"strategy": "map-elites", "features": {"value": [4.0], "spread": [0.0, 8.0, 4.0]}},
        {"strategy": "pareto", "objectives": {"value": "maximize", "spread": "minimize"}},
    ],
    ids=lambda s: s["strategy"],
)
def test_a_resumed_run_chooses_and_places_as_an_uninterrupted_one(
    make_task, tmp_path: Path, search: dict[str, Any]
) -> None:
    task = hone.Task.from_dir(make_task())
    task = dataclasses.replace(
        task,
        search=dataclasses.replace(
            task.search, deterministic=True, hypotheses_per_round=2, **search
        ),
    )
    budget = hone.Budget(max_llm_calls=len(VALUES), patience=None)
    verifier = FunctionVerifier(scored)
    hone.run(task, model=answers(), run_dir=tmp_path / "straight", budget=budget, verifier=verifier)
    half = dataclasses.replace(budget, max_llm_calls=4)
    hone.run(task, model=answers(), run_dir=tmp_path / "split", budget=half, verifier=verifier)
    hone.resume(
        tmp_path / "split",
        budget={"max_llm_calls": len(VALUES)},
        model=answers(),
        verifier=verifier,
    )
    straight = placements(tmp_path / "straight")
    assert len(straight) == len(VALUES) + 1 and all(p is not None for _, p, _ in straight)
    assert placements(tmp_path / "split") == straight  # the same parents, the same placements


def test_placements_an_older_hone_did_not_store_are_stored_when_resumed(
    make_task, tmp_path: Path
) -> None:
    """The strategy is told of the stored hypotheses in id order; what it was told of for the
    first time (an older hone stored no placements) is stored, before what comes next."""
    task = hone.Task.from_dir(make_task())
    features = {"value": [0.0, 20.0, 5.0]}
    task = dataclasses.replace(
        task,
        search=dataclasses.replace(task.search, strategy="map-elites", features=features),
    )
    verifier = FunctionVerifier(scored)
    budget = hone.Budget(max_llm_calls=4, patience=None)
    hone.run(task, model=answers(), run_dir=tmp_path / "run", budget=budget, verifier=verifier)
    before = placements(tmp_path / "run")
    with sqlite3.connect(tmp_path / "run" / "hone.db") as db:
        db.execute("UPDATE candidates SET placement = NULL, placed = NULL")
    hone.resume(tmp_path / "run", budget={"max_llm_calls": 5}, model=answers(), verifier=verifier)
    after = placements(tmp_path / "run")
    assert after[: len(before)] == before and len(after) == len(before) + 1
    assert after[-1][1]["cell"] == [int(VALUES[4] // 4)]  # 4.0: the 2nd of 5 bins of 0-20
