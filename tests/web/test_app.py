"""The dashboard's server without a browser: its routes, its user errors, and that `hone run`
never loads it."""

import asyncio
import json
import random
import socket
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from hone.cli import main
from hone.evaluation import Evaluation
from hone.exceptions import RunDirError
from hone.meta import RunMeta
from hone.store import Store, opened
from hone.tree import Tree
from hone.web.app import _events, bind, make_app
from tests.web.conftest import imported_after


def a_run(path: Path) -> Path:
    """A stopped run of one scored program."""
    store = Store.create(path, RunMeta(seed=0, status="stopped"))
    store.set_evaluation(
        store.add_candidate(round=0, tree=Tree.one("program.py", "x = 1\n")), Evaluation(score=1.0)
    )
    store.close()
    return path


def test_the_routes_serve_the_page_the_runs_a_hypothesis_and_notes(tmp_path: Path) -> None:
    run = a_run(tmp_path / "a" / "r")
    with TestClient(make_app([run, a_run(tmp_path / "b" / "r")])) as client:
        assert "<title>hone</title>" in client.get("/").text
        assert client.get("/static/app.js").status_code == 200
        assert [r["label"] for r in client.get("/api/runs").json()] == ["a/r", "b/r"]
        assert client.get("/api/runs/0/hypotheses/1").json()["code"] == "x = 1\n"
        assert client.get("/api/runs/0/hypotheses/7").status_code == 404
        assert client.get("/api/runs/5/hypotheses/1").status_code == 404
        sent = client.post("/api/runs/0/notes", json={"text": "try two"})
        assert sent.json() == {"id": 1, "status": "stopped"}
        empty = client.post("/api/runs/0/notes", json={"text": " "})
        assert empty.status_code == 400 and "the note is empty" in empty.json()["error"]
        assert client.post("/api/runs/0/notes", content=b"nope").status_code == 400
    with opened(run) as store:
        assert store.notes("person") == [(0, "try two")]


def test_dashboard_user_errors_are_one_line(tmp_path: Path, capsys, monkeypatch) -> None:
    assert main(["dashboard", str(tmp_path / "missing")]) == 2
    assert "is not a hone run" in capsys.readouterr().err
    monkeypatch.chdir(tmp_path)
    assert main(["dashboard"]) == 2
    assert "no runs in ./runs; name the run folders" in capsys.readouterr().err
    taken = bind(0)
    try:
        with pytest.raises(RunDirError, match=r"port \d+ is in use; pass another with --port"):
            bind(taken.getsockname()[1])
    finally:
        taken.close()
    free = bind(0)
    assert free.family == socket.AF_INET and free.getsockname()[0] == "127.0.0.1"
    free.close()


def test_hone_run_never_imports_the_web_stack() -> None:
    assert imported_after("hone.cli", ("starlette", "uvicorn", "fastapi")) == []


def test_a_long_run_s_first_event_is_as_small_as_its_drawing_whatever_its_length(
    tmp_path: Path,
) -> None:
    """The stream's first event of a run longer than SAMPLE holds what the page draws first:
    one hypothesis per pixel column of the score plot, the best, the newest and the new bests
    (and as many calls, for the cost line), each row its values with the keys sent once; so
    its bytes are bounded by the drawing, not by the run (before: SAMPLE rows of objects,
    1.9 MB at a million)."""
    from benchmarks.scale import fill
    from hone.web.data import BEST, COLUMNS, NEWEST, SAMPLE

    n = SAMPLE * 2
    store = Store.create(tmp_path / "long", RunMeta(task_name="long"))
    fill(store, n, random.Random(2))
    bests = len(store.bests("maximize"))
    store.close()

    async def first() -> str:
        events = _events([tmp_path / "long"])
        try:
            return await anext(events)
        finally:
            await events.aclose()

    event = asyncio.run(first())
    sent = json.loads(event.removeprefix("data: "))
    hypotheses, calls = sent["hypotheses"], sent["calls"]
    assert sent["sampled"] and sent["totals"]["hypotheses"] == n
    drawing = COLUMNS + 1 + BEST + NEWEST + bests + 1  # (the even sample ends on the last id)
    assert len(hypotheses["rows"]) <= drawing and len(calls["rows"]) <= COLUMNS + 1
    assert all(len(row) == len(hypotheses["keys"]) for row in hypotheses["rows"])
    assert event.count('"eval_seconds"') == 1 and event.count('"prompt_tokens"') == 1
    assert len(event) <= 250 * len(hypotheses["rows"]) + 120 * len(calls["rows"]) + 4096
