"""The read-only view of a run's store: snapshots, deltas that pick up what was verified since,
and no writes."""

from pathlib import Path

import pytest

from hone.evaluation import Evaluation
from hone.exceptions import RunDirError
from hone.meta import RunMeta
from hone.store import Store
from hone.tree import Tree
from hone.web.data import Cursor, RunReader, models
from tests.helpers import before_views


def test_a_delta_carries_what_is_new_and_what_was_verified_since(tmp_path: Path) -> None:
    store = Store.create(tmp_path / "r", RunMeta(objective="minimize"))
    start = store.set_evaluation(
        store.add_candidate(round=0, tree=Tree.one("program.py", "x = 1\n")), Evaluation(score=3.0)
    )
    call = store.add_call(
        round=1, model="m", prompt="Combine programs #1 and #2", completion="c",
        prompt_tokens=10, completion_tokens=5, started=0.0, latency=0.5, cost=0.01,
        purpose={"kind": "crossover", "parents": [1]},
    )  # fmt: skip
    pending = store.add_candidate(
        round=1, tree=Tree.one("program.py", "x = 2\n"), parent_ids=(1,), call_id=call
    )
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
    store.set_evaluation(
        store.add_candidate(round=0, tree=Tree.one("program.py", "x = 1\n")), Evaluation(score=1.0)
    )
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
            round=1, tree=Tree.one("program.py", f"x = {call + 1}\n"), parent_ids=(1,), call_id=call
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


def test_a_store_from_before_costs_and_servers_is_read_without_them(tmp_path: Path) -> None:
    store = Store.create(tmp_path / "r")
    store.add_call(
        round=1, model="m", prompt="p", completion="c", prompt_tokens=1, completion_tokens=1,
        started=0.0, latency=0.1, endpoint="http://a/v1",
    )  # fmt: skip
    before_views(store.conn)
    store.conn.execute("ALTER TABLE llm_calls DROP COLUMN cost")
    store.conn.execute("ALTER TABLE llm_calls DROP COLUMN endpoint")
    store.close()
    reader = RunReader.open(tmp_path / "r")
    [call] = reader.snapshot()["calls"]
    assert call["cost"] is None and call["endpoint"] is None and reader.endpoints() == []
    reader.close()
    with pytest.raises(RunDirError, match="is not a hone run"):
        RunReader.open(tmp_path / "nothing")


def test_each_server_has_its_calls_failures_and_median_latency(tmp_path: Path) -> None:
    store = Store.create(tmp_path / "r")
    for endpoint, latency, error in [
        ("http://b/v1", 2.0, None), ("http://a/v1", 0.5, None), ("http://a/v1", 1.5, None),
        ("http://a/v1", 0.1, "reset"), ("http://b/v1", 9.0, None), ("http://b/v1", 3.0, None),
        ("http://c/v1", 30.0, "no answer within 30 s"), (None, 7.0, None),
    ]:  # fmt: skip
        store.add_call(
            round=1, model="m", prompt="p", completion="c", prompt_tokens=1,
            completion_tokens=1, started=0.0, latency=latency, error=error, endpoint=endpoint,
        )  # fmt: skip
    reader = RunReader.open(tmp_path / "r")
    assert reader.endpoints() == [  # in the order first used; the median of the answered
        {"endpoint": "http://b/v1", "calls": 3, "failed": 0, "median": 3.0},
        {"endpoint": "http://a/v1", "calls": 2, "failed": 1, "median": 1.0},
        {"endpoint": "http://c/v1", "calls": 0, "failed": 1, "median": None},
    ]
    assert [c["endpoint"] for c in reader.snapshot()["calls"]][:2] == ["http://b/v1", "http://a/v1"]
    reader.close()
    store.close()


def test_an_answer_that_did_not_apply_has_no_diff(tmp_path: Path) -> None:
    """No program: no diff (against nothing, the whole parent read as deleted); the answer is
    there to show instead."""
    store = Store.create(tmp_path / "r")
    store.set_evaluation(
        store.add_candidate(round=0, tree=Tree.one("program.py", "x = 1\n")), Evaluation(score=1.0)
    )
    call = store.add_call(
        round=1, model="m", prompt="p", completion="Use a lattice.", prompt_tokens=1,
        completion_tokens=1, started=0.0, latency=0.1, purpose={"kind": "improve"},
    )  # fmt: skip
    rejected = Evaluation.failed("invalid-edit", "no code block")
    store.add_candidate(round=1, tree=None, parent_ids=(1,), call_id=call, evaluation=rejected)
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


def test_a_long_run_is_sent_as_what_its_page_draws_with_its_totals(tmp_path: Path) -> None:
    """The first picture of a run longer than SAMPLE holds the best, the newest, the starts
    and an even sample (not every hypothesis), its totals counted in SQL; what comes after
    follows it as for any run; its report holds the drawn hypotheses and DETAILS in full."""
    import random

    from benchmarks.scale import fill
    from hone.web.data import NEWEST, SAMPLE
    from hone.web.report import DETAILS, report_data

    n = SAMPLE * 2
    store = Store.create(tmp_path / "long", RunMeta(task_name="long"))
    fill(store, n, random.Random(2))
    best = store.conn.execute(
        "SELECT id FROM candidates WHERE status = 'ok' ORDER BY score DESC LIMIT 1"
    ).fetchone()[0]
    failed = store.conn.execute("SELECT COUNT(*) FROM candidates WHERE status != 'ok'").fetchone()
    reader = RunReader.open(tmp_path / "long")
    cursor = Cursor()
    first = reader.delta(cursor)
    ids = [h["id"] for h in first["hypotheses"]]
    assert first["sampled"] and len(ids) <= SAMPLE * 1.1 and ids == sorted(set(ids))
    assert best in ids and 1 in ids and set(range(n - NEWEST + 1, n + 1)) <= set(ids)
    assert len(first["calls"]) <= SAMPLE * 1.2
    totals = first["totals"]
    assert totals["hypotheses"] == n and totals["failed"] == failed[0]
    assert totals["calls"] == n - 1 and totals["models"][0]["calls"] == n - 1
    added = store.add_candidate(round=9999, tree=Tree.one("program.py", "x = 1\n"))
    store.set_evaluation(added, Evaluation(score=1.0))
    later = reader.delta(cursor)
    assert [h["id"] for h in later["hypotheses"]] == [n + 1] and not later.get("sampled")
    page = reader.page(offset=0, limit=10, status="error")
    assert page["total"] == failed[0] and len(page["rows"]) == 10
    assert all(r["status"] == "error" for r in page["rows"])
    # (counted from the kept totals from round 0, by the rounds' index after it)
    assert reader.page(status="failed")["total"] == failed[0] and reader.page()["total"] == n + 1
    later_rounds = store.conn.execute("SELECT COUNT(*) FROM candidates WHERE round >= 500")
    assert reader.page(since=500)["total"] == later_rounds.fetchone()[0] < n
    assert [r["id"] for r in page["rows"]] == sorted((r["id"] for r in page["rows"]), reverse=True)
    reader.close()
    store.close()
    [run] = report_data([tmp_path / "long"], ["long"])["runs"]
    assert len(run["details"]) <= DETAILS and str(best) in run["details"]
    assert run["snapshot"]["sampled"] and len(run["snapshot"]["hypotheses"]) <= SAMPLE * 1.1


def test_a_hypothesis_s_children_are_found_wherever_it_stands_among_their_parents(
    tmp_path: Path,
) -> None:
    """Children by index: edits of it, crossovers that show it second, and hypotheses of
    three parents or more that show it anywhere; none that only resemble it."""
    store = Store.create(tmp_path / "run", RunMeta())
    tree = Tree.one("program.py", "x = 1\n")
    for parents in [(), (), (1,), (2, 1), (2, 3, 1), (2, 3, 4, 1), (11,), (2,)]:
        store.add_candidate(round=1, tree=tree, parent_ids=parents)
    store.close()
    reader = RunReader.open(tmp_path / "run")
    assert reader.hypothesis(1)["children"] == [3, 4, 5, 6]
    assert reader.hypothesis(2)["children"] == [4, 5, 6, 8]
    assert reader.hypothesis(4)["children"] == [6]
    plan = " ".join(
        row[3]
        for row in reader.conn.execute(
            "EXPLAIN QUERY PLAN SELECT id FROM candidates "
            "WHERE json_extract(parent_ids, '$[0]') = 1"
        )
    )
    assert "candidates_parent" in plan  # (a long run's hypothesis opens without a scan)
    reader.close()


def test_a_long_run_s_first_picture_holds_every_new_best(tmp_path: Path) -> None:
    """The page credits the gain from the start to each new best's kind (app.js `credit`)
    from what it holds: a long run's drawn hypotheses must hold every new best, else a
    tuning trial's gain left out of the sample is credited to the model's next best."""
    import random

    from benchmarks.scale import fill
    from hone.web.data import SAMPLE

    store = Store.create(tmp_path / "long", RunMeta(task_name="long"))
    fill(store, SAMPLE * 2, random.Random(2))
    with store.conn:  # a slow climb: a new best every 7th hypothesis, few of them scored high
        store.conn.execute("UPDATE candidates SET status = 'ok', score = id * (id % 7 = 0)")
    bests = [c.id for c in store.bests("maximize")]
    reader = RunReader.open(tmp_path / "long")
    drawn = {h["id"] for h in reader.delta(Cursor())["hypotheses"]}
    reader.close()
    store.close()
    assert len(bests) > 3 and set(bests) <= drawn, sorted(set(bests) - drawn)
