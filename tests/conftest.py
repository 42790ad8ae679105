"""Shared fixtures: small task folders, and no real API keys in unit tests."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

PROGRAM = """\
import math

# EVOLVE-BLOCK-START
def f():
    \"\"\"Return a number.\"\"\"
    return 1.0
# EVOLVE-BLOCK-END


def run():
    return f()
"""

EVALUATOR = """\
import importlib.util


def evaluate(program_path):
    spec = importlib.util.spec_from_file_location("candidate", program_path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    value = module.run()
    return {"combined_score": -abs(value - 10.0), "value": value, "feedback": f"f() = {value}"}
"""

MakeTask = Callable[..., Path]


@pytest.fixture(autouse=True)
def _no_real_api_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """Unit tests never reach a paid API: the keys the SDKs read are removed."""
    for key in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "OPENAI_BASE_URL", "ANTHROPIC_BASE_URL"):
        monkeypatch.delenv(key, raising=False)


@pytest.fixture
def make_task(tmp_path: Path) -> MakeTask:
    """Write a task folder: f() should return 10; score = -|f() - 10|."""

    def make(
        toml: str = "",
        program: str = PROGRAM,
        evaluator: str = EVALUATOR,
        name: str = "task",
    ) -> Path:
        root = tmp_path / name
        root.mkdir()
        (root / "task.toml").write_text(
            'instruction = "Make f() return 10."\n' + textwrap.dedent(toml), encoding="utf-8"
        )
        (root / "initial.py").write_text(program, encoding="utf-8")
        (root / "evaluate.py").write_text(evaluator, encoding="utf-8")
        return root

    return make


def answer(value: float) -> str:
    """A chat answer setting f()'s return value through a SEARCH/REPLACE block."""
    return (
        "The value should move towards 10.\n"
        "<<<<<<< SEARCH\n    return 1.0\n=======\n"
        f"    return {value!r}\n>>>>>>> REPLACE\n"
    )
