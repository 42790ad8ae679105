"""What `hone show`, the dashboard and the report ask of the store: bests, counts."""

import random
from pathlib import Path

import pytest

from hone.evaluation import Evaluation
from hone.meta import RunMeta
from hone.store import Store, new_bests
from hone.tree import Tree
from tests.helpers import before_views


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


@pytest.mark.parametrize("objective", ["maximize", "minimize"])
def test_the_new_bests_are_found_along_an_index_as_reading_them_all_finds_them(
    tmp_path: Path, objective: str
) -> None:
    """`Store.bests` (stepping from each new best to the next along `candidates_ok`) finds
    what going through every hypothesis in order finds: each scored one no check failed,
    strictly better than all such before it (ties, failures and a failed check among them);
    and the run's best is still found along the score index, not by sorting every score."""
    from hone.objective import better

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
