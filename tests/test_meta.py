"""A run's metadata: typed, read from stores older hones wrote, keys it does not know kept."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from hone.cli import main
from hone.evaluation import Evaluation
from hone.meta import RunMeta
from hone.store import Store


def test_the_store_writes_and_reads_the_metadata_typed(tmp_path: Path) -> None:
    meta = RunMeta("t", seed=4, objective="minimize", search={"strategy": "islands"})
    store = Store.create(tmp_path / "run", meta)
    found = store.meta()
    assert (found.task_name, found.seed, found.objective, found.status) == (
        "t",
        4,
        "minimize",
        "created",
    )
    assert found.search == {"strategy": "islands"} and found.schema_version == 1
    assert found.created > 0 and found.replay_exact and found.extra == {}
    store.set_status("stopped", stop_reason="max_llm_calls")
    store.set_status("running")  # (a resumed run: the former reason goes)
    assert (store.meta().status, store.meta().stop_reason) == ("running", None)
    store.close()


def test_an_older_stores_metadata_opens_and_unknown_keys_are_kept(tmp_path: Path) -> None:
    """A store an older hone wrote lacks the newer keys; keys a newer hone (or another tool)
    wrote are kept as they are, not an error."""
    Store.create(tmp_path / "run", RunMeta("t")).close()
    with sqlite3.connect(tmp_path / "run" / "hone.db") as db:
        db.execute("DELETE FROM meta WHERE key NOT IN ('schema_version', 'seed', 'status')")
        db.execute("INSERT INTO meta VALUES ('newer_key', ?)", (json.dumps("ab12"),))
        db.execute("INSERT INTO meta VALUES ('replay_exact', 'false')")
    store = Store.open(tmp_path / "run")
    meta = store.meta()
    assert (meta.task_name, meta.model, meta.prices, meta.model_style) == ("", {}, {}, None)
    assert meta.task_fingerprint is None and meta.accepted_changes == []  # (older: none)
    assert meta.extra == {"newer_key": "ab12"} and meta.replay_exact is False
    store.set_meta(another_key=3)  # another part of hone adds a key of its own
    assert store.meta().extra == {"newer_key": "ab12", "another_key": 3}
    assert store.meta().as_json()["newer_key"] == "ab12"
    store.close()


@pytest.mark.parametrize(
    ("status", "locked", "said", "resumable"),
    [
        ("stopped", False, "(stopped: model-call budget spent)", False),
        ("interrupted", False, "(interrupted)", True),
        ("failed", False, "(failed: the disk is full)", True),
        ("running", False, "(stopped unexpectedly: killed or crashed)", True),
        ("running", True, "(running)", False),
        ("created", True, "(starting)", False),
        ("created", False, "(stopped unexpectedly while starting (before its first", True),
    ],
)
def test_hone_show_offers_resume_by_the_status_not_by_its_own_words(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], status, locked, said, resumable
) -> None:
    meta = RunMeta("t", model={"spec": "embedded"}, status=status)
    error = "the disk is full" if status == "failed" else ""
    store = Store.create(tmp_path / "run", meta)
    store.set_meta(stop_reason="max_llm_calls" if status == "stopped" else None, error=error)
    store.set_evaluation(store.add_candidate(round=0, code="x = 1\n"), Evaluation(score=1.0))
    if locked:
        store.lock()  # a hone process drives it
    assert main(["show", str(tmp_path / "run")]) == 0
    store.close()
    out = capsys.readouterr().out
    assert said in out.splitlines()[0]
    assert ("continue it with: hone resume" in out) is resumable
    assert RunMeta(status=status).resumable(running=locked) is resumable
