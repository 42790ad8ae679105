"""Resume knows its task: an edited task is refused in one sentence, or accepted and recorded
(`hone show` says from which hypothesis on scores do not compare); older stores resume as
before. Real runs through the command line: a scripted model, the sandbox's workers."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest

from hone import fingerprint as fp
from hone.cli import main
from hone.task import Task


def answers(path: Path, values: list[float]) -> Path:
    texts = [f"```python\ndef f():\n    return {v!r}\n```" for v in values]
    path.write_text("".join(json.dumps(t) + "\n" for t in texts))
    return path


def started(make_task, tmp_path: Path, calls: int = 2) -> tuple[Path, Path]:
    """A task folder (with a data file and a run folder inside it) and a run of it that
    stopped by its call budget, resumable with more."""
    task = make_task()
    (task / "data").mkdir()
    (task / "data" / "points.csv").write_text("1,2\n3,4\n")
    run_dir = task / "runs" / "first"  # inside the task folder: must not count as the task
    model = answers(tmp_path / "a.jsonl", [2.0, 3.0, 4.0, 5.0, 6.0, 7.0])
    argv = ["run", str(task), "--model", f"scripted:{model}", "--run-dir", str(run_dir)]
    assert main([*argv, "--hypotheses", "1", "--max-llm-calls", str(calls)]) == 0
    return task, run_dir


def rows(run_dir: Path) -> tuple[int, int]:
    with sqlite3.connect(run_dir / "hone.db") as db:
        candidates = db.execute("SELECT COUNT(*) FROM candidates").fetchone()[0]
        calls = db.execute("SELECT COUNT(*) FROM llm_calls").fetchone()[0]
    return candidates, calls


def test_an_unchanged_task_resumes(make_task, tmp_path: Path, capsys) -> None:
    task, run_dir = started(make_task, tmp_path)
    (task / "__pycache__").mkdir()  # what Python and editors leave are not the task
    (task / "__pycache__" / "evaluate.cpython-311.pyc").write_bytes(b"\0")
    (task / ".evaluate.py.swp").write_text("x")
    assert main(["resume", str(run_dir), "--max-llm-calls", "3"]) == 0
    assert rows(run_dir)[1] == 3


def test_an_edited_task_is_refused_in_one_sentence_and_nothing_is_written(
    make_task, tmp_path: Path, capsys
) -> None:
    task, run_dir = started(make_task, tmp_path)
    capsys.readouterr()
    evaluator = task / "evaluate.py"
    evaluator.write_text(evaluator.read_text().replace("10.0", "20.0"))
    (task / "data" / "points.csv").unlink()
    (task / "helper.py").write_text("K = 2\n")
    before = rows(run_dir)
    assert main(["resume", str(run_dir), "--max-llm-calls", "4"]) == 2
    err = capsys.readouterr().err
    assert err == (
        "hone: error: the task changed since this run started (evaluate.py changed; helper.py "
        "added; data/points.csv removed), so scores from now on would not compare with the "
        f"run's; continue anyway with: hone resume {run_dir} --accept-changed-task (the change "
        f"is recorded), or start a new run: hone run {task.resolve()}\n"
    )
    assert rows(run_dir) == before  # no call paid, no hypothesis made


def test_an_accepted_change_is_recorded_with_where_scores_stop_comparing(
    make_task, tmp_path: Path, capsys
) -> None:
    task, run_dir = started(make_task, tmp_path)
    last_before = rows(run_dir)[0]
    evaluator = task / "evaluate.py"
    evaluator.write_text(evaluator.read_text().replace("10.0", "20.0"))
    argv = ["resume", str(run_dir), "--max-llm-calls", "4", "--accept-changed-task"]
    assert main(argv) == 0
    assert rows(run_dir)[1] == 4  # it went on
    capsys.readouterr()
    assert main(["show", str(run_dir)]) == 0
    shown = capsys.readouterr().out
    assert (
        f"the task changed after hypothesis #{last_before} (round 2: evaluate.py changed); "
        "later scores do not compare with earlier ones"
    ) in shown
    assert (
        main(["resume", str(run_dir), "--max-llm-calls", "5"]) == 0
    )  # accepted: it is the task now


def test_a_store_without_a_fingerprint_resumes_and_gets_one(make_task, tmp_path: Path) -> None:
    task, run_dir = started(make_task, tmp_path)
    with sqlite3.connect(run_dir / "hone.db") as db:  # as hone recorded runs before
        db.execute("DELETE FROM meta WHERE key = 'task_fingerprint'")
    (task / "evaluate.py").write_text((task / "evaluate.py").read_text() + "\n# edited\n")
    assert main(["resume", str(run_dir), "--max-llm-calls", "3"]) == 0  # as before: unchecked
    (task / "evaluate.py").write_text((task / "evaluate.py").read_text() + "# again\n")
    assert main(["resume", str(run_dir), "--max-llm-calls", "4"]) == 2  # checked from then on


def test_large_files_are_compared_by_size_and_time(make_task, monkeypatch) -> None:
    task = make_task()
    big = task / "big.bin"
    big.write_bytes(b"x" * 4000)
    monkeypatch.setattr(fp, "HASH_FILE_BYTES", 2000)
    before = fp.fingerprint(Task.from_dir(task))
    assert before["files"]["big.bin"][1].startswith("mtime:")
    assert before["files"]["evaluate.py"][1].startswith("sha256:")
    with big.open("r+b") as f:  # same size, same time: not seen (the stated limit)
        stat = big.stat()
        f.write(b"y")
    os.utime(big, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert not fp.compare(before, fp.fingerprint(Task.from_dir(task)))
    big.write_bytes(b"x" * 4001)
    assert fp.compare(before, fp.fingerprint(Task.from_dir(task))).changed == ("big.bin",)


def test_a_task_from_python_is_fingerprinted_by_program_and_instruction(make_task) -> None:
    from dataclasses import replace

    task = replace(Task.from_dir(make_task()), root=None)
    before = fp.fingerprint(task)
    assert fp.compare(before, fp.fingerprint(replace(task, instruction="other"))).changed == (
        "(instruction)",
    )


@pytest.mark.parametrize("limit", [2])
def test_past_the_file_limit_the_record_says_so(make_task, monkeypatch, limit: int) -> None:
    task = make_task()
    monkeypatch.setattr(fp, "MAX_FILES", limit)
    found = fp.fingerprint(Task.from_dir(task))
    assert len(found["files"]) == limit and found["complete"] is False


def test_read_only_data_outside_the_task_folder_is_covered(make_task, tmp_path: Path) -> None:
    data = tmp_path / "elsewhere"
    data.mkdir()
    (data / "points.csv").write_text("1,2\n")
    task = Task.from_dir(make_task()).configured(evaluation={"read_only": (str(data),)})
    before = fp.fingerprint(task)
    (data / "points.csv").write_text("1,3\n")
    assert fp.compare(before, fp.fingerprint(task)).changed == (str(data / "points.csv"),)
