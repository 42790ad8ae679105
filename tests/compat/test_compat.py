"""The evaluator contracts' registry: every contract is a module with one entry point,
``load(path, settings) -> Loaded``, and says itself whether its evaluator is trusted."""

from __future__ import annotations

import importlib
import inspect
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from hone import compat
from hone.compat import CONTRACTS, Loaded

# An evaluator of each contract, and whether the contract runs it trusted (the candidate in a
# process of its own) or untrusted (evaluator and candidate confined together).
EVALUATORS: list[tuple[str, str, bool]] = [
    ("hone", "def evaluate(program_path):\n    return 1.0\n", False),
    ("hone", "def evaluate_program(program):\n    return 1.0\n", True),
    (
        "hone",  # stages take a path, so a cascade is untrusted whatever its last function
        "def evaluate_stage1(path):\n    return 1.0\n\n"
        "def evaluate_program(program):\n    return 1.0\n",
        False,
    ),
    ("openevolve", "def evaluate(program_path):\n    return {'combined_score': 1.0}\n", False),
    ("shinka", "print('a script, run per candidate: never imported by load')\n", False),
]


@pytest.fixture
def importing() -> Iterator[None]:
    """Undo what loading an evaluator does to this process (sys.path, sys.modules)."""
    path, modules = list(sys.path), set(sys.modules)
    yield
    sys.path[:] = path
    for name in set(sys.modules) - modules:
        del sys.modules[name]


def test_every_contract_has_an_evaluator_here() -> None:
    assert {contract for contract, _, _ in EVALUATORS} == set(CONTRACTS)


@pytest.mark.parametrize("name", list(CONTRACTS))
def test_every_contract_module_has_one_load_entry_point(name: str) -> None:
    module = importlib.import_module(CONTRACTS[name])
    assert list(inspect.signature(module.load).parameters) == ["path", "settings"]


@pytest.mark.parametrize(("contract", "source", "trusted"), EVALUATORS)
def test_load_gives_the_evaluator_and_whether_it_is_trusted(
    importing: None, tmp_path: Path, contract: str, source: str, trusted: bool
) -> None:
    (tmp_path / "evaluate.py").write_text(source)
    settings = {"thresholds": [0.5], "timeout": 10.0}
    loaded = compat.load(contract, str(tmp_path / "evaluate.py"), settings)  # type: ignore[arg-type]
    assert isinstance(loaded, Loaded) and callable(loaded.evaluate)
    assert loaded.trusted is trusted


def test_a_cascade_without_a_threshold_per_stage_is_refused(
    importing: None, tmp_path: Path
) -> None:
    (tmp_path / "evaluate.py").write_text(
        "def evaluate_stage1(p):\n    return 1.0\n\ndef evaluate(p):\n    return 1.0\n"
    )
    with pytest.raises(ImportError, match=r"1 cascade stages but .* lists 0 thresholds"):
        compat.load("hone", str(tmp_path / "evaluate.py"), {})
