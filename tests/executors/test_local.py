"""The evaluation process: failures of every kind come back as evaluations, never exceptions."""

import asyncio
import math
import os
import time
from pathlib import Path
from typing import Any

import pytest

from hone.exceptions import TaskError
from hone.executors import Verified
from hone.executors.local import ProcessPool, request_files, usable_cores
from hone.settings import EvaluationConfig
from hone.tree import Tree
from tests.helpers import Rendezvous, processes_with, wait_until, wait_until_async

EVALUATOR = """\
import importlib.util


def evaluate(program_path):
    spec = importlib.util.spec_from_file_location("candidate", program_path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.result()
"""


def verify_all(
    tmp_path: Path, programs: list[str], timeout: float = 2.0, workers: int = 2, **settings: Any
) -> list[Verified]:
    evaluator = tmp_path / "evaluate.py"
    evaluator.write_text(EVALUATOR)

    async def go() -> list[Verified]:
        config = EvaluationConfig(timeout=timeout, workers=workers, **settings)
        pool = ProcessPool(evaluator, "program.py", config)
        try:
            return list(await asyncio.gather(*(pool.verify(p) for p in programs)))
        finally:
            await pool.close()

    return asyncio.run(go())


def test_scores_metrics_and_output(tmp_path: Path) -> None:
    [v] = verify_all(
        tmp_path, ["def result():\n    print('hello')\n    return {'score': 2.0, 'm': 3}\n"]
    )
    assert v.evaluation.ok and v.evaluation.score == 2.0
    assert v.evaluation.metrics == {"m": 3.0}
    assert v.output == "hello\n"
    assert v.evaluation.seconds > 0


def test_hung_candidate_and_its_children_are_killed(tmp_path: Path) -> None:
    marker = f"hone-test-child-{os.getpid()}-{tmp_path.name}"
    program = f"""
import subprocess, sys
def result():
    subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)", {marker!r}])
    while True:
        pass
"""
    seen: list[int] = []

    async def watch() -> None:  # the child, while the candidate runs
        while not seen:
            seen.extend(processes_with(marker))
            await asyncio.sleep(0.01)

    async def go() -> Verified:
        evaluator = tmp_path / "evaluate.py"
        evaluator.write_text(EVALUATOR)
        pool = ProcessPool(evaluator, "program.py", EvaluationConfig(timeout=2.0, workers=1))
        watching = asyncio.ensure_future(watch())
        try:
            return await pool.verify(program)
        finally:
            watching.cancel()
            await pool.close()

    v = asyncio.run(go())
    assert v.evaluation.status == "timeout"
    assert "within 2 s" in v.evaluation.reason
    assert seen, "the candidate's child never ran"
    wait_until(lambda: not processes_with(marker), "the child of the timed-out candidate to die")


@pytest.mark.parametrize(
    ("program", "status", "reason"),
    [
        ("def result():\n    raise ValueError('bad value')\n", "error", "ValueError: bad value"),
        ("def result():\n    return float('nan')\n", "invalid-output", "nan"),
        ("def result():\n    return 'high'\n", "invalid-output", "str"),
        ("def result():\n    return {'accuracy': 1}\n", "invalid-output", "combined_score"),
        ("import os\ndef result():\n    os._exit(3)\n", "killed", "exited with code 3"),
        ("import ctypes\ndef result():\n    ctypes.string_at(0)\n", "killed", "SIGSEGV"),
        ("import sys\ndef result():\n    sys.exit(0)\n", "error", "SystemExit"),
        ("def result(:\n", "error", "SyntaxError"),
        ("def result():\n    return result()\n", "error", "RecursionError"),
    ],
)
def test_failures_are_evaluations(tmp_path: Path, program: str, status: str, reason: str) -> None:
    [v] = verify_all(tmp_path, [program])
    assert v.evaluation.status == status
    assert reason in v.evaluation.reason
    assert v.evaluation.score is None


def test_what_an_evaluator_returns_is_made_hone_own_in_the_sandbox(tmp_path: Path) -> None:
    """numpy's numbers are numbers, an int no float holds is invalid-output with a reason free
    of hone's frames, and text that is no UTF-8 arrives as valid text (the store takes it)."""
    numpy_score = (
        "import numpy as np\ndef result():\n"
        "    return {'combined_score': np.float32(0.5), 'count': np.int64(7)}\n"
    )
    odd = "def result():\n    return {'score': 1.0, 'feedback': b'caf\\xe9 \\xff'.decode('utf-8', 'surrogateescape')}\n"
    bare_float32 = "import numpy as np\ndef result():\n    return np.float32(2.0)\n"
    huge = "def result():\n    return 10 ** 400\n"
    got = verify_all(tmp_path, [numpy_score, odd, bare_float32, huge])
    first, text, bare, overflow = (v.evaluation for v in got)
    assert first.ok and first.score == 0.5 and first.metrics == {"count": 7.0}
    assert text.ok and text.feedback == "caf\ufffd \ufffd"
    assert bare.ok and bare.score == 2.0
    assert overflow.status == "invalid-output"
    assert (
        overflow.reason == "the evaluator returned an integer of 401 digits, too large for a float"
    )


def test_candidate_sees_no_secrets_and_runs_in_a_private_directory(
    tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setenv("HONE_TEST_SECRET_KEY", "sk-secret")
    program = (
        "import os\n"
        "def result():\n"
        "    return {'score': 1.0, 'secret': float('HONE_TEST_SECRET_KEY' in os.environ),"
        " 'in_tmp': float(os.getcwd().startswith('/tmp') or 'hone-eval-' in os.getcwd())}\n"
    )
    [v] = verify_all(tmp_path, [program])
    assert v.evaluation.metrics == {"secret": 0.0, "in_tmp": 1.0}


def test_output_is_capped(tmp_path: Path) -> None:
    [v] = verify_all(tmp_path, ["def result():\n    print('x' * 1_000_000)\n    return 1.0\n"])
    assert v.evaluation.ok
    assert len(v.output) < 70_000 and v.output.endswith("[output truncated]")


def test_printing_a_fake_result_does_not_change_the_score(tmp_path: Path) -> None:
    program = (
        "import sys\n"
        "def result():\n"
        '    sys.stdout.write(\'{"id": 1, "evaluation": {"score": 1e9}}\\n\')\n'
        "    return 1.0\n"
    )
    [v] = verify_all(tmp_path, [program])
    assert v.evaluation.score == 1.0


def test_work_is_parallel(tmp_path: Path) -> None:
    """Two candidates meet (each waits for the other at a rendezvous): they ran at once."""
    rendezvous = Rendezvous(parties=2)
    program = (
        Rendezvous.CLIENT + f"def result():\n    return 1.0 if meet({rendezvous.port}) else 0.0\n"
    )
    try:
        results = verify_all(tmp_path, [program] * 2, timeout=90, workers=2, network=True)
    finally:
        rendezvous.close()
    assert [r.evaluation.score for r in results] == [1.0, 1.0], [r.evaluation for r in results]


def test_evaluations_beyond_the_workers_wait_their_turn_and_each_is_answered(
    tmp_path: Path,
) -> None:
    """Twelve evaluations on two workers: each is answered with its own program's score, in
    the order asked (the ten that waited were each handed to a worker as one came free)."""
    programs = [f"def result():\n    return {i}.0\n" for i in range(12)]
    results = verify_all(tmp_path, programs, workers=2)
    assert [r.evaluation.score for r in results] == [float(i) for i in range(12)]


def sleeper(seconds: float, value: int) -> str:
    return f"import time\ndef result():\n    time.sleep({seconds})\n    return {value}.0\n"


THIRD = "hone-test-third-evaluation"
THIRD_PROGRAM = f"""\
import subprocess
import sys


def result():
    # a marker process while it runs, seen from the test while hone's loop is held up
    subprocess.run([sys.executable, "-c", "import time; time.sleep(0.3)", "{THIRD}"])
    return 2.0
"""


def test_a_busy_worker_starts_its_queued_evaluation_while_hones_loop_is_held_up(
    tmp_path: Path,
) -> None:
    """With evaluations waiting, the next one is written to a worker as it takes one, so it
    starts it as soon as it replies: here while hone's event loop is blocked (as a busy loop
    on a loaded machine is), so no turn of hone's loop could have handed it over."""
    evaluator = tmp_path / "evaluate.py"
    evaluator.write_text(EVALUATOR)

    async def go() -> tuple[list[Verified], float, float]:
        pool = ProcessPool(evaluator, "program.py", EvaluationConfig(timeout=30, workers=1))
        try:
            await pool.ready()
            programs = [sleeper(0.3, 0), sleeper(0.3, 1), THIRD_PROGRAM]
            asked = [asyncio.ensure_future(pool.verify(program)) for program in programs]
            worker = pool._all[0]
            await wait_until_async(lambda: worker.queued is not None, "an evaluation queued")
            blocked = time.time()
            # The loop held up (a blocking wait) until the third evaluation runs: the second
            # ends meanwhile, and only the worker can have started the third.
            wait_until(lambda: bool(processes_with(THIRD)), "the third evaluation to start")
            return list(await asyncio.gather(*asked)), blocked, time.time()
        finally:
            await pool.close()

    results, blocked, unblocked = asyncio.run(go())
    assert [r.evaluation.score for r in results] == [0.0, 1.0, 2.0]
    second, third = results[1], results[2]
    assert second.started is not None and third.started is not None
    assert blocked < third.started < unblocked, (blocked, third.started, unblocked)
    assert third.started >= second.started + second.evaluation.seconds - 0.05  # one at a time


def test_an_evaluation_is_not_queued_behind_a_long_one_when_another_worker_ends_first(
    tmp_path: Path,
) -> None:
    """One waiting, the other worker busy: the worker that has just begun a long evaluation
    does not take it (the other, ending sooner, starts it as it ends)."""
    seconds = [0.2, 1.0, 2.5, 0.1]  # the third begins on the first's worker, the fourth waits
    results = verify_all(tmp_path, [sleeper(s, i) for i, s in enumerate(seconds)], timeout=30)
    assert [r.evaluation.score for r in results] == [0.0, 1.0, 2.0, 3.0]
    long, last = results[2], results[3]
    assert long.started is not None and last.started is not None
    assert last.started < long.started + long.evaluation.seconds, (long, last)


def test_an_evaluation_queued_to_a_worker_that_dies_runs_on_its_replacement(
    tmp_path: Path,
) -> None:
    """The worker dies with one evaluation running and the next queued to it: the running
    one fails as the worker's failure, the queued one is neither lost nor run twice."""
    evaluator = tmp_path / "evaluate.py"
    evaluator.write_text(EVALUATOR)

    async def go() -> tuple[list[Verified], int]:
        pool = ProcessPool(evaluator, "program.py", EvaluationConfig(timeout=30, workers=1))
        try:
            await pool.ready()
            asked = [asyncio.ensure_future(pool.verify(sleeper(s, i))) for i, s in
                     enumerate([0.1, 5.0, 0.1])]  # fmt: skip
            worker = pool._all[0]
            await wait_until_async(lambda: worker.queued is not None, "an evaluation queued")
            worker.proc.kill()  # (the second is running, the third queued)
            return list(await asyncio.gather(*asked)), len(pool._all)
        finally:
            await pool.close()

    (first, second, third), workers = asyncio.run(go())
    assert first.evaluation.score == 0.0
    assert second.evaluation.status == "killed"
    assert "the evaluation worker failed" in second.evaluation.reason
    assert third.evaluation.score == 2.0 and workers == 1


def test_a_queued_evaluations_deadline_starts_when_it_starts(tmp_path: Path, monkeypatch) -> None:
    """hone's own wait for a reply (timeout and grace) counts from when the worker starts an
    evaluation, not from when it was queued behind another."""
    import hone.executors.local

    monkeypatch.setattr(hone.executors.local, "_GRACE", 0.5)
    # each 2 s, hone's wait 3 + 0.5 s: one queued behind another is answered 4 s after it
    # was queued, which would be past its wait had that started then
    results = verify_all(tmp_path, [sleeper(2.0, i) for i in range(3)], timeout=3.0, workers=1)
    assert [(r.evaluation.status, r.evaluation.score) for r in results] == [
        ("ok", float(i)) for i in range(3)
    ], [r.evaluation.reason for r in results]


def test_a_worker_that_died_idle_fails_one_evaluation_and_is_replaced(tmp_path: Path) -> None:
    """A worker killed while it waited for work: the evaluation handed to it fails as the
    worker's failure (not the candidate's), a new worker takes its place, and the pool goes on
    with two workers."""
    evaluator = tmp_path / "evaluate.py"
    evaluator.write_text(EVALUATOR)
    program = "def result():\n    return 1.0\n"

    async def go() -> tuple[list[Verified], list[Verified], int]:
        pool = ProcessPool(evaluator, "program.py", EvaluationConfig(workers=2))
        try:
            await pool.ready()
            dead = pool._all[0]
            dead.proc.kill()
            await dead.proc.wait()
            await asyncio.sleep(0.2)  # (its reader sees it go)
            first = list(await asyncio.gather(*(pool.verify(program) for _ in range(2))))
            then = list(await asyncio.gather(*(pool.verify(program) for _ in range(4))))
            return first, then, len(pool._all)
        finally:
            await pool.close()

    first, then, workers = asyncio.run(go())
    failed = [r.evaluation for r in first if not r.evaluation.ok]
    assert len(failed) == 1 and "the evaluation worker failed" in failed[0].reason
    assert [r.evaluation.score for r in then] == [1.0] * 4 and workers == 2


def test_broken_evaluator_is_a_task_error(tmp_path: Path) -> None:
    evaluator = tmp_path / "evaluate.py"
    evaluator.write_text("import not_a_module_anywhere\n\ndef evaluate(p):\n    return 1.0\n")

    async def go() -> None:
        pool = ProcessPool(evaluator, "program.py", EvaluationConfig(workers=1))
        try:
            await pool.verify("x = 1\n")
        finally:
            await pool.close()

    with pytest.raises(TaskError, match="not_a_module_anywhere"):
        asyncio.run(go())


def test_close_leaves_no_worker_processes(tmp_path: Path) -> None:
    evaluator = tmp_path / "evaluate.py"
    evaluator.write_text(EVALUATOR)

    async def go() -> list[int]:
        pool = ProcessPool(evaluator, "program.py", EvaluationConfig(workers=2))
        await pool.verify("def result():\n    return 1.0\n")
        pids = [w.proc.pid for w in pool._all]
        await pool.close()
        return pids

    for pid in asyncio.run(go()):
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


CASCADE = """\
import importlib.util


def _load(path):
    spec = importlib.util.spec_from_file_location("candidate", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def evaluate_stage1(program_path):
    return {"score": float(_load(program_path).result() > 0), "quick": 1.0}


def evaluate(program_path):
    return {"score": 10.0 * _load(program_path).result(), "thorough": 1.0}
"""


def test_cascade_stops_candidates_below_a_stage_threshold(tmp_path: Path) -> None:
    evaluator = tmp_path / "evaluate.py"
    evaluator.write_text(CASCADE)
    config = EvaluationConfig(timeout=5, workers=1, cascade_thresholds=(1.0,))

    async def go() -> list[Verified]:
        pool = ProcessPool(evaluator, "program.py", config)
        try:
            return [await pool.verify(f"def result():\n    return {v}\n") for v in (-2, 3)]
        finally:
            await pool.close()

    stopped, passed = asyncio.run(go())
    assert stopped.evaluation.score == 0.0
    assert stopped.evaluation.metrics == {"quick": 1.0, "stages_passed": 0.0}
    assert "stopped after stage 1" in stopped.evaluation.feedback
    assert passed.evaluation.score == 30.0
    assert passed.evaluation.metrics == {"quick": 1.0, "thorough": 1.0, "stages_passed": 2.0}


def test_cascade_without_thresholds_is_a_task_error(tmp_path: Path) -> None:
    evaluator = tmp_path / "evaluate.py"
    evaluator.write_text(CASCADE)

    async def go() -> None:
        pool = ProcessPool(evaluator, "program.py", EvaluationConfig(workers=1))
        try:
            await pool.verify("def result():\n    return 1\n")
        finally:
            await pool.close()

    with pytest.raises(TaskError, match="cascade_thresholds"):
        asyncio.run(go())


def test_read_only_makes_a_folder_beside_the_task_readable(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "data.txt").write_text("7.5")
    task = tmp_path / "task"
    task.mkdir()
    evaluator = task / "evaluate.py"
    evaluator.write_text(
        "from pathlib import Path\n"
        "def evaluate(program_path):\n"
        "    return float((Path(__file__).parent.parent / 'shared' / 'data.txt').read_text())\n"
    )

    async def score(read_only: tuple[str, ...]) -> tuple[Verified, str]:
        # (relative to the evaluator's folder: a pool made without a run)
        config = EvaluationConfig(workers=1, read_only=read_only)
        pool = ProcessPool(evaluator, "program.py", config)
        try:
            return await pool.verify("x = 1\n"), pool.protections
        finally:
            await pool.close()

    hidden, protections = asyncio.run(score(()))
    if "private file system" not in protections:
        pytest.skip(f"no private file system here ({protections})")
    assert hidden.evaluation.status == "error" and "No such file" in hidden.evaluation.reason
    shown, _ = asyncio.run(score(("../shared",)))
    assert shown.evaluation.ok and shown.evaluation.score == 7.5
    assert (shared / "data.txt").read_text() == "7.5"


@pytest.mark.parametrize(
    "body",
    [
        "    while True:\n        pass\n",
        # Ignores SIGXCPU: killed at the hard limit a second later, still a timeout.
        "    import signal\n    signal.signal(signal.SIGXCPU, signal.SIG_IGN)\n"
        "    while True:\n        pass\n",
    ],
    ids=["busy", "ignores-sigxcpu"],
)
def test_using_up_the_cpu_limit_is_a_timeout(tmp_path: Path, body: str) -> None:
    evaluator = tmp_path / "evaluate.py"
    evaluator.write_text(EVALUATOR)

    async def go() -> Verified:
        # CPU limit 1 s, wall-clock limit far away (also on a machine loaded many times over,
        # where 2 s of CPU time may take 20 s): only the CPU limit can stop it.
        config = EvaluationConfig(timeout=120, cpu_seconds=1, workers=1)
        pool = ProcessPool(evaluator, "program.py", config)
        try:
            return await pool.verify("def result():\n" + body)
        finally:
            await pool.close()

    v = asyncio.run(go())
    assert v.evaluation.status == "timeout", v.evaluation.reason
    assert "CPU time" in v.evaluation.reason


def test_each_candidate_has_a_private_writable_empty_home(tmp_path: Path) -> None:
    program = """
import os
import time
def result():
    home = os.environ["HOME"]
    found = sorted(os.listdir(home))
    os.makedirs(os.path.join(home, ".cache", "go-build"))
    open(os.path.join(home, ".cache", "note"), "w").write("left by a candidate")
    return {"score": float(len(found)), "feedback": home}
"""
    first, second = verify_all(tmp_path, [program, program], workers=1)
    for v in (first, second):
        assert v.evaluation.ok, v.evaluation.reason
        assert v.evaluation.score == 0.0  # empty: nothing of the previous candidate's
        assert v.evaluation.feedback != "/nonexistent"
    assert not Path(first.evaluation.feedback).exists()  # removed with the candidate


def test_cascade_false_runs_evaluate_alone(tmp_path: Path) -> None:
    evaluator = tmp_path / "evaluate.py"
    evaluator.write_text(
        "def evaluate_stage1(path):\n    raise RuntimeError('stage 1 ran')\n\n"
        "def evaluate(path):\n    return 2.0\n"
    )

    async def go(cascade: bool) -> Verified:
        config = EvaluationConfig(workers=1, cascade=cascade, cascade_thresholds=(0.5,))
        pool = ProcessPool(evaluator, "program.py", config)
        try:
            return await pool.verify("x = 1\n")
        finally:
            await pool.close()

    assert asyncio.run(go(False)).evaluation.score == 2.0
    staged = asyncio.run(go(True)).evaluation
    assert staged.status == "error" and "stage 1 ran" in staged.reason


MARKER = "hone-sigstop-test-evaluation"
STOPPED_EVALUATOR = f"""\
import subprocess
import sys
import time


def evaluate(program_path):
    # a marker process while the evaluation runs (the worker kills it when it ends)
    subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)", "{MARKER}"])
    time.sleep(1.0)
    return 1.0
"""


def marked() -> bool:
    """True while an evaluation of the test's evaluator is running."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if MARKER.encode() in (entry / "cmdline").read_bytes():
                    return True
            except OSError:
                continue
    return False


@pytest.mark.slow
def test_time_hone_was_stopped_is_not_charged_to_its_evaluations(make_task, tmp_path: Path) -> None:
    """SIGSTOP of hone (not of its workers) longer than an evaluation's timeout and hone's
    margin while evaluations finish: once continued, they are ok, not 'killed: the evaluation
    worker failed (TimeoutError())'."""
    import json
    import signal
    import sqlite3
    import subprocess
    import sys

    task = make_task(evaluator=STOPPED_EVALUATOR)
    answers = tmp_path / "a.jsonl"
    answers.write_text(json.dumps("```python\ndef f():\n    return 2.0\n```") + "\n")
    run_dir = tmp_path / "run"
    root = Path(__file__).resolve().parents[2]
    hone = subprocess.Popen(
        [sys.executable, "-m", "hone", "run", str(task), "--model", f"scripted:{answers}",
         "--run-dir", str(run_dir), "--workers", "2", "--hypotheses", "1", "--timeout", "2",
         "--max-llm-calls", "1"],
        env={**os.environ, "PYTHONPATH": str(root / "src")},
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while not marked() and time.monotonic() < deadline and hone.poll() is None:
            time.sleep(0.01)
        assert marked(), "no evaluation started"
        stopped = time.time()
        hone.send_signal(signal.SIGSTOP)  # longer than the timeout (2 s) and hone's margin (10 s)
        time.sleep(14)
        # (the evaluation ends while hone is stopped: its worker ends the marker process then)
        wait_until(lambda: not marked(), "the evaluation to end while hone was stopped")
        continued = time.time()
        hone.send_signal(signal.SIGCONT)
        _, err = hone.communicate(timeout=120)
    finally:
        if hone.poll() is None:
            hone.kill()
            hone.wait()
    assert hone.returncode == 0, err
    with sqlite3.connect(run_dir / "hone.db") as db:
        rows = db.execute(
            "SELECT status, reason, eval_started + eval_seconds FROM candidates ORDER BY id"
        ).fetchall()
    assert [(status, reason) for status, reason, _ in rows] == [("ok", ""), ("ok", "")]
    # the test's teeth: an evaluation finished while hone was stopped
    assert any(stopped < ended < continued for *_, ended in rows), (stopped, continued, rows)


@pytest.mark.slow
def test_a_worker_stopped_past_the_deadline_takes_the_result_that_came(tmp_path: Path) -> None:
    """SIGSTOP of the worker while its candidate finishes, for longer than the timeout: the
    result waiting in the pipe is read once the worker runs again, not called a timeout."""
    import signal

    evaluator = tmp_path / "evaluate.py"
    evaluator.write_text(STOPPED_EVALUATOR)

    async def go() -> Verified:
        pool = ProcessPool(evaluator, "program.py", EvaluationConfig(timeout=2.0, workers=1))
        try:
            verifying = asyncio.ensure_future(pool.verify("x = 1\n"))
            for _ in range(6000):
                if marked():
                    break
                await asyncio.sleep(0.01)
            assert marked(), "no evaluation started"
            worker = pool._all[0].proc.pid
            os.kill(worker, signal.SIGSTOP)
            await asyncio.sleep(4)  # the candidate ends (1 s) and the deadline (2 s) passes
            os.kill(worker, signal.SIGCONT)
            return await verifying
        finally:
            await pool.close()

    done = asyncio.run(go())
    assert (done.evaluation.status, done.evaluation.score) == ("ok", 1.0), done


THREADED = """\
import hashlib
import threading
import time


def result():
    # Two threads hashing (hashlib lets go of the GIL): CPU time grows twice as fast as the
    # wall clock, as with a multi-threaded evaluator (jax, BLAS) on two cores.
    began = time.monotonic()
    block = bytes(1 << 20)

    def burn():
        while time.monotonic() - began < 2.5:
            hashlib.sha256(block).digest()

    threads = [threading.Thread(target=burn) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.process_time()
"""


@pytest.mark.skipif(usable_cores() < 2, reason="needs two cores")
def test_a_two_thread_evaluation_may_use_more_cpu_time_than_its_timeout(tmp_path: Path) -> None:
    """The CPU limit is the timeout times the cores (here 3 s x 2 or more): two busy threads
    for 2.5 s of a 3 s timeout pass it; a limit equal to the timeout killed them at 3 s of CPU."""
    [verified] = verify_all(tmp_path, [THREADED], timeout=3.0, workers=1)
    assert verified.evaluation.ok, verified.evaluation.reason
    used = verified.evaluation.score or 0.0
    if used <= 3.0:  # a loaded machine gave the threads less than a core each
        pytest.skip(f"the two threads used {used:.1f} s of CPU, not more than the timeout")


def test_the_cpu_limit_is_the_timeout_on_every_usable_core(tmp_path: Path) -> None:
    evaluator = tmp_path / "evaluate.py"
    evaluator.write_text(EVALUATOR)
    pool = ProcessPool(evaluator, "program.py", EvaluationConfig(timeout=2.5, workers=1))
    assert pool._settings()["limits"]["cpu_seconds"] == math.ceil(2.5 * usable_cores())
    given = ProcessPool(evaluator, "program.py", EvaluationConfig(timeout=2.5, cpu_seconds=4))
    assert given._settings()["limits"]["cpu_seconds"] == 4  # as the task says
    assert usable_cores() == len(os.sched_getaffinity(0))


def test_a_folder_tasks_request_carries_only_the_files_that_differ_from_its_folder() -> None:
    start = Tree({"a.py": "a = 1\n", "b.py": "b = 1\n", "c.txt": "c\n"})
    child = start.with_files({"b.py": "b = 2\n", "plugins/new.py": "n = 1\n"})
    assert request_files(child, start) == {"b.py": "b = 2\n", "plugins/new.py": "n = 1\n"}
    rebuilt = Tree(dict(child))  # (as a store reads it back: other string objects)
    assert request_files(rebuilt, start) == {"b.py": "b = 2\n", "plugins/new.py": "n = 1\n"}
    assert request_files(start, start) == {}
    assert request_files(child, None) == dict(child)  # a one-file task: its file
