"""Shared fixtures: small task folders, and no real API keys in unit tests."""

from __future__ import annotations

import os
import shutil
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.helpers import ray_processes

# Every Ray a test starts (hone's local instance, the cluster of tests/executors/test_ray.py)
# listens on 127.0.0.1 only: Ray otherwise binds to the machine's interface address (Ray reads
# this as it is imported, so here, before any test imports it). Its sessions, and the "current
# cluster" file that a plain ray.init() joins, live in a folder of this test session's own.
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
_OWN_RAY_FOLDER = "RAY_TMPDIR" not in os.environ  # (one a user set is theirs to clean)
RAY_FOLDER = os.environ.setdefault("RAY_TMPDIR", f"/tmp/hone-ray-{os.getpid()}")

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


@pytest.fixture(autouse=True, scope="session")
def _no_ray_process_outlives_the_tests() -> Iterator[None]:
    """After the last test, no process of a Ray the tests started is left (they stop by
    themselves: a few seconds are allowed for that)."""
    yield
    deadline = time.monotonic() + 30
    while (left := ray_processes(RAY_FOLDER)) and time.monotonic() < deadline:
        time.sleep(0.5)
    if _OWN_RAY_FOLDER:
        shutil.rmtree(RAY_FOLDER, ignore_errors=True)
    assert not left, f"Ray processes outlived the tests: {left}"


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
