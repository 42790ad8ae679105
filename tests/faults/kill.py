"""kill -9 of a running hone (or of its whole process group) at a random moment, then
`hone resume`, and what a user must find afterwards: nothing evaluated lost or evaluated
twice, no request paid twice, every stored answer a hypothesis, no candidate left running.

Used by tests/faults/test_kill.py (a few cases) and benchmarks/kill_resume.py (50).
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from tests.faults.server import FaultServer

ROOT = Path(__file__).resolve().parent.parent.parent
CALLS = 24  # the run's model-call budget
MARKER = "hone-kill-test-daemon"

INITIAL = """\
# EVOLVE-BLOCK-START
def f():
    return 1.0
# EVOLVE-BLOCK-END


def run():
    return f()
"""

# Evaluations take a while, and each starts a daemon that must not outlive hone.
EVALUATOR = f"""\
import os
import subprocess
import sys
import time

from hone.evaluation import load_program


def evaluate(program_path):
    value = load_program(program_path).run()
    subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(600)", "{MARKER}"],
        start_new_session=True,
    )
    time.sleep(0.2 + (int(value * 10) % 4) * 0.1)
    return -abs(value - 10.0)
"""


@dataclass
class Outcome:
    """What one kill-and-resume case found (every count should be 0 but the first two)."""

    evaluated_before: int = 0
    evaluated_after: int = 0
    lost: int = 0  # evaluated before the kill, missing or changed after the resume
    evaluated_twice: int = 0  # evaluated before the kill, evaluated again by the resume
    paid_twice: int = 0  # requests with the same prompt and seed sent more than once
    unclaimed: int = 0  # stored answers with no hypothesis after the resume
    pending: int = 0  # hypotheses left unverified after the resume
    survivors: int = 0  # candidate processes alive after hone was killed
    daemons_before: int = 0  # candidate daemons alive just before the kill (the test's teeth)
    answers_without_hypothesis: int = 0  # after the kill, before the resume made them theirs
    resume_failed: str = ""  # what `hone resume` printed when it did not exit 0
    notes: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        """True when nothing went wrong."""
        bad = (self.lost, self.evaluated_twice, self.paid_twice, self.unclaimed, self.pending)
        return not any(bad) and not self.survivors and not self.resume_failed


def task_folder(where: Path) -> Path:
    """The task the cases run on."""
    where.mkdir(parents=True, exist_ok=True)
    (where / "task.toml").write_text(
        'instruction = "Make f() return 10."\n[search]\nfix_attempts = 1\n', encoding="utf-8"
    )
    (where / "initial.py").write_text(INITIAL, encoding="utf-8")
    (where / "evaluate.py").write_text(EVALUATOR, encoding="utf-8")
    return where


def _hone(*args: str) -> list[str]:
    return [sys.executable, "-m", "hone", *args]


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": f"{ROOT / 'src'}:{ROOT}", "NO_PROXY": "127.0.0.1"}


def _evaluated(db: Path) -> dict[int, tuple[object, ...]]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT id, status, score, code, eval_started FROM candidates WHERE status != 'pending'"
        )
        return {row[0]: tuple(row[1:]) for row in rows}


def survivors() -> list[int]:
    """Pids of test daemons still alive."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if MARKER.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def case(workdir: Path, seed: int) -> Outcome:
    """Run, kill -9 at a random moment (the process or its group), resume, and check."""
    chooser = random.Random(seed)
    task = task_folder(workdir / "task")
    run_dir = workdir / "run"
    server = FaultServer("fixable", seed=seed).start()
    outcome = Outcome()
    try:
        command = _hone(
            "run", str(task), "--model", "openai:m", "--base-url", server.url,
            "--run-dir", str(run_dir), "--hypotheses", "2", "--workers", "2",
            "--max-llm-calls", str(CALLS), "--seed", str(seed),
        )  # fmt: skip
        proc = subprocess.Popen(
            command,
            env=_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,  # its own process group, to kill as a whole
        )
        time.sleep(chooser.uniform(1.5, 5.0))
        # then at a moment when candidates are running (on a loaded machine they may take a while)
        waited = time.monotonic() + 15
        while not survivors() and time.monotonic() < waited and proc.poll() is None:
            time.sleep(0.01)
        outcome.daemons_before = len(survivors())
        group = chooser.random() < 0.5
        if group:
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            proc.kill()
        proc.wait()
        outcome.notes.append(f"killed the {'group' if group else 'process'}")
        deadline = time.monotonic() + 3  # the kernel takes the namespaces down at once
        while survivors() and time.monotonic() < deadline:
            time.sleep(0.05)
        alive = survivors()
        outcome.survivors = len(alive)
        for pid in alive:  # (so that one bad case does not spoil the next)
            os.kill(pid, signal.SIGKILL)
        db = run_dir / "hone.db"
        if not db.exists():
            outcome.notes.append("killed before the store existed")
            return outcome
        before = _evaluated(db)
        outcome.evaluated_before = len(before)
        with sqlite3.connect(db) as conn:
            outcome.answers_without_hypothesis = _unclaimed(conn)
        resumed = subprocess.run(
            _hone("resume", str(run_dir)), env=_env(), capture_output=True, text=True, timeout=300
        )
        if resumed.returncode != 0:
            outcome.resume_failed = (resumed.stderr or resumed.stdout).strip()[-500:]
        after = _evaluated(db)
        outcome.evaluated_after = len(after)
        outcome.lost = sum(1 for k, v in before.items() if after.get(k) != v)
        outcome.evaluated_twice = sum(
            1 for k, v in before.items() if k in after and after[k][3] != v[3]
        )
        sent = Counter((e.prompt, e.seed) for e in server.log)
        outcome.paid_twice = sum(n - 1 for n in sent.values() if n > 1)
        with sqlite3.connect(db) as conn:
            outcome.pending = conn.execute(
                "SELECT COUNT(*) FROM candidates WHERE status = 'pending'"
            ).fetchone()[0]
            outcome.unclaimed = _unclaimed(conn)
    finally:
        server.stop()
    return outcome


def _unclaimed(conn: sqlite3.Connection) -> int:
    claimed = {row[0] for row in conn.execute("SELECT call_id FROM candidates")}
    fixed = set()
    calls = []
    for call_id, purpose in conn.execute(
        "SELECT id, purpose FROM llm_calls WHERE error IS NULL ORDER BY id"
    ):
        what = json.loads(purpose or "{}")
        calls.append((call_id, what.get("kind")))
        if what.get("answer_of") is not None:
            fixed.add(what["answer_of"])
    return sum(
        1
        for call_id, kind in calls
        if kind in ("improve", "crossover", "fix", "hypothesis")  # ("hypothesis": an older hone's)
        and call_id not in claimed
        and call_id not in fixed
    )
