"""Evaluator for online bin packing with a priority heuristic (FunSearch's setting).

For every item, in arrival order, the candidate bins are all bins whose remaining capacity is at
least the item's size -- unopened (empty) bins included -- in index order. The candidate's
`priority(item, bins)` gets the item's size and the remaining capacities of those candidate bins,
and the item goes into the candidate bin with the highest priority (ties: the lowest index).

Score: the excess of bins used over the L1 lower bound, in percent, averaged over the OR3 and the
Weibull 5k datasets (lower is better). Everything is recomputed here; nothing the candidate
reports is trusted.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np

from hone.evaluation import load_program

DATA_DIR = Path(__file__).resolve().parent / "data"
DATASETS = (("or3", "OR3", "or3.json"), ("weibull", "Weibull 5k", "weibull_5k.json"))
INVALID_SCORE = 100.0


class InvalidHeuristic(Exception):
    """The heuristic returned something that cannot be used as priorities."""


def load_datasets() -> dict[str, dict[str, dict]]:
    """Each dataset: instance name -> {"capacity", "num_items", "items"}."""
    return {
        key: json.loads((DATA_DIR / filename).read_text(encoding="utf-8"))
        for key, _, filename in DATASETS
    }


def pack(priority, items: list[int], capacity: float) -> int:
    """Pack `items` online with `priority`; return the number of bins used."""
    bins = np.full(len(items), float(capacity))
    for size in items:
        item = float(size)
        candidates = np.flatnonzero(bins >= item)
        scores = priority(item, bins[candidates])
        try:
            scores = np.asarray(scores, dtype=float)
        except (TypeError, ValueError) as exc:
            raise InvalidHeuristic(
                f"priority returned {type(scores).__name__} that is not numeric ({exc})"
            ) from None
        if scores.shape != candidates.shape:
            raise InvalidHeuristic(
                f"priority returned shape {scores.shape} for {len(candidates)} candidate bins "
                f"(item {item:g}); it must return one number per bin, shape ({len(candidates)},)"
            )
        if not np.all(np.isfinite(scores)):
            raise InvalidHeuristic(
                f"priority returned a non-finite value (NaN or inf) for item {item:g}"
            )
        bins[candidates[np.argmax(scores)]] -= item
    return int(np.count_nonzero(bins != capacity))


def l1_bound(items: list[int], capacity: float) -> int:
    """The L1 lower bound: ceil(total size / capacity)."""
    return math.ceil(sum(items) / capacity)


def excess(priority, instances: dict[str, dict]) -> tuple[float, float, float]:
    """(excess in percent, mean bins used, mean L1 bound) over a dataset's instances."""
    used, bounds = [], []
    for instance in instances.values():
        capacity = instance["capacity"]
        used.append(pack(priority, instance["items"], capacity))
        bounds.append(l1_bound(instance["items"], capacity))
    mean_used, mean_l1 = float(np.mean(used)), float(np.mean(bounds))
    return 100.0 * (mean_used - mean_l1) / mean_l1, mean_used, mean_l1


def evaluate(program_path: str) -> dict:
    module = load_program(program_path)
    priority = getattr(module, "priority", None)
    if not callable(priority):
        return {
            "combined_score": INVALID_SCORE,
            "error": "the program defines no function priority(item, bins)",
        }
    datasets = load_datasets()
    result: dict = {}
    parts = []
    try:
        for key, label, _ in DATASETS:
            pct, mean_used, mean_l1 = excess(priority, datasets[key])
            result[f"{key}_excess_pct"] = pct
            result[f"{key}_mean_bins"] = mean_used
            parts.append(f"{label}: {pct:.2f} % excess ({mean_used:.2f} bins vs L1 {mean_l1:.2f})")
    except InvalidHeuristic as exc:
        return {"combined_score": INVALID_SCORE, "error": str(exc)}
    result["combined_score"] = (result["or3_excess_pct"] + result["weibull_excess_pct"]) / 2
    result["feedback"] = "; ".join(parts) + f"; mean excess {result['combined_score']:.2f} %"
    return result


if __name__ == "__main__":
    import time

    path = sys.argv[1] if len(sys.argv) > 1 else str(Path(__file__).resolve().parent / "initial.py")
    start = time.perf_counter()
    print(evaluate(path))
    print(f"{time.perf_counter() - start:.2f} s")
