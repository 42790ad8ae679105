"""Measure hone's own overhead per hypothesis, against an instant model and trivial evaluators.

Run ``python benchmarks/loop_overhead.py`` (about 1 minute on 2 CPUs) or ``--quick`` (a smoke
run of about 15 s). Everything is set up in a temporary directory:

* an "instant model": a threaded stdlib HTTP server (HTTP/1.1 keep-alive) in a separate
  process, so its CPU is not counted as hone's, that answers ``POST /v1/chat/completions`` at
  once with a chat completion holding the whole program in a ```python block, where a
  numeric literal is a counter, so every answer is a new program and every hypothesis is
  evaluated;
* a task folder (``task.toml``, ``initial.py`` with EVOLVE-BLOCK markers, ``evaluate.py``):
  a trivial evaluator (constant score) for the CPU and idle figures, and one that sleeps 0.5 s
  for the throughput figures.

``hone run TASK --model openai:instant --base-url http://127.0.0.1:PORT/v1 ...`` then runs as
a subprocess (the ``hone`` of the Python running the benchmark, not the first on ``PATH``),
and the figures come from the run's database (``hone.db``: ``llm_calls.started`` and
``latency``; ``candidates.eval_started``, ``eval_seconds`` and ``cpu_seconds``, the candidate's
own CPU as measured by ``wait4`` in the worker) and from resource usage. The output starts with
where that Python environment lives (``sys.prefix``) and whether it is under ``/tmp``.

The figures
-----------
framework CPU per hypothesis (ms)
    CPU time (user + system) of the whole ``hone`` process tree — the main process, its
    evaluation workers and their forked candidates, measured as the delta of
    ``getrusage(RUSAGE_CHILDREN)`` around the subprocess (each process reaps its children, so
    their usage rolls up) — minus the candidates' own CPU (sum of ``candidates.cpu_seconds``).
    "marginal" is (cpu_big - cpu_small) / (n_big - n_small) from two run sizes, which removes
    the fixed start-up cost (interpreter start, imports, worker start, initial evaluation);
    "average" is the big run's total divided by its number of hypotheses (start-up included).
    Runs use ``--hypotheses 2 --workers 2``: evaluations never queue for a worker, so the
    intervals stored in the database are exact.
idle per hypothesis (ms)
    Over the critical path, from the first model call's start to the last evaluation's end,
    the total time when neither a model call (``[started, started + latency]``) nor an
    evaluation (``[eval_started, eval_started + eval_seconds]``) is in flight, divided by the
    number of hypotheses. The model latency is measured inside hone and so includes the
    ``openai`` SDK's own time; its median is shown beside it. The evaluation interval is
    measured by the worker from fork to reap, so the request/reply round trip to the worker,
    writing the program and removing its temporary directory all count as idle.
    "sequential" repeats the measurement with ``--hypotheses 1 --workers 1``, where every
    hypothesis waits for the one before it, so all of hone's per-hypothesis work is idle time.
time to first model call (s)
    ``min(llm_calls.started)`` minus the wall time just before the subprocess is launched:
    interpreter start, imports, task loading, database creation, worker start-up and the
    evaluation of the starting program. Median of 5 runs. The row below it is the time until
    hone asks for the starting program's evaluation (``eval_started`` of that candidate, which
    is stamped before hone waits for a worker); the rest is waiting for the workers to start
    plus the evaluation itself.
throughput, 1 and 2 workers (% of ideal)
    With the 0.5 s evaluator, hypotheses evaluated per second from the first model call's start
    to the last evaluation's end, as a percentage of the ideal ``workers / 0.5 s``. The end is
    taken from the evaluator's own log of when it returned (an evaluation that queued for a
    worker is stored with ``eval_started`` = when it began waiting, so the database alone
    cannot place it), plus nothing for reply handling.

Figures measured more than once show the median; the spread is in the "runs" column.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import multiprocessing
import os
import platform
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import textwrap
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

TMP_ROOTS = ("/tmp", "/var/tmp", "/dev/shm")  # the private temporary directories of a worker

# -- the instant model ------------------------------------------------------------------------

PROGRAM_TEMPLATE = """\
import math

# EVOLVE-BLOCK-START
def f(x):
    \"\"\"The function being improved.\"\"\"
    return x * {value}
# EVOLVE-BLOCK-END


def run():
    return f(1)
"""

ANSWER_TEMPLATE = """\
Analysis: the score does not depend on the constant, so try another one.

```python
{program}```
"""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # TCP_NODELAY: no 40 ms delayed-ACK stall per answer
    counter = 0
    lock = threading.Lock()

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        if not self.path.endswith("/chat/completions"):
            self._send(404, {"error": {"message": "not found"}})
            return
        request = json.loads(body or b"{}")
        with _Handler.lock:
            _Handler.counter += 1
            n = _Handler.counter
        content = ANSWER_TEMPLATE.format(program=PROGRAM_TEMPLATE.format(value=n))
        self._send(
            200,
            {
                "id": f"chatcmpl-{n}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": request.get("model", "instant"),
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": content},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {
                    "prompt_tokens": len(body) // 4,
                    "completion_tokens": len(content) // 4,
                    "total_tokens": len(body) // 4 + len(content) // 4,
                },
            },
        )

    def _send(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _serve(port_out: Any) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    port_out.send(server.server_address[1])
    port_out.close()
    server.serve_forever(poll_interval=0.5)


@contextlib.contextmanager
def instant_model() -> Any:
    """Start the instant model in its own process; yields its base URL."""
    ctx = multiprocessing.get_context("fork")
    receive, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_serve, args=(send,), daemon=True)
    proc.start()
    send.close()
    try:
        if not receive.poll(10):
            raise RuntimeError("the instant model server did not start")
        port = receive.recv()
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        proc.terminate()
        proc.join(5)


# -- the task -----------------------------------------------------------------------------------

EVALUATOR = """\
import time

SLEEP = {sleep!r}


def evaluate(program_path):
    with open(program_path, encoding="utf-8") as f:
        f.read()
    if SLEEP:
        time.sleep(SLEEP)
    return {{"combined_score": 1.0, "ended": time.time()}}
"""

TASK_TOML = """\
name = "overhead"
instruction = "Make f return a better number."
objective = "maximize"

[budget]
patience = 1000000

[evaluation]
timeout = 30
"""


def evaluation_ends(run_dir: Path) -> list[float]:
    """When each evaluation returned, as the evaluator itself reported (metric "ended")."""
    with contextlib.closing(sqlite3.connect(run_dir / "hone.db")) as db:
        rows = db.execute("SELECT metrics FROM candidates WHERE round > 0").fetchall()
    return sorted(json.loads(metrics)["ended"] for (metrics,) in rows)


def make_task(root: Path, sleep: float) -> Path:
    """A task folder whose evaluator sleeps `sleep` seconds (0: trivial)."""
    root.mkdir(parents=True)
    (root / "task.toml").write_text(TASK_TOML, encoding="utf-8")
    (root / "initial.py").write_text(PROGRAM_TEMPLATE.format(value=0), encoding="utf-8")
    (root / "evaluate.py").write_text(EVALUATOR.format(sleep=sleep), encoding="utf-8")
    return root


# -- one run --------------------------------------------------------------------------------


@dataclass
class Run:
    """What one `hone run` cost, with its database's timings."""

    calls: int
    framework_cpu: float  # seconds: the tree's CPU minus the candidates' own
    candidate_cpu: float
    wall: float
    first_call: float  # seconds from launch to the first model call's start
    first_call_at: float  # wall-clock time of the first model call's start
    start_requested: float  # seconds from launch until the starting program's evaluation is asked
    idle: float  # seconds on the critical path with no model call and no evaluation in flight
    span: float  # seconds from the first model call's start to the last evaluation's end
    latency_median: float
    call_to_eval: float  # median seconds from a model call's end to its evaluation's start
    statuses: dict[str, int]
    run_dir: Path


def hone_run(
    base_url: str,
    task: Path,
    run_dir: Path,
    *,
    calls: int,
    hypotheses: int,
    workers: int,
) -> Run:
    """Run `hone run` as a subprocess and measure it."""
    # As users run it: with bytecode caching (this machine's environment may turn it off with
    # PYTHONDONTWRITEBYTECODE, which makes every start compile hone's sources anew).
    dropped = ("OPENAI_API_KEY", "OPENAI_BASE_URL", "PYTHONDONTWRITEBYTECODE")
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    # The hone of this interpreter's environment, not the first one on PATH (another Python's).
    hone = Path(sysconfig.get_path("scripts")) / "hone"
    command = [str(hone)] if hone.is_file() else [sys.executable, "-m", "hone"]
    command += [
        "run",
        str(task),
        "--model",
        "openai:instant",
        "--base-url",
        base_url,
        "--run-dir",
        str(run_dir),
        "--max-llm-calls",
        str(calls),
        "--hypotheses",
        str(hypotheses),
        "--workers",
        str(workers),
        "--seed",
        "0",
    ]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    launched = time.time()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    wall = time.time() - launched
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise RuntimeError(f"hone run failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    tree_cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    with contextlib.closing(sqlite3.connect(run_dir / "hone.db")) as db:
        llm = db.execute("SELECT started, latency FROM llm_calls ORDER BY id").fetchall()
        cands = db.execute(
            "SELECT call_id, status, eval_started, eval_seconds, cpu_seconds, id FROM candidates"
        ).fetchall()
        call_end = {
            row[0]: row[1] + row[2]
            for row in db.execute("SELECT id, started, latency FROM llm_calls").fetchall()
        }
    candidate_cpu = sum(c[4] or 0.0 for c in cands)
    statuses: dict[str, int] = {}
    for c in cands:
        if c[0] is not None:
            statuses[c[1]] = statuses.get(c[1], 0) + 1
    start = next(c for c in cands if c[0] is None)
    evals = [(c[2], c[2] + c[3]) for c in cands if c[0] is not None and c[2] is not None]
    model = [(s, s + lat) for s, lat in llm]
    t0 = min(s for s, _ in model)
    t1 = max(e for _, e in evals) if evals else max(e for _, e in model)
    busy = _union_length([*model, *evals], t0, t1)
    gaps = [c[2] - call_end[c[0]] for c in cands if c[0] is not None and c[2] is not None]
    return Run(
        calls=len(llm),
        framework_cpu=tree_cpu - candidate_cpu,
        candidate_cpu=candidate_cpu,
        wall=wall,
        first_call=t0 - launched,
        first_call_at=t0,
        start_requested=start[2] - launched,
        idle=(t1 - t0) - busy,
        span=t1 - t0,
        latency_median=statistics.median(lat for _, lat in llm),
        call_to_eval=statistics.median(gaps) if gaps else float("nan"),
        statuses=statuses,
        run_dir=run_dir,
    )


def _union_length(intervals: list[tuple[float, float]], lo: float, hi: float) -> float:
    total, end = 0.0, lo
    for a, b in sorted(intervals):
        a, b = max(a, end), min(b, hi)
        if b > a:
            total += b - a
            end = b
    return total


# -- the benchmark ----------------------------------------------------------------------------


@dataclass
class Row:
    figure: str
    value: float
    unit: str
    target: str
    ok: bool | None
    runs: str


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


def _fmt(x: float, digits: int = 2) -> str:
    return f"{x:.{digits}f}"


def _spread(values: list[float], digits: int = 2) -> str:
    return " ".join(_fmt(v, digits) for v in values)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a fast smoke run (~15 s)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args(argv)
    print(environment(), flush=True)
    small, big = (10, 60) if args.quick else (40, 200)
    repeats = 1 if args.quick else 3
    first_repeats = 2 if args.quick else 5
    thr = [(1, 4, 4), (2, 8, 4)] if args.quick else [(1, 24, 4), (2, 48, 4)]
    tmp = Path(tempfile.mkdtemp(prefix="hone-overhead-"))
    began = time.monotonic()
    counter = 0

    def next_dir() -> Path:
        nonlocal counter
        counter += 1
        return tmp / "runs" / f"run-{counter}"

    rows: list[Row] = []
    try:
        trivial = make_task(tmp / "trivial", 0.0)
        sleepy = make_task(tmp / "sleepy", 0.5)
        with instant_model() as url:
            hone_run(url, trivial, next_dir(), calls=2, hypotheses=2, workers=2)  # warm caches
            smalls, bigs = [], []
            for _ in range(repeats):
                smalls.append(
                    hone_run(url, trivial, next_dir(), calls=small, hypotheses=2, workers=2)
                )
                bigs.append(hone_run(url, trivial, next_dir(), calls=big, hypotheses=2, workers=2))
            seqs = [
                hone_run(url, trivial, next_dir(), calls=big, hypotheses=1, workers=1)
                for _ in range(repeats)
            ]
            firsts = [
                hone_run(url, trivial, next_dir(), calls=1, hypotheses=1, workers=2)
                for _ in range(first_repeats)
            ]
            throughput: list[tuple[int, Run, float]] = []
            for workers, n, hyps in thr:
                run = hone_run(url, sleepy, next_dir(), calls=n, hypotheses=hyps, workers=workers)
                ends = evaluation_ends(run.run_dir)
                rate = run.calls / (ends[-1] - run.first_call_at)
                throughput.append((workers, run, 100.0 * rate / (workers / 0.5)))

        for r in [*smalls, *bigs, *seqs, *firsts]:
            bad = {k: v for k, v in r.statuses.items() if k != "ok"}
            if bad:
                print(f"warning: {r.run_dir.name}: hypotheses not ok: {bad}", file=sys.stderr)

        marginal = [
            1000 * (b.framework_cpu - s.framework_cpu) / (b.calls - s.calls)
            for s, b in zip(smalls, bigs, strict=True)
        ]
        average = [1000 * b.framework_cpu / b.calls for b in bigs]
        average_small = [1000 * s.framework_cpu / s.calls for s in smalls]
        fixed = [
            1000 * s.framework_cpu - m * s.calls for s, m in zip(smalls, marginal, strict=True)
        ]
        idle = [1000 * b.idle / b.calls for b in bigs]
        idle_seq = [1000 * r.idle / r.calls for r in seqs]
        latency = [1000 * b.latency_median for b in bigs]
        latency_seq = [1000 * r.latency_median for r in seqs]
        gap = [1000 * r.call_to_eval for r in seqs]
        first = [r.first_call for r in firsts]
        start_requested = [r.start_requested for r in firsts]
        med = statistics.median
        rows += [
            Row(
                f"framework CPU / hypothesis, marginal ({small}->{big} calls)",
                med(marginal),
                "ms",
                "<= 6",
                med(marginal) <= 6,
                _spread(marginal),
            ),
            Row(
                f"framework CPU / hypothesis, average ({big} calls)",
                med(average),
                "ms",
                "",
                None,
                _spread(average),
            ),
            Row(
                f"framework CPU / hypothesis, average ({small} calls)",
                med(average_small),
                "ms",
                "",
                None,
                _spread(average_small),
            ),
            Row("framework CPU, fixed start-up", med(fixed), "ms", "", None, _spread(fixed, 0)),
            Row(
                "idle / hypothesis (2 hyp/round, 2 workers)",
                med(idle),
                "ms",
                "<= 2",
                med(idle) <= 2,
                _spread(idle),
            ),
            Row(
                "idle / hypothesis, sequential (1 hyp/round, 1 worker)",
                med(idle_seq),
                "ms",
                "<= 2",
                med(idle_seq) <= 2,
                _spread(idle_seq),
            ),
            Row(
                "  of which model-call end -> eval start (seq.)",
                med(gap),
                "ms",
                "",
                None,
                _spread(gap),
            ),
            Row(
                "model-call latency, median (incl. SDK)",
                med(latency),
                "ms",
                "",
                None,
                _spread(latency),
            ),
            Row(
                "model-call latency, median, sequential",
                med(latency_seq),
                "ms",
                "",
                None,
                _spread(latency_seq),
            ),
            Row(
                "time to first model call",
                med(first),
                "s",
                "<= 0.7",
                med(first) <= 0.7,
                _spread(first),
            ),
            Row(
                "  of which launch -> start program's evaluation asked",
                med(start_requested),
                "s",
                "",
                None,
                _spread(start_requested),
            ),
        ]
        for workers, run, pct in throughput:
            rows.append(
                Row(
                    f"throughput, {workers} worker{'s' if workers > 1 else ''}, 0.5 s eval "
                    f"({run.calls} hyp, {4}/round)",
                    pct,
                    "% ideal",
                    ">= 98" if workers == 2 else "",
                    pct >= 98 if workers == 2 else None,
                    f"{run.calls / (pct / 100 * workers / 0.5):.2f} s loop",
                )
            )
    finally:
        if args.keep:
            print(f"kept {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    _print_table(rows)
    print(f"\n{'quick' if args.quick else 'full'} run took {time.monotonic() - began:.0f} s")
    return 0 if all(r.ok is not False for r in rows) else 1


def _print_table(rows: list[Row]) -> None:
    header = ("figure", "value", "unit", "target", "", "runs")
    cells = [
        (
            r.figure,
            _fmt(r.value, 3 if r.unit == "s" else 1 if r.unit == "% ideal" else 2),
            r.unit,
            r.target,
            "" if r.ok is None else ("PASS" if r.ok else "FAIL"),
            r.runs,
        )
        for r in rows
    ]
    widths = [max(len(str(c[i])) for c in [header, *cells]) for i in range(len(header))]
    line = "  ".join("-" * w for w in widths)
    print(textwrap.dedent("\nhone loop overhead (instant model, trivial / 0.5 s evaluators)"))
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    print(line)
    for c in cells:
        print(
            "  ".join(
                (str(x).rjust(w) if i == 1 else str(x).ljust(w))
                for i, (x, w) in enumerate(zip(c, widths, strict=True))
            )
        )


if __name__ == "__main__":
    sys.exit(main())
