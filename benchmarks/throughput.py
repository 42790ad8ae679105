"""Many hypotheses in flight: does hone keep a pool of model slots and its workers busy, and how
fast can it go at all, beside OpenEvolve?

Run ``python benchmarks/throughput.py`` (about 6 minutes on 2 loaded cores) or ``--quick`` (one
repeat of smaller runs, about 2 minutes). Everything is set up in a temporary directory:

* a model server on 127.0.0.1, in its own process (so its CPU is not hone's), that answers
  ``POST /v1/chat/completions`` with a whole program in a ```python block (a numeric literal
  is a counter, so every answer is a new program) after ``--latency`` seconds (default 1),
  serving at most SLOTS requests at once, as llama.cpp's ``--parallel`` or vLLM's batch do:
  the others wait in its queue. It counts the requests it serves at once (the most is
  printed) and stops with the benchmark, or by itself if the benchmark dies;
* a task folder whose evaluator sleeps 0.5 s (``--eval``) and reports when it returned.

Throughput. For (slots, workers) = (8, 4), (32, 16), (64, 16): ``hone run --workers WORKERS
--hypotheses 2 x (SLOTS + WORKERS)``, no ``--max-in-flight``: the server queues what its slots
cannot take, as vLLM and llama.cpp do, so a slot never waits for hone's next request. A
hypothesis holds its place in flight through its model call and its evaluation, so by Little's
law the run needs at least rate x (latency + evaluation) in flight; the rest covers the queues.
The rate is the steady one: evaluations ended per second between the 10th and the 90th
percentile of the evaluators' own end times (the first answer comes only after one latency and
the last evaluations drain; both are start and end, not throughput). It is given as a
percentage of the ideal ``min(slots / latency, workers / evaluation)``. Beside it: the peak
resident memory of hone's main process, sampled every 0.2 s, and its growth from the first
quarter of the run to its end (the population hone keeps in memory grows by a few KB a
hypothesis; what is in flight should not show); the most requests the server answered at once;
and how late a 10 ms timer on hone's event loop woke (p99 and most, in the steady part): how
long the loop's own work, or the process waiting for a CPU, held back every call in flight.
hone runs under a small wrapper (``LAG_WATCH``) that starts that timer, then hone's entry point.

Ceiling. The same loop with an instant model (no latency, no slot limit) and an instant
evaluator, on one core (``taskset -c 0``, the model server included, as every process the
run starts), in two run sizes (``--ceiling-calls`` and a quarter of it). Two figures: the
steady rate of the larger run on that core, shared with whatever else the machine runs; and
hypotheses per CPU second of the run's whole process tree (workers and candidates included,
start-up excluded: the larger run's CPU less the smaller's, over the hypotheses between them),
which is the ceiling on a core of one's own and the figure the target compares. OpenEvolve
0.4.0 runs the same task against the same server on the same core, driven by
``../shared/peer-bench``'s runner (its ``config.yaml`` and evaluator adapter; full rewrites),
its evaluator logging each end time; its ceiling is measured the same way. OpenEvolve comes
from ``--oe-venv`` (default ``$BENCH_OE_VENV``, else
``~/.cache/hone-bench/venvs/openevolve-0.4.0``); without it that column is left out and its
target is printed as missed.

``--baseline-python PY`` runs the throughput rows a second time with another installation of
hone (its Python, e.g. an older checkout's venv), interleaved with this one's, for before and
after figures taken in the same run.

Each figure is the median of ``--repeat`` runs (default 3), the runs beside it; the machine's
load average is printed before and after, as the figures depend on it. The output ends with
one ``target NAME: VALUE (goal GOAL) met|missed`` line per target.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import os
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.loop_overhead import ANSWER_TEMPLATE, PROGRAM_TEMPLATE, TASK_TOML, environment

_HERE = Path(__file__).resolve().parent.parent
PEER_BENCH = next(  # ../shared/peer-bench from the checkout (or from a worktree one level down)
    (p / "shared" / "peer-bench" for p in _HERE.parents if (p / "shared" / "peer-bench").is_dir()),
    _HERE.parent / "shared" / "peer-bench",
)
OE_VENV = os.environ.get(
    "BENCH_OE_VENV", str(Path.home() / ".cache" / "hone-bench" / "venvs" / "openevolve-0.4.0")
)
CASES = ((8, 4), (32, 16), (64, 16))
TARGET_PCT = 95.0
TARGET_RATIO = 5.0

# -- the model server ---------------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # 100 connections may open at once
    latency: float
    slots: threading.BoundedSemaphore
    lock: threading.Lock
    counter: int = 0
    busy: int = 0
    most_busy: int = 0
    waiting: int = 0
    most_waiting: int = 0


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: _Server

    def do_GET(self) -> None:
        s = self.server
        if self.path.rstrip("/").endswith("/models"):
            self._send(200, {"object": "list", "data": [{"id": "bench", "object": "model"}]})
        elif self.path == "/stats":
            with s.lock:
                stats = {"requests": s.counter, "busy": s.most_busy, "waiting": s.most_waiting}
            self._send(200, stats)
        else:
            self._send(404, {"error": {"message": "not found"}})

    def do_POST(self) -> None:
        s = self.server
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if not self.path.endswith("/chat/completions"):
            self._send(404, {"error": {"message": "not found"}})
            return
        with s.lock:
            s.waiting += 1
            s.most_waiting = max(s.most_waiting, s.waiting)
        with s.slots:  # a slot: the rest wait, as at a server with --parallel SLOTS
            with s.lock:
                s.waiting -= 1
                s.busy += 1
                s.most_busy = max(s.most_busy, s.busy)
                s.counter += 1
                n = s.counter
            if s.latency:
                time.sleep(s.latency)
            with s.lock:
                s.busy -= 1
        content = ANSWER_TEMPLATE.format(program=PROGRAM_TEMPLATE.format(value=n))
        model = json.loads(body or b"{}").get("model", "bench")
        self._send(
            200,
            {
                "id": f"chatcmpl-{n}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": model,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": content},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {"prompt_tokens": len(body) // 4, "completion_tokens": len(content) // 4},
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


def _serve(port_out: Any, latency: float, slots: int, parent: int) -> None:
    server = _Server(("127.0.0.1", 0), _Handler)
    server.latency, server.lock = latency, threading.Lock()
    server.slots = threading.BoundedSemaphore(slots)
    port_out.send(server.server_address[1])
    port_out.close()
    threading.Thread(target=server.serve_forever, args=(0.2,), daemon=True).start()
    while os.getppid() == parent:  # the benchmark died: stop by itself
        time.sleep(1.0)


@dataclass
class Model:
    """A running model server."""

    url: str

    def stats(self) -> dict[str, int]:
        """Requests served, the most served at once and the most waiting for a slot at once."""
        root = self.url.removesuffix("/v1")
        with urllib.request.urlopen(f"{root}/stats", timeout=10) as reply:
            stats: dict[str, int] = json.loads(reply.read())
        return stats


@contextlib.contextmanager
def model_server(latency: float, slots: int, *, cpu: int | None = None) -> Iterator[Model]:
    """A model server on loopback in its own process (pinned to `cpu` if given)."""
    ctx = multiprocessing.get_context("fork")
    receive, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_serve, args=(send, latency, slots, os.getpid()), daemon=True)
    proc.start()
    send.close()
    try:
        if cpu is not None and proc.pid is not None:
            os.sched_setaffinity(proc.pid, {cpu})
        if not receive.poll(10):
            raise RuntimeError("the model server did not start")
        yield Model(f"http://127.0.0.1:{receive.recv()}/v1")
    finally:
        proc.terminate()
        proc.join(5)


# -- the task -----------------------------------------------------------------------------------

EVALUATOR = """\
import os
import time

SLEEP = {sleep!r}


def evaluate(program_path):
    with open(program_path, encoding="utf-8") as f:
        f.read()
    if SLEEP:
        time.sleep(SLEEP)
    ended = time.time()
    log = os.environ.get("THROUGHPUT_EVAL_LOG")  # (OpenEvolve's run; hone's sandbox has no env)
    if log:
        with open(log, "a", encoding="utf-8") as f:
            f.write(f"{{ended!r}}\\n")
    return {{"combined_score": 1.0, "ended": ended}}
"""


def make_task(root: Path, sleep: float) -> Path:
    """A task folder (hone's task.toml and OpenEvolve's initial.py / evaluate.py alike)."""
    root.mkdir(parents=True)
    (root / "task.toml").write_text(TASK_TOML, encoding="utf-8")
    (root / "initial.py").write_text(PROGRAM_TEMPLATE.format(value=0), encoding="utf-8")
    (root / "evaluate.py").write_text(EVALUATOR.format(sleep=sleep), encoding="utf-8")
    return root


# -- one run --------------------------------------------------------------------------------

# `hone run` with a watcher on its event loop: a task that asks to wake every 10 ms and keeps
# how late it woke (the longest time the loop's own work kept every call in flight waiting);
# written to the file named first, as (wall time, seconds late) pairs.
LAG_WATCH = """\
import asyncio, atexit, json, sys, time
out = sys.argv.pop(1)
late = []
async def watch():
    while True:
        t = time.perf_counter()
        await asyncio.sleep(0.01)
        late.append((time.time(), time.perf_counter() - t - 0.01))
run = asyncio.runners.Runner.run
def watched(self, coro, *, context=None):
    async def both():
        watcher = asyncio.ensure_future(watch())
        try:
            return await coro
        finally:
            watcher.cancel()
    return run(self, both(), context=context)
asyncio.runners.Runner.run = watched
atexit.register(lambda: open(out, "w").write(json.dumps(late)))
sys.argv[0] = "hone"
from hone.cli import entrypoint
entrypoint()
"""


@dataclass
class Run:
    """What one run did: its steady rate, when it ended, and hone's memory."""

    evaluated: int
    rate: float  # hypotheses per second, steady
    end_to_end: float  # hypotheses per second from launch to the last evaluation's end
    peak_rss_mb: float  # hone's main process (0: not sampled)
    rss_growth_mb: float  # from the end of the run's first quarter to its last sample
    served_at_once: int  # the most requests the model served at once
    waiting_at_once: int
    lag_p99_ms: float = float("nan")  # the event loop's lateness, steady part of the run
    lag_max_ms: float = float("nan")
    cpu_s: float = float("nan")  # CPU of the run's whole process tree


def steady_rate(ends: list[float]) -> float:
    """Evaluations ended per second between the 10th and the 90th percentile of the end times."""
    ends = sorted(ends)
    lo, hi = len(ends) // 10, len(ends) - 1 - len(ends) // 10
    if hi <= lo or ends[hi] <= ends[lo]:
        return float("nan")
    return (hi - lo) / (ends[hi] - ends[lo])


def _env() -> dict[str, str]:
    dropped = ("OPENAI_API_KEY", "OPENAI_BASE_URL", "PYTHONDONTWRITEBYTECODE")
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    env["HTTP_PROXY"] = env["HTTPS_PROXY"] = "http://127.0.0.1:9"  # nothing leaves loopback
    return env


def _rss_mb(pid: int) -> float:
    with contextlib.suppress(OSError), open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _watch(
    command: list[str], env: dict[str, str], cwd: Path | None = None
) -> tuple[list[tuple[float, float]], float]:
    """Run `command`, sampling its resident memory every 0.2 s; the samples and the CPU
    seconds of its whole process tree (each process reaps its children, so theirs roll up)."""
    samples: list[tuple[float, float]] = []
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with tempfile.TemporaryFile("w+") as out:
        proc = subprocess.Popen(command, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
        while proc.poll() is None:
            if (rss := _rss_mb(proc.pid)) > 0:
                samples.append((time.monotonic(), rss))
            time.sleep(0.2)
        out.seek(0)
        text = out.read()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise RuntimeError(f"{command[0]} failed ({proc.returncode}):\n{text[-4000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return samples, cpu


def hone_run(
    model: Model,
    task: Path,
    run_dir: Path,
    *,
    calls: int,
    hypotheses: int,
    workers: int,
    slots: int | None = None,
    python: str | None = None,
    one_core: bool = False,
) -> Run:
    """`hone run` as a subprocess (this Python's hone, or `python`'s), measured."""
    lags = run_dir.with_name(run_dir.name + ".lag.json")
    command = [python or sys.executable, "-c", LAG_WATCH, str(lags)]
    if one_core:
        command = ["taskset", "-c", "0", *command]
    command += ["run", str(task), "--model", "openai:bench", "--base-url", model.url]
    command += ["--run-dir", str(run_dir), "--max-llm-calls", str(calls), "--seed", "0"]
    command += ["--hypotheses", str(hypotheses), "--workers", str(workers)]
    if slots is not None:
        command += ["--max-in-flight", str(slots)]
    launched = time.time()
    samples, cpu = _watch(command, _env())
    with contextlib.closing(sqlite3.connect(run_dir / "hone.db")) as db:
        rows = db.execute("SELECT metrics FROM candidates WHERE round > 0").fetchall()
    ends = sorted(json.loads(m)["ended"] for (m,) in rows if m and "ended" in json.loads(m))
    run = _measured(ends, launched, samples, cpu, model)
    if ends and lags.is_file():
        lo, hi = ends[len(ends) // 10], ends[-1 - len(ends) // 10]
        late = sorted(x for at, x in json.loads(lags.read_text()) if lo <= at <= hi)
        if late:
            run.lag_p99_ms = 1000 * late[int(0.99 * (len(late) - 1))]
            run.lag_max_ms = 1000 * late[-1]
    return run


def _measured(
    ends: list[float], launched: float, samples: list[tuple[float, float]], cpu: float, model: Model
) -> Run:
    stats = model.stats()
    rss = [r for _, r in samples]
    quarter = rss[len(rss) // 4] if rss else 0.0
    return Run(
        evaluated=len(ends),
        rate=steady_rate(ends),
        end_to_end=len(ends) / (ends[-1] - launched) if ends else float("nan"),
        peak_rss_mb=max(rss, default=0.0),
        rss_growth_mb=(rss[-1] - quarter) if rss else 0.0,
        served_at_once=stats["busy"],
        waiting_at_once=stats["waiting"],
        cpu_s=cpu,
    )


def openevolve_run(model: Model, task: Path, work: Path, *, calls: int, workers: int) -> Run:
    """OpenEvolve's stock CLI on the same task, set up by peer-bench's runner, on core 0."""
    os.environ["BENCH_OE_VENV"] = OE_VENV  # (read when peer-bench's runner is imported)
    sys.path.insert(0, str(PEER_BENCH))
    try:
        from runners.base import RunSpec
        from runners.openevolve_runner import OpenEvolveRunner
    finally:
        sys.path.remove(str(PEER_BENCH))
    work.mkdir(parents=True)
    spec = RunSpec(
        framework="openevolve",
        task="instant",
        task_dir=task,
        workdir=work,
        llm_base_url=model.url,
        model="bench",
        iterations=calls,
        workers=workers,
        seed=0,
    )
    launch = OpenEvolveRunner().prepare(spec)
    log = work / "evaluations.log"
    env = {**_env(), **launch.env, "THROUGHPUT_EVAL_LOG": str(log)}
    launched = time.time()
    _, cpu = _watch(["taskset", "-c", "0", *launch.argv], env, launch.cwd)
    ends = sorted(float(x) for x in log.read_text(encoding="utf-8").split())
    return _measured(ends[1:], launched, [], cpu, model)  # (the first: the initial program)


def openevolve_available() -> str | None:
    """Why OpenEvolve cannot run here, or None."""
    if not (Path(OE_VENV) / "bin" / "openevolve-run").is_file():
        return f"no OpenEvolve at {OE_VENV} (set BENCH_OE_VENV or --oe-venv)"
    if not (PEER_BENCH / "runners" / "openevolve_runner.py").is_file():
        return f"no peer-bench at {PEER_BENCH}"
    return None


# -- the benchmark ------------------------------------------------------------------------------


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _med(values: list[float]) -> float:
    return statistics.median(values)


def _runs(values: list[float], digits: int = 1) -> str:
    return " ".join(f"{v:.{digits}f}" for v in values)


def main(argv: list[str] | None = None) -> int:
    """Measure, print the table and the target lines."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="one repeat of smaller runs")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=15.0, help="steady seconds per run")
    parser.add_argument("--latency", type=float, default=1.0, help="model answer, seconds")
    parser.add_argument("--eval", type=float, default=0.5, help="evaluation, seconds")
    parser.add_argument("--ceiling-calls", type=int, default=300)
    parser.add_argument("--oe-venv", help="OpenEvolve 0.4.0's venv (default $BENCH_OE_VENV)")
    parser.add_argument("--baseline-python", help="another hone's Python, run interleaved")
    parser.add_argument("--only", choices=("throughput", "ceiling"), help="one part only")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args(argv)
    global OE_VENV
    OE_VENV = args.oe_venv or OE_VENV
    repeat, seconds, ceiling_calls = args.repeat, args.seconds, args.ceiling_calls
    if args.quick:
        repeat, seconds, ceiling_calls = 1, 10.0, 200
    began = time.monotonic()
    print(environment())
    print(f"load average at start: {_load()} (2 cores shared: the figures depend on it)")
    tmp = Path(tempfile.mkdtemp(prefix="hone-throughput-"))
    targets: list[tuple[str, str, str, bool]] = []
    try:
        if args.only != "ceiling":
            targets += throughput(tmp, args, repeat, seconds)
        if args.only != "throughput":
            targets += ceiling(tmp, args, repeat, ceiling_calls)
    finally:
        if args.keep:
            print(f"kept {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    print(f"\nload average at end: {_load()}; took {time.monotonic() - began:.0f} s")
    for name, value, goal, ok in targets:
        print(f"target {name}: {value} (goal {goal}) {'met' if ok else 'missed'}")
    return 0 if all(ok for *_, ok in targets) else 1


def throughput(
    tmp: Path, args: argparse.Namespace, repeat: int, seconds: float
) -> list[tuple[str, str, str, bool]]:
    """The (slots, workers) rows: steady rate, % of ideal, memory, the server's concurrency."""
    task = make_task(tmp / "sleep-task", args.eval)
    installs: list[tuple[str, str | None]] = [("this hone", None)]
    if args.baseline_python:
        installs.append(("baseline", args.baseline_python))
    print(
        f"\nthroughput: model {args.latency:g} s per answer (SLOTS at once), evaluations "
        f"{args.eval:g} s; --hypotheses 2 x (SLOTS + WORKERS), "
        f"no --max-in-flight; {repeat} run(s) each, medians"
    )
    head = (
        f"{'hone':10s} {'slots':>5s} {'workers':>7s} {'hyp':>5s} {'hyp/s':>6s} {'ideal':>6s}"
        f" {'% ideal':>8s} {'runs (% ideal)':>20s} {'end-to-end':>10s} {'peak RSS':>9s}"
        f" {'RSS growth':>10s} {'served at once':>14s} {'loop late p99/max':>17s}"
    )
    print(head)
    print("-" * len(head))
    targets = []
    for slots, workers in CASES:
        ideal = min(slots / args.latency, workers / args.eval)
        calls = max(int(ideal * seconds), 4 * slots)
        found: dict[str, list[Run]] = {name: [] for name, _ in installs}
        with model_server(args.latency, slots) as model:
            for i in range(repeat):
                for name, python in installs:
                    run = hone_run(
                        model,
                        task,
                        tmp / f"run-{slots}-{workers}-{name}-{i}",
                        calls=calls,
                        hypotheses=2 * (slots + workers),
                        workers=workers,
                        slots=None,
                        python=python,
                    )
                    found[name].append(run)
        for name, _ in installs:
            runs = found[name]
            pcts = [100 * r.rate / ideal for r in runs]
            print(
                f"{name:10s} {slots:5d} {workers:7d} {calls:5d} {_med([r.rate for r in runs]):6.1f}"
                f" {ideal:6.1f} {_med(pcts):7.1f}% {_runs(pcts):>20s}"
                f" {100 * _med([r.end_to_end for r in runs]) / ideal:9.1f}%"
                f" {_med([r.peak_rss_mb for r in runs]):6.0f} MB"
                f" {_med([r.rss_growth_mb for r in runs]):+7.1f} MB"
                f" {max(r.served_at_once for r in runs):14d}"
                f" {_med([r.lag_p99_ms for r in runs]):8.0f}/{_med([r.lag_max_ms for r in runs]):.0f} ms"
            )
            if name == "this hone":
                targets.append(
                    (
                        f"throughput {slots} slots {workers} workers",
                        f"{_med(pcts):.1f} % of ideal",
                        f">= {TARGET_PCT:g} %",
                        _med(pcts) >= TARGET_PCT,
                    )
                )
    print(
        "(% ideal: steady rate between the 10th and 90th percentile of evaluation ends; "
        "end-to-end: from launch, start-up and the first answer's latency included; RSS: "
        "hone's main process; loop late: how late a 10 ms timer on hone's event loop woke, "
        "i.e. how long the loop's own work held back every call in flight)"
    )
    return targets


def ceiling(
    tmp: Path, args: argparse.Namespace, repeat: int, calls: int
) -> list[tuple[str, str, str, bool]]:
    """Instant model, instant evaluator, one core: hone's and OpenEvolve's hypotheses per
    second, as run on the shared core and per CPU second of each one's process tree."""
    task = make_task(tmp / "instant-task", 0.0)
    missing = openevolve_available()
    small = calls // 4
    print(
        f"\nceiling: instant model, instant evaluator, one core (taskset -c 0), runs of {small} "
        f"and {calls} hypotheses, 2 workers (hone: --hypotheses 8); {repeat} run(s) each, medians"
    )
    found: dict[str, list[tuple[Run, Run]]] = {"hone": [], "OpenEvolve": []}
    with model_server(0.0, 1024, cpu=0) as model:
        for i in range(repeat):  # interleaved: both see the same load
            runs = []
            for n in (small, calls):
                where = tmp / f"ceiling-hone-{n}-{i}"
                runs.append(
                    hone_run(model, task, where, calls=n, hypotheses=8, workers=2, one_core=True)
                )
            found["hone"].append((runs[0], runs[1]))
            if missing is None:
                oe = [
                    openevolve_run(model, task, tmp / f"ceiling-oe-{n}-{i}", calls=n, workers=2)
                    for n in (small, calls)
                ]
                found["OpenEvolve"].append((oe[0], oe[1]))
    print(
        f"{'framework':12s} {'hyp/s on core 0':>15s} {'runs':>17s}"
        f" {'hyp per CPU s':>13s} {'runs':>17s} {'CPU ms/hyp':>10s}"
    )
    per_cpu: dict[str, float] = {}
    for name, pairs in found.items():
        if not pairs:
            print(f"{name:12s} not run: {missing}")
            continue
        rates = [big.rate for _, big in pairs]
        marginal = [(b.cpu_s - a.cpu_s) / (b.evaluated - a.evaluated) for a, b in pairs]
        cpu_rates = [1 / m for m in marginal]
        per_cpu[name] = _med(cpu_rates)
        print(
            f"{name:12s} {_med(rates):15.1f} {_runs(rates):>17s} {_med(cpu_rates):13.1f}"
            f" {_runs(cpu_rates):>17s} {1000 * _med(marginal):10.2f}"
        )
    print(
        "(hyp/s on core 0: steady rate of the larger run, on a core shared with the machine's "
        "other work; hyp per CPU s: 1 / the CPU of the process tree per hypothesis, the larger "
        "run's less the smaller's, start-up excluded: the ceiling on a core of one's own)"
    )
    if "OpenEvolve" not in per_cpu:
        return [("ceiling vs OpenEvolve", "not measured", f">= {TARGET_RATIO:g}x", False)]
    ratio = per_cpu["hone"] / per_cpu["OpenEvolve"]
    value = (
        f"{ratio:.1f}x ({per_cpu['hone']:.0f} / {per_cpu['OpenEvolve']:.0f} hypotheses per CPU s)"
    )
    return [("ceiling vs OpenEvolve", value, f">= {TARGET_RATIO:g}x", ratio >= TARGET_RATIO)]


if __name__ == "__main__":
    sys.exit(main())
