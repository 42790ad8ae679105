"""kill -9 of a running hone (or of its whole process group) at a random moment, then
`hone resume`, and what a user must find afterwards: nothing evaluated lost or evaluated
twice, no request paid twice, every stored answer a hypothesis, no candidate left running.

Four kinds of case: "run" (a kill while model calls and evaluations go on), "tree" (the same
with a folder task: each hypothesis a tree of two files, stored as its parent's plus what
changed), "tuning" (a kill during a parameter-tuning stage: its remaining trials must go to the
same program) and "assembly" (a kill while the packaged model is first assembled into an
empty cache: the next assembly must leave no part file and a whole model).

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

from tests.faults.server import TREE_MAIN, FaultServer
from tests.helpers import environment, hone_command, processes_with, stored, wait_until

CALLS = 24  # the run's model-call budget
MARKER = "hone-kill-test-daemon"
KINDS = ("run", "tree", "tuning", "assembly")
TUNE_TRIALS = 8  # a "tuning" case's trials per stage
MAX_EVALUATIONS = 24  # and in all

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


# A folder task's: the tree's main.py (which imports helper.py) from the tree's root.
TREE_EVALUATOR = EVALUATOR.replace(
    "    value = load_program(program_path).run()",
    "    sys.path.insert(0, program_path)\n    import main\n\n    value = main.run()",
)
TREE_HELPER = "# EVOLVE-BLOCK-START\ndef offset():\n    return 0.0\n# EVOLVE-BLOCK-END\n"


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
    hedged: int = 0  # requests sent again on purpose (a stalled call's hedge), not paid twice
    stages_cut: int = 0  # tuning stages under way at the kill (the "tuning" cases' teeth)
    stages_split: int = 0  # stages whose trials did not all go to their program, in one go
    parts_after_kill: int = 0  # model part files the kill left (the "assembly" cases' teeth)
    parts_left: int = 0  # part files still there after the next assembly
    model_bad: int = 0  # no whole model file after the next assembly
    resume_failed: str = ""  # what `hone resume` printed when it did not exit 0
    notes: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        """True when nothing went wrong."""
        bad = (self.lost, self.evaluated_twice, self.paid_twice, self.unclaimed, self.pending)
        bad += (self.stages_split, self.parts_left, self.model_bad)
        return not any(bad) and not self.survivors and not self.resume_failed


def task_folder(where: Path, kind: str = "run") -> Path:
    """The task the cases run on (a "tuning" case's tunes its programs' constants)."""
    where.mkdir(parents=True, exist_ok=True)
    toml = 'instruction = "Make f() return 10."\n[search]\nfix_attempts = 1\n'
    if kind == "tuning":
        toml += f"tune = true\ntune_trials = {TUNE_TRIALS}\ntune_spread = 0.5\n"
        toml += f"[budget]\nmax_evaluations = {MAX_EVALUATIONS}\n"
    if kind == "tree":
        (where / "task.toml").write_text('program = "src"\n' + toml, encoding="utf-8")
        (where / "src").mkdir()
        (where / "src" / "main.py").write_text(TREE_MAIN.replace("VALUE", "1.0"))
        (where / "src" / "helper.py").write_text(TREE_HELPER, encoding="utf-8")
        (where / "evaluate.py").write_text(TREE_EVALUATOR, encoding="utf-8")
        return where
    (where / "task.toml").write_text(toml, encoding="utf-8")
    (where / "initial.py").write_text(INITIAL, encoding="utf-8")
    (where / "evaluate.py").write_text(EVALUATOR, encoding="utf-8")
    return where


def _evaluated(db: Path) -> dict[int, tuple[object, ...]]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT id, status, score, COALESCE(files, code), eval_started FROM candidates "
            "WHERE status != 'pending'"
        )
        return {row[0]: tuple(row[1:]) for row in rows}


def survivors() -> list[int]:
    """Pids of test daemons still alive."""
    return processes_with(MARKER)


def case(workdir: Path, seed: int, kind: str = "run") -> Outcome:
    """Run, kill -9 at a random moment (the process or its group), resume, and check."""
    chooser = random.Random(seed)
    task = task_folder(workdir / "task", kind)
    run_dir = workdir / "run"
    server = FaultServer("fixable-tree" if kind == "tree" else "fixable", seed=seed).start()
    outcome = Outcome()
    env = environment()
    model = ["--model", "openai:m", "--base-url", server.url]
    if kind == "assembly":  # the packaged model, into an empty cache
        env["HONE_CACHE"] = str(workdir / "cache")
        model = ["--model", "embedded"]
    try:
        command = hone_command(
            "run", str(task), *model, "--run-dir", str(run_dir), "--hypotheses", "2",
            "--workers", "2", "--max-llm-calls", str(CALLS), "--seed", str(seed),
        )  # fmt: skip
        proc = subprocess.Popen(
            command,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,  # its own process group, to kill as a whole
        )
        outcome.daemons_before = _wait_for_the_moment(kind, chooser, proc, workdir)
        group = chooser.random() < 0.5
        if group:
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            proc.kill()
        proc.wait()
        outcome.notes.append(f"killed the {'group' if group else 'process'}")
        deadline = time.monotonic() + 10  # the kernel takes the namespaces down at once
        while survivors() and time.monotonic() < deadline:
            time.sleep(0.05)
        alive = survivors()
        outcome.survivors = len(alive)
        for pid in alive:  # (so that one bad case does not spoil the next)
            os.kill(pid, signal.SIGKILL)
        if kind == "assembly":
            outcome.parts_after_kill = len(_parts(workdir))
            _assemble_again(workdir, outcome)
        db = run_dir / "hone.db"
        if not db.exists():
            outcome.notes.append("killed before the store existed")
            return outcome
        before = _evaluated(db)
        outcome.evaluated_before = len(before)
        with sqlite3.connect(db) as conn:
            outcome.answers_without_hypothesis = _unclaimed(conn)
            stage = conn.execute("SELECT value FROM meta WHERE key = 'tune_stage'").fetchone()
            outcome.stages_cut = int(bool(stage and json.loads(stage[0])))
        again = ["--model", "openai:m", "--base-url", server.url] if kind == "assembly" else []
        resumed = subprocess.run(
            hone_command("resume", str(run_dir), *again),
            env=environment(),
            capture_output=True,
            text=True,
            timeout=300,
        )
        if resumed.returncode != 0:
            outcome.resume_failed = (resumed.stderr or resumed.stdout).strip()[-500:]
        after = _evaluated(db)
        outcome.evaluated_after = len(after)
        outcome.lost = sum(1 for k, v in before.items() if after.get(k) != v)
        outcome.evaluated_twice = sum(
            1 for k, v in before.items() if k in after and after[k][3] != v[3]
        )
        with sqlite3.connect(db) as conn:
            outcome.hedged = conn.execute(
                "SELECT COUNT(*) FROM llm_calls WHERE json_extract(purpose, '$.hedge') = 2"
            ).fetchone()[0]
            outcome.pending = conn.execute(
                "SELECT COUNT(*) FROM candidates WHERE status = 'pending'"
            ).fetchone()[0]
            outcome.unclaimed = _unclaimed(conn)
            if kind == "tuning":
                outcome.stages_split = _stages_split(conn)
        sent = Counter((e.prompt, e.seed) for e in server.log)
        outcome.paid_twice = sum(n - 1 for n in sent.values() if n > 1) - outcome.hedged
    finally:
        server.stop()
    return outcome


def _wait_for_the_moment(
    kind: str, chooser: random.Random, proc: subprocess.Popen[bytes], workdir: Path
) -> int:
    """Until the moment to kill: a random one while candidates run ("run"), while trials are
    evaluated ("tuning"), while the model's part file grows ("assembly"). Returns the
    candidate daemons alive at that moment, counted by the look that chose it: the kill follows
    at once (a second look first would give an evaluation of 0.2 s on a loaded machine the
    time to end and take its daemon with it)."""
    if kind == "assembly":
        waited = time.monotonic() + 120
        while not _parts(workdir) and time.monotonic() < waited and proc.poll() is None:
            time.sleep(0.005)
        time.sleep(chooser.uniform(0.0, 0.4))
        return len(survivors())
    if kind == "tuning":
        db = workdir / "run" / "hone.db"
        waited = time.monotonic() + 60
        while time.monotonic() < waited and proc.poll() is None and _trials(db) == 0:
            time.sleep(0.02)
        time.sleep(chooser.uniform(0.0, 4.0))
        return len(survivors())
    # At a random moment once something is evaluated, when candidates are running.
    db = workdir / "run" / "hone.db"
    query = "SELECT COUNT(*) FROM candidates WHERE status != 'pending'"
    wait_until(lambda: proc.poll() is not None or (stored(db, query) or 0) >= 1, "a verdict")
    time.sleep(chooser.uniform(0.0, 3.5))
    seen: list[int] = []

    def running() -> bool:
        seen[:] = survivors()
        return proc.poll() is not None or bool(seen)

    wait_until(running, "a running candidate")
    return len(seen)


def _trials(db: Path) -> int:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as conn:
            return int(
                conn.execute("SELECT COUNT(*) FROM candidates WHERE kind = 'tune'").fetchone()[0]
            )
    except sqlite3.Error:
        return 0  # not created yet


def _stages_split(conn: sqlite3.Connection) -> int:
    """Stages whose trials are not one block of their program's: as many as the stage was
    given (TUNE_TRIALS, or what the budget left)."""
    blocks: list[tuple[int, int]] = []  # (program, trials) in order
    for (parents,) in conn.execute(
        "SELECT parent_ids FROM candidates WHERE kind = 'tune' ORDER BY id"
    ):
        parent = json.loads(parents)[0]
        if blocks and blocks[-1][0] == parent:
            blocks[-1] = (parent, blocks[-1][1] + 1)
        else:
            blocks.append((parent, 1))
    split, spent = 0, 0
    programs = [parent for parent, _ in blocks]
    for parent, trials in blocks:
        expected = min(TUNE_TRIALS, MAX_EVALUATIONS - spent)
        split += trials != expected or programs.count(parent) > 1
        spent += trials
    return split


def _parts(workdir: Path) -> list[Path]:
    folder = workdir / "cache" / "models"
    return list(folder.glob(".*.part")) if folder.exists() else []


def _assemble_again(workdir: Path, outcome: Outcome) -> None:
    """The next start-up of the model: what the kill left must be gone, the model whole."""
    from hone.models.packaged import DEFAULT, MODELS

    code = f"from hone.models.packaged import model_path; model_path({DEFAULT!r})"
    env = {**environment(), "HONE_CACHE": str(workdir / "cache")}
    subprocess.run(
        [sys.executable, "-c", code], env=env, check=True, timeout=600, capture_output=True
    )
    outcome.parts_left = len(_parts(workdir))
    model = workdir / "cache" / "models" / MODELS[DEFAULT].file
    outcome.model_bad = int(not model.is_file() or model.stat().st_size != MODELS[DEFAULT].size)


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
