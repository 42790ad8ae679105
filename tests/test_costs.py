"""Each call's cost is stored as it returns; a cost budget stops the run."""

import sqlite3
from pathlib import Path

import pytest

import hone
from hone.exceptions import ConfigError
from hone.store import opened
from hone.testing import ScriptedModel
from tests.helpers import block, task_of


def test_a_priced_model_stops_at_max_cost_with_every_calls_cost_stored(
    make_task, tmp_path: Path
) -> None:
    # A model recorded under a hosted name is priced from the built-in table: $0.15 / $0.60.
    model = ScriptedModel([block(1.0 + i) for i in range(50)], name="openai:gpt-4o-mini")
    result = hone.run(
        task_of(make_task(), max_llm_calls=50, max_cost=0.0002), model=model, run_dir=tmp_path / "r"
    )
    assert result.stop_reason == "max_cost"
    with sqlite3.connect(tmp_path / "r" / "hone.db") as db:
        rows = db.execute("SELECT prompt_tokens, completion_tokens, cost FROM llm_calls").fetchall()
    expected = [(p * 0.15 + c * 0.60) / 1e6 for p, c, _ in rows]
    assert [cost for *_, cost in rows] == pytest.approx(expected)
    assert result.usage.cost == pytest.approx(sum(expected))
    assert sum(expected[:-1]) < 0.0002 <= sum(expected)  # the call that crossed it was the last
    assert 2 < len(rows) < 50


def test_a_local_model_costs_nothing_and_the_run_says_so(make_task, tmp_path: Path) -> None:
    result = hone.run(
        task_of(make_task(), max_llm_calls=2),
        model=ScriptedModel([block(2.0)] * 2),
        run_dir=tmp_path / "r",
    )
    assert result.usage.cost == 0.0
    with opened(tmp_path / "r") as store:
        assert store.meta().prices == {"scripted": {"input": 0.0, "output": 0.0, "source": "local"}}


def test_a_cost_budget_with_an_unpriced_model_is_refused_before_any_call(
    make_task, tmp_path: Path
) -> None:
    model = ScriptedModel([block(2.0)], name="openai:mystery-model")
    with pytest.raises(ConfigError, match="max_cost needs the price of 'openai:mystery-model'"):
        hone.run(task_of(make_task(), max_cost=1.0), model=model, run_dir=tmp_path / "r")
    assert model.requests == []


def test_a_cost_budget_over_free_models_is_said_once_to_stop_nothing(
    make_task, tmp_path: Path, caplog
) -> None:
    """Against a local server priced at 0, --max-cost cannot stop the run: a warning says so
    at the start, once; the run goes on to its other limits."""
    model = ScriptedModel([block(2.0)] * 3, name="openai:local")
    task = task_of(make_task(), max_cost=0.01, max_llm_calls=3)
    task = task.configured(model={"base_url": "http://127.0.0.1:8080/v1"})
    with caplog.at_level("WARNING", logger="hone"):
        result = hone.run(task, model=model, run_dir=tmp_path / "r")
    assert result.stop_reason == "max_llm_calls" and result.usage.cost == 0.0
    said = [r.getMessage() for r in caplog.records if "max_cost" in r.getMessage()]
    assert said == [
        "max_cost (--max-cost) cannot stop this run: openai:local costs nothing (local or "
        "priced at 0); the call, token and time limits still do"
    ]
