"""Every way a real model endpoint misbehaves, end to end: a run against the fault server
ends by itself within its deadlines, stores every answer it got and every failure with its
reason, prints no traceback, and says in one line what happened and how to go on."""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from tests.faults.server import MODES, RETRY_AFTER, FaultServer
from tests.helpers import environment, hone_command

pytestmark = pytest.mark.slow

TIMEOUT = 2.0  # --model-timeout, seconds

# mode: (exit code, what stderr says, at most this many seconds from start to exit)
EXPECTED: dict[str, tuple[int | None, str, float]] = {
    "ok": (0, r"^$", 30),
    "429": (0, r"^$", 30),
    "500": (1, r"answered 500: .*the server fell over.*continue it with hone resume", 40),
    "reset": (1, r"connection to the model server at .* broke before it answered", 40),
    "stall": (1, rf"did not answer within {TIMEOUT:g} s; raise \[model\] timeout", 30),
    "trickle": (1, rf"did not answer within {TIMEOUT:g} s", 30),
    "truncated": (1, r"answered with something that is not JSON \(JSONDecodeError", 30),
    "empty": (1, r"answered with something that is not JSON", 30),
    "prose": (0, r"^$", 30),
    "oversized": (0, r"^$", 30),
    "schema": (1, r"openai:m returned no choices", 30),
    "utf8": (1, r"not JSON \(UnicodeDecodeError", 30),
    # (failed calls count against --max-llm-calls: the run may end on its budget, warned)
    "mix": (None, r"^$|model error: |warning: a model call failed", 60),
    "fixable": (0, r"^$", 30),
    "surrogate": (0, r"^$", 30),
    "huge-usage": (
        0,
        r"warning: openai:m reported 100000000000000000000 tokens for a call; counted as 9007199254740992",
        30,
    ),
    "negative-usage": (
        0,
        r"warning: openai:m reported -1000000000 tokens for a call; counted as 0",
        30,
    ),
    # (the timeout, 2 s, comes before a hedge would: tests/models/test_hedge.py has one)
    "stall-once": (0, rf"^$|did not answer within {TIMEOUT:g} s", 30),
}


def run_hone(task: Path, run_dir: Path, url: str) -> subprocess.CompletedProcess[str]:
    """`hone run` against `url`, as a user runs it."""
    command = hone_command(
        "run",
        str(task),
        "--model",
        "openai:m",
        "--base-url",
        url,
        "--run-dir",
        str(run_dir),
        "--max-llm-calls",
        "6",
        "--hypotheses",
        "2",
        "--workers",
        "1",
        "--model-timeout",
        str(TIMEOUT),
    )
    return subprocess.run(command, env=environment(), capture_output=True, text=True, timeout=120)


def test_every_mode_is_covered() -> None:
    assert set(EXPECTED) == set(MODES) and len(MODES) >= 12


@pytest.mark.parametrize("mode", MODES)
def test_a_misbehaving_endpoint_ends_the_run_cleanly(make_task, tmp_path: Path, mode: str) -> None:
    server = FaultServer(mode, seed=3).start()
    try:
        began = time.monotonic()
        done = run_hone(make_task(), tmp_path / "run", server.url)
        took = time.monotonic() - began
    finally:
        server.stop()
    code, message, limit = EXPECTED[mode]
    assert "Traceback" not in done.stderr + done.stdout
    if code is not None:
        assert done.returncode == code, done.stderr
    assert done.returncode in (0, 1)
    assert re.search(message, done.stderr.strip(), re.DOTALL), done.stderr
    assert len(done.stderr.strip().splitlines()) <= (1 if done.returncode else 0) + sum(
        "warning:" in line for line in done.stderr.splitlines()
    )  # one line for the outcome; the rest are warnings, one line each
    assert took < limit
    with sqlite3.connect(tmp_path / "run" / "hone.db") as db:
        answered = db.execute("SELECT COUNT(*) FROM llm_calls WHERE error IS NULL").fetchone()[0]
        failed = db.execute("SELECT error FROM llm_calls WHERE error IS NOT NULL").fetchall()
        status = json.loads(db.execute("SELECT value FROM meta WHERE key='status'").fetchone()[0])
        longest = db.execute("SELECT MAX(LENGTH(completion)) FROM llm_calls").fetchone()[0]
    assert answered == len(server.answered())  # every answer the server gave is stored
    assert all(reason for (reason,) in failed)  # every failure kept with its reason
    assert status == ("stopped" if done.returncode == 0 else "failed")
    if done.returncode == 1:
        assert failed  # the failures that stopped it are in the store
    if mode == "oversized":
        assert longest < 300_000  # several megabytes answered, a capped part kept
    if mode == "429":  # each 429 was tried again, after the time the server asked for
        asked: dict[tuple[object, str], float] = {}
        retries = []
        for entry in server.log:  # the same request again: the same seed and prompt
            key = (entry.seed, entry.prompt)
            if key in asked:
                retries.append(entry.at - asked.pop(key))
            elif entry.mode == "429":
                asked[key] = entry.at
        assert retries and min(retries) >= RETRY_AFTER * 0.9
