"""The dashboard's server without a browser: its routes, its user errors, and that `hone run`
never loads it."""

import socket
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from hone.cli import main
from hone.evaluation import Evaluation
from hone.exceptions import RunDirError
from hone.meta import RunMeta
from hone.store import Store, opened
from hone.web.app import bind, make_app
from tests.web.conftest import imported_after


def a_run(path: Path) -> Path:
    """A stopped run of one scored program."""
    store = Store.create(path, RunMeta(seed=0, status="stopped"))
    store.set_evaluation(store.add_candidate(round=0, code="x = 1\n"), Evaluation(score=1.0))
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
