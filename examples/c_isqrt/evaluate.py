"""Evaluator for a fast integer square root written in C (the command verifier).

The candidate (a C file defining `uint64_t isqrt(uint64_t x)`) is copied into a temporary
folder next to the fixed harness (`harness.c`, `reference.c`), compiled with the system
compiler and run. The harness checks isqrt on about 400,000 inputs, times it against the
reference (the starting program's binary search) and prints the metrics as a JSON line:
score = the speedup over the reference when every result is right, else 0 with the wrong
results as feedback. A compiler error, a crash or a timeout is a failed evaluation whose
reason (the compiler's error lines included) goes back to the model.

The harness and the candidate share a process, so a hostile candidate could print a score of
its own; for scores a candidate cannot forge, check its output in Python (see examples/tsp_c).
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

from hone.evaluation import Evaluation
from hone.verifiers.command import run_commands

HERE = Path(__file__).resolve().parent
HARNESS = ("harness.c", "reference.c")
BUILD = ["cc", "-O2", "-std=c11", "-o", "bench", "harness.c", "reference.c", "candidate.c", "-lm"]
BUILD_SECONDS = 30.0
RUN_SECONDS = 20.0


def evaluate(program_path: str) -> Evaluation:
    """Compile the candidate with the harness, run it, and read its metrics."""
    with tempfile.TemporaryDirectory(prefix="hone-c-isqrt-") as tmp:
        work = Path(tmp)
        # Compiler messages then name candidate.c, with the line numbers of the program.
        shutil.copyfile(program_path, work / "candidate.c")
        for name in HARNESS:
            shutil.copyfile(HERE / name, work / name)
        return run_commands(
            work, BUILD, ["./bench"], timeout=RUN_SECONDS, build_timeout=BUILD_SECONDS
        )


if __name__ == "__main__":
    import time

    path = sys.argv[1] if len(sys.argv) > 1 else str(HERE / "initial.c")
    start = time.perf_counter()
    print(evaluate(path))
    print(f"{time.perf_counter() - start:.3f} s")
