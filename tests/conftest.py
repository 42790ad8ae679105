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


# A folder task: the program is the folder src/, a tree of two editable files (main.py
# imports helper.py), over a base holding a context file, data that is not text, and a
# folder named by new_files; the evaluator (outside the folder) imports the tree's main.py and
# every plugin a hypothesis added: value = total() + each plugin's bonus(); score -|value - 10|.
TREE_MAIN = """\
from helper import scale

# EVOLVE-BLOCK-START
def total():
    return scale(1.0)
# EVOLVE-BLOCK-END
"""

TREE_HELPER = """\
# EVOLVE-BLOCK-START
def scale(x):
    y = x
    return y * 2.0


def unused(x):
    y = x
    return y
# EVOLVE-BLOCK-END
"""

TREE_EVALUATOR = """\
import importlib.util
import sys
from pathlib import Path


def evaluate(program_path):
    root = Path(program_path)
    sys.path.insert(0, str(root))
    import main

    value = main.total()
    for plugin in sorted((root / "plugins").glob("*.py")):
        spec = importlib.util.spec_from_file_location(plugin.stem, plugin)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        value += module.bonus()
    return {"combined_score": -abs(value - 10.0), "value": value, "feedback": f"value {value}"}
"""

TREE_TOML = """\
instruction = "Make the value 10."
program = "src"
context = ["NOTES.md"]
new_files = ["plugins/*.py"]
"""


@pytest.fixture
def make_tree_task(tmp_path: Path) -> MakeTask:
    """Write a folder task (`TREE_TOML`): src/main.py and src/helper.py are its tree."""

    def make(toml: str = "", name: str = "tree-task", evaluator: str = TREE_EVALUATOR) -> Path:
        root = tmp_path / name
        src = root / "src"
        (src / "plugins").mkdir(parents=True)
        (root / "task.toml").write_text(TREE_TOML + textwrap.dedent(toml), encoding="utf-8")
        (src / "main.py").write_text(TREE_MAIN, encoding="utf-8")
        (src / "helper.py").write_text(TREE_HELPER, encoding="utf-8")
        (src / "NOTES.md").write_text("scale() doubles; total() scales 1.\n", encoding="utf-8")
        (src / "weights.bin").write_bytes(b"\0\1\2\3")
        (src / "plugins" / "README").write_text("plugins go here\n", encoding="utf-8")
        (root / "evaluate.py").write_text(evaluator, encoding="utf-8")
        return root

    return make


def named(path: str, search: str, replace: str) -> str:
    """A SEARCH/REPLACE block after its file's path on a line of its own."""
    return f"{path}\n<<<<<<< SEARCH\n{search}\n=======\n{replace}\n>>>>>>> REPLACE\n"
