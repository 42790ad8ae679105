"""Evaluator for a travelling-salesman heuristic written in C.

The candidate (a C file) is compiled with the system compiler and run once per instance, with
the cities on stdin; it prints a visiting order. This evaluator checks that the order is a
permutation of all cities and computes the tour's length itself: what the program claims about
its tour is never used. The score is the mean over the instances of length / sqrt(n * area),
lower is better (a random order scores about 0.52 * sqrt(n), an optimal tour about 0.7124 for
large n). Everything runs inside hone's sandbox (no network, limits, its own user).
"""

from __future__ import annotations

import math
import random
import sys
from pathlib import Path

from hone.evaluation import Evaluation
from hone.verifiers.command import run

SIZES = (200, 500, 1000)  # cities per instance
SEED = 2024


def instances() -> list[list[tuple[float, float]]]:
    """The fixed instances: uniform random cities in the unit square."""
    rng = random.Random(SEED)
    return [[(rng.random(), rng.random()) for _ in range(n)] for n in SIZES]


def tour_length(cities: list[tuple[float, float]], order: list[int]) -> float:
    """Length of the closed tour visiting `cities` in `order`."""
    return sum(
        math.dist(cities[order[i]], cities[order[(i + 1) % len(order)]]) for i in range(len(order))
    )


def read_order(text: str, n: int) -> list[int]:
    """The permutation the program printed; ValueError naming what is wrong with it."""
    try:
        order = [int(token) for token in text.split()]
    except ValueError:
        raise ValueError("the program must print only integers, one city index per line") from None
    if len(order) != n:
        raise ValueError(f"the program printed {len(order)} indices for {n} cities")
    if sorted(order) != list(range(n)):
        missing = sorted(set(range(n)) - set(order))[:5]
        raise ValueError(f"the order is not a permutation of 0..{n - 1} (missing e.g. {missing})")
    return order


def evaluate(program_path: str) -> Evaluation:
    workdir = Path(program_path).parent
    built = run(
        ["cc", "-O2", "-std=c11", "-o", "tour", program_path, "-lm"], cwd=workdir, timeout=30
    )
    if not built.ok:
        return built.failure("compiling the program")
    metrics: dict[str, float] = {}
    ratios = []
    for cities in instances():
        n = len(cities)
        stdin = f"{n}\n" + "".join(f"{x:.10f} {y:.10f}\n" for x, y in cities)
        ran = run(["./tour"], cwd=workdir, input=stdin, timeout=10)
        if not ran.ok:
            return ran.failure(f"the program on {n} cities")
        try:
            order = read_order(ran.stdout, n)
        except ValueError as exc:
            return Evaluation.failed("error", f"on {n} cities: {exc}")
        ratio = tour_length(cities, order) / math.sqrt(n)
        ratios.append(ratio)
        metrics[f"ratio_{n}"] = ratio
        metrics[f"seconds_{n}"] = ran.seconds
    score = sum(ratios) / len(ratios)
    feedback = "tour length / sqrt(n): " + ", ".join(
        f"{n} cities {r:.4f}" for n, r in zip(SIZES, ratios, strict=True)
    )
    return Evaluation(
        score=score, metrics=metrics, feedback=feedback + " (optimal is about 0.7124)"
    )


if __name__ == "__main__":
    import shutil
    import tempfile

    source = sys.argv[1] if len(sys.argv) > 1 else str(Path(__file__).parent / "initial.c")
    with tempfile.TemporaryDirectory() as tmp:
        print(evaluate(shutil.copy(source, tmp)))
