"""ShinkaEvolve's contract for a C++ candidate: compile it with g++ into the results folder,
run it on a few inputs, and write correct.json and metrics.json. The score rewards a correct
count in little time: combined_score = 1 / (1 + milliseconds of the largest input)."""

import argparse
import json
import os
import subprocess
import time

CASES = [(10, 4), (100, 25), (1000, 168), (20000, 2262)]


def main(program_path, results_dir):
    os.makedirs(results_dir, exist_ok=True)
    binary = os.path.join(results_dir, "candidate")
    error, metrics = None, {"combined_score": 0.0}
    build = subprocess.run(
        ["g++", "-O2", "-o", binary, program_path], capture_output=True, text=True, timeout=60
    )
    if build.returncode != 0:
        error = "compilation failed:\n" + build.stderr[-2000:]
    else:
        milliseconds = 0.0
        for n, expected in CASES:
            start = time.perf_counter()
            run = subprocess.run(
                [binary], input=f"{n}\n", capture_output=True, text=True, timeout=20
            )
            milliseconds = 1000 * (time.perf_counter() - start)
            got = run.stdout.strip()
            if got != str(expected):
                error = f"for N = {n} the program printed {got!r}, expected {expected}"
                break
        if error is None:
            metrics = {
                "combined_score": 1.0 / (1.0 + milliseconds),
                "public": {"largest_input_ms": milliseconds},
                "text_feedback": [
                    f"all {len(CASES)} counts are right",
                    f"N = 20000 took {milliseconds:.1f} ms",
                ],
            }
    with open(os.path.join(results_dir, "correct.json"), "w") as f:
        json.dump({"correct": error is None, "error": error}, f)
    with open(os.path.join(results_dir, "metrics.json"), "w") as f:
        json.dump(metrics, f)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--program_path", type=str, required=True)
    parser.add_argument("--results_dir", type=str, required=True)
    args = parser.parse_args()
    main(args.program_path, args.results_dir)
