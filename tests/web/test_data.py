"""The read-only view of a run's store: snapshots, deltas that pick up what was verified since,
and no writes."""

from pathlib import Path

import pytest

from hone.evaluation import Evaluation
from hone.exceptions import RunDirError
from hone.store import Store
from hone.web.data import Cursor, RunReader, models


def test_a_delta_carries_what_is_new_and_what_was_verified_since(tmp_path: Path) -> None:
    store = Store.create(tmp_path / "r", {"seed": 0, "objective": "minimize"})
    start = store.set_evaluation(
        store.add_candidate(round=0, code="x = 1\n"), Evaluation(score=3.0)
    )
    call = store.add_call(
        round=1, model="m", prompt="Combine programs #1 and #2", completion="c",
        prompt_tokens=10, completion_tokens=5, started=0.0, latency=0.5, cost=0.01,
    )  # fmt: skip
    pending = store.add_candidate(round=1, code="x = 2\n", parent_ids=(1,), call_id=call)
    reader = RunReader.open(tmp_path / "r")
    cursor = Cursor()
    first = reader.delta(cursor)
    assert [h["status"] for h in first["hypotheses"]] == ["ok", "pending"]
    assert first["hypotheses"][1]["crossover"] is True and first["calls"][0]["cost"] == 0.01
    assert not reader.changed(cursor)
    again = reader.delta(cursor)  # a pending hypothesis is looked at again, until verified
    assert [h["id"] for h in again["hypotheses"]] == [2] and again["calls"] == []
    store.set_evaluation(pending, Evaluation(score=1.0, metrics={"size": 2.0}))
    store.add_note(round=1, kind="person", text="smaller")
    assert reader.changed(cursor)
    second = reader.delta(cursor)
    assert [(h["id"], h["score"]) for h in second["hypotheses"]] == [(2, 1.0)]
    assert [n["text"] for n in second["notes"]] == ["smaller"] and second["calls"] == []
    snapshot = reader.snapshot()
    scored = [h for h in snapshot["hypotheses"] if h["score"] is not None]
    assert snapshot["meta"]["objective"] == "minimize"
    assert min(scored, key=lambda h: (h["score"], h["id"]))["id"] == 2
    full = reader.hypothesis(2)
    assert full["diff"].splitlines()[-2:] == ["-x = 1", "+x = 2"]
    assert full["call"]["prompt"].startswith("Combine") and reader.hypothesis(start.id)[
        "children"
    ] == [2]
    assert models(snapshot["meta"], snapshot["calls"])[0]["cost"] == 0.01
    with pytest.raises(KeyError):
        reader.hypothesis(9)
    with pytest.raises(Exception, match="readonly"):
        reader.conn.execute("DELETE FROM candidates")
    reader.close()
    store.close()


def test_a_store_from_before_costs_is_read_without_them(tmp_path: Path) -> None:
    store = Store.create(tmp_path / "r", {"seed": 0})
    store.add_call(
        round=1, model="m", prompt="p", completion="c", prompt_tokens=1, completion_tokens=1,
        started=0.0, latency=0.1,
    )  # fmt: skip
    store.conn.execute("ALTER TABLE llm_calls DROP COLUMN cost")
    store.close()
    reader = RunReader.open(tmp_path / "r")
    assert reader.snapshot()["calls"][0]["cost"] is None
    reader.close()
    with pytest.raises(RunDirError, match="is not a hone run"):
        RunReader.open(tmp_path / "nothing")
