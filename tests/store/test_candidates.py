"""The hypotheses: written, evaluated, placed, tried again, read back."""

import json
import sqlite3
from pathlib import Path

import pytest

from hone.evaluation import Evaluation
from hone.executors import Attempt
from hone.meta import RunMeta
from hone.store import Store
from hone.tree import Tree
from tests.helpers import before_views


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
    added = store.add_candidate(round=0, tree=Tree.one("program.py", "x = 1\n"))
    evaluated = store.set_evaluation(
        added, Evaluation(score=1.0, metrics={"a": 2.0}, feedback="ok"), output="hi"
    )
    first = added.id
    pending = store.add_candidate(
        round=1, tree=Tree.one("program.py", "x = 2\n"), parent_ids=(first,), call_id=call
    ).id
    rejected = store.add_candidate(
        round=1, tree=None, call_id=call, evaluation=Evaluation.failed("invalid-edit", "no code")
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


def test_placements_are_kept_in_the_order_told_and_an_older_store_gets_their_columns(
    tmp_path: Path,
) -> None:
    store = Store.create(tmp_path / "run")
    for code in ("x = 1\n", "x = 2\n", "x = 3\n"):
        store.set_evaluation(
            store.add_candidate(round=0, tree=Tree.one("program.py", code)), Evaluation(score=1.0)
        )
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


def older_store(run_dir: Path, without: str) -> None:
    """A store of one evaluated hypothesis as an older hone wrote it: no column `without`."""
    store = Store.create(run_dir)
    store.set_evaluation(
        store.add_candidate(round=0, tree=Tree.one("program.py", "x = 1\n")), Evaluation(score=1.0)
    )
    store.close()
    with sqlite3.connect(run_dir / "hone.db") as db:
        before_views(db)
        db.execute(f"ALTER TABLE candidates DROP COLUMN {without}")


def test_attempts_on_a_cluster_are_kept_in_order_and_an_older_store_gets_their_column(
    tmp_path: Path,
) -> None:
    older_store(tmp_path / "run", without="attempts")
    assert Store.open(tmp_path / "run", readonly=True).attempts() == {}  # (read as it is)
    store = Store.open(tmp_path / "run")
    tries = (Attempt("n1", "10.0.0.1", "lost", "ActorDiedError"), Attempt("n2", "10.0.0.2", "ok"))
    second = store.add_candidate(round=1, tree=Tree.one("program.py", "x = 2\n"))
    store.set_evaluation(second, Evaluation(score=2.0), attempts=tries)
    assert store.attempts() == {second.id: tries}  # the local executor's first: none
    assert store.spread() == (1, 1)  # one node gave an outcome, one evaluation was tried again
    store.close()


def test_residuals_are_kept_and_read_by_id_and_an_older_store_gets_their_column(
    tmp_path: Path,
) -> None:
    older_store(tmp_path / "run", without="residuals")
    assert Store.open(tmp_path / "run", readonly=True).residuals([1]) == {}  # (read as it is)
    store = Store.open(tmp_path / "run")
    fitted = store.add_candidate(round=1, tree=Tree.one("program.py", "x = 2\n"))
    store.set_evaluation(fitted, Evaluation(score=0.5, residuals=(0.25, -1.0)))
    assert store.residuals([1, fitted.id, 99]) == {fitted.id: (0.25, -1.0)}
    [lean] = store.lean_by_id([fitted.id])
    assert lean.evaluation.residuals == ()  # (the views never load them)
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
    with pytest.raises(ValueError, match=r"the text of program\.py is not valid Unicode"):
        Tree.one("program.py", f"# {odd}\n")  # (a program is text: a tree holds no other)
    candidate = store.add_candidate(round=1, tree=Tree.one("program.py", "# café\n"))
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
