"""ShinkaEvolve's command-line contract: evaluate.py --program_path P --results_dir D writes
D/correct.json and D/metrics.json. The score is the smallest distance between two points."""

import argparse
import importlib.util
import itertools
import json
import math
import os


def check(points, n):
    if len(points) != n:
        return f"expected {n} points, got {len(points)}"
    for x, y in points:
        if not (0.0 <= x <= 1.0 and 0.0 <= y <= 1.0):
            return f"point ({x:.3f}, {y:.3f}) is outside the unit square"
    return None


def main(program_path, results_dir):
    os.makedirs(results_dir, exist_ok=True)
    n, error, metrics = 8, None, {"combined_score": 0.0}
    try:
        spec = importlib.util.spec_from_file_location("program", program_path)
        program = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(program)
        points = [tuple(map(float, p)) for p in program.run_experiment(n)]
        error = check(points, n)
        if error is None:
            closest = min(math.dist(a, b) for a, b in itertools.combinations(points, 2))
            metrics = {
                "combined_score": closest,
                "public": {
                    "min_distance": closest,
                    "layout": "circle" if closest < 0.32 else "other",
                },
                "private": {"points": points},
                "text_feedback": f"the closest two points are {closest:.4f} apart",
            }
    except Exception as exc:  # a broken program is incorrect, with the reason
        error = f"{type(exc).__name__}: {exc}"
    with open(os.path.join(results_dir, "correct.json"), "w") as f:
        json.dump({"correct": error is None, "error": error}, f)
    with open(os.path.join(results_dir, "metrics.json"), "w") as f:
        json.dump(metrics, f)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--program_path", required=True)
    parser.add_argument("--results_dir", required=True)
    args = parser.parse_args()
    main(args.program_path, args.results_dir)
