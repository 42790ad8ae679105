"""benchmarks/offline_models.py's records: a run recorded for another version of its example
folder is run again, one of the folder as it is is not."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import offline_models as bench


def test_digest_follows_the_files_that_shape_a_run_and_not_the_readme() -> None:
    files = {"task.toml": b"[search]\n", "initial.py": b"x = 1\n"}
    same = bench.digest({**files, "README.md": b"notes", "__pycache__/initial.pyc": b"\0"})
    assert same == bench.digest(files)
    assert bench.digest({**files, "initial.py": b"x = 2\n"}) != bench.digest(files)
    assert bench.digest({**files, "data/a.txt": b"1"}) != bench.digest(files)


def test_a_run_of_an_earlier_folder_is_run_again_and_a_current_one_is_not(
    tmp_path: Path,
) -> None:
    results = tmp_path / "runs.jsonl"
    now = bench.example_digest("closed_form_sum")
    bench.record(results, "a", {"best": 1.0, "example": now})
    bench.record(results, "b", {"best": 2.0, "example": "0" * 12})
    made: list[str] = []

    def make(name: str) -> dict[str, Any]:
        made.append(name)
        return {"best": 3.0}

    assert bench.cached(results, "closed_form_sum", "a", lambda: make("a")) == {
        "key": "a", "best": 1.0, "example": now,
    }  # fmt: skip
    again = bench.cached(results, "closed_form_sum", "b", lambda: make("b"))
    assert made == ["b"]
    assert again == {"key": "b", "best": 3.0, "example": now}
    rows = [json.loads(line) for line in results.read_text().splitlines()]
    assert [r["key"] for r in rows] == ["a", "b", "b"]  # the earlier figures are kept
    assert bench.current(bench.load(results)["b"], "closed_form_sum")


@pytest.mark.parametrize("task", bench.TASKS)
def test_each_recorded_run_names_the_folder_it_ran(task: str) -> None:
    rows = [r for r in bench.load(bench.RESULTS).values() if r["key"].startswith(task + "|")]
    assert rows and all(len(r["example"]) == 12 for r in rows)
