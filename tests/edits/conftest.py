"""What the edits tests share: a one-block program, answers' SEARCH/REPLACE blocks, a program
folder of two files and its tree."""

from pathlib import Path

import pytest

from hone.edits import (
    read_tree,
)
from hone.tree import Tree, TreeSpec

PARENT = """\
import math

# EVOLVE-BLOCK-START
def f(x):
    return x + 1
# EVOLVE-BLOCK-END


def main():
    return f(1)
"""


def diff(search: str, replace: str) -> str:
    return f"Reasoning first.\n<<<<<<< SEARCH\n{search}\n=======\n{replace}\n>>>>>>> REPLACE\n"


def sr(search: str, replace: str) -> str:
    """A SEARCH/REPLACE block alone (the line before it is the path, or nothing)."""
    return f"<<<<<<< SEARCH\n{search}\n=======\n{replace}\n>>>>>>> REPLACE\n"


TWO_BLOCKS = """\
import math

# EVOLVE-BLOCK-START
def f(x):
    return x + 1
# EVOLVE-BLOCK-END


def keep():
    return 0


# EVOLVE-BLOCK-START
def g(x):
    return x - 1
# EVOLVE-BLOCK-END
"""


A_PY = """\
import math

# EVOLVE-BLOCK-START
def score(x):
    return x + 1
# EVOLVE-BLOCK-END


def main():
    return score(1)
"""


B_PY = TWO_BLOCKS


PARAMS = 'rate = 0.5\nname = "base"\n'


FOLDER = {
    "src/a.py": A_PY,
    "src/b.py": B_PY,
    "config/params.toml": PARAMS,
    "src/heuristics/base.py": "def base():\n    return 0\n",
    "README.md": "# The task\n",
    "tests/test_a.py": "def test_a():\n    pass\n",
}


SPEC_GLOBS = {
    "editable": ("src/*.py", "config/*.toml"),
    "context": ("README.md", "tests/test_*.py"),
    "new_files": ("src/heuristics/*.py",),
}


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A program folder: two Python files with blocks, a configuration, a read-only
    heuristic, context files, a binary file and a link leading outside."""
    base = tmp_path / "program"
    for path, text in FOLDER.items():
        (base / path).parent.mkdir(parents=True, exist_ok=True)
        (base / path).write_text(text)
    (base / "data.bin").write_bytes(b"\0\1\2")
    (tmp_path / "elsewhere").mkdir()
    (base / "src" / "heuristics" / "shared").symlink_to(tmp_path / "elsewhere")
    return base


@pytest.fixture
def spec(folder: Path) -> TreeSpec:
    return TreeSpec(base=folder, **SPEC_GLOBS)  # type: ignore[arg-type]


@pytest.fixture
def parent(spec: TreeSpec) -> Tree:
    return read_tree(spec)
