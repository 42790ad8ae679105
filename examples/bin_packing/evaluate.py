"""Evaluator for online bin packing with a priority heuristic (FunSearch's setting).

For every item, in arrival order, the candidate bins are all bins whose remaining capacity is at
least the item's size -- unopened (empty) bins included -- in index order. The candidate's
`priority(item, bins)` gets the item's size and the remaining capacities of those candidate bins,
and the item goes into the candidate bin with the highest priority (ties: the lowest index).

Score: the excess of bins used over the L1 lower bound, in percent, averaged over two sets of
instances (lower is better). The search (`evaluate`) scores the training instances of
data/train.json, drawn from the held-out sets' distributions (data/generate.py); hone's held-out
validation (`validate`) scores OR3 and Weibull 5k (holdout/), which no search evaluation can read
([evaluation] holdout). Everything is recomputed here; nothing the candidate reports is trusted.
`verify_strict`, hone's strict re-check of each new best, packs the training instances again
apart from `pack`, in integers, and checks the count.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np

from hone.evaluation import load_program

HERE = Path(__file__).resolve().parent
# (key, label, instances): the search's training sets, one per held-out set
TRAINING = (("or", "OR-style training"), ("weibull", "Weibull training"))
HELD_OUT = (("or3", "OR3", "or3.json"), ("weibull", "Weibull 5k", "weibull_5k.json"))
INVALID_SCORE = 100.0


class InvalidHeuristic(Exception):
    """The heuristic returned something that cannot be used as priorities."""


def training() -> dict[str, dict[str, dict]]:
    """Each training set: instance name -> {"capacity", "num_items", "items"}."""
    sets: dict[str, dict[str, dict]] = json.loads((HERE / "data" / "train.json").read_text())
    return sets


def held_out() -> dict[str, dict[str, dict]]:
    """OR3 and Weibull 5k, as in `training` (readable only when hone validates)."""
    return {
        key: json.loads((HERE / "holdout" / filename).read_text(encoding="utf-8"))
        for key, _, filename in HELD_OUT
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
    """The search's score: the training instances."""
    return score(program_path, [(key, label, training()[key]) for key, label in TRAINING])


def validate(program_path: str) -> dict:
    """The held-out score (hone runs it on each new best): OR3 and Weibull 5k."""
    sets = held_out()
    return score(program_path, [(key, label, sets[key]) for key, label, _ in HELD_OUT])


def verify_strict(program_path: str) -> tuple[bool, str]:
    """The strict re-check of a new best (hone runs it on each): the training instances packed
    again apart from `pack`, in integers, each item's bin recorded; the bins used must be what
    `pack` counted (a program that changed the evaluator's counting, or packs differently when
    asked again, fails)."""
    priority = getattr(load_program(program_path), "priority", None)
    if not callable(priority):
        return False, "the program defines no function priority(item, bins)"
    checked = 0
    for key, _ in TRAINING:
        for name, instance in training()[key].items():
            items, capacity = instance["items"], int(instance["capacity"])
            try:
                placed = placements(priority, items, capacity)
                counted = pack(priority, items, capacity)
            except InvalidHeuristic as exc:
                return False, f"{name}: {exc}"
            used = len(set(placed))
            if used != counted:
                return False, f"{name}: the search counted {counted} bins, the re-simulation {used}"
            checked += 1
    return True, f"exact: {checked} training instances packed again, the same bins"


def placements(priority, items: list[int], capacity: int) -> list[int]:
    """The bin each item goes into, in integers (the re-check's own packing)."""
    left = np.full(len(items), capacity, dtype=np.int64)
    placed = []
    for size in items:
        open_ = np.flatnonzero(left >= size)
        scores = np.asarray(priority(float(size), left[open_].astype(float)), dtype=float)
        if scores.shape != open_.shape or not np.all(np.isfinite(scores)):
            raise InvalidHeuristic(f"priority returned unusable priorities for item {size}")
        where = int(open_[int(np.argmax(scores))])
        left[where] -= int(size)
        placed.append(where)
    return placed


def score(program_path: str, datasets: list[tuple[str, str, dict[str, dict]]]) -> dict:
    """The mean excess over `datasets` (key, label, instances), with each one's figures."""
    module = load_program(program_path)
    priority = getattr(module, "priority", None)
    if not callable(priority):
        return {
            "combined_score": INVALID_SCORE,
            "error": "the program defines no function priority(item, bins)",
        }
    result: dict = {}
    parts = []
    try:
        for key, label, instances in datasets:
            pct, mean_used, mean_l1 = excess(priority, instances)
            result[f"{key}_excess_pct"] = pct
            result[f"{key}_mean_bins"] = mean_used
            parts.append(f"{label}: {pct:.2f} % excess ({mean_used:.2f} bins vs L1 {mean_l1:.2f})")
    except InvalidHeuristic as exc:
        return {"combined_score": INVALID_SCORE, "error": str(exc)}
    result["combined_score"] = float(np.mean([result[f"{k}_excess_pct"] for k, *_ in datasets]))
    result["feedback"] = "; ".join(parts) + f"; mean excess {result['combined_score']:.2f} %"
    return result


if __name__ == "__main__":
    import time

    path = sys.argv[1] if len(sys.argv) > 1 else str(HERE / "initial.py")
    for name, function in (
        ("search (training)", evaluate),
        ("held-out", validate),
        ("strict re-check", verify_strict),
    ):
        start = time.perf_counter()
        print(f"{name}: {function(path)} ({time.perf_counter() - start:.2f} s)")
