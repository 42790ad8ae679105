"""Bytes hone never expected, end to end (issue 21): a model answer with a lone surrogate, token
counts no integer column holds, evaluator text that is no UTF-8 or full of terminal escape
codes. Each run ends as a user expects, stores every answer it paid for and every evaluation,
and `hone resume` pays nothing and evaluates nothing again."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from hone.inbound import MAX_TOKENS
from tests.conftest import EVALUATOR
from tests.faults.server import FaultServer
from tests.helpers import environment, hone_command

pytestmark = pytest.mark.slow

ENV = environment()

# Feedback and a metric name that are no UTF-8 (what bytes.decode(..., 'surrogateescape')
# gives), terminal escape codes in the feedback and in the output.
ODD_EVALUATOR = EVALUATOR.replace(
    '    return {"combined_score": -abs(value - 10.0), "value": value, "feedback": f"f() = {value}"}',
    """    odd = b"caf\\xe9 \\xff".decode("utf-8", "surrogateescape")
    print("\\x1b[2J\\x1b]0;pwned\\x07 the screen was cleared")
    return {
        "combined_score": -abs(value - 10.0),
        "feedback": f"\\x1b[31mred\\x1b[0m {odd}",
        odd: value,
    }""",
)
RAW_ESCAPES = ("\x1b[31m", "\x1b[2J", "\x1b]0;", "\x07")


def hone(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`python -m hone ARGS`, as a user runs it."""
    command = hone_command(*args)
    return subprocess.run(
        command, env=env or ENV, capture_output=True, text=True, timeout=180, check=False
    )


def run_args(task: Path, run_dir: Path, url: str, *more: str) -> list[str]:
    return [
        "run", str(task), "--model", "openai:m", "--base-url", url, "--run-dir", str(run_dir),
        "--hypotheses", "2", "--workers", "1", "--model-timeout", "10", *more,
    ]  # fmt: skip


def rows(run_dir: Path, query: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(f"file:{run_dir / 'hone.db'}?mode=ro", uri=True) as db:
        return list(db.execute(query).fetchall())


def answered(run_dir: Path) -> int:
    return int(rows(run_dir, "SELECT COUNT(*) FROM llm_calls WHERE error IS NULL")[0][0])


def test_a_lone_surrogate_in_an_answer_is_stored_and_the_hypothesis_goes_on(
    make_task, tmp_path: Path
) -> None:
    server = FaultServer("surrogate").start()
    run_dir = tmp_path / "run"
    try:
        done = hone(*run_args(make_task(), run_dir, server.url, "--max-llm-calls", "4"))
        paid = len(server.log)
        again = hone("resume", str(run_dir), "--max-llm-calls", "4")
    finally:
        server.stop()
    assert done.returncode == 0 and done.stderr == "", done.stderr
    assert answered(run_dir) == len(server.answered()) == paid == 4  # every answer stored
    completions = [c for (c,) in rows(run_dir, "SELECT completion FROM llm_calls")]
    assert all("# a lone surrogate: \ufffd" in c for c in completions)
    statuses = rows(run_dir, "SELECT status FROM candidates WHERE call_id IS NOT NULL")
    assert statuses == [("ok",)] * 4  # the programs ran, their comment made valid
    assert again.returncode == 0, again.stderr
    assert len(server.log) == paid  # resume paid for nothing again


@pytest.mark.parametrize(
    ("mode", "budget", "prompt_tokens", "reported"),
    [
        ("huge-usage", 1000, MAX_TOKENS, "100000000000000000000"),
        ("negative-usage", 12, 0, "-1000000000"),
    ],
)
def test_token_counts_out_of_range_are_clamped_and_the_token_budget_still_stops_the_run(
    make_task, tmp_path: Path, mode: str, budget: int, prompt_tokens: int, reported: str
) -> None:
    server = FaultServer(mode).start()
    run_dir = tmp_path / "run"
    try:
        more = ("--max-llm-calls", "20", "--max-tokens", str(budget))
        done = hone(*run_args(make_task(), run_dir, server.url, *more))
        paid = len(server.log)
        again = hone("resume", str(run_dir), "--max-tokens", str(budget))
    finally:
        server.stop()
    assert done.returncode == 0, done.stderr
    warnings = done.stderr.strip().splitlines()
    assert warnings == [
        f"hone: warning: openai:m reported {reported} tokens for a call; counted as "
        f"{prompt_tokens} (hone keeps a count between 0 and 2**53)"
    ]  # said once, not at every call
    assert "token budget spent" in done.stdout
    calls = rows(run_dir, "SELECT prompt_tokens, completion_tokens FROM llm_calls")
    assert len(calls) == answered(run_dir) == len(server.answered()) == paid
    assert all(row == (prompt_tokens, 5) for row in calls)
    # 5 tokens a call: the budget of 12 stops it after 3 (4 with one in flight), not 20
    assert paid <= (2 if mode == "huge-usage" else 4)
    shown = hone("show", str(run_dir))
    total = sum(p + c for p, c in calls)  # type: ignore[operator]
    assert f" {total} tokens" in shown.stdout and "-" not in shown.stdout.split(" tokens")[0][-25:]
    assert again.returncode == 0, again.stderr
    assert len(server.log) == paid  # resume paid for nothing again


@pytest.fixture(scope="module")
def odd_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """A run whose evaluator's feedback, metric names and output are no UTF-8 and hold
    terminal escape codes; resumed once, and shown."""
    root = tmp_path_factory.mktemp("odd")
    task = root / "task"
    task.mkdir()
    from tests.conftest import PROGRAM

    (task / "task.toml").write_text('instruction = "Make f() return 10."\n')
    (task / "initial.py").write_text(PROGRAM)
    (task / "evaluate.py").write_text(ODD_EVALUATOR)
    run_dir = root / "run"
    server = FaultServer("ok").start()
    try:
        done = hone(*run_args(task, run_dir, server.url, "--max-llm-calls", "2"))
        before = rows(run_dir, "SELECT id, status, eval_started, feedback FROM candidates")
        paid = len(server.log)
        again = hone("resume", str(run_dir), "--max-llm-calls", "2")
    finally:
        server.stop()
    after = rows(run_dir, "SELECT id, status, eval_started, feedback FROM candidates")
    shows = {
        "show": hone("show", str(run_dir)),
        "hypothesis": hone("show", str(run_dir), "--hypothesis", "2"),
        "terminal": hone(
            "show", str(run_dir), "--hypothesis", "2", env={**ENV, "FORCE_COLOR": "1"}
        ),
    }
    return {
        "done": done, "again": again, "before": before, "after": after, "paid": paid,
        "logged": len(server.log), "run_dir": run_dir, **shows,
    }  # fmt: skip


def test_evaluator_text_that_is_no_utf8_is_stored_and_not_evaluated_again(
    odd_run: dict[str, object],
) -> None:
    done, again = odd_run["done"], odd_run["again"]
    assert isinstance(done, subprocess.CompletedProcess) and isinstance(
        again, subprocess.CompletedProcess
    )
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    before = odd_run["before"]
    assert isinstance(before, list) and len(before) == 3  # the start and two hypotheses
    assert all(status == "ok" and "red\x1b[0m caf\ufffd \ufffd" in str(feedback)
               for _, status, _, feedback in before)  # fmt: skip
    run_dir = odd_run["run_dir"]
    assert isinstance(run_dir, Path)
    metrics = rows(run_dir, "SELECT metrics FROM candidates WHERE id = 1")[0][0]
    assert "caf\\ufffd \\ufffd" in str(metrics)  # the odd metric name, kept as valid text
    assert again.returncode == 0, again.stderr
    assert odd_run["after"] == before  # nothing evaluated again
    assert odd_run["logged"] == odd_run["paid"]  # nothing paid again


def test_show_prints_an_evaluators_escape_codes_as_text(odd_run: dict[str, object]) -> None:
    for name in ("show", "hypothesis", "terminal"):
        shown = odd_run[name]
        assert isinstance(shown, subprocess.CompletedProcess)
        assert shown.returncode == 0, (name, shown.stderr)
        assert not any(code in shown.stdout for code in RAW_ESCAPES), (name, shown.stdout)
        assert "\\x1b[31mred\\x1b[0m caf\ufffd \ufffd" in shown.stdout, (name, shown.stdout)


SLOW_START = EVALUATOR.replace(
    "def evaluate(program_path):\n",
    "def evaluate(program_path):\n"
    "    import os, time\n"
    "    if os.path.exists(os.path.join(os.path.dirname(__file__), 'slow')):\n"
    "        time.sleep(120)\n",
)


def test_a_run_killed_before_its_first_model_call_says_how_to_go_on(
    make_task, tmp_path: Path
) -> None:
    task = make_task(evaluator=SLOW_START)
    (task / "slow").write_text("the starting program's evaluation hangs while this exists")
    answers = tmp_path / "answers.jsonl"
    answers.write_text('"```python\\ndef f():\\n    return 4.0\\n```"\n')
    run_dir = tmp_path / "run"
    args = ["run", str(task), "--model", f"scripted:{answers}", "--run-dir", str(run_dir)]
    proc = subprocess.Popen(
        hone_command(*args, "--max-llm-calls", "1", "--workers", "1"),
        env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # the starting program is stored, being evaluated
            if (run_dir / "hone.db").exists() and _pending(run_dir):
                break
            time.sleep(0.1)
        time.sleep(0.5)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    shown = hone("show", str(run_dir))
    assert "stopped unexpectedly while starting (before its first model call)" in shown.stdout
    assert f"continue it with: hone resume {run_dir}" in shown.stdout, shown.stdout
    (task / "slow").unlink()  # (a file of the task folder: the run's task changed with it)
    resumed = hone("resume", str(run_dir), "--accept-changed-task")
    assert resumed.returncode == 0, resumed.stderr
    assert re.search(r"best score -6 ", hone("show", str(run_dir)).stdout)  # f() = 4


def _pending(run_dir: Path) -> bool:
    try:
        return bool(rows(run_dir, "SELECT 1 FROM candidates WHERE status = 'pending'"))
    except sqlite3.Error:
        return False
