"""What an older store gains as it opens, and what it shows read-only as it is."""

import json
import sqlite3
from pathlib import Path

import pytest

from hone.evaluation import Evaluation
from hone.meta import RunMeta
from hone.store import Store
from hone.tree import Tree
from tests.helpers import before_views


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


def test_a_store_from_before_trees_opens_shows_and_resumes(
    make_task, tmp_path: Path, capsys
) -> None:
    """A run recorded by hone before trees (tests/data/old_store: three hypotheses, each
    program in the `code` column) reads as one-file trees, shows, and goes on."""
    import shutil

    import hone
    from hone.cli import main
    from hone.testing import ScriptedModel
    from tests.conftest import PROGRAM

    task = make_task()
    run_dir = tmp_path / "old"
    shutil.copytree(Path(__file__).parents[1] / "data" / "old_store", run_dir)
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
