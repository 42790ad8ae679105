"""Example task folders in OpenEvolve's and ShinkaEvolve's formats (tests/formats/data), and
a way to run `hone run` on them as a user would."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from hone.cli import main

DATA = Path(__file__).parent / "data"
PEERS = Path(__file__).parent / "peers"  # the peers' own example folders, unchanged

Cli = Callable[..., tuple[int, str, str]]


@pytest.fixture
def folder(tmp_path: Path) -> Callable[[str], Path]:
    """A copy of an example folder, free to break."""

    def copy(name: str) -> Path:
        target = tmp_path / name
        shutil.copytree(DATA / name, target)
        return target

    return copy


@pytest.fixture
def cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Cli:
    """`hone run ARGS` with no model answers; (exit code, stdout, stderr)."""
    answers = tmp_path / "answers.jsonl"
    answers.write_text("", encoding="utf-8")
    runs = iter(range(1000))

    def run(*args: str) -> tuple[int, str, str]:
        run_dir = tmp_path / f"run-{next(runs)}"
        argv = ["run", *args, "--run-dir", str(run_dir), "--model", f"scripted:{answers}"]
        code = main(argv)
        out, err = capsys.readouterr()
        return code, out, err

    return run
