"""The examples that ship inside the package: listed, run by name from any folder, copied."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import hone
from hone import examples
from hone.cli import main
from hone.exceptions import TaskError

EXPECTED = [
    "bin_packing",
    "c_isqrt",
    "c_primes",
    "circle_packing",
    "closed_form_sum",
    "loss_discovery",
    "reward_design",
    "reward_design/randomisation",
    "textindex",
    "tsp_c",
]


def files(folder: Path) -> dict[str, float]:
    return {
        str(p.relative_to(folder)): p.stat().st_mtime
        for p in folder.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }


def test_every_example_is_listed_with_one_line(capsys) -> None:
    assert examples.names() == EXPECTED
    assert main(["examples"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[: len(EXPECTED)] == [f"{name:<27}  {examples.summary(name)}" for name in EXPECTED]
    assert "circle_packing               Circle packing: 26 circles in the unit square" in lines
    assert all(examples.summary(name) for name in EXPECTED)
    assert hone.example("circle_packing") == examples.ROOT / "circle_packing"


def test_the_examples_data_is_in_the_package() -> None:
    folder = examples.example("bin_packing")
    assert {p.name for p in (folder / "data").glob("*.json")} == {"train.json"}
    assert {p.name for p in (folder / "holdout").glob("*.json")} == {"or3.json", "weibull_5k.json"}
    assert (examples.example("loss_discovery") / "archive" / "dpo.py").is_file()


def test_a_name_that_is_no_folder_here_runs_the_packaged_example(
    tmp_path: Path, monkeypatch, capsys
) -> None:
    monkeypatch.chdir(tmp_path)
    before = files(examples.example("closed_form_sum"))
    for given in ("closed_form_sum", "examples/closed_form_sum"):
        assert main(["run", given, "--max-llm-calls", "0"]) == 0
        captured = capsys.readouterr()
        assert captured.err.startswith(
            f"hone: no folder {given!r} here: running the example that comes with hone ("
        )
        assert "hone examples copy closed_form_sum makes a copy to edit" in captured.err
        assert "new best 0.757732  (#1, round 0)" in captured.out  # the start, then tuning's
    assert len(list((tmp_path / "runs").glob("closed_form_sum-*/hone.db"))) == 2
    assert files(examples.example("closed_form_sum")) == before  # nothing written there


def test_a_folder_here_wins_over_the_example_of_its_name(
    make_task, tmp_path: Path, monkeypatch, capsys
) -> None:
    make_task(name="circle_packing")
    monkeypatch.chdir(tmp_path)
    assert main(["run", "circle_packing", "--max-llm-calls", "0"]) == 0
    captured = capsys.readouterr()
    assert "example that comes with hone" not in captured.err
    assert "best score -9" in captured.out


def test_copy_makes_an_editable_folder_and_never_overwrites(
    tmp_path: Path, monkeypatch, capsys
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["examples", "copy", "circle_packing"]) == 0
    assert "copied the example circle_packing to circle_packing" in capsys.readouterr().out
    assert set(files(tmp_path / "circle_packing")) == set(files(examples.example("circle_packing")))
    assert os.access(tmp_path / "circle_packing" / "initial.py", os.W_OK)
    assert main(["examples", "copy", "circle_packing"]) == 2
    assert "'circle_packing' exists already" in capsys.readouterr().err
    nested = examples.copy("reward_design/randomisation", tmp_path / "rd")
    assert nested == tmp_path / "rd" / "randomisation"
    assert (tmp_path / "rd" / "mountain_car.py").is_file()  # what the nested one reads
    with pytest.raises(TaskError, match="there is no example 'nope'; the examples are: bin_pack"):
        examples.copy("nope")


@pytest.mark.parametrize("name", [n for n in EXPECTED if "/" not in n])
def test_every_example_validates_on_held_out_data_or_says_why_it_has_none(name: str) -> None:
    """Issue 24: a result to trust is reported on data the search never saw, or the example
    says why it has no such data."""
    folder = examples.ROOT / name
    readme = (folder / "README.md").read_text(encoding="utf-8")
    if hone.Task.from_dir(folder).evaluation.holdout:
        assert "held-out" in readme
    else:
        assert "\n## Held-out set\n" in readme or "There is no held-out set:" in readme
