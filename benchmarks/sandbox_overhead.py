"""Per-evaluation cost of hone's sandbox against a plain ``subprocess.run`` baseline.

Run ``python benchmarks/sandbox_overhead.py`` (about 20 s) or ``--quick``. In one run, on a
trivial evaluator and program (the evaluation itself takes microseconds, so what is measured is
the cost of getting a program evaluated at all):

baseline
    ``subprocess.run([sys.executable, runner.py, program.py])``: a fresh interpreter imports the
    evaluator and evaluates the program, with no protection at all beyond a separate process.
hone, plain evaluator
    ``ProcessPool.verify(program)`` with every protection on (namespaces when available, its own
    user id when root, resource limits, scrubbed environment, private directory, the killing and
    reaping of the whole tree afterwards), one worker, one evaluation after another.
hone, trusted evaluator
    The same with ``evaluate_program(program)``: the evaluator runs in a trusted process and the
    candidate in a second, confined one, with one call across.

hone on Ray (``--ray``)
    The plain evaluator through ``RayPool``: one Ray actor on a Ray instance started on this
    machine, holding one sandboxed worker; the cost of the Ray round trip on top.

Medians of wall-clock time per evaluation; the target is hone at most one fifth of the baseline.
The output starts with where the Python environment lives (``sys.prefix``) and whether it is
under ``/tmp``: a worker binds it back read-only into its private ``/tmp``.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from hone.executors.local import ProcessPool
from hone.executors.ray import RayPool
from hone.settings import EvaluationConfig

TMP_ROOTS = ("/tmp", "/var/tmp", "/dev/shm")  # the private temporary directories of a worker
PROGRAM = "def solve(x):\n    return x + 1\n"
PLAIN = """\
import importlib.util


def evaluate(program_path):
    spec = importlib.util.spec_from_file_location("candidate", program_path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return float(module.solve(1))
"""
TRUSTED = """\
def evaluate_program(program):
    return float(program.call("solve", 1))
"""
RUNNER = """\
import importlib.util, sys
spec = importlib.util.spec_from_file_location("evaluator", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
print(module.evaluate(sys.argv[2]))
"""


def environment() -> str:
    """Where the Python environment running this lives, and whether it is under /tmp.

    A worker binds Python back read-only inside its private /tmp, so the figures may depend
    on where it was installed (a venv under /tmp, as on many CI runners, or not).
    """
    prefix = os.path.realpath(sys.prefix)
    under = next((r for r in TMP_ROOTS if prefix == r or prefix.startswith(r + "/")), None)
    spec = importlib.util.find_spec("hone")
    origin = Path(spec.origin).parent if spec and spec.origin else "not found"
    return (
        f"python environment: sys.prefix {sys.prefix} "
        f"({'UNDER ' + under if under else 'not under /tmp'}), "
        f"Python {platform.python_version()}, hone from {origin}"
    )


def baseline(tmp: Path, n: int) -> list[float]:
    (tmp / "runner.py").write_text(RUNNER)
    (tmp / "plain.py").write_text(PLAIN)
    (tmp / "program.py").write_text(PROGRAM)
    argv = [sys.executable, str(tmp / "runner.py"), str(tmp / "plain.py"), str(tmp / "program.py")]
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
        times.append(time.perf_counter() - t0)
        assert out.strip() == "2.0", out
    return times


def hone_times(tmp: Path, source: str, n: int, ray: bool = False) -> tuple[list[float], str]:
    folder = tmp / f"task-{abs(hash(source))}-{int(ray)}"
    folder.mkdir()
    (folder / "evaluate.py").write_text(source)

    async def go() -> tuple[list[float], str]:
        config = EvaluationConfig(workers=1)
        pool: ProcessPool | RayPool = ProcessPool(folder / "evaluate.py", "program.py", config)
        if ray:
            pool = RayPool(folder, folder / "evaluate.py", "program.py", config)
        try:
            first = await pool.verify(PROGRAM)  # wait for the worker to start
            assert first.evaluation.score == 2.0, first.evaluation
            times = []
            for _ in range(n):
                t0 = time.perf_counter()
                verified = await pool.verify(PROGRAM)
                times.append(time.perf_counter() - t0)
                assert verified.evaluation.score == 2.0, verified.evaluation
            return times, pool.protections
        finally:
            await pool.close()

    return asyncio.run(go())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    parser.add_argument(
        "--ray", action="store_true", help="also through a Ray actor on a local Ray instance"
    )
    args = parser.parse_args(argv)
    print(environment(), flush=True)
    n = 20 if args.quick else 100
    with tempfile.TemporaryDirectory(prefix="hone-sandbox-bench-") as name:
        tmp = Path(name)
        base = baseline(tmp, n)
        plain, protections = hone_times(tmp, PLAIN, n)
        trusted, _ = hone_times(tmp, TRUSTED, n)
        on_ray = hone_times(tmp, PLAIN, n, ray=True)[0] if args.ray else []
    b = statistics.median(base)
    print(f"sandbox: {protections}")
    print(f"{'per evaluation (median of ' + str(n) + ')':<44} {'ms':>8} {'of baseline':>12}")
    print(f"{'baseline: subprocess.run(python runner.py)':<44} {1000 * b:8.2f} {'100.0 %':>12}")
    for label, times in (("hone, plain evaluator", plain), ("hone, trusted evaluator", trusted)):
        m = statistics.median(times)
        print(f"{label:<44} {1000 * m:8.2f} {100 * m / b:10.1f} %")
    if on_ray:  # not part of the target: a cluster adds its own round trip
        m = statistics.median(on_ray)
        print(
            f"{'hone on Ray (one actor), plain evaluator':<44} {1000 * m:8.2f} {100 * m / b:10.1f} %"
        )
    worst = max(statistics.median(plain), statistics.median(trusted)) / b
    verdict = "PASS" if worst <= 0.2 else "FAIL"
    print(f"target: hone <= 20 % of the baseline: {verdict} ({100 * worst:.1f} %)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
