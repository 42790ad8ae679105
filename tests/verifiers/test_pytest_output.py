"""A pytest run's output read back: counts and first failures, from real pytest runs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from hone.verifiers import pytest_output

TESTS = """\
import os


def test_ok():
    assert 1 == 1


def test_order():
    x = [2, 1]
    assert x == [1, 2], "wrong order"


def test_boom():
    raise ValueError("boom")
"""


def pytest_run(folder: Path, *options: str) -> str:
    """The output of a real pytest run over `folder` (no plugins of this suite)."""
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *options, "tests"],
        cwd=folder,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "COLUMNS": "200"},
        timeout=120,
    )
    return done.stdout + done.stderr


@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("suite")
    (folder / "tests").mkdir()
    (folder / "tests" / "test_a.py").write_text(TESTS)
    return folder


def test_a_quiet_run_stopped_at_the_first_failure(suite: Path) -> None:
    run = pytest_output.read(pytest_run(suite, "-q", "-x"))
    assert run is not None
    assert (run.passed, run.failed, run.errors) == (1, 1, 0)
    assert run.failures == ("FAILED tests/test_a.py::test_order - AssertionError: wrong order",)
    assert run.detail[:2] == (
        "E       AssertionError: wrong order",
        "E       assert [2, 1] == [1, 2]",
    )
    assert run.detail[-1] == "tests/test_a.py:10: AssertionError"
    assert run.metrics == {"tests_passed": 1.0, "tests_failed": 1.0, "tests_errors": 0.0}
    assert run.feedback.splitlines()[:2] == [
        "pytest: 1 failed, 1 passed, 0 errors",
        "FAILED tests/test_a.py::test_order - AssertionError: wrong order",
    ]


def test_a_full_run_with_its_bars_names_every_failure_and_details_the_first(suite: Path) -> None:
    run = pytest_output.read(pytest_run(suite))
    assert run is not None and (run.passed, run.failed, run.errors) == (1, 2, 0)
    assert run.failures[1] == "FAILED tests/test_a.py::test_boom - ValueError: boom"
    assert "E       ValueError: boom" not in run.detail  # (the second failure's)
    assert "the first failure:" in run.feedback


def test_a_collection_error_counts_as_an_error(tmp_path: Path) -> None:
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_b.py").write_text("import no_such_module\n")
    run = pytest_output.read(pytest_run(tmp_path, "-q", "-x"))
    assert run is not None and (run.passed, run.failed, run.errors) == (0, 0, 1)
    assert run.failures[0].startswith("ERROR tests/test_b.py")
    assert "No module named 'no_such_module'" in "\n".join(run.detail)


def test_a_crashed_run_has_no_summary_and_reads_as_none(tmp_path: Path) -> None:
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_c.py").write_text("import os\n\n\ndef test_x():\n    os._exit(3)\n")
    output = pytest_run(tmp_path, "-q")
    assert pytest_output.read(output) is None
    assert pytest_output.read("") is None


def test_runs_in_one_output_add_up_and_colours_are_ignored() -> None:
    output = (
        "\x1b[32m3 passed\x1b[0m\x1b[32m in 0.10s\x1b[0m\nbuilding\n"
        "==== 1 failed, 2 passed, 1 skipped, 2 warnings in 65.12s (0:01:05) ====\n"
        "no tests ran in 0.01s\n"
    )
    run = pytest_output.read(output)
    assert run is not None and (run.passed, run.failed, run.errors) == (5, 1, 0)
