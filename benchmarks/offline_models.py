"""Which embedded model improves most per minute on this machine?

Run ``python benchmarks/offline_models.py`` (hours on 2 shared cores; ``--seeds``, ``--calls``,
``--models`` and ``--tasks`` cut it down). Each candidate model (`hone.models.packaged.MODELS`)
runs ``examples/circle_packing``, ``examples/bin_packing`` and ``examples/closed_form_sum`` with
the same call budget and parameter tuning off (the model alone), and the table shows per model
and task: the share of answers that applied (an edit hone could apply: not "invalid-edit" nor a
near-copy), the share that evaluated ok, the median best score after the budget, and the median
wall time of a run.

Every run's figures are appended to ``--results`` (JSON lines) as it ends, and runs already
there are not run again: the benchmark can be stopped and started, and ``--print`` only prints
the table of what is there. ``benchmarks/tuning_ablation.py`` shares the file.

A task with held-out validation (``[evaluation] holdout``, bin_packing since 2026-12-06) has its
runs recorded under keys ending in ``|holdout``, with the held-out score of the start
(``start_holdout``) and of the best (``holdout``) beside their search scores: the runs recorded
before, when its search scored the held-out sets, stay under the old keys.

Each run records a digest of the example folder it ran (``example``: its files but the
READMEs). A run recorded for another version of the folder is run again, and ``--print`` marks
it with ``*``: its figures are for a folder that has changed since.

``--no-outcomes`` leaves the outcomes out of best-shot prompts (each version's metrics and
feedback, the last failures' reasons: `hone.prompts.completion.OUTCOMES`), as hone's prompts
were before they carried them; its runs are recorded under keys of their own.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import logging
import shutil
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import hone
from hone.models.packaged import DEFAULT, MODELS
from hone.prompts import completion

ROOT = Path(__file__).resolve().parents[1]
TASKS = ("circle_packing", "bin_packing", "closed_form_sum")
RESULTS = ROOT / "benchmarks" / "results" / "offline_models.jsonl"


def figures(result: hone.RunResult, task: hone.Task, seconds: float) -> dict[str, Any]:
    """What one run shows: answers, how many applied and evaluated ok, start, best, time."""
    answered = [c for c in result.history if c.call_id is not None]
    applied = [c for c in answered if c.evaluation.status not in ("invalid-edit", "duplicate")]
    start = result.history[0].score
    best = result.best
    return {
        "answers": len(answered),
        "applied": len(applied),
        "ok": sum(c.evaluation.ok for c in answered),
        "improved": sum(
            c.score is not None
            and start is not None
            and hone.objective.better(task.objective, c.score, start)
            for c in answered
        ),
        "tune_trials": sum(c.kind == "tune" for c in result.history),
        "start": start,
        "best": result.best_score,
        # (the held-out scores of the start and the best: None without validation)
        "start_holdout": result.history[0].holdout,
        "holdout": best.holdout if best is not None else None,
        "seconds": round(seconds, 1),
        "calls": result.usage.calls,
        "completion_tokens": result.usage.completion_tokens,
    }


def run_example(
    task_name: str, model: str, seed: int, calls: int, runs: Path, *, tune: bool,
    evaluations: int | None = None, tune_trials: int | None = None,
) -> dict[str, Any]:  # fmt: skip
    """One run of an example with the embedded model `model` (a name from MODELS, with
    "/chat" or "/completion" for prompts of that style)."""
    name, _, style = model.partition("/")
    task = hone.Task.from_dir(ROOT / "examples" / task_name).configured(
        budget={"max_llm_calls": calls, "patience": 0, "max_evaluations": evaluations},
        search={"tune": tune, "tune_trials": tune_trials},
        model={"spec": f"embedded:{name}", "style": style},
    )
    out = (
        runs / f"{task_name}-{model.replace('/', '-')}-{'tune' if tune else 'model'}-{calls}-{seed}"
    )
    shutil.rmtree(out, ignore_errors=True)  # a run stopped before it was recorded: anew
    began = time.monotonic()
    result = hone.run(task, run_dir=out, seed=seed)
    return figures(result, task, time.monotonic() - began)


def digest(files: dict[str, bytes]) -> str:
    """A short digest of an example folder's files (relative POSIX path -> contents), all but
    its READMEs and caches."""
    h = hashlib.sha256()
    for name in sorted(files):
        parts = name.split("/")
        if name.endswith(".md") or any(p == "__pycache__" or p.startswith(".") for p in parts):
            continue
        h.update(name.encode() + b"\0" + files[name] + b"\0")
    return h.hexdigest()[:12]


@functools.cache
def example_digest(task: str) -> str:
    """The digest of examples/TASK as it is now."""
    folder = ROOT / "examples" / task
    return digest(
        {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    )


def current(row: dict[str, Any], task: str) -> bool:
    """Whether a recorded run is of the example folder as it is now."""
    return row.get("example") == example_digest(task)


def load(path: Path) -> dict[str, dict[str, Any]]:
    """The runs recorded so far, by key."""
    if not path.exists():
        return {}
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return {row["key"]: row for row in rows}


def record(path: Path, key: str, row: dict[str, Any]) -> None:
    """Append one run's figures."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as f:
        f.write(json.dumps({"key": key, **row}) + "\n")


def cached(
    path: Path, task: str, key: str, make: Callable[[], dict[str, Any]]
) -> dict[str, Any] | None:
    """A recorded run's figures, or run it now and record them (also when it was recorded for
    another version of examples/TASK); None (and a line saying why) when the run failed, e.g.
    the model did not answer within its timeout: nothing is recorded for it, so the next
    invocation runs it again."""
    done = load(path)
    if key not in done or not current(done[key], task):
        again = " again (its example has changed since)" if key in done else ""
        print(f"running {key}{again} ...", file=sys.stderr, flush=True)
        try:
            row = make()
        except hone.HoneError as exc:
            print(f"failed {key}: {exc}", file=sys.stderr, flush=True)
            return None
        record(path, key, {**row, "example": example_digest(task)})
        done = load(path)
    return done[key]


def model_key(task: str, model: str, seed: int, calls: int, outcomes: bool = True) -> str:
    """The key of a model-only run (`outcomes`: False for prompts without them)."""
    tail = ("" if outcomes else "|no-outcomes") + split(task)
    return f"{task}|{model}|model|calls={calls}|seed={seed}{tail}"


@functools.cache
def split(task: str) -> str:
    """ "|holdout" for an example validated on held-out data, whose keys say so; else ""."""
    return "|holdout" if hone.Task.from_dir(ROOT / "examples" / task).evaluation.holdout else ""


def table(rows: list[dict[str, Any]], task: str) -> str:
    """Applied, ok, median best and wall time of a group of runs (a `*` after the best: some
    were recorded for an earlier version of examples/TASK)."""
    stale = "*" if not all(current(r, task) for r in rows) else " "
    answers = sum(r["answers"] for r in rows) or 1
    best = statistics.median(r["best"] for r in rows)
    wall = statistics.median(r["seconds"] for r in rows)
    return (
        f"{100 * sum(r['applied'] for r in rows) / answers:>6.0f} % {100 * sum(r['ok'] for r in rows) / answers:>6.0f} %"
        f" {best:>10.5g}{stale}{wall:>6.0f} s  (start {rows[0]['start']:.5g}, {len(rows)} seed(s), "
        f"{sum(r['improved'] for r in rows)} answers beat the start)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--models",
        default=",".join([*MODELS, f"{DEFAULT}/chat"]),
        help="comma-separated names; NAME/chat or NAME/completion for that prompt style",
    )
    parser.add_argument("--tasks", default=",".join(TASKS))
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--calls", type=int, default=12)
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--runs", type=Path, default=Path("/tmp/hone-offline-models"))
    parser.add_argument("--print", action="store_true", help="only print what is recorded")
    parser.add_argument(
        "--no-outcomes", action="store_true", help="best-shot prompts without outcomes"
    )
    args = parser.parse_args(argv)
    completion.OUTCOMES = not args.no_outcomes
    logging.getLogger("hone").setLevel(logging.ERROR)
    models, tasks = args.models.split(","), args.tasks.split(",")
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for model in models:
        for task in tasks:
            for seed in range(args.seeds):
                key = model_key(task, model, seed, args.calls, not args.no_outcomes)
                if args.print:
                    row = load(args.results).get(key)
                else:
                    row = cached(
                        args.results, task, key, functools.partial(
                            run_example, task, model, seed, args.calls, args.runs, tune=False
                        ),
                    )  # fmt: skip
                if row is not None:
                    groups.setdefault((model, task), []).append(row)
    outcomes = "without" if args.no_outcomes else "with"
    print(
        f"{args.calls} model calls per run, tuning off, prompts {outcomes} outcomes; default: {DEFAULT}"
    )
    print(f"{'model':<21}{'task':<17}{'applied':>8} {'ok':>8} {'best':>10} {'wall':>9}")
    for (model, task), rows in groups.items():
        print(f"{model:<21}{task:<17}{table(rows, task)}")
    if not all(current(r, task) for (_, task), rows in groups.items() for r in rows):
        print("* some runs were of an earlier version of the example folder: run it again")
    return 0


if __name__ == "__main__":
    sys.exit(main())
