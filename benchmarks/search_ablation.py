"""Which search strategy finds better programs with the same model calls?

Run ``python benchmarks/search_ablation.py`` (a few minutes on 2 CPUs) or ``--quick``.

The model is a deterministic stand-in, the same for every strategy: it takes the program the
prompt asks it to improve and nudges one of the numeric literals inside its EVOLVE-BLOCK
(chosen, and perturbed by a log-normal factor or a small shift, with the request's seed). So
the only thing that differs between strategies is which programs they hand it. Three tasks,
each a multimodal landscape over the literals of a starting program, scored by a trivial
evaluator in hone's sandbox:

* ``rastrigin``: six parameters, maximise minus the Rastrigin function (many local optima);
* ``curve_fit``: five polynomial coefficients, maximise minus the squared error against
  sin(3x) on [-1, 1];
* ``spread``: ten points in the unit square, maximise the mean distance from each point to its
  nearest neighbour.

Each evaluator also reports one feature metric, for MAP-Elites. For every strategy, task and
seed the run makes 100 model calls (rounds of 4, 2 workers, deterministic mode, so the figures
do not depend on timing); the table shows, per strategy and task, the median over seeds of the
best score after 25, 50 and 100 calls.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import math
import random
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

import hone
from hone.budget import Budget
from hone.models.base import Completion, Request, Style, estimate_tokens

CHECKPOINTS = (25, 50, 100)
STRATEGIES = (
    "top-k",
    "weighted",
    "power-law",
    "islands",
    "map-elites",
)  # pareto: one objective here

TASKS: dict[str, tuple[str, str, dict[str, list[float]]]] = {
    "rastrigin": (
        "def params():\n    return [2.9, -3.1, 1.7, -2.4, 3.6, 0.8]\n",
        """
import importlib.util, math

def evaluate(path):
    spec = importlib.util.spec_from_file_location("c", path)
    m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)
    x = [float(v) for v in m.params()]
    f = 10 * len(x) + sum(v * v - 10 * math.cos(2 * math.pi * v) for v in x)
    return {"score": -f, "spread": sum(abs(v) for v in x) / len(x)}
""",
        {"spread": [0.0, 4.0, 8]},
    ),
    "curve_fit": (
        "def coefficients():\n    return [0.5, 0.5, 0.5, 0.5, 0.5]\n",
        """
import importlib.util, math

def evaluate(path):
    spec = importlib.util.spec_from_file_location("c", path)
    m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)
    c = [float(v) for v in m.coefficients()]
    xs = [-1 + 2 * i / 40 for i in range(41)]
    err = sum((sum(a * x ** k for k, a in enumerate(c)) - math.sin(3 * x)) ** 2 for x in xs)
    return {"score": -err / len(xs), "size": sum(abs(a) for a in c)}
""",
        {"size": [0.0, 10.0, 8]},
    ),
    "spread": (
        "def points():\n    return [\n"
        + "".join(
            f"        ({0.3 + 0.04 * i:.2f}, {0.4 + 0.03 * (i % 3):.2f}),\n" for i in range(10)
        )
        + "    ]\n",
        """
import importlib.util, math

def evaluate(path):
    spec = importlib.util.spec_from_file_location("c", path)
    m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)
    pts = [(min(max(float(x), 0.0), 1.0), min(max(float(y), 0.0), 1.0)) for x, y in m.points()]
    near = [min(math.dist(p, q) for j, q in enumerate(pts) if j != i) for i, p in enumerate(pts)]
    return {"score": sum(near) / len(near), "centre_x": sum(x for x, _ in pts) / len(pts)}
""",
        {"centre_x": [0.0, 1.0, 8]},
    ),
}

_PARENT = re.compile(r"— improve this one\n.*?```\w*\n(.*?)\n```", re.DOTALL)
_NUMBER = re.compile(r"(?<![\w.])-?\d+\.\d+")


class NudgeModel:
    """A stand-in model: one random local edit of a numeric literal of the parent."""

    style: Style = "chat"
    name = "nudge"

    async def generate(self, request: Request) -> Completion:
        """The parent with one literal nudged, chosen and sized by `request.seed`."""
        prompt = request.as_text()
        match = _PARENT.search(prompt)
        if match is None:
            return Completion("I have no idea.", estimate_tokens(prompt), 4)
        program = match.group(1) + "\n"
        start = program.index("EVOLVE-BLOCK-START")
        end = program.index("EVOLVE-BLOCK-END")
        literals = [m for m in _NUMBER.finditer(program) if start < m.start() < end]
        rng = random.Random(request.seed)
        target = rng.choice(literals)
        value = float(target.group())
        if rng.random() < 0.5:
            value *= math.exp(rng.gauss(0.0, 0.3))
        else:
            value += rng.gauss(0.0, 0.15)
        edited = program[: target.start()] + f"{value:.4f}" + program[target.end() :]
        return Completion(f"```python\n{edited}```", estimate_tokens(prompt), 40)

    async def close(self) -> None:
        """Nothing to release."""


def make_task(root: Path, name: str) -> Path:
    program, evaluator, _ = TASKS[name]
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "initial.py").write_text(
        f"# EVOLVE-BLOCK-START\n{program}# EVOLVE-BLOCK-END\n", encoding="utf-8"
    )
    (folder / "evaluate.py").write_text(evaluator.lstrip(), encoding="utf-8")
    (folder / "task.toml").write_text(
        f'name = "{name}"\ninstruction = "Improve the numbers."\nobjective = "maximize"\n',
        encoding="utf-8",
    )
    return folder


def best_after(history: tuple[hone.Candidate, ...], calls: int) -> float:
    """The best score among the start and the hypotheses of the first `calls` model calls."""
    scores = [c.score for c in history if (c.call_id is None or c.call_id <= calls)]
    return max(s for s in scores if s is not None)


def run_one(folder: Path, strategy: str, seed: int, calls: int, out: Path) -> list[float]:
    task = hone.Task.from_dir(folder)
    _, _, features = TASKS[folder.name]
    task = dataclasses.replace(
        task,
        budget=Budget(max_llm_calls=calls, patience=None),
        search=dataclasses.replace(
            task.search,
            strategy=strategy,
            features=features,
            hypotheses_per_round=4,
            deterministic=True,  # the same figures on every machine and every run
        ),
        evaluation=dataclasses.replace(task.evaluation, workers=2, timeout=10),
    )
    result = hone.run(task, model=NudgeModel(), run_dir=out, seed=seed)
    return [best_after(result.history, n) for n in CHECKPOINTS if n <= calls]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1 seed, 25 calls")
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args(argv)
    seeds = 1 if args.quick else args.seeds
    calls = 25 if args.quick else CHECKPOINTS[-1]
    logging.getLogger("hone").setLevel(logging.ERROR)
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="hone-ablation-") as name:
        root = Path(name)
        folders = {task: make_task(root / "tasks", task) for task in TASKS}
        table: dict[tuple[str, str], list[list[float]]] = {}
        for task, folder in folders.items():
            for strategy in STRATEGIES:
                for seed in range(seeds):
                    out = root / "runs" / f"{task}-{strategy}-{seed}"
                    table.setdefault((strategy, task), []).append(
                        run_one(folder, strategy, seed, calls, out)
                    )
    shown = [n for n in CHECKPOINTS if n <= calls]
    print(f"median best score over {seeds} seed(s); higher is better; {calls} calls per run")
    header = f"{'strategy':<11}" + "".join(
        f"{task + ' @' + str(n):>18}" for task in TASKS for n in shown
    )
    print(header)
    for strategy in STRATEGIES:
        cells = []
        for task in TASKS:
            runs = table[(strategy, task)]
            for i, _ in enumerate(shown):
                cells.append(f"{statistics.median(r[i] for r in runs):>18.4f}")
        print(f"{strategy:<11}" + "".join(cells))
    wins = {
        s: sum(
            statistics.median(r[-1] for r in table[(s, t)])
            >= max(statistics.median(r[-1] for r in table[(o, t)]) for o in STRATEGIES)
            for t in TASKS
        )
        for s in STRATEGIES
    }
    print("tasks on which each strategy has the best final median:", wins)
    print(f"took {time.monotonic() - began:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
