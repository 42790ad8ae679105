"""Where do the gains come from: the model, parameter tuning, or both?

Run ``python benchmarks/tuning_ablation.py`` (hours with the embedded model on 2 shared cores;
``--fake-only`` takes about a minute). Three arms with the same budgets, median best score over
seeds:

* model only: ``[search] tune`` off, the call budget;
* tuning only: no model call, the evaluation budget spent tuning the starting program's
  constants (one stage of ``max_evaluations`` trials);
* both: the call budget and the evaluation budget (``tune_trials`` per new best program).

On ``examples/circle_packing``, ``bin_packing`` and ``closed_form_sum`` with the default
embedded model (``--model NAME`` for another; 12 calls, 60 evaluations: the examples'
settings), and on the three tasks of ``benchmarks/search_ablation.py`` with its deterministic
stand-in model (50 calls, 50 evaluations). Real-model runs are recorded in
``benchmarks/results/offline_models.jsonl`` and not run again (model-only runs are shared with
``benchmarks/offline_models.py``). For a task validated on held-out data (bin_packing) the
search score and the held-out score of the start and of each arm's best are printed too, median
and each seed. ``--real-only --tasks bin_packing`` runs (or with ``--print`` prints) one task.
A run recorded for an earlier version of its example folder is run again (``--print`` marks it
with ``*``; see ``benchmarks/offline_models.py``).
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import offline_models
import search_ablation

import hone
from hone.budget import Budget
from hone.models.packaged import DEFAULT

ARMS = ("model only", "tuning only", "both")


def fake_run(folder: Path, arm: str, seed: int, calls: int, evaluations: int, out: Path) -> float:
    """The best score of one run of a search_ablation task."""
    task = hone.Task.from_dir(folder)
    _, _, features = search_ablation.TASKS[folder.name]
    tune = arm != "model only"
    task = dataclasses.replace(
        task,
        budget=Budget(
            max_llm_calls=0 if arm == "tuning only" else calls,
            patience=None,
            max_evaluations=evaluations if tune else None,
        ),
        search=dataclasses.replace(
            task.search,
            hypotheses_per_round=4,
            deterministic=True,
            tune=tune,
            tune_trials=max(evaluations, 1) if arm == "tuning only" else 20,
            features=features,
        ),
        evaluation=dataclasses.replace(task.evaluation, workers=2, timeout=10),
    )
    result = hone.run(task, model=search_ablation.NudgeModel(), run_dir=out, seed=seed)
    assert result.best_score is not None
    return result.best_score


def real_run(
    task: str, arm: str, seed: int, calls: int, evaluations: int, args: Any
) -> dict[str, Any] | None:
    """The recorded figures of one run of an example with the embedded model `args.model`
    (run now unless recorded; None when it failed, or with `--print` is not recorded)."""
    if arm == "model only":
        key = offline_models.model_key(task, args.model, seed, calls)
        make = lambda: offline_models.run_example(  # noqa: E731
            task, args.model, seed, calls, args.runs, tune=False
        )
    else:
        n = 0 if arm == "tuning only" else calls
        trials = evaluations if arm == "tuning only" else None
        key = f"{task}|{args.model}|tune|calls={n}|evaluations={evaluations}|seed={seed}"
        key += offline_models.split(task)
        make = lambda: offline_models.run_example(  # noqa: E731
            task,
            args.model,
            seed,
            n,
            args.runs,
            tune=True,
            evaluations=evaluations,
            tune_trials=trials,
        )
    if args.print:
        return offline_models.load(args.results).get(key)
    return offline_models.cached(args.results, task, key, make)


def figure(rows: list[dict[str, Any] | None], name: str) -> str:
    """The median of the runs' figure `name` and each run's ("-": not recorded)."""
    values = [row.get(name) if row is not None else None for row in rows]
    known = [v for v in values if v is not None]
    each = ", ".join("-" if v is None else f"{v:.5g}" for v in values)
    return f"{statistics.median(known):.5g} ({each})" if known else "-"


def share(start: float, scores: dict[str, float]) -> str:
    """Which part of the gain of "both" over the start each arm alone reaches."""
    gain = scores["both"] - start
    if gain == 0 or gain != gain:
        return "no gain"
    model = (scores["model only"] - start) / gain
    tuning = (scores["tuning only"] - start) / gain
    return f"model alone {100 * model:.0f} %, tuning alone {100 * tuning:.0f} % of the gain of both"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--fake-only", action="store_true", help="only the stand-in model's tasks")
    parser.add_argument("--real-only", action="store_true", help="only the embedded model's tasks")
    parser.add_argument("--tasks", default=",".join(offline_models.TASKS))
    parser.add_argument("--model", default=DEFAULT, help="the embedded model of the real tasks")
    parser.add_argument("--results", type=Path, default=offline_models.RESULTS)
    parser.add_argument("--runs", type=Path, default=Path("/tmp/hone-offline-models"))
    parser.add_argument("--print", action="store_true", help="real tasks: only what is recorded")
    args = parser.parse_args(argv)
    logging.getLogger("hone").setLevel(logging.ERROR)
    began = time.monotonic()
    rows: list[tuple[str, str, float, dict[str, float], set[str]]] = []  # (.., stale arms)
    held: list[tuple[str, str, list[dict[str, Any] | None]]] = []  # (task, arm, runs)
    with tempfile.TemporaryDirectory(prefix="hone-tuning-") as name:
        root = Path(name)
        for task in () if args.real_only else search_ablation.TASKS:
            folder = search_ablation.make_task(root / "tasks", task)
            scores = {}
            for arm in ARMS:
                runs = [
                    fake_run(folder, arm, seed, 50, 50, root / "runs" / f"{task}-{arm}-{seed}")
                    for seed in range(args.seeds)
                ]
                scores[arm] = statistics.median(runs)
            start = fake_run(folder, "tuning only", 0, 0, 0, root / "runs" / f"{task}-start")
            rows.append((task, "stand-in, 50 calls, 50 evaluations", start, scores, set()))
    if not args.fake_only:
        for task in args.tasks.split(","):
            scores = {}
            recorded: list[dict[str, Any]] = []
            stale = set()
            for arm in ARMS:
                runs = [real_run(task, arm, seed, 12, 60, args) for seed in range(args.seeds)]
                scores[arm] = statistics.median(
                    float("nan") if r is None else float(r["best"]) for r in runs
                )
                recorded += [r for r in runs if r is not None]
                if not all(offline_models.current(r, task) for r in runs if r is not None):
                    stale.add(arm)
                if offline_models.split(task):
                    held.append((task, arm, runs))
            rows.append(
                (
                    task,
                    f"{args.model}, 12 calls, 60 evaluations",
                    recorded[0]["start"] if recorded else float("nan"),
                    scores,
                    stale,
                )
            )
    print(f"median best score over {args.seeds} seed(s)")
    print(f"{'task':<16}{'budget':<40}{'start':>10}" + "".join(f"{a:>13}" for a in ARMS))
    for task, budget, start, scores, stale in rows:
        cells = "".join(f"{scores[a]:>12.5g}{'*' if a in stale else ' '}" for a in ARMS)
        print(f"{task:<16}{budget:<40}{start:>10.5g}{cells}  {share(start, scores)}")
    if any(stale for *_, stale in rows):
        print("* some runs were of an earlier version of the example folder: run it again")
    if held:
        print("\ntasks validated on held-out data: search and held-out scores, median (each seed)")
        for task, arm, runs in held:
            print(
                f"{task:<16}{arm:<13} start: search {figure(runs, 'start')}, held-out "
                f"{figure(runs, 'start_holdout')}"
            )
            print(
                f"{'':<29} best:  search {figure(runs, 'best')}, held-out {figure(runs, 'holdout')}"
            )
    print(f"took {time.monotonic() - began:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
