"""hone, OpenEvolve 0.4.0 and ShinkaEvolve 0.0.7 side by side, with the same real model.

Run ``python benchmarks/peers_real_model.py`` (many hours on 2 shared cores: 18 runs of 20 model
calls; ``--tasks``, ``--frameworks``, ``--seeds`` and ``--calls`` cut it down; ``--print`` only
prints the table of what is recorded). Every run is one JSON line in ``--results`` (default
``benchmarks/results/peers_real_model.jsonl``), written when it ends; a run already there is not
run again, and a run that failed is one line on stderr and is run again next time.

What runs. One llama.cpp server on 127.0.0.1 (``hone serve``'s: a packaged model, Qwen2.5-Coder-
0.5B by default, ``--model qwen-coder-1.5b`` as an option; 2 slots, 16,384 tokens of context
each) and, in front of it, a logging proxy on 127.0.0.1 (``benchmarks/_proxy.py``) that every
framework talks to. The tasks are the peers' own example folders, copied unchanged into
``benchmarks/peer_tasks/`` (OpenEvolve's function_minimization with its config.yaml and
circle_packing with config_phase_1.yaml, ShinkaEvolve's circle_packing with shinka_small.yaml).
hone runs all three (``hone.formats.read_task``, as ``hone run FOLDER --config C``), each peer its
own. OpenEvolve and ShinkaEvolve are installed from PyPI into venvs of their own under
``--venvs`` (default ~/.cache/hone-bench/venvs, made once and reused); hone runs from this
checkout (``PYTHONPATH=src``) in a venv that adds ``shinka-evolve==0.0.7`` to this Python's
packages, because ShinkaEvolve's evaluate.py imports ``shinka.core`` and hone runs it with its
own interpreter (docs/migrating.md).

The same for everyone: 20 model calls; 2 requests at once (the server's 2 slots: llama.cpp gets
1 thread on 2 cores, and with 4 requests at once each took longer with no more tokens per second
in all, so 2 is what it serves without queueing); 2 evaluation workers; temperature 0.7 (both
OpenEvolve configs say 0.7); at most 2,048 tokens per answer (a whole circle-packing program is
about 1,100); 1,200 s per model call; seeds 0, 1, 2. Each framework otherwise keeps its
documented settings for a local OpenAI-compatible model: OpenEvolve gets the folder's config
with its ``llm`` section pointed at the proxy (``api_base``, one model, the values above) and
``max_iterations`` 20, ``random_seed`` the seed, ``evaluator.parallel_evaluations`` 2 and
``checkpoint_interval`` 1; ShinkaEvolve gets what its run_evo.py builds from shinka_small.yaml
with ``llm_models = ["local/local@<proxy>/v1"]``, ``num_generations`` 21, no second model (no
novelty judge, meta notes or embedding model: no server here serves them), ``random`` and numpy
seeded, and its worker clamp for small machines bypassed (it would give 1 request at once on 2
cores); hone gets the folder read as it is, with ``max_llm_calls`` 20, ``patience`` off (the
peers stop on their budget only), 2 hypotheses per round and 2 workers, and prompts the model
as ``hone run --model openai:local`` does at ``hone serve``'s server: the server says it serves
a packaged code model, so hone sends it the best-shot prompts it sends that model embedded (text
completions; the peers send chat requests, as their configs say). The proxy forwards at
most 20 calls per run: a call beyond them (ShinkaEvolve asks again when a patch does not apply;
SDK retries) gets an empty answer at once, so nobody gets more than 20 model answers. The server
honours a request's ``seed``: hone sends a new one per call, ShinkaEvolve none, and OpenEvolve
its ``random_seed`` with every call, so two of its calls with the same prompt (its first two,
both from the starting program) get the same answer; that is OpenEvolve's own behaviour with
any server that honours seeds, and is left as it is.

What is measured, per run, then per framework and task over the seeds:

* calls: requests the proxy forwarded; answers: those answered 200; applied: answers that became
  a program the framework evaluated; ran: those the folder's evaluator scored as valid (hone:
  status ok with a score above 0; OpenEvolve: a score above 0 without ``error`` or ``timeout``
  in its metrics; ShinkaEvolve: ``correct``); beat parent: those scoring above the program they
  were made from, by the framework's own record.
* best after 5, 10 and 20 calls: the best valid program among the starting program, the programs
  made from answers 1..k, and programs made without a call (hone's tuning trials, off by default
  for these folders) stored before answer k+1 arrived; that program is scored again by the
  folder's own evaluator, by the peer's own rules, in a subprocess of the peer's venv
  (``_peers_launch.py rescore-*``, the mean of ``--rescore-repeats`` evaluations, as
  function_minimization's evaluator is random), so no framework's record is taken on trust.
  The table gives the medians over seeds; a median marked ``*`` includes a run whose best the
  evaluator rejected when scored again (its record stands in), ``!`` one whose best program's
  text the benchmark did not find (rows recorded before it read hone's trees: their record
  stands in, unchecked, and such a run is run again).
* prompt and completion tokens per call (the server's ``usage``, as the proxy saw it), the
  median latency of a call and the median time a call waited for a slot (latency minus
  llama.cpp's prompt and generation time), and the run's wall time.

Attribution of programs to calls (which answer made which program), in the order of the proxy's
log: every framework stores the text of the answer a program came from, and it is matched,
exactly, with the answers the proxy recorded: hone's answer to the candidate's ``call_id``
and its program, read through ``hone.store`` (this hone keeps programs as trees of files and
answers compressed, not in the ``code`` and ``completion`` columns), OpenEvolve's ``prompts.*.responses`` of each program
in its checkpoints (one checkpoint per iteration, so a program later pushed out of its MAP-Elites
cell is still found), ShinkaEvolve's ``metadata.llm_result.content`` (its programs.sqlite).
This is exact whenever two answers differ, which a sampled model's answers do; a program whose
text matches no recorded answer (none were seen in the smoke runs) falls back to the first
unclaimed call answered before it was stored, and the row counts them (``unmatched``). Programs
a framework never stores are not counted as applied: hone stores every candidate, ShinkaEvolve
every program it evaluated, OpenEvolve every program it admitted (0.4.0 admits all by default).

The end: ``target NAME: VALUE (goal GOAL) met|missed`` lines, one per task, peer and point:
hone's median best at least the peer's.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from _proxy import LoggingProxy  # beside this file (the script's folder is on sys.path)

ROOT = Path(__file__).resolve().parents[1]
HERE = ROOT / "benchmarks"
LAUNCH = HERE / "_peers_launch.py"
RESULTS = HERE / "results" / "peers_real_model.jsonl"
PEER_TASKS = HERE / "peer_tasks"
OPENEVOLVE, SHINKA = "openevolve==0.4.0", "shinka-evolve==0.0.7"
POINTS = (5, 10, 20)


@dataclass(frozen=True)
class Folder:
    """A peer's example folder and the config it is run with."""

    name: str
    peer: str  # "openevolve" or "shinka": whose folder it is
    config: str

    @property
    def path(self) -> Path:
        return PEER_TASKS / self.name


TASKS = {
    f.name: f
    for f in (
        Folder("openevolve_function_minimization", "openevolve", "config.yaml"),
        Folder("openevolve_circle_packing", "openevolve", "config_phase_1.yaml"),
        Folder("shinka_circle_packing", "shinka", "shinka_small.yaml"),
    )
}
FRAMEWORKS = ("hone", "openevolve", "shinka")


@dataclass(frozen=True)
class Settings:
    """What every framework gets alike."""

    calls: int
    parallel: int
    temperature: float
    max_tokens: int
    model_timeout: float
    model: str


@dataclass
class Program:
    """One program a framework stored, as the benchmark sees it."""

    code: str
    score: float | None  # the framework's record
    valid: bool
    parent: str | None  # the framework's id of the program it was made from
    ident: str
    answer: str | None = None  # the text of the answer it was made from; None: no call
    created: float = 0.0  # when it was stored (epoch seconds)
    applied: bool = True  # hone stores answers that did not apply too
    tuned: bool = False  # hone's tuning trials (no call)
    call: int | None = None  # set by attribution


# ---------------------------------------------------------------------------------- venvs


def venv(root: Path, name: str, packages: list[str], *, system: bool = False) -> Path:
    """The venv `root/name` with `packages` installed from PyPI (made once); its python."""
    path = root / name
    python = path / "bin" / "python"
    marker = path / ".bench-installed"
    if marker.exists() and python.exists():
        return python
    print(f"installing {' '.join(packages)} into {path} ...", file=sys.stderr, flush=True)
    shutil.rmtree(path, ignore_errors=True)
    base = getattr(sys, "_base_executable", sys.executable)
    command = [base, "-m", "venv", *(["--system-site-packages"] * system), str(path)]
    subprocess.run(command, check=True)
    pip = [str(python), "-m", "pip", "install", "-q", *packages]
    done = subprocess.run(pip, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"pip could not install {' '.join(packages)}: {done.stderr[-2000:]}")
    marker.write_text(" ".join(packages) + "\n")
    return python


@dataclass(frozen=True)
class Pythons:
    hone: Path
    openevolve: Path
    shinka: Path


def pythons(root: Path, frameworks: list[str], folders: list[Folder]) -> Pythons:
    """Each framework's interpreter (hone's: this Python's packages and shinka-evolve); a
    folder's peer is needed too, to score its programs again."""
    need = set(frameworks) | {f.peer for f in folders}
    return Pythons(
        hone=venv(root, "hone-with-shinka-0.0.7", [SHINKA], system=True)
        if "hone" in need
        else Path(),
        openevolve=venv(root, "openevolve-0.4.0", [OPENEVOLVE]) if "openevolve" in need else Path(),
        shinka=venv(root, "shinka-evolve-0.0.7", [SHINKA]) if "shinka" in need else Path(),
    )


def version(python: Path, dist: str) -> str:
    """The installed version of `dist` in that interpreter."""
    code = f"import importlib.metadata as m; print(m.version({dist!r}))"
    done = subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=False)
    return done.stdout.strip() or "?"


# ---------------------------------------------------------------------------------- launching


def child_env(extra: dict[str, str]) -> dict[str, str]:
    """The environment of a framework's process: no keys of the user's, nothing but loopback."""
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "TERM", "USER")
    env = {k: v for k, v in os.environ.items() if k in keep}
    env |= {
        # any request that is not to 127.0.0.1 goes to a closed port and fails at once
        "HTTP_PROXY": "http://127.0.0.1:9",
        "HTTPS_PROXY": "http://127.0.0.1:9",
        "NO_PROXY": "127.0.0.1,localhost",
        "OPENAI_API_KEY": "bench-local",
        "LOCAL_OPENAI_API_KEY": "bench-local",
        "PYTHONUNBUFFERED": "1",
        "TOKENIZERS_PARALLELISM": "false",
    }
    return env | extra


def common_args(folder: Folder, settings: Settings, base_url: str, seed: int) -> list[str]:
    return [
        str(folder.path),
        "--config", str(folder.path / folder.config),
        "--base-url", base_url,
        "--calls", str(settings.calls),
        "--parallel", str(settings.parallel),
        "--seed", str(seed),
        "--temperature", str(settings.temperature),
        "--max-tokens", str(settings.max_tokens),
        "--model-timeout", str(settings.model_timeout),
    ]  # fmt: skip


def openevolve_config(
    folder: Folder, settings: Settings, base_url: str, seed: int, out: Path
) -> Path:
    """The folder's OpenEvolve config, its model pointed at the proxy, with the common
    settings (written into the run's work folder; the folder stays as it is)."""
    config = yaml.safe_load((folder.path / folder.config).read_text(encoding="utf-8"))
    llm = dict(config.get("llm") or {})
    for key in ("primary_model", "primary_model_weight", "secondary_model",
                "secondary_model_weight", "models", "evaluator_models", "top_p"):  # fmt: skip
        llm.pop(key, None)
    llm |= {
        "api_base": base_url,
        "api_key": "bench-local",
        "models": [{"name": "local", "weight": 1.0}],
        "temperature": settings.temperature,
        "max_tokens": settings.max_tokens,
        "timeout": int(settings.model_timeout),  # OpenEvolve's config takes whole seconds
    }
    config |= {
        "llm": llm,
        "max_iterations": settings.calls,
        "random_seed": seed,
        # a checkpoint per iteration: every program admitted is in one of them, even one that
        # a better program later pushes out of its MAP-Elites cell
        "checkpoint_interval": 1,
    }
    config["evaluator"] = dict(config.get("evaluator") or {}) | {
        "parallel_evaluations": settings.parallel
    }
    path = out / "openevolve_config.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def launch(
    framework: str, folder: Folder, settings: Settings, base_url: str, seed: int,
    work: Path, py: Pythons,
) -> tuple[list[str], dict[str, str]]:  # fmt: skip
    """The command line and environment of one run."""
    if framework == "hone":
        argv = [str(py.hone), str(LAUNCH), "hone", *common_args(folder, settings, base_url, seed)]
        argv += ["--run-dir", str(work / "run")]
        return argv, child_env({"PYTHONPATH": str(ROOT / "src")})
    if framework == "shinka":
        argv = [str(py.shinka), str(LAUNCH), "shinka"]
        argv += [*common_args(folder, settings, base_url, seed), "--results-dir", str(work / "run")]
        return argv, child_env({})
    config = openevolve_config(folder, settings, base_url, seed, work)
    program = next(folder.path.glob("initial_program.*"))
    cli = py.openevolve.parent / "openevolve-run"
    argv = [str(cli), str(program), str(folder.path / "evaluator.py"), "--config", str(config)]
    argv += ["--iterations", str(settings.calls), "--output", str(work / "run")]
    return argv, child_env({"OPENAI_API_BASE": base_url})


def run_process(argv: list[str], env: dict[str, str], work: Path, limit: float) -> tuple[int, bool]:
    """Run a framework in a session of its own; its exit status and whether it ran out of time
    (then it and everything it started are stopped)."""
    with (work / "output.log").open("wb") as log:
        process = subprocess.Popen(
            argv, cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        timed_out = False
        try:
            code = process.wait(timeout=limit)
        except BaseException as exc:  # stopped (Ctrl-C, SIGTERM) or out of time
            if not isinstance(exc, subprocess.TimeoutExpired):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                raise
            timed_out = True
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                code = process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                code = process.wait()
        # what the run left behind (OpenEvolve's pool, an evaluation still running)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
    return code, timed_out


# ---------------------------------------------------------------------------------- programs


def hone_programs(work: Path) -> list[Program]:
    """Every candidate in hone's store, with the text of the answer it came from, read through
    hone's own store: this hone keeps a program as a tree of files (a ShinkaEvolve folder's
    as ``main.py``, in ``files`` and ``blobs``) and an answer compressed (``completion_z``),
    leaving the rows' ``code`` and ``completion`` columns empty."""
    from hone.store import opened

    with opened(work / "run") as store:
        answers = {call["id"]: call["completion"] for call in store.calls(failed=True)}
        created = dict(store.conn.execute("SELECT id, created FROM candidates"))
        candidates = store.candidates_by_id(sorted(created))  # pending ones too
    programs = []
    for c in candidates:
        status, score = c.evaluation.status, c.evaluation.score
        programs.append(
            Program(
                code=c.tree.text if c.tree is not None else "",
                score=score,
                valid=status == "ok" and score is not None and score > 0,
                parent=str(c.parent_ids[0]) if c.parent_ids else None,
                ident=str(c.id),
                answer=answers.get(c.call_id) if c.call_id is not None else None,
                created=created[c.id],
                applied=status not in ("invalid-edit", "duplicate", "pending"),
                tuned=c.kind == "tune",
            )
        )
    return programs


def openevolve_programs(work: Path) -> list[Program]:
    """Every program in any of OpenEvolve's checkpoints, with its answer's text."""
    found: dict[str, dict[str, Any]] = {}
    for path in sorted((work / "run" / "checkpoints").glob("checkpoint_*/programs/*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        previous = found.get(data["id"], {})
        found[data["id"]] = previous | data if data.get("prompts") else data | previous
    programs = []
    for data in found.values():
        metrics = data.get("metrics") or {}
        score = metrics.get("combined_score")
        responses = [
            r for p in (data.get("prompts") or {}).values() for r in (p.get("responses") or [])
        ]
        programs.append(
            Program(
                code=data.get("code", ""),
                score=score,
                valid=isinstance(score, int | float)
                and score > 0
                and "error" not in metrics
                and "timeout" not in metrics,
                parent=data.get("parent_id"),
                ident=data["id"],
                answer=responses[0] if responses else None,
                created=float(data.get("timestamp") or 0.0),
            )
        )
    return programs


def shinka_programs(work: Path) -> list[Program]:
    """Every program in ShinkaEvolve's database, with its answer's text."""
    db = sqlite3.connect(f"file:{work / 'run' / 'programs.sqlite'}?mode=ro", uri=True)
    rows = db.execute(
        "SELECT id, code, parent_id, generation, timestamp, combined_score, correct, metadata "
        "FROM programs"
    ).fetchall()
    db.close()
    programs = []
    for ident, code, parent, generation, stamp, score, correct, metadata in rows:
        meta = json.loads(metadata or "{}")
        result = meta.get("llm_result") or {}
        programs.append(
            Program(
                code=code,
                score=score,
                valid=bool(correct) and score is not None,
                parent=parent,
                ident=ident,
                answer=result.get("content") if generation else None,
                created=float(stamp or 0.0),
            )
        )
    return programs


COLLECT: dict[str, Callable[[Path], list[Program]]] = {
    "hone": hone_programs,
    "openevolve": openevolve_programs,
    "shinka": shinka_programs,
}


def attribute(programs: list[Program], calls: list[dict[str, Any]]) -> int:
    """Give each program made from an answer the number of the call that answered it (exact
    text); the number of programs that matched no recorded answer (then: the first call not
    yet claimed that was answered before the program was stored)."""
    by_text: dict[str, list[int]] = {}
    for c in calls:
        if c.get("answer") is not None:
            by_text.setdefault(c["answer"].strip(), []).append(c["call"])
    claimed: set[int] = set()
    unmatched = []
    for p in sorted(programs, key=lambda p: p.created):
        if p.answer is None:
            continue
        text = p.answer.strip()
        numbers = [n for n in by_text.get(text, []) if n not in claimed]
        numbers = numbers or by_text.get(text, [])  # two programs from one answer
        if numbers:
            p.call = numbers[0]
            claimed.add(p.call)
        elif text:
            unmatched.append(p)
        # else: the proxy's empty answer to a call beyond the budget: no call of the run
    for p in unmatched:
        free = [c["call"] for c in calls if c["call"] not in claimed and c["answered"] <= p.created]
        p.call = free[0] if free else None
        if p.call is not None:
            claimed.add(p.call)
    return len(unmatched)


# ---------------------------------------------------------------------------------- scoring


class Rescorer:
    """The folder's own evaluator, by its peer's rules, in a subprocess of the peer's venv;
    one answer per (folder, program text)."""

    def __init__(self, py: Pythons, repeats: int, work: Path) -> None:
        self.py, self.repeats, self.work = py, repeats, work
        self.cache: dict[tuple[str, str], dict[str, Any]] = {}

    def __call__(self, folder: Folder, code: str) -> dict[str, Any]:
        digest = hashlib.sha256(code.encode()).hexdigest()[:16]
        key = (folder.name, digest)
        if key not in self.cache:
            self.work.mkdir(parents=True, exist_ok=True)
            program = self.work / f"{folder.name}-{digest}{program_suffix(folder)}"
            program.write_text(code, encoding="utf-8")
            python = self.py.openevolve if folder.peer == "openevolve" else self.py.shinka
            argv = [str(python), str(LAUNCH), f"rescore-{folder.peer}", str(folder.path)]
            argv += ["--config", str(folder.path / folder.config), "--program", str(program)]
            argv += ["--repeats", str(self.repeats)]
            done = subprocess.run(
                argv, cwd=self.work, env=child_env({}), capture_output=True, text=True,
                timeout=1800, check=False,
            )  # fmt: skip
            lines = [ln for ln in done.stdout.splitlines() if ln.startswith("{")]
            result = json.loads(lines[-1]) if lines else {"score": None, "scores": []}
            self.cache[key] = result | {"sha": digest}
        return self.cache[key]


def program_suffix(folder: Folder) -> str:
    return next(folder.path.glob("initial*")).suffix


def best_at(
    programs: list[Program], calls: list[dict[str, Any]], k: int, *, model_only: bool = False
) -> Program | None:
    """The best valid program after k calls (framework's record)."""
    later = [c["answered"] for c in calls if c["call"] > k]
    cutoff = min(later) if later else float("inf")
    eligible = []
    for p in programs:
        if not p.valid or p.score is None:
            continue
        if p.answer is None:  # the start, or a tuning trial
            if model_only and p.tuned:
                continue
            if p.tuned and p.created > cutoff:
                continue
        elif p.call is None or p.call > k:
            continue
        eligible.append(p)
    # among equal scores the earliest (a copy of the start is not progress)
    return max(eligible, key=lambda p: (p.score or 0.0, -p.created), default=None)


def analyse(
    programs: list[Program], calls: list[dict[str, Any]], folder: Folder, rescore: Rescorer
) -> dict[str, Any]:
    """The figures of one run."""
    forwarded = [c for c in calls if not c.get("refused")]
    answered = [c for c in forwarded if c["status"] == 200]
    unmatched = attribute(programs, forwarded)
    by_id = {p.ident: p for p in programs}
    made = [p for p in programs if p.answer is not None]
    applied = [p for p in made if p.applied]
    ran = [p for p in applied if p.valid]
    beat = [
        p
        for p in ran
        if p.parent in by_id
        and by_id[p.parent].score is not None
        and (p.score or 0.0) > (by_id[p.parent].score or 0.0)
    ]
    start = next((p for p in programs if p.answer is None and not p.tuned), None)
    best: dict[str, Any] = {}
    for k in (0, *POINTS):
        program = best_at(programs, forwarded, k)
        if program is None:
            best[str(k)] = None
            continue
        again = rescore(folder, program.code)
        best[str(k)] = {
            "recorded": program.score,
            "rescored": again["score"],
            "rescores": again["scores"],
            "call": program.call,
            "tuned": program.tuned,
            "sha": again["sha"],
        }
    waits = [
        c["latency"] - ((c.get("prompt_ms") or 0) + (c.get("predicted_ms") or 0)) / 1000
        for c in answered
        if c.get("predicted_ms") is not None
    ]
    return {
        "calls": len(forwarded),
        "refused": len(calls) - len(forwarded),
        "answers": len(answered),
        "applied": len(applied),
        "ran": len(ran),
        "beat_parent": len(beat),
        "tune_trials": sum(p.tuned for p in programs),
        "programs": len(programs),
        "unmatched": unmatched,
        "start": start.score if start else None,
        "best": best,
        "prompt_tokens": sum(c.get("prompt_tokens") or 0 for c in answered),
        "completion_tokens": sum(c.get("completion_tokens") or 0 for c in answered),
        "latency_median": round(statistics.median(c["latency"] for c in answered), 2)
        if answered
        else None,
        "wait_median": round(statistics.median(waits), 2) if waits else None,
    }


# ---------------------------------------------------------------------------------- results


def load(path: Path) -> dict[str, dict[str, Any]]:
    """The runs recorded so far, by key."""
    if not path.exists():
        return {}
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return {row["key"]: row for row in rows}


def record(path: Path, row: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as f:
        f.write(json.dumps(row) + "\n")


def run_key(framework: str, task: str, settings: Settings, seed: int) -> str:
    return (
        f"{framework}|{task}|{settings.model}|calls={settings.calls}|parallel={settings.parallel}"
        f"|seed={seed}"
    )


def median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def point(row: dict[str, Any], k: int) -> float | None:
    """A run's best after k calls, scored again (the record where the rescoring failed)."""
    best = (row.get("best") or {}).get(str(k))
    if best is None:
        return None
    return best["rescored"] if best["rescored"] is not None else best["recorded"]


# the digest `Rescorer` gives a program with no text: the benchmark found none for it (a
# store it could not read; rows recorded before hone_programs read trees), so the score is the
# framework's record, unchecked
NO_TEXT = hashlib.sha256(b"").hexdigest()[:16]
MARKS = {
    "!": "the best program's text was not found: the framework's record, not scored again "
    "(such a run is run again)",
    "*": "the folder's evaluator rejected the best program when scored again: the framework's "
    "record",
}


def mark(row: dict[str, Any], k: int) -> str:
    """'!' when the benchmark found no text for the run's best after k calls, '*' when the
    evaluator rejected it on rescoring, '' when it was scored again."""
    best = (row.get("best") or {}).get(str(k))
    if best is None:
        return ""
    if best.get("sha") == NO_TEXT:
        return "!"
    return "*" if best["rescored"] is None else ""


def flawed(row: dict[str, Any]) -> bool:
    """True when a recorded run's best programs were not found (it is run again)."""
    return any(mark(row, int(k)) == "!" for k in row.get("best") or {})


def fmt(value: float | None, width: int = 9) -> str:
    return f"{value:>{width}.5g}" if value is not None else f"{'-':>{width}}"


def cell(group: list[dict[str, Any]], k: int) -> tuple[float | None, str]:
    """The median best after k calls over a group's runs, and the strongest mark among them."""
    value = median([v for r in group if (v := point(r, k)) is not None])
    marks = {mark(r, k) for r in group}
    return value, next((m for m in MARKS if m in marks), "")


def table(rows: list[dict[str, Any]], settings: Settings) -> list[str]:
    """The table and the target lines."""
    lines = [
        f"{settings.model}, {settings.calls} calls, {settings.parallel} at once, temperature "
        f"{settings.temperature:g}, at most {settings.max_tokens} tokens per answer; medians "
        "over seeds, best programs scored again by the folder's evaluator",
        f"{'task':<34}{'framework':<11}{'runs':>4} {'applied':>8} {'ran':>5} {'beat':>5}"
        f"{'start':>9}{'best@5':>9}{'best@10':>9}{'best@20':>9}{'ptok/call':>10}"
        f"{'ctok/call':>10}{'wall s':>8}",
    ]
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault((row["task"], row["framework"]), []).append(row)
    medians: dict[tuple[str, str, int], tuple[float | None, str]] = {}
    used: set[str] = set()
    for (task, framework), group in sorted(groups.items()):
        answers = sum(r["answers"] for r in group) or 1
        calls = sum(r["calls"] for r in group) or 1
        for k in (0, *POINTS):
            medians[task, framework, k] = cell(group, k)
            used.add(medians[task, framework, k][1])
        lines.append(
            f"{task:<34}{framework:<11}{len(group):>4} "
            f"{100 * sum(r['applied'] for r in group) / answers:>7.0f}%"
            f"{100 * sum(r['ran'] for r in group) / answers:>5.0f}%"
            f"{100 * sum(r['beat_parent'] for r in group) / answers:>5.0f}%"
            + "".join(
                fmt(value, 8) + (sign or " ")
                for value, sign in (medians[task, framework, k] for k in (0, *POINTS))
            )
            + f"{sum(r['prompt_tokens'] for r in group) / calls:>10.0f}"
            f"{sum(r['completion_tokens'] for r in group) / calls:>10.0f}"
            f"{statistics.median(r['wall_s'] for r in group):>8.0f}"
        )
    lines.append("(applied, ran, beat: shares of the model's answers; tokens: per call)")
    lines += [f"{sign} {MARKS[sign]}" for sign in MARKS if sign in used]
    for task in sorted({t for t, _ in groups}):
        for peer in ("openevolve", "shinka"):
            if (task, peer) not in groups or (task, "hone") not in groups:
                continue
            for k in POINTS:
                (ours, mine), (theirs, their) = medians[task, "hone", k], medians[task, peer, k]
                met = ours is not None and (theirs is None or ours >= theirs)
                unchecked = " (unchecked: a best program's text was not found)"
                lines.append(
                    f"target hone_vs_{peer}_{task}_best@{k}: {fmt(ours, 0)} "
                    f"(goal >= {fmt(theirs, 0)}) {'met' if met else 'missed'}"
                    + (unchecked if "!" in (mine, their) else "")
                )
    return lines


# ---------------------------------------------------------------------------------- main


def run_one(
    framework: str, folder: Folder, seed: int, settings: Settings, proxy: LoggingProxy,
    base_url: str, py: Pythons, work_root: Path, rescore: Rescorer, limit: float,
) -> dict[str, Any]:  # fmt: skip
    """One run, from a fresh work folder to its row."""
    work = work_root / f"{framework}-{folder.name}-seed{seed}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    log = work / "calls.jsonl"
    log.touch()
    argv, env = launch(framework, folder, settings, base_url, seed, work, py)
    (work / "command.json").write_text(json.dumps({"argv": argv}, indent=1))
    proxy.recorder.begin(log, settings.calls)
    began = time.monotonic()
    try:
        code, timed_out = run_process(argv, env, work, limit)
    finally:
        wall = time.monotonic() - began
        proxy.recorder.end()
    if code < 0 and not timed_out:  # stopped from outside (a signal): not a measurement
        raise RuntimeError(f"stopped by signal {-code}; see {work / 'output.log'}")
    calls = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    try:
        programs = COLLECT[framework](work)
    except (OSError, sqlite3.Error, ValueError, KeyError) as exc:
        tail = (work / "output.log").read_text(errors="replace")[-600:].strip().splitlines()
        raise RuntimeError(
            f"exit {code}, no programs to read ({type(exc).__name__}: {exc}); "
            f"last output: {tail[-1] if tail else '(none)'}"
        ) from None
    if not programs or (not calls and not any(p.answer is not None for p in programs)):
        raise RuntimeError(
            f"exit {code}, nothing stored or no model call; see {work / 'output.log'}"
        )
    return {
        "framework": framework,
        "task": folder.name,
        "seed": seed,
        "exit": code,
        "timed_out": timed_out,
        "wall_s": round(wall, 1),
        **analyse(programs, calls, folder, rescore),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frameworks", default=",".join(FRAMEWORKS))
    parser.add_argument("--tasks", default=",".join(TASKS))
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--calls", type=int, default=20)
    parser.add_argument("--parallel", type=int, default=2, help="requests at once = slots")
    parser.add_argument("--model", default="qwen-coder-0.5b", help="a packaged model's name")
    parser.add_argument("--temperature", type=float, default=0.7)
    parser.add_argument("--max-tokens", type=int, default=2048)
    parser.add_argument("--model-timeout", type=float, default=1200.0)
    parser.add_argument("--ctx-per-slot", type=int, default=16384)
    parser.add_argument("--rescore-repeats", type=int, default=5)
    parser.add_argument("--run-timeout", type=float, default=5 * 3600, help="seconds per run")
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--work-root", type=Path, default=Path("/tmp/hone-peers-real"))
    parser.add_argument(
        "--venvs", type=Path, default=Path.home() / ".cache" / "hone-bench" / "venvs"
    )
    parser.add_argument("--print", action="store_true", help="only print what is recorded")
    args = parser.parse_args(argv)
    # SIGTERM stops it as Ctrl-C does: the current run's processes, the proxy and the server
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    frameworks = [f for f in args.frameworks.split(",") if f]
    tasks = [TASKS[t] for t in args.tasks.split(",") if t]
    settings = Settings(
        args.calls, args.parallel, args.temperature, args.max_tokens, args.model_timeout,
        args.model,
    )  # fmt: skip
    # seed-major: after each seed every framework has as many runs as the others
    plan = [
        (seed, framework, folder)
        for seed in range(args.seeds)
        for folder in tasks
        for framework in frameworks
        if framework == "hone" or framework == folder.peer
    ]
    if not args.print:
        done = load(args.results)
        todo = [
            p
            for p in plan
            if (row := done.get(run_key(p[1], p[2].name, settings, p[0]))) is None or flawed(row)
        ]
        print(f"{len(plan)} runs, {len(plan) - len(todo)} recorded", file=sys.stderr, flush=True)
        if todo:
            try:
                execute(todo, settings, args, frameworks)
            except KeyboardInterrupt:
                print("stopped; the runs recorded so far are kept", file=sys.stderr)
                return 130
    recorded = load(args.results)
    rows = [
        row
        for seed, framework, folder in plan
        if (row := recorded.get(run_key(framework, folder.name, settings, seed))) is not None
    ]
    print("\n".join(table(rows, settings)))
    return 0


def execute(
    todo: list[tuple[int, str, Folder]], settings: Settings, args: argparse.Namespace,
    frameworks: list[str],
) -> None:  # fmt: skip
    """Run what is not recorded yet, with one server and one proxy for all of it."""
    from hone.models import server

    py = pythons(args.venvs, frameworks, sorted({f for _, _, f in todo}, key=lambda f: f.name))
    versions = {
        "hone": None,  # this checkout: hone_commit
        "openevolve": version(py.openevolve, "openevolve") if "openevolve" in frameworks else None,
        "shinka": version(py.shinka, "shinka-evolve") if "shinka" in frameworks else None,
    }
    commit = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
        capture_output=True, text=True, check=False,
    ).stdout.strip()  # fmt: skip
    running, serving = server.start(
        args.model, port=0, slots=settings.parallel, ctx=args.ctx_per_slot * settings.parallel
    )
    proxy = LoggingProxy(serving.url.removesuffix("/v1"), timeout=settings.model_timeout + 60)
    base_url = proxy.start() + "/v1"
    print(
        f"serving {Path(serving.model).name} ({serving.slots} slots, {serving.threads} "
        f"thread(s)) behind the proxy at {base_url}",
        file=sys.stderr,
        flush=True,
    )
    rescore = Rescorer(py, args.rescore_repeats, args.work_root / "rescore")
    try:
        for seed, framework, folder in todo:
            key = run_key(framework, folder.name, settings, seed)
            print(f"running {key} ...", file=sys.stderr, flush=True)
            began = time.time()
            try:
                row = run_one(
                    framework, folder, seed, settings, proxy, base_url, py, args.work_root,
                    rescore, args.run_timeout,
                )  # fmt: skip
            except (RuntimeError, OSError, subprocess.SubprocessError, sqlite3.Error) as exc:
                print(f"failed {key}: {exc}", file=sys.stderr, flush=True)
                continue
            row = {
                "key": key,
                **row,
                "model": settings.model,
                "calls_budget": settings.calls,
                "parallel": settings.parallel,
                "temperature": settings.temperature,
                "max_tokens": settings.max_tokens,
                "version": versions[framework],
                "hone_commit": commit,
                "started": round(began),
            }
            record(args.results, row)
            best = point(row, POINTS[-1])
            print(
                f"done {key}: best {best} (start {row['start']}) after {row['calls']} calls, "
                f"{row['wall_s']:.0f} s",
                file=sys.stderr,
                flush=True,
            )
    finally:
        proxy.stop()
        del running


if __name__ == "__main__":
    sys.exit(main())
