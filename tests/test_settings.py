"""Settings: every value is type-checked where it enters (task.toml, the CLI, Python), with its
key named, and `Task.configured` is the one way to override."""

import json
import subprocess
import sys
import typing

import pytest

from hone import settings
from hone.budget import Budget
from hone.exceptions import ConfigError, TaskError
from hone.settings import EvaluationConfig, ModelConfig, SearchConfig
from hone.task import Task


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('[evaluation]\nnetwork = "false"\n', r"network must be true or false, got 'false'"),
        ('[search]\ndeterministic = "false"\n', r"deterministic must be true or false"),
        ("[budget]\nmax_llm_calls = true\n", r"max_llm_calls must be an integer \(or omitted\)"),
        ("[search]\nhypotheses_per_round = 2.5\n", r"hypotheses_per_round must be an integer"),
        ('[model]\ntemperature = "hot"\n', r"temperature must be a number, got 'hot'"),
        ("[evaluation]\ncascade_thresholds = [1, true]\n", r"cascade_thresholds must be a list"),
        ('[evaluation]\nread_only = "data"\n', r"read_only must be a list of strings"),
        ('[evaluation]\nread_paths = "data"\n', r"read_only must be a list of strings"),
        ("[search]\nfeatures = {size = [0, 'a', 3]}\n", r"features must be a table of lists"),
        ("[evaluation]\ncache = 1\n", r"cache must be true or false, got 1"),
        (
            '[evaluation]\ncontract = "funsearch"\n',
            r"contract must be one of 'hone', 'openevolve', 'shinka'",
        ),
        ("[evaluation]\nstage_timeout = -1\n", r"stage_timeout must be at least 0"),
        ('[search]\nedits = "patch"\n', r"edits must be one of 'either', 'diff', 'full'"),
        (
            "[search]\nstrategy = 'map-elites'\nfeatures = {size = [0, 4]}\n",
            r"\[low, high, bins\] with low < high, or \[bins\]",
        ),
    ],
)
def test_a_value_of_the_wrong_type_is_refused_with_its_key(
    make_task, toml: str, message: str
) -> None:
    with pytest.raises(TaskError, match=message) as error:
        Task.from_dir(make_task(toml))
    assert "task.toml" in str(error.value)  # and the file it is in


def test_numbers_are_widened_and_lists_become_tuples() -> None:
    config = EvaluationConfig(timeout=5, cascade_thresholds=[1, 2.5])  # type: ignore[arg-type]
    assert config.timeout == 5.0 and isinstance(config.timeout, float)
    assert config.cascade_thresholds == (1.0, 2.5)
    assert Budget(max_seconds=3).max_seconds == 3.0


def test_configured_overrides_skip_none_and_check_types(make_task) -> None:
    task = Task.from_dir(make_task("[search]\ntop_k = 3\n"))
    changed = task.configured(
        budget={"max_llm_calls": 4, "patience": None}, search={"strategy": "islands"}
    )
    assert changed.budget.max_llm_calls == 4 and changed.budget.patience == task.budget.patience
    assert changed.search.strategy == "islands" and changed.search.top_k == 3
    assert task.search.strategy == "top-k"  # a copy: the task is unchanged
    whole = task.configured(budget=Budget(max_llm_calls=1))
    assert whole.budget == Budget(max_llm_calls=1)
    with pytest.raises(ConfigError, match="hypotheses_per_round must be an integer"):
        task.configured(search={"hypotheses_per_round": "4"})
    with pytest.raises(ConfigError, match=r"unknown setting\(s\) \['top'\]"):
        task.configured(search={"top": 1})
    with pytest.raises(ConfigError, match="unknown settings table 'serch'"):
        task.configured(serch={})


def test_every_name_settings_declare_has_a_registry_entry_and_no_other() -> None:
    from hone.compat import CONTRACTS
    from hone.executors import EXECUTORS
    from hone.models import BACKENDS
    from hone.strategies import STRATEGIES

    for names, registry in (
        (settings.StrategyName, STRATEGIES),
        (settings.ExecutorName, EXECUTORS),
        (settings.ContractName, CONTRACTS),
        (settings.BackendKind, BACKENDS),
    ):
        assert list(typing.get_args(names)) == list(registry), registry


def test_a_name_outside_its_literal_is_refused_with_the_allowed_ones() -> None:
    for name in typing.get_args(settings.StrategyName):
        features = {"x": [0.0, 1.0, 2.0]} if name == "map-elites" else {}
        objectives = {"a": "maximize", "b": "minimize"} if name == "pareto" else {}
        SearchConfig(strategy=name, features=features, objectives=objectives)
    with pytest.raises(
        ConfigError,
        match="strategy must be one of 'top-k', 'weighted', 'power-law', 'islands', "
        "'map-elites', 'pareto', got 'best'",
    ):
        SearchConfig(strategy="best")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="executor must be one of 'local', 'ray', got 'slurm'"):
        EvaluationConfig(executor="slurm")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="style must be one of 'completion', 'chat', '', got 1"):
        ModelConfig(style=1)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="objectives must be a table of 'maximize' or 'minimize'"):
        SearchConfig(objectives={"a": "up"})  # type: ignore[dict-item]
    assert ModelConfig(style="chat").style == "chat" and ModelConfig().style == ""


def test_settings_import_none_of_their_consumers() -> None:
    """Configuration never imports what it configures: importing the settings and building
    every table loads no strategy, executor, contract, model or novelty module."""
    script = (
        "import sys, json\n"
        "import hone.settings as s\n"
        "imported = sorted(m for m in sys.modules if m.startswith('hone'))\n"
        "s.SearchConfig(); s.EvaluationConfig(); s.ModelConfig()\n"
        "built = sorted(m for m in sys.modules if m.startswith('hone'))\n"
        "print(json.dumps([imported, built]))\n"
    )
    ran = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    imported, built = json.loads(ran.stdout)
    assert imported == built == ["hone", "hone.exceptions", "hone.objective", "hone.settings"]


def test_a_model_call_deadline_is_the_backends_unless_the_task_sets_one() -> None:
    from hone.models import call_timeout
    from hone.settings import ModelConfig

    assert call_timeout(ModelConfig(spec="openai:m")) == 300
    # the embedded model's four slots share the cores: a call may take four times as long
    assert call_timeout(ModelConfig(spec="embedded:qwen-coder-1.5b")) == 1200
    assert call_timeout(ModelConfig(spec="ensemble:openai:m,embedded")) == 1200
    assert call_timeout(ModelConfig(spec="embedded", timeout=20)) == 20
    with pytest.raises(ConfigError, match="model timeout must be greater than 0"):
        ModelConfig(timeout=0)


def test_an_old_name_is_read_as_its_key() -> None:
    """read_paths, read_only's old name, in task.toml, overrides and a stored run's settings."""
    from hone.settings import EvaluationConfig, ModelConfig

    assert EvaluationConfig.of({"read_paths": ["data"]}).read_only == ("data",)
    assert EvaluationConfig().merged(read_paths=["x"]).read_only == ("x",)
    assert ModelConfig.of({"name": "openai:m"}).spec == "openai:m"
    with pytest.raises(ConfigError, match="read_paths and read_only name one setting"):
        EvaluationConfig.of({"read_paths": ["a"], "read_only": ["b"]})
