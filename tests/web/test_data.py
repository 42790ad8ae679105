"""The read-only view of a run's store: snapshots, deltas that pick up what was verified since,
and no writes."""

from pathlib import Path

import pytest

from hone.evaluation import Evaluation
from hone.exceptions import RunDirError
from hone.meta import RunMeta
from hone.store import Store
from hone.web.data import Cursor, RunReader, models


def test_a_delta_carries_what_is_new_and_what_was_verified_since(tmp_path: Path) -> None:
    store = Store.create(tmp_path / "r", RunMeta(objective="minimize"))
    start = store.set_evaluation(
        store.add_candidate(round=0, code="x = 1\n"), Evaluation(score=3.0)
    )
    call = store.add_call(
        round=1, model="m", prompt="Combine programs #1 and #2", completion="c",
        prompt_tokens=10, completion_tokens=5, started=0.0, latency=0.5, cost=0.01,
        purpose={"kind": "crossover", "parents": [1]},
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
    assert second["hypotheses"][0]["placement"] is None  # verified, not registered yet
    store.set_placements([(2, {"island": 1})])  # registered: sent again, with its placement
    third = reader.delta(cursor)
    assert [(h["id"], h["placement"], h["placed"]) for h in third["hypotheses"]] == [
        (2, {"island": 1}, 1)
    ]
    assert reader.delta(cursor)["hypotheses"] == []
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


def test_a_crossover_is_what_the_call_was_for_not_what_its_prompt_says(tmp_path: Path) -> None:
    """The stored purpose marks a crossover (a fix of one's answer too); a prompt that only
    quotes the words is not one."""
    store = Store.create(tmp_path / "r")
    store.set_evaluation(store.add_candidate(round=0, code="x = 1\n"), Evaluation(score=1.0))
    kinds = [
        ("improve", {"kind": "improve"}, "Combine programs #1 and #2, a note said"),
        ("crossover", {"kind": "crossover"}, "p"),
        ("fixed crossover", {"kind": "fix", "fixes": "crossover", "answer_of": 2}, "p"),
        ("fixed improvement", {"kind": "fix", "fixes": "improve", "answer_of": 1}, "p"),
        ("older hone's", {"kind": "hypothesis"}, "Combine programs #1 and #2"),
    ]
    for _, purpose, prompt in kinds:
        call = store.add_call(
            round=1, model="m", prompt=prompt, completion="c", prompt_tokens=1,
            completion_tokens=1, started=0.0, latency=0.1, purpose=purpose,
        )  # fmt: skip
        added = store.add_candidate(
            round=1, code=f"x = {call + 1}\n", parent_ids=(1,), call_id=call
        )
        store.set_evaluation(added, Evaluation(score=2.0))
    reader = RunReader.open(tmp_path / "r")
    found = {
        name: h["crossover"]
        for (name, *_), h in zip(kinds, reader.snapshot()["hypotheses"][1:], strict=True)
    }
    assert found == {
        "improve": False, "crossover": True, "fixed crossover": True,
        "fixed improvement": False, "older hone's": False,
    }  # fmt: skip
    assert reader.hypothesis(3)["crossover"] is True and reader.hypothesis(2)["crossover"] is False
    reader.close()
    store.close()


def test_a_store_from_before_costs_is_read_without_them(tmp_path: Path) -> None:
    store = Store.create(tmp_path / "r")
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


def test_an_answer_that_did_not_apply_has_no_diff(tmp_path: Path) -> None:
    """No program: no diff (against nothing, the whole parent read as deleted); the answer is
    there to show instead."""
    store = Store.create(tmp_path / "r")
    store.set_evaluation(store.add_candidate(round=0, code="x = 1\n"), Evaluation(score=1.0))
    call = store.add_call(
        round=1, model="m", prompt="p", completion="Use a lattice.", prompt_tokens=1,
        completion_tokens=1, started=0.0, latency=0.1, purpose={"kind": "improve"},
    )  # fmt: skip
    rejected = Evaluation.failed("invalid-edit", "no code block")
    store.add_candidate(round=1, code=None, parent_ids=(1,), call_id=call, evaluation=rejected)
    reader = RunReader.open(tmp_path / "r")
    found = reader.hypothesis(2)
    assert found["code"] is None and found["diff"] == ""
    assert (found["status"], found["reason"]) == ("invalid-edit", "no code block")
    assert found["call"]["completion"] == "Use a lattice."
    reader.close()
    store.close()


def test_running_means_a_process_holds_the_run_and_its_end_is_noticed(tmp_path: Path) -> None:
    """The state a delta carries: running only while the status says so and a process holds
    the run's lock; a process gone without a word (the lock let go) is a change, and then the
    run stopped unexpectedly. The reader never creates the lock file."""
    store = Store.create(tmp_path / "r")
    reader = RunReader.open(tmp_path / "r")
    cursor = Cursor()
    assert reader.delta(cursor)["state"] == {
        "running": False,
        "text": "stopped unexpectedly while starting (before its first model call): killed or crashed",
    }
    assert not (tmp_path / "r" / ".lock").exists()
    store.lock()
    store.set_status("running")
    assert reader.delta(cursor)["state"] == {"running": True, "text": "running"}
    assert not reader.changed(cursor)
    store.close()  # as kill -9 would: nothing written, the lock gone
    assert reader.changed(cursor)
    assert reader.delta(cursor)["state"]["text"] == "stopped unexpectedly: killed or crashed"
    assert not reader.changed(cursor)
    store = Store.open(tmp_path / "r")
    store.set_status("stopped", stop_reason="max_llm_calls")
    assert reader.delta(cursor)["state"] == {
        "running": False,
        "text": "stopped: model-call budget spent",
    }
    store.set_status("failed", error="the model server went away")
    assert reader.delta(cursor)["state"]["text"] == "failed: the model server went away"
    reader.close()
    store.close()
