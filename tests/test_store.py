import json
import sqlite3
from pathlib import Path

import pytest

from hone.evaluation import Evaluation
from hone.exceptions import RunDirError
from hone.meta import RunMeta
from hone.store import Store


def test_round_trip_of_calls_candidates_and_meta(tmp_path: Path) -> None:
    store = Store.create(tmp_path / "run", RunMeta(seed=5))
    call = store.add_call(
        round=1,
        model="m",
        prompt="p",
        completion="c",
        prompt_tokens=10,
        completion_tokens=4,
        started=1.0,
        latency=0.5,
    )
    added = store.add_candidate(round=0, code="x = 1\n")
    evaluated = store.set_evaluation(
        added, Evaluation(score=1.0, metrics={"a": 2.0}, feedback="ok"), output="hi"
    )
    first = added.id
    pending = store.add_candidate(round=1, code="x = 2\n", parent_ids=(first,), call_id=call).id
    rejected = store.add_candidate(
        round=1, code=None, call_id=call, evaluation=Evaluation.failed("invalid-edit", "no code")
    ).id
    store.close()

    store = Store.open(tmp_path / "run")
    assert store.meta().seed == 5
    done = store.candidates()
    assert [c.id for c in done] == [first, rejected]
    assert done[0].evaluation.metrics == {"a": 2.0} and done[0].output == "hi"
    assert done[1].evaluation.status == "invalid-edit" and done[1].evaluation.reason == "no code"
    assert done[0] == evaluated  # what set_evaluation returned is what reads back
    [p] = store.candidates(pending=True)
    assert p.id == pending and p.parent_ids == (first,) and p.call_id == call
    assert p.evaluation.status == "pending" and not p.evaluation.ok  # not "ok"
    usage = store.usage()
    assert (usage.calls, usage.tokens) == (1, 14)
    assert store.last_round() == 1


def test_open_rejects_a_folder_that_is_not_a_run(tmp_path: Path) -> None:
    with pytest.raises(RunDirError, match="is not a hone run"):
        Store.open(tmp_path)


def test_create_refuses_an_existing_run(tmp_path: Path) -> None:
    Store.create(tmp_path / "r").close()
    with pytest.raises(RunDirError, match="already holds a run"):
        Store.create(tmp_path / "r")


def test_one_writer_at_a_time(tmp_path: Path) -> None:
    first = Store.create(tmp_path / "r")
    first.lock()
    second = Store.open(tmp_path / "r")
    with pytest.raises(RunDirError, match="in use by another hone process"):
        second.lock()
    first.close()
    second.lock()
    second.close()


def test_database_uses_wal(tmp_path: Path) -> None:
    store = Store.create(tmp_path / "r")
    assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    store.close()


def test_a_run_recorded_before_calls_kept_their_seed_still_opens(tmp_path: Path) -> None:
    store = Store.create(tmp_path / "run")
    call = dict(round=1, model="m", prompt="p", completion="c", prompt_tokens=1)
    store.add_call(**call, completion_tokens=1, started=0.0, latency=0.0)
    store.conn.execute("ALTER TABLE llm_calls DROP COLUMN seed")  # as an older hone wrote it
    store.close()
    store = Store.open(tmp_path / "run")
    store.add_call(**call, completion_tokens=1, started=0.0, latency=0.0, seed=42)
    assert [row["seed"] for row in store.calls()] == [None, 42]
    store.close()


def test_a_run_recorded_before_calls_kept_their_cost_opens_and_sums_it(tmp_path: Path) -> None:
    store = Store.create(tmp_path / "run")
    call = dict(round=1, model="m", prompt="p", completion="c", prompt_tokens=1)
    store.add_call(**call, completion_tokens=1, started=0.0, latency=0.0)
    store.conn.execute("ALTER TABLE llm_calls DROP COLUMN cost")  # as an older hone wrote it
    store.close()
    store = Store.open(tmp_path / "run")
    store.add_call(**call, completion_tokens=1, started=0.0, latency=0.0, cost=0.25)
    store.add_call(**call, completion_tokens=1, started=0.0, latency=0.0, cost=None)
    assert [row["cost"] for row in store.calls()] == [None, 0.25, None]
    assert store.usage().cost == 0.25 and store.usage().calls == 3
    store.close()


def test_notes_after_sees_what_another_connection_added(tmp_path: Path) -> None:
    store = Store.create(tmp_path / "run")
    store.add_note(round=1, kind="reflection", text="r")
    other = Store.open(tmp_path / "run")
    first = other.add_note(round=1, kind="person", text="try a lattice")
    assert store.notes_after("person", 0) == [(first, "try a lattice")]
    assert store.notes_after("person", first) == []
    other.close()
    store.close()


def test_a_store_without_the_kind_column_is_read_and_upgraded(tmp_path: Path) -> None:
    store = Store.create(tmp_path / "run")
    store.add_candidate(round=0, code="x = 1\n")
    store.close()
    with sqlite3.connect(tmp_path / "run" / "hone.db") as db:
        db.execute("ALTER TABLE candidates DROP COLUMN kind")  # as an older hone wrote it
    readonly = Store.open(tmp_path / "run", readonly=True)
    assert [c.kind for c in readonly.candidates(pending=True)] == [""]
    readonly.close()
    store = Store.open(tmp_path / "run")
    trial = store.add_candidate(round=0, code="x = 2\n", parent_ids=(1,), kind="tune")
    assert [c.kind for c in store.candidates(pending=True)] == ["", "tune"] and trial.kind == "tune"
    store.close()


def test_placements_are_kept_in_the_order_told_and_an_older_store_gets_their_columns(
    tmp_path: Path,
) -> None:
    store = Store.create(tmp_path / "run")
    for code in ("x = 1\n", "x = 2\n", "x = 3\n"):
        store.set_evaluation(store.add_candidate(round=0, code=code), Evaluation(score=1.0))
    store.close()
    with sqlite3.connect(tmp_path / "run" / "hone.db") as db:  # as an older hone wrote it
        db.execute("DROP INDEX candidates_placed")
        db.execute("ALTER TABLE candidates DROP COLUMN placed")
        db.execute("ALTER TABLE candidates DROP COLUMN placement")
    store = Store.open(tmp_path / "run")
    assert store.unplaced() == {1, 2, 3}
    store.set_placements([(3, {"island": 0}), (1, {"founder": True})])
    store.set_placements([(2, {"island": 1, "resets": [{"island": 0, "donor": 1, "seed": 2}]})])
    rows = store.conn.execute("SELECT id, placement, placed FROM candidates ORDER BY placed")
    assert [(r[0], json.loads(r[1]), r[2]) for r in rows] == [
        (3, {"island": 0}, 1),
        (1, {"founder": True}, 2),
        (2, {"island": 1, "resets": [{"island": 0, "donor": 1, "seed": 2}]}, 3),
    ]
    assert store.unplaced() == set()
    plan = store.conn.execute(
        "EXPLAIN QUERY PLAN SELECT id FROM candidates WHERE placed > 1"
    ).fetchall()
    assert "candidates_placed" in plan[0][3]  # (the dashboard asks for this at every change)
    store.close()


def test_no_write_fails_on_what_a_caller_passes(tmp_path: Path) -> None:
    """Text that is no UTF-8 and counts no SQLite integer holds, from a model or verifier a
    Python user wrote: stored (made valid), never a UnicodeEncodeError or OverflowError."""
    store = Store.create(tmp_path / "run")
    odd = b"caf\xe9".decode("utf-8", "surrogateescape")
    store.add_call(
        round=1, model="m", prompt=odd, completion="\ud800", prompt_tokens=10**20,
        completion_tokens=-5, started=1.0, latency=0.5, error=None,
    )  # fmt: skip
    with store.conn:  # 1,099 more such calls: past what SQLite's SUM of integers holds
        store.conn.executemany(
            "INSERT INTO llm_calls(round, model, prompt, completion, prompt_tokens, "
            "completion_tokens, started, latency) SELECT round, model, prompt, completion, "
            "prompt_tokens, completion_tokens, started, latency FROM llm_calls WHERE id = ?",
            [(1,)] * 1099,
        )
    candidate = store.add_candidate(round=1, code=f"# {odd}\n")
    evaluated = store.set_evaluation(
        candidate, Evaluation(score=1.0, feedback=odd, metrics={odd: 1.0}), output=odd
    )
    note = store.add_note(round=1, kind="person", text=odd)
    assert evaluated.evaluation.feedback == "caf\ufffd" and evaluated.output == "caf\ufffd"
    assert evaluated.evaluation.metrics == {"caf\ufffd": 1.0}
    assert store.candidate(candidate.id) == evaluated
    row = next(store.calls())
    assert (row["prompt"], row["completion"], row["prompt_tokens"], row["completion_tokens"]) == (
        "caf\ufffd", "\ufffd", 2**53, 0,
    )  # fmt: skip
    usage = store.usage()  # (an exact sum would overflow: it is a float's)
    assert usage.calls == 1100 and usage.prompt_tokens == pytest.approx(1100 * 2**53)
    assert store.notes("person") == [(1, "caf\ufffd")] and note > 0
    store.close()
