"""Every way a real model endpoint misbehaves, end to end: a run against the fault server
ends by itself within its deadlines, stores every answer it got and every failure with its
reason, prints no traceback, and says in one line what happened and how to go on."""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
from pathlib import Path

import pytest

from tests.faults.server import MODES, RETRY_AFTER, FaultServer
from tests.helpers import environment, hone_command, stored_calls

pytestmark = pytest.mark.slow

TIMEOUT = 2.0  # --model-timeout, seconds

# mode: (exit code, what stderr says)
EXPECTED: dict[str, tuple[int | None, str]] = {
    "ok": (0, r"^$"),
    "429": (0, r"^$"),
    "500": (1, r"answered 500: .*the server fell over.*continue it with hone resume"),
    "reset": (1, r"connection to the model server at .* broke before it answered"),
    "stall": (1, rf"did not answer within {TIMEOUT:g} s; raise \[model\] timeout"),
    "trickle": (1, rf"did not answer within {TIMEOUT:g} s"),
    "truncated": (1, r"answered with something that is not JSON \(JSONDecodeError"),
    "empty": (1, r"answered with something that is not JSON"),
    "prose": (0, r"^$"),
    "oversized": (0, r"^$"),
    "schema": (1, r"openai:m returned no choices"),
    "utf8": (1, r"not JSON \(UnicodeDecodeError"),
    # (failed calls count against --max-llm-calls: the run may end on its budget, warned)
    "mix": (None, r"^$|model error: |warning: a model call failed"),
    "fixable": (0, r"^$"),
    # (its answers name main.py, which this one-file task lacks: each is refused, and kept)
    "fixable-tree": (0, r"^$"),
    "surrogate": (0, r"^$"),
    "huge-usage": (
        0,
        r"warning: openai:m reported 100000000000000000000 tokens for a call; counted as 9007199254740992",
    ),
    "negative-usage": (
        0,
        r"warning: openai:m reported -1000000000 tokens for a call; counted as 0",
    ),
    # (the timeout, 2 s, comes before a hedge would: tests/models/test_hedge.py has one)
    "stall-once": (0, rf"^$|did not answer within {TIMEOUT:g} s"),
    # (the server dies after its third answer: refused from then on)
    "die": (1, r"cannot reach the model server at .*; is it running\?.*continue it with"),
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
    # (A deadline for a run that hangs, not a speed target: a stalled reply lasts an hour, so
    # a run that ends at all was cut by its own deadlines.)
    return subprocess.run(command, env=environment(), capture_output=True, text=True, timeout=120)


def test_every_mode_is_covered() -> None:
    assert set(EXPECTED) == set(MODES) and len(MODES) >= 12


@pytest.mark.parametrize("mode", MODES)
def test_a_misbehaving_endpoint_ends_the_run_cleanly(make_task, tmp_path: Path, mode: str) -> None:
    server = FaultServer(mode, seed=3).start()
    try:
        done = run_hone(make_task(), tmp_path / "run", server.url)
    finally:
        server.stop()
    code, message = EXPECTED[mode]
    assert "Traceback" not in done.stderr + done.stdout
    if code is not None:
        assert done.returncode == code, done.stderr
    assert done.returncode in (0, 1)
    assert re.search(message, done.stderr.strip(), re.DOTALL), done.stderr
    assert len(done.stderr.strip().splitlines()) <= (1 if done.returncode else 0) + sum(
        "warning:" in line for line in done.stderr.splitlines()
    )  # one line for the outcome; the rest are warnings, one line each
    with sqlite3.connect(tmp_path / "run" / "hone.db") as db:
        answered = db.execute("SELECT COUNT(*) FROM llm_calls WHERE error IS NULL").fetchone()[0]
        failed = db.execute("SELECT error FROM llm_calls WHERE error IS NOT NULL").fetchall()
        status = json.loads(db.execute("SELECT value FROM meta WHERE key='status'").fetchone()[0])
    longest = max(
        (len(c["completion"]) for c in stored_calls(tmp_path / "run" / "hone.db")), default=None
    )
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
