import json
import random
import sqlite3
from pathlib import Path

import pytest

from hone.evaluation import Evaluation
from hone.exceptions import RunDirError
from hone.executors import Attempt
from hone.meta import RunMeta
from hone.store import Store, new_bests
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
    before_views(store.conn)
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
    store.add_candidate(round=0, tree=Tree.one("program.py", "x = 1\n"))
    store.close()
    with sqlite3.connect(tmp_path / "run" / "hone.db") as db:
        db.execute("ALTER TABLE candidates DROP COLUMN kind")  # as an older hone wrote it
    readonly = Store.open(tmp_path / "run", readonly=True)
    assert [c.kind for c in readonly.candidates(pending=True)] == [""]
    readonly.close()
    store = Store.open(tmp_path / "run")
    trial = store.add_candidate(
        round=0, tree=Tree.one("program.py", "x = 2\n"), parent_ids=(1,), kind="tune"
    )
    assert [c.kind for c in store.candidates(pending=True)] == ["", "tune"] and trial.kind == "tune"
    store.close()


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


def test_attempts_on_a_cluster_are_kept_in_order_and_an_older_store_gets_their_column(
    tmp_path: Path,
) -> None:
    store = Store.create(tmp_path / "run")
    store.set_evaluation(
        store.add_candidate(round=0, tree=Tree.one("program.py", "x = 1\n")), Evaluation(score=1.0)
    )
    store.close()
    with sqlite3.connect(tmp_path / "run" / "hone.db") as db:  # as an older hone wrote it
        before_views(db)
        db.execute("ALTER TABLE candidates DROP COLUMN attempts")
    assert Store.open(tmp_path / "run", readonly=True).attempts() == {}  # (read as it is)
    store = Store.open(tmp_path / "run")
    tries = (Attempt("n1", "10.0.0.1", "lost", "ActorDiedError"), Attempt("n2", "10.0.0.2", "ok"))
    second = store.add_candidate(round=1, tree=Tree.one("program.py", "x = 2\n"))
    store.set_evaluation(second, Evaluation(score=2.0), attempts=tries)
    assert store.attempts() == {second.id: tries}  # the local executor's first: none
    assert store.spread() == (1, 1)  # one node gave an outcome, one evaluation was tried again
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


# -- trees: file texts once each, a hypothesis as its parent plus what changed ----------------
def test_a_tree_is_stored_as_its_parent_plus_its_changed_files(tmp_path: Path) -> None:
    import json

    from hone.store import _CHAIN
    from hone.tree import blob_hash

    store = Store.create(tmp_path / "run")
    files = {f"pkg/m{i}.py": f"X = {i}\n" * 50 for i in range(20)}
    start = store.add_candidate(round=0, tree=Tree(files))
    trees, parent = [start.tree], start
    for i in range(_CHAIN + 3):  # each changes one file of its parent
        assert parent.tree is not None
        tree = parent.tree.with_files({f"pkg/m{i % 20}.py": f"X = {i}  # changed\n"})
        parent = store.add_candidate(round=1, tree=tree, parent_ids=(parent.id,))
        trees.append(tree)
    rows = store.conn.execute("SELECT files, files_of FROM candidates ORDER BY id").fetchall()
    assert json.loads(rows[0]["files"]) == {p: blob_hash(t) for p, t in files.items()}
    assert rows[0]["files_of"] is None  # a tree without a parent: whole
    assert json.loads(rows[1]["files"]) == {"pkg/m0.py": blob_hash("X = 0  # changed\n")}
    assert rows[1]["files_of"] == 1
    whole = [i for i, row in enumerate(rows) if row["files_of"] is None]
    assert whole == [0, _CHAIN + 1]  # a line of trees written over their parents is cut
    assert store.conn.execute("SELECT COUNT(*) FROM blobs").fetchone()[0] == 20 + _CHAIN + 3
    store.close()
    again = Store.open(tmp_path / "run")  # read back cold, without what the writer kept
    assert [c.tree for c in again.candidates(pending=True)] == trees
    assert [again.trees.tree(i) for i in (1, 17, _CHAIN + 3)] == [trees[0], trees[16], trees[-2]]
    again.close()


def test_a_text_many_hypotheses_share_is_stored_once(tmp_path: Path) -> None:
    store = Store.create(tmp_path / "run")
    big = "Y = 1\n" * 5_000
    for i in range(10):  # ten one-file trees: the same text, by other names too
        store.add_candidate(round=i, tree=Tree.one(f"p{i % 2}.py", big))
    assert store.conn.execute("SELECT COUNT(*) FROM blobs").fetchone()[0] == 1
    size = store.conn.execute("SELECT LENGTH(data) FROM blobs").fetchone()[0]
    assert size < len(big) / 20  # compressed
    assert [c.code for c in store.candidates(pending=True)] == [big] * 10
    store.close()


def test_a_store_from_before_trees_opens_shows_and_resumes(
    make_task, tmp_path: Path, capsys
) -> None:
    """A run recorded by hone before trees (tests/data/old_store: three hypotheses, each
    program in the `code` column) reads as one-file trees, shows, and goes on."""
    import json
    import shutil

    import hone
    from hone.cli import main
    from hone.testing import ScriptedModel
    from tests.conftest import PROGRAM

    task = make_task()
    run_dir = tmp_path / "old"
    shutil.copytree(Path(__file__).parent / "data" / "old_store", run_dir)
    with sqlite3.connect(run_dir / "hone.db") as db:
        columns = {row[1] for row in db.execute("PRAGMA table_info(candidates)")}
        assert "code" in columns and "files" not in columns  # (what the test is about)
        db.execute("UPDATE meta SET value = ? WHERE key = 'task_dir'", (json.dumps(str(task)),))
    readonly = Store.open(run_dir, readonly=True)
    old = readonly.candidates()
    readonly.close()
    assert [c.tree.paths if c.tree else None for c in old] == [("initial.py",)] * 2 + [None]
    assert old[0].code == PROGRAM and old[1].code == PROGRAM.replace("1.0", "2.0")
    assert main(["show", str(run_dir), "--hypothesis", "2"]) == 0
    shown = capsys.readouterr().out
    assert "-    return 1.0\n+    return 2.0\n" in shown and "--- a/initial.py" in shown
    six = "<<<<<<< SEARCH\n    return 2.0\n=======\n    return 6.0\n>>>>>>> REPLACE\n"
    model = ScriptedModel(["(used)", "(used)", six])  # (it goes on after the two answered)
    resumed = hone.resume(run_dir, budget={"max_llm_calls": 3}, model=model)
    new = resumed.history[-1]
    assert new.parent_ids[0] == 2 and new.score == -4.0
    assert new.code == PROGRAM.replace("1.0", "6.0")
    with sqlite3.connect(run_dir / "hone.db") as db:
        files, files_of = db.execute(
            "SELECT files, files_of FROM candidates WHERE id = ?", (new.id,)
        ).fetchone()
    assert list(json.loads(files)) == ["initial.py"] and files_of is None
    assert (run_dir / "best.py").read_text() == new.code


# -- prompts: kept without the programs they quote, rebuilt byte for byte -------------------
def _program(seed: int) -> str:
    """A program of about 3 KB that compresses poorly on its own (numbers of its own)."""
    import random

    rng = random.Random(seed)
    lines = [f"W{i} = {rng.random()!r}  # {rng.getrandbits(64):x}" for i in range(60)]
    return "\n".join(lines) + "\n"


def test_a_prompt_is_kept_without_the_programs_it_quotes_and_rebuilt_exactly(
    tmp_path: Path,
) -> None:
    """A prompt quoting its parents' programs, and an answer rewriting one, cost a reference
    to their stored files, not a copy (their bytes a fraction of a program's); every reader
    gets them back byte for byte, odd characters and a prompt quoting nothing included."""
    from hone.web.data import RunReader

    store = Store.create(tmp_path / "run")
    one = store.add_candidate(round=0, tree=Tree.one("program.py", _program(1)))
    two = store.add_candidate(
        round=1, tree=Tree.one("program.py", _program(2)), parent_ids=(one.id,)
    )
    assert one.code is not None and two.code is not None
    prompt = (
        "[system]\nYou improve programs. ünïcödé ✓\n[user]\nThe parent:\n```python\n"
        f"{two.code}```\nAn inspiration:\n```python\n{one.code}```\nImprove the parent.\n"
    )
    purpose = {"kind": "crossover", "parents": [two.id, one.id]}
    answer = f"Moved W3.\n```python\n{two.code.replace('W3 =', 'W3 = 2 *')}```\n"
    answered = store.add_call(
        round=2, model="m", prompt=prompt, completion=answer, prompt_tokens=1,
        completion_tokens=1, started=1.0, latency=0.1, purpose=purpose,
    )  # fmt: skip
    alone = store.add_call(
        round=2, model="m", prompt="no program quoted\n" * 3, completion="y", prompt_tokens=1,
        completion_tokens=1, started=1.0, latency=0.1, purpose={"kind": "insights"},
    )  # fmt: skip
    store.add_candidate(round=2, tree=Tree.one("program.py", "z = 1\n"), call_id=answered)
    kept, packed, answer_kept, answer_packed = store.conn.execute(
        "SELECT prompt, prompt_z, completion, completion_z FROM llm_calls WHERE id = ?",
        (answered,),
    ).fetchone()
    assert kept == "" and len(packed) < len(two.code) // 4  # (two programs quoted, ~6 KB)
    assert answer_kept == "" and len(answer_packed) < len(two.code) // 4  # (one rewritten)
    assert [c["prompt"] for c in store.calls()] == [prompt, "no program quoted\n" * 3]
    assert [c["completion"] for c in store.calls()] == [answer, "y"]
    store.close()
    reopened = Store.open(tmp_path / "run", readonly=True)  # (a fresh process: nothing cached)
    assert next(reopened.calls())["prompt"].encode() == prompt.encode()
    reopened.close()
    reader = RunReader.open(tmp_path / "run")
    assert reader.hypothesis(3)["call"]["prompt"] == prompt
    assert reader.hypothesis(3)["call"]["completion"] == answer
    reader.close()
    assert alone > answered


def test_the_prompts_of_an_older_store_still_read(tmp_path: Path, capsys) -> None:
    """A store written before prompts were packed (tests/data/old_store: each prompt whole in
    `prompt`) reads them as they were, read-only and once opened for writing; a call added
    then is packed beside them."""
    import shutil

    from hone.cli import main

    run_dir = tmp_path / "old"
    shutil.copytree(Path(__file__).parent / "data" / "old_store", run_dir)
    with sqlite3.connect(run_dir / "hone.db") as db:
        whole = [row[0] for row in db.execute("SELECT prompt FROM llm_calls ORDER BY id")]
    readonly = Store.open(run_dir, readonly=True)
    assert [c["prompt"] for c in readonly.calls()] == whole
    readonly.close()
    assert main(["show", str(run_dir), "--hypothesis", "2"]) == 0
    assert whole[0].splitlines()[-1] in capsys.readouterr().out
    store = Store.open(run_dir)
    store.add_call(
        round=3, model="m", prompt=whole[1] + "again", completion="c", prompt_tokens=1,
        completion_tokens=1, started=1.0, latency=0.1, purpose={"kind": "improve", "parents": [2]},
    )  # fmt: skip
    assert [c["prompt"] for c in store.calls()] == [*whole, whole[1] + "again"]
    store.close()


def test_a_store_from_before_the_checks_is_shown_read_only_as_it_is(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`hone show` reads a run the hone before the checks of new bests recorded (no holdout,
    verified or attempts column, no findings table) without adding them: its lean rows,
    its new bests and its answer read as a run whose bests were never checked."""
    from hone.cli import main
    from hone.store import opened

    store = Store.create(tmp_path / "run", RunMeta(task_name="old"))
    for value in (1.0, 3.0, 2.0):
        made = store.add_candidate(round=0, tree=Tree.one("p.py", f"x = {value}\n"))
        store.set_evaluation(made, Evaluation(score=value))
    store.close()
    with sqlite3.connect(tmp_path / "run" / "hone.db") as db:  # as an older hone wrote it
        before_views(db)
        for column in ("holdout", "verified", "attempts"):
            db.execute(f"ALTER TABLE candidates DROP COLUMN {column}")
        db.execute("DROP TABLE findings")
    with opened(tmp_path / "run") as old:
        assert [(c.id, c.holdout, c.verified) for c in old.candidates(lean=True)] == [
            (1, None, None),
            (2, None, None),
            (3, None, None),
        ]
        assert [c.id for c in old.bests("maximize")] == [1, 2]
    capsys.readouterr()
    assert main(["show", str(tmp_path / "run")]) == 0
    assert "best score 3 (#2, round 0)" in capsys.readouterr().out
    with sqlite3.connect(tmp_path / "run" / "hone.db") as db:  # read as it is: not migrated
        assert "holdout" not in {row[1] for row in db.execute("PRAGMA table_info(candidates)")}


def test_the_new_bests_leave_out_what_failed_a_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A best that failed its strict check is no answer, so no new best either: hone show's
    gain runs from the start to the answer it prints (2, then 2.5 beats it), not to 3."""
    from hone.cli import main

    store = Store.create(tmp_path / "run", RunMeta(task_name="t"))
    for i, score in enumerate((1.0, 2.0, 3.0, 2.5), start=1):
        made = store.add_candidate(
            round=i - 1, tree=Tree.one("p.py", f"x = {score}\n"), parent_ids=(i - 1,)[: i - 1]
        )
        store.set_evaluation(made, Evaluation(score=score))
    store.add_finding(3, "verify_strict", False, "x = 3 breaks the rule")
    assert [c.id for c in store.bests("maximize")] == [1, 2, 4]
    store.close()
    capsys.readouterr()
    assert main(["show", str(tmp_path / "run")]) == 0
    out = capsys.readouterr().out
    assert "best score 2.5 (#4, round 3)" in out
    assert "gain from the start 1 → 2.5: model 1.5, tuning 0" in out


# -- what the views read of a long run: the calls' totals, the new bests by index ----------------
def _totals(conn: sqlite3.Connection, source: str) -> list[tuple[object, ...]]:
    rows = conn.execute(
        "SELECT model, endpoint, kind, calls, failed, prompt_tokens, completion_tokens, latency, "
        f"cost, priced, first FROM {source} ORDER BY model, endpoint, kind"
    )
    return [tuple(round(v, 9) if isinstance(v, float) else v for v in row) for row in rows]


def _rounded(rows: list[dict[str, object]]) -> list[dict[str, object]]:
    return [{k: round(v, 9) if isinstance(v, float) else v for k, v in r.items()} for r in rows]


def _write_calls(store: Store, rng: random.Random, count: int) -> None:
    purposes = [{"kind": "improve"}, {"kind": "crossover"}, {"kind": "fix"}, {"kind": "insights"}]
    for i in range(count):
        store.add_call(
            round=i, model=rng.choice(["a", "b"]), prompt="p", completion="c",
            prompt_tokens=rng.randint(0, 900), completion_tokens=rng.randint(0, 900),
            started=float(i), latency=rng.random(), error=rng.choice([None, None, "reset"]),
            purpose=rng.choice([*purposes, None]), cost=rng.choice([None, 0.01, 0.25]),
            endpoint=rng.choice([None, "http://a/v1", "http://b/v1"]),
        )  # fmt: skip


def test_the_calls_totals_stay_right_as_calls_are_written_and_deleted(tmp_path: Path) -> None:
    """`call_totals`, kept by triggers, says what adding the calls up says, by model, server
    and purpose: after calls written through the store, rows written in SQL (as
    benchmarks/scale.py fills a store) and rows deleted; so do the figures read from it."""
    from hone.store import _CALL_KIND, _TOTALS_OF_CALLS

    store = Store.create(tmp_path / "run")
    worked_out = "(" + _TOTALS_OF_CALLS.format(
        endpoint="endpoint", kind=_CALL_KIND.format(p="purpose"), cost="cost"
    ) + ")"  # fmt: skip
    rng = random.Random(25)
    _write_calls(store, rng, 120)
    assert _totals(store.conn, "call_totals") == _totals(store.conn, worked_out)
    assert len(_totals(store.conn, "call_totals")) > 12  # (models × servers × purposes)
    with store.conn:
        store.conn.execute(
            "INSERT INTO llm_calls(round, model, prompt, completion, prompt_tokens, "
            "completion_tokens, started, latency, purpose) SELECT round, 'c', '', '', 5, 6, "
            'started, 1.5, \'{"kind":"improve"}\' FROM llm_calls WHERE id <= 30'
        )
        store.conn.execute("DELETE FROM llm_calls WHERE id % 7 = 0")
    kept = [row[:-1] for row in _totals(store.conn, "call_totals")]  # (but the first call's id)
    assert kept == [row[:-1] for row in _totals(store.conn, worked_out)]
    usage = store.usage()
    row = store.conn.execute(
        "SELECT COUNT(*) - COUNT(error), SUM(prompt_tokens), SUM(completion_tokens), "
        "TOTAL(cost), COUNT(error) FROM llm_calls"
    ).fetchone()
    assert (usage.calls, usage.prompt_tokens, usage.completion_tokens, usage.failed) == (
        row[0], row[1], row[2], row[4],
    )  # fmt: skip
    assert usage.cost == pytest.approx(row[3]) and store.failed_calls() == row[4]
    kinds = store.conn.execute(
        f"SELECT {_CALL_KIND.format(p='purpose')}, COUNT(*) FROM llm_calls GROUP BY 1"
    ).fetchall()
    assert store.call_kinds() == dict(kinds) and set(dict(kinds)) == {
        "hypothesis", "fix", "insights", "",
    }  # fmt: skip
    store.close()


def test_a_store_from_before_the_calls_totals_is_read_as_it_is_and_gains_them(
    tmp_path: Path,
) -> None:
    """A store an older hone wrote (no `call_totals`): read-only, its figures are worked out
    from its calls; opened to write, its totals are added up once and kept from then on."""
    from hone.web.data import RunReader

    store = Store.create(tmp_path / "run")
    rng = random.Random(7)
    _write_calls(store, rng, 80)
    expected = _totals(store.conn, "call_totals")
    usage, kinds, models = store.usage(), store.call_kinds(), RunReader(
        tmp_path / "run", store.conn
    ).model_table({})  # fmt: skip
    before_views(store.conn)
    store.close()
    old = Store.open(tmp_path / "run", readonly=True)
    assert (old.usage(), old.call_kinds()) == (usage, kinds)
    reader = RunReader.open(tmp_path / "run")
    assert _rounded(reader.model_table({})) == _rounded(models)
    assert {e["endpoint"] for e in reader.endpoints()} == {"http://a/v1", "http://b/v1"}
    reader.close()
    assert (
        old.conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'call_totals'").fetchone()
        is None
    )
    old.close()
    store = Store.open(tmp_path / "run")  # (as hone resume opens it)
    assert _totals(store.conn, "call_totals") == expected
    _write_calls(store, rng, 40)
    reopened = Store.open(tmp_path / "run")  # (opened again: not added up twice)
    assert reopened.usage().calls + reopened.usage().failed == 120
    reopened.close()
    assert store.usage().calls + store.usage().failed == 120
    store.close()


@pytest.mark.parametrize("top", [512, 20, 1])
@pytest.mark.parametrize("objective", ["maximize", "minimize"])
def test_the_new_bests_are_found_along_an_index_as_reading_them_all_finds_them(
    tmp_path: Path, objective: str, top: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`Store.bests` (the new bests among the TOP best scores, then stepping from each new
    best to the next along `candidates_ok` before the first of those) finds what going
    through every hypothesis in order finds: each scored one no check failed, strictly better
    than all such before it (ties, failures and a failed check among them; TOP more than the
    scored, fewer, and one, so that ties stand at its edge); the first `limit` of them too;
    and the run's best is still found along the score index, not by sorting every score."""
    from hone.objective import better
    from hone.store import new_best_ids

    monkeypatch.setattr("hone.store.views.TOP", top)

    store = Store.create(tmp_path / "run", RunMeta(task_name="t"))
    rng = random.Random(objective)
    for i in range(1, 301):
        made = store.add_candidate(
            round=i // 4, tree=Tree.one("p.py", f"x = {i}\n"), parent_ids=(i - 1,)[: i - 1]
        )
        score = round(rng.gauss(0, 1) + (i / 100 if objective == "maximize" else -i / 100), 1)
        failed = rng.random() < 0.2
        store.set_evaluation(
            made,
            Evaluation(score=None, status="error", reason="x")
            if failed
            else Evaluation(score=score),
        )
    reference = [c.id for c in _bests_by_reading(store.candidates(), objective, better)]
    assert len(reference) > 3
    store.add_finding(reference[2], "verify_strict", False, "no")  # no new best any more
    store.add_finding(reference[1], "verify_strict", True, "fine")
    expected = [c.id for c in _bests_by_reading(store.candidates(), objective, better)]
    assert expected != reference and reference[2] not in expected
    assert [c.id for c in store.bests(objective)] == expected
    for limit in (1, 3, len(expected) + 5):
        assert new_best_ids(store.conn, objective, True, limit) == expected[:limit]
    plan = " ".join(
        row[3]
        for row in store.conn.execute(
            f"EXPLAIN QUERY PLAN SELECT id FROM candidates WHERE id IN ({new_bests(objective)})"
        )
    )
    assert "candidates_ok (status=? AND id>?)" in plan and "SCAN candidates" not in plan, plan
    best = store.best(objective)
    assert best is not None and best.id == max(
        expected,
        key=lambda i: (store.candidate(i).score or 0) * (1 if objective == "maximize" else -1),
    )
    store.close()


def _bests_by_reading(candidates: list, objective: str, better) -> list:  # type: ignore[type-arg]
    found, best = [], None
    for c in candidates:
        if c.score is not None and c.verified is not False and better(objective, c.score, best):
            found.append(c)
            best = c.score
    return found


def test_the_status_counts_stay_right_as_hypotheses_are_written_evaluated_and_deleted(
    tmp_path: Path,
) -> None:
    """`status_counts`, kept by triggers, counts what counting the rows counts, as hypotheses
    are added (pending), evaluated (each outcome), deleted; a store from before it counts its
    rows read-only, and gains the table as it opens to write."""
    store = Store.create(tmp_path / "run")
    made = [store.add_candidate(round=0, tree=Tree.one("p.py", f"x = {i}\n")) for i in range(30)]
    outcomes = [Evaluation(score=1.0), Evaluation(status="error", reason="x")]
    outcomes.append(Evaluation(status="timeout", reason="slow"))
    for i, candidate in enumerate(made[:24]):
        store.set_evaluation(candidate, outcomes[i % 3])
    store.set_evaluation(made[0], outcomes[0])  # (the same outcome again: counted once)

    def rows() -> dict[str, int]:
        return dict(
            store.conn.execute("SELECT status, COUNT(*) FROM candidates GROUP BY 1").fetchall()
        )

    assert store.counts() == rows() == {"ok": 8, "error": 8, "timeout": 8, "pending": 6}
    with store.conn:
        store.conn.execute("DELETE FROM candidates WHERE id % 3 = 2 OR id > 24")
    assert store.counts() == rows() == {"ok": 8, "timeout": 8}
    assert dict(store.conn.execute("SELECT * FROM status_counts").fetchall()) == rows()
    before_views(store.conn)
    store.close()
    old = Store.open(tmp_path / "run", readonly=True)
    assert old.counts() == {"ok": 8, "timeout": 8}
    old.close()
    store = Store.open(tmp_path / "run")
    assert dict(store.conn.execute("SELECT * FROM status_counts").fetchall()) == rows()
    store.set_evaluation(store.add_candidate(round=1, tree=None), outcomes[1])
    assert store.counts() == {"ok": 8, "timeout": 8, "error": 1}
    store.close()
