"""The model ensemble: which arm UCB chooses given these rewards, and the loop feeding it."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

import hone
from hone.budget import Budget
from hone.exceptions import ConfigError
from hone.models import check_spec
from hone.models.ensemble import Ensemble
from hone.models.scripted import ScriptedModel
from hone.settings import ModelConfig
from hone.task import Task
from hone.testing import FunctionModel
from tests.conftest import answer


def three() -> Ensemble:
    return Ensemble([ScriptedModel([], name=n) for n in ("a", "b", "c")])


def test_every_model_is_tried_once_first() -> None:
    bandit = three()
    chosen = []
    for _ in range(3):
        arm = bandit.choose()
        chosen.append(arm)
        bandit.pulls[arm] += 1
    assert chosen == [0, 1, 2]


def test_ucb_prefers_the_model_that_improved_programs() -> None:
    bandit = three()
    for name, pulls, wins in (("a", 10, 1), ("b", 10, 6), ("c", 10, 2)):
        for i in range(pulls):
            bandit.reward(name, 1.0 if i < wins else 0.0, replayed=True)
    assert bandit.choose() == 1
    assert bandit.pulls == [10, 10, 10] and bandit.rewards == [1.0, 6.0, 2.0]


def test_ucb_explores_a_rarely_tried_model() -> None:
    bandit = three()
    for name, pulls, wins in (("a", 50, 20), ("b", 50, 21), ("c", 2, 0)):
        for i in range(pulls):
            bandit.reward(name, 1.0 if i < wins else 0.0, replayed=True)
    # c's mean is 0, but after 2 tries its bonus sqrt(2 ln 102 / 2) = 2.15 outweighs b's 0.42 + 0.43
    assert bandit.choose() == 2


def test_cost_weighs_against_an_expensive_model() -> None:
    bandit = Ensemble(
        [ScriptedModel([], name="cheap"), ScriptedModel([], name="dear")],
        costs=[0.0, 1.0],
        cost_weight=0.5,
    )
    for name in ("cheap", "dear"):
        for i in range(20):
            bandit.reward(name, 1.0 if i < (8 if name == "cheap" else 12) else 0.0, replayed=True)
    assert bandit.choose() == 0  # 0.4 beats 0.6 - 0.5


def test_ensemble_specs_are_checked() -> None:
    local = "http://127.0.0.1:9/v1"  # (a server of one's own: no key needed)
    check_spec(ModelConfig(spec="ensemble:openai:a,anthropic:b", base_url=local))
    with pytest.raises(ConfigError, match="OPENAI_API_KEY is not set"):  # each member's check
        check_spec(ModelConfig(spec="ensemble:openai:a,anthropic:b"))
    with pytest.raises(ConfigError, match="two or more"):
        check_spec(ModelConfig(spec="ensemble:openai:a"))
    with pytest.raises(ConfigError, match="unknown model 'gpt'"):
        check_spec(ModelConfig(spec="ensemble:openai:a,gpt", base_url=local))
    with pytest.raises(ConfigError, match="same kind of prompt"):
        Ensemble([ScriptedModel([], name="a"), ScriptedModel([], style="completion", name="b")])


def test_the_loop_credits_the_model_that_improved(make_task, tmp_path: Path) -> None:
    good = FunctionModel(lambda r: answer(9.0), name="good")  # applies to the start only
    bad = FunctionModel(lambda r: "no code", name="bad")
    ensemble = Ensemble([bad, good])
    task = Task.from_dir(make_task())
    task = dataclasses.replace(
        task,
        budget=Budget(max_llm_calls=6, patience=None),
        search=dataclasses.replace(task.search, hypotheses_per_round=1, fix_attempts=0),
    )
    result = hone.run(task, model=ensemble, run_dir=tmp_path / "run")
    assert result.best is not None and result.best.score == -1.0
    assert ensemble.rewards == [0.0, 1.0]  # "good" improved on the start once
    assert sum(ensemble.pulls) == 6 and ensemble.pulls[1] >= 2
    import sqlite3

    with sqlite3.connect(tmp_path / "run" / "hone.db") as db:
        names = {row[0] for row in db.execute("SELECT model FROM llm_calls")}
    assert names == {"good", "bad"}  # each call records which model answered
