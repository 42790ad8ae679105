"""`--mlflow URI`: a run's hypotheses in a real MLflow store (SQLite, in a temporary folder)."""

import asyncio
import json
import logging
import signal
import socket
import sys
from pathlib import Path
from typing import Any

import pytest

import hone
from hone import export
from hone.cli import main
from hone.events import Event, HypothesisEvaluated
from hone.export import Ledger
from hone.store import opened
from hone.testing import FunctionVerifier, ScriptedModel
from tests.helpers import block, task_of, value_of
from tests.web.conftest import imported_after

METRICS = ("score", "best_score", "llm_calls", "tokens", "cost_usd")


@pytest.fixture(scope="module")
def mlflow_uri(tmp_path_factory: pytest.TempPathFactory) -> str:
    """One MLflow store for the module (making its tables takes seconds); runs are told apart
    by their tags."""
    return f"sqlite:///{tmp_path_factory.mktemp('mlflow') / 'mlflow.db'}"


@pytest.fixture(autouse=True)
def _default_experiment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLFLOW_EXPERIMENT_NAME", raising=False)


async def slow_score(program: str) -> float:
    """-|f() - 10|, after f() * 20 ms: better programs take longer, so that hypotheses are
    registered out of order. f() = 0.5 raises."""
    value = value_of(program)
    await asyncio.sleep(value * 0.02)
    if value == 0.5:
        raise ValueError("0.5 is not allowed")
    return -abs(value - 10.0)


def mlflow_run(uri: str, run_dir: Path, experiment: str = "task") -> Any:
    """The one MLflow run tagged with `run_dir`."""
    from mlflow import MlflowClient

    client = MlflowClient(uri)
    found = client.get_experiment_by_name(experiment)
    assert found is not None, f"no MLflow experiment {experiment!r}"
    tag = f"tags.`hone.run_dir` = '{run_dir.resolve()}'"
    runs = client.search_runs([found.experiment_id], tag)
    assert len(runs) == 1, [r.info.run_id for r in runs]
    return runs[0]


def history(uri: str, run: Any, key: str) -> list[tuple[int, float]]:
    """(step, value) of every point of one metric, by step; each step once."""
    from mlflow import MlflowClient

    points = sorted(
        (m.step, m.value) for m in MlflowClient(uri).get_metric_history(run.info.run_id, key)
    )
    assert len({step for step, _ in points}) == len(points), f"a step twice in {key}: {points}"
    return points


def test_a_run_is_one_mlflow_run_with_a_point_per_hypothesis(
    make_task, mlflow_uri: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", "hone-tests")
    registered: list[int] = []

    def on_event(event: Event) -> None:
        if isinstance(event, HypothesisEvaluated):
            registered.append(event.candidate.id)

    values = [9.0, 2.0, 8.0, 0.5, 9.5, 1.0, 7.0, 2.5]
    result = hone.run(
        task_of(make_task(), width=4),
        model=ScriptedModel([block(v) for v in values], name="openai:gpt-4o-mini"),  # priced
        run_dir=tmp_path / "run",
        seed=7,
        budget=hone.Budget(max_llm_calls=8, patience=None),
        verifier=FunctionVerifier(slow_score),
        on_event=on_event,
        mlflow=mlflow_uri,
    )
    assert registered != sorted(registered)  # what the step order must not depend on
    with opened(tmp_path / "run") as store:
        candidates, usage = store.candidates(), store.usage()
    assert len(candidates) == 9 and any(c.evaluation.status == "error" for c in candidates)
    run = mlflow_run(mlflow_uri, tmp_path / "run", experiment="hone-tests")
    points = {key: history(mlflow_uri, run, key) for key in METRICS}
    assert points["score"] == [(c.id, c.score) for c in candidates if c.score is not None]
    assert [step for step, _ in points["llm_calls"]] == [c.id for c in candidates]
    expected: list[tuple[int, float]] = []  # the best of hypotheses 1..n, at each n
    for c in candidates:
        scores = [s for _, s in expected[-1:]] + ([c.score] if c.score is not None else [])
        expected += [(c.id, max(scores))] if scores else []
    assert points["best_score"] == expected
    assert [v for _, v in expected] == sorted(v for _, v in expected)
    calls = [v for _, v in points["llm_calls"]]  # up to each hypothesis's own call
    assert calls[0] == 0 and max(calls) == usage.calls == 8
    assert max(v for _, v in points["tokens"]) == usage.tokens > 0
    assert max(v for _, v in points["cost_usd"]) == pytest.approx(usage.cost) and usage.cost > 0
    params = run.data.params
    assert params["task"] == "task" and params["model"] == "openai:gpt-4o-mini"
    assert params["seed"] == "7" and params["objective"] == "maximize"
    assert params["search.strategy"] == "top-k" and params["search.hypotheses_per_round"] == "4"
    assert params["budget.max_llm_calls"] == "8"
    assert run.data.tags["hone.run_dir"] == str((tmp_path / "run").resolve())
    assert run.data.tags["hone.stop_reason"] == result.stop_reason == "max_llm_calls"
    assert run.info.status == "FINISHED" and run.info.run_name == "run"


def write_answers(path: Path, values: list[float]) -> Path:
    path.write_text("".join(json.dumps(block(v)) + "\n" for v in values))
    return path


def test_hone_resume_goes_on_in_the_same_mlflow_run(
    make_task, mlflow_uri: str, tmp_path: Path
) -> None:
    answers = write_answers(tmp_path / "answers.jsonl", [3.0, 5.0, 7.0, 9.0])
    run_dir = tmp_path / "r"
    first = ["run", str(make_task()), "--model", f"scripted:{answers}", "--run-dir", str(run_dir)]
    assert main([*first, "--hypotheses", "1", "--max-llm-calls", "2", "--mlflow", mlflow_uri]) == 0
    before = mlflow_run(mlflow_uri, run_dir)
    assert history(mlflow_uri, before, "llm_calls") == [(1, 0), (2, 1), (3, 2)]
    assert main(["resume", str(run_dir), "--max-llm-calls", "4", "--mlflow", mlflow_uri]) == 0
    after = mlflow_run(mlflow_uri, run_dir)
    assert after.info.run_id == before.info.run_id and after.info.status == "FINISHED"
    with opened(run_dir) as store:
        candidates = store.candidates()
    assert len(candidates) == 5
    assert history(mlflow_uri, after, "score") == [(c.id, c.score) for c in candidates]
    assert history(mlflow_uri, after, "best_score")[-1] == (5, -1.0)


def test_a_run_first_exported_when_resumed_sends_its_earlier_hypotheses(
    make_task, mlflow_uri: str, tmp_path: Path
) -> None:
    task, verifier = task_of(make_task()), FunctionVerifier(slow_score)
    answers = [block(v) for v in (3.0, 6.0, 2.0, 8.0)]
    budget = hone.Budget(max_llm_calls=2, patience=None)
    hone.run(
        task, model=ScriptedModel(answers), run_dir=tmp_path / "r", budget=budget, verifier=verifier
    )  # no export
    again = {"max_llm_calls": 4}
    hone.resume(
        tmp_path / "r",
        budget=again,
        model=ScriptedModel(answers),
        verifier=verifier,
        mlflow=mlflow_uri,
    )
    run = mlflow_run(mlflow_uri, tmp_path / "r")
    with opened(tmp_path / "r") as store:
        candidates = store.candidates()
    assert history(mlflow_uri, run, "score") == [(c.id, c.score) for c in candidates]
    assert [c.score for c in candidates] == [-9.0, -7.0, -4.0, -8.0, -2.0]
    assert history(mlflow_uri, run, "best_score") == [(1, -9), (2, -7), (3, -4), (4, -4), (5, -2)]
    assert run.data.params["budget.max_llm_calls"] == "4"  # as the MLflow run began


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize("kind", ["unknown scheme", "server down"])
def test_an_mlflow_that_fails_is_one_warning_and_the_run_goes_on(
    kind: str, make_task, tmp_path: Path, caplog, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")  # (else retried for minutes)
    uri = "nowhere://mlflow" if kind == "unknown scheme" else f"http://127.0.0.1:{free_port()}"
    with caplog.at_level(logging.WARNING, logger="hone"):
        result = hone.run(
            task_of(make_task()),
            model=ScriptedModel([block(v) for v in (3.0, 6.0, 9.0)]),
            run_dir=tmp_path / "r",
            budget=hone.Budget(max_llm_calls=3, patience=None),
            verifier=FunctionVerifier(slow_score),
            mlflow=uri,
        )
    warnings = [r.getMessage() for r in caplog.records if r.name == "hone"]
    assert len(warnings) == 1, warnings
    assert warnings[0].startswith(f"the MLflow export to {uri} stopped (")
    assert "\n" not in warnings[0] and warnings[0].endswith("; the run goes on")
    assert result.stop_reason == "max_llm_calls" and result.best_score == -1.0
    with opened(tmp_path / "r") as store:
        assert [c.score for c in store.candidates()] == [-9.0, -7.0, -4.0, -1.0]


def test_an_mlflow_that_never_answers_holds_the_run_up_only_at_its_end(
    make_task, tmp_path: Path, caplog, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(export, "CLOSE_WAIT", 1.0)
    silent = socket.socket()  # accepts connections (the kernel does) and never answers
    silent.bind(("127.0.0.1", 0))
    silent.listen()
    uri = f"http://127.0.0.1:{silent.getsockname()[1]}"
    ended: list[int | None] = []
    close = export.MlflowExport.close

    def closed(self: export.MlflowExport) -> None:
        close(self)
        ended.append(self._process.returncode if self._process else None)

    monkeypatch.setattr(export.MlflowExport, "close", closed)
    try:
        with caplog.at_level(logging.WARNING, logger="hone"):
            result = hone.run(
                task_of(make_task()),
                model=ScriptedModel([block(v) for v in (3.0, 6.0)]),
                run_dir=tmp_path / "r",
                budget=hone.Budget(max_llm_calls=2, patience=None),
                verifier=FunctionVerifier(slow_score),
                mlflow=uri,
            )
    finally:
        silent.close()
    # Held up 1 s at the end, not for MLflow's own timeout of 120 s: the export process was
    # killed at CLOSE_WAIT (had it waited for MLflow's timeout, it would have ended by itself).
    assert len(result.history) == 3 and ended == [-signal.SIGKILL]
    warnings = [r.getMessage() for r in caplog.records if r.name == "hone"]
    assert warnings == [
        f"the MLflow export to {uri} did not finish within 1 s; "
        f"hone resume {tmp_path / 'r'} --mlflow {uri} sends the rest"
    ]


def test_without_mlflow_installed_the_error_names_the_extra(
    make_task, tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "mlflow", None)
    answers = write_answers(tmp_path / "answers.jsonl", [3.0])
    run = ["run", str(make_task()), "--model", f"scripted:{answers}"]
    code = main([*run, "--run-dir", str(tmp_path / "r"), "--mlflow", "sqlite:///m.db"])
    err = capsys.readouterr().err
    assert code == 2 and "pip install 'hone[mlflow]'" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "r").exists()  # refused before anything was written


def test_hone_does_not_import_mlflow_unless_asked() -> None:
    assert imported_after("hone.cli, hone.api, hone.export", ("mlflow",)) == []


def row(id_: int, status: str, score: float | None = None, call: int | None = None) -> dict:
    return {"id": id_, "status": status, "score": score, "call": call, "created": 1.5}


def call(id_: int, tokens: int, cost: float | None, error: str | None = None) -> dict:
    return {
        "id": id_,
        "prompt_tokens": tokens,
        "completion_tokens": 1,
        "cost": cost,
        "error": error,
    }


def test_a_hypothesis_is_settled_once_every_one_before_it_is_verified() -> None:
    ledger = Ledger("minimize")
    calls = [call(1, 9, 0.25), call(2, 99, 1.0, error="timeout"), call(3, 19, None)]
    hypotheses = [row(1, "ok", 5.0), row(2, "pending", call=1), row(3, "ok", 4.0, 3)]
    ledger.add({"calls": calls, "hypotheses": hypotheses})
    assert list(ledger.settled()) == [(1, 1500, {"score": 5.0, "best_score": 5.0, **usage(0)})]
    ledger.add({"calls": [], "hypotheses": [row(2, "ok", 2.0, 1), row(4, "error", call=3)]})
    assert list(ledger.settled()) == [
        (2, 1500, {"score": 2.0, "best_score": 2.0, **usage(1, 10, 0.25)}),
        (3, 1500, {"score": 4.0, "best_score": 2.0, **usage(2, 30, 0.25)}),  # the failed call aside
        (4, 1500, {"best_score": 2.0, **usage(2, 30, 0.25)}),
    ]
    ledger.add({"calls": [], "hypotheses": [row(5, "pending"), row(6, "ok", 1.0)]})
    assert list(ledger.settled()) == []
    assert list(ledger.settled(final=True)) == [
        (6, 1500, {"score": 1.0, "best_score": 1.0, **usage(2, 30, 0.25)})
    ]


def usage(calls: int, tokens: int = 0, cost: float = 0.0) -> dict[str, float]:
    return {"llm_calls": calls, "tokens": tokens, "cost_usd": cost}


def test_a_held_out_score_is_sent_at_its_hypothesis_step() -> None:
    ledger = Ledger("minimize")
    validated = {"candidate_id": 1, "check_name": "validate", "passed": 1, "score": 4.5}
    strict = {"candidate_id": 1, "check_name": "verify_strict", "passed": 0, "score": None}
    ledger.add({"calls": [], "hypotheses": [row(1, "ok", 5.0)], "findings": [validated, strict]})
    [first, held] = ledger.settled()
    assert first[:2] == (1, 1500) and "holdout" not in first[2]
    assert (held[0], held[2]) == (1, {"holdout": 4.5})
    assert list(ledger.settled()) == []  # sent once


def test_a_long_run_is_exported_whole_not_as_the_dashboard_draws_it(tmp_path: Path) -> None:
    """A run longer than the dashboard's SAMPLE is sent to MLflow hypothesis by hypothesis:
    the ledger reads every row (the page's first picture of it is a sample, whose gaps
    would leave the ledger waiting for a hypothesis that never comes)."""
    import random

    from benchmarks.scale import fill
    from hone.meta import RunMeta
    from hone.store import Store
    from hone.web.data import SAMPLE, RunReader

    n = SAMPLE + 200
    store = Store.create(tmp_path / "long", RunMeta(task_name="long"))
    fill(store, n, random.Random(3))
    pending = store.counts().get("pending", 0)
    calls = store.usage().requests
    store.close()
    reader = RunReader.open(tmp_path / "long")
    ledger = Ledger("maximize")
    ledger.add(reader.delta(ledger.cursor))
    reader.close()
    steps = [(step, values) for step, _, values in ledger.settled(final=True)]
    assert len(steps) == n - pending
    assert steps[-1][1]["llm_calls"] == calls
