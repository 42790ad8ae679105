"""How much faster the speed examples' known better programs score than their starts.

    python benchmarks/example_speedups.py [--repeat 3]

c_isqrt, c_primes and textindex score a program by its speed, so what their tests can assert
anywhere is the order (the faster program scores higher than the start in the same run); the
size of the gain is the clock's, and lives here. Each repeat is one `hone.run` per example
with a scripted model answering the tests' faster program (tests/examples/: a floating-point
square root; a sieve built with -O2; postings and a heap), one evaluation worker; the figure
is the faster program's score over the start's in that run (the median over the repeats).
It ends with one line per example: `target NAME: VALUE (goal GOAL) met|missed`; the goals are
the margins the tests once asserted (measured at load 6 on 2 cores: 20, 224 and 4.8).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import hone
from hone.task import Task
from hone.testing import ScriptedModel
from tests.examples import test_c_isqrt, test_c_primes, test_textindex

ANSWERS = {
    "c_isqrt": f"A floating-point root, corrected:\n```c\n{test_c_isqrt.FPU}```",
    "c_primes": f"A sieve, and -O2.\n\n```c primes.c\n{test_c_primes.SIEVE}```\n"
    + test_c_primes.OPTIMISED,
    "textindex": "Postings and a heap.\n\n"
    f"```python textindex/index.py\n{test_textindex.FAST_INDEX}```\n\n"
    f"```python textindex/rank.py\n{test_textindex.FAST_RANK}```\n",
}
GOALS = {"c_isqrt": 3.0, "c_primes": 3.0, "textindex": 1.2}
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def speedup(name: str, where: Path) -> float:
    """The faster program's score over the start's, in one run."""
    task = Task.from_dir(EXAMPLES / name)
    result = hone.run(
        task.configured(evaluation={"workers": 1}),
        model=ScriptedModel([ANSWERS[name]]),
        run_dir=where,
        budget=task.budget.merged(max_llm_calls=1),
    )
    start, faster = result.history
    if start.score is None or faster.score is None:
        raise SystemExit(f"{name}: a program failed: {start.evaluation.reason}; "
                         f"{faster.evaluation.reason}")  # fmt: skip
    return faster.score / start.score


def main() -> None:
    """Run each example `--repeat` times; print each run's figure, then the targets."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    figures: dict[str, list[float]] = {name: [] for name in ANSWERS}
    with tempfile.TemporaryDirectory(prefix="hone-speedups-") as root:
        for i in range(args.repeat):
            for name in ANSWERS:
                figures[name].append(speedup(name, Path(root) / f"{name}-{i}"))
                print(f"{name} run {i + 1}: {figures[name][-1]:.2f}x", flush=True)
    for name, values in figures.items():
        value, goal = statistics.median(values), GOALS[name]
        verdict = "met" if value >= goal else "missed"
        print(f"target {name}_speedup: {value:.2f}x (goal >= {goal:g}x) {verdict}")


if __name__ == "__main__":
    main()
