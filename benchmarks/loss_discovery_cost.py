"""Cost per candidate of examples/loss_discovery, and the reference losses' fitness over seeds.

Run ``python benchmarks/loss_discovery_cost.py`` (about a minute) or ``--quick``.

cost
    Wall-clock seconds per candidate in hone's sandbox (``ProcessPool.verify`` with the task's
    ``[evaluation]`` settings, one worker, the cascade's two stages: DiscoPOP's unit test, then
    training in 3 worlds), median over several evaluations of the starting program (DPO); and
    each stage alone, in this process.
fitness
    Each reference loss (``examples/loss_discovery/archive``) scored with the evaluator's seed 0
    (worlds 0-2, the score hone sees) and with seeds 1, 2, ... (worlds 3-5, 6-8, ...): mean,
    standard deviation, range, and the mean KL to the reference in nats per response.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path
from types import ModuleType

from hone.evaluation import load_program
from hone.executors.local import ProcessPool
from hone.settings import EvaluationConfig
from hone.task import Task

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "loss_discovery"
LOSSES = ("dpo", "slic", "ipo", "kto", "lrml")


def sandbox_times(task: Task, n: int) -> tuple[list[float], str]:
    """Seconds per candidate in the sandbox, both stages, one worker."""
    config = EvaluationConfig(
        **{**task.evaluation.__dict__, "workers": 1, "cache": False},
    )

    async def go() -> tuple[list[float], str]:
        pool = ProcessPool(task.evaluator, task.program_filename, config, task.objective)
        try:
            first = await pool.verify(task.program)  # waits for the worker to import torch
            assert first.evaluation.ok, first.evaluation
            times = []
            for _ in range(n):
                t0 = time.perf_counter()
                verified = await pool.verify(task.program)
                times.append(time.perf_counter() - t0)
                assert verified.evaluation.metrics["stages_passed"] == 2, verified.evaluation
            return times, pool.protections
        finally:
            await pool.close()

    return asyncio.run(go())


def stage_times(evaluator: ModuleType, n: int) -> tuple[list[float], list[float]]:
    path = str(EXAMPLE / "initial.py")
    one, two = [], []
    for _ in range(n):
        t0 = time.perf_counter()
        assert evaluator.evaluate_stage1(path).ok
        t1 = time.perf_counter()
        evaluator.evaluate_stage2(path)
        one.append(t1 - t0)
        two.append(time.perf_counter() - t1)
    return one, two


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer evaluations and seeds")
    parser.add_argument("--seeds", type=int, default=0, help="seeds per loss (default 5; 3 quick)")
    args = parser.parse_args(argv)
    n = 3 if args.quick else 7
    seeds = args.seeds or (3 if args.quick else 5)
    task = Task.from_dir(EXAMPLE)
    evaluator = load_program(EXAMPLE / "evaluate.py")

    sandbox, protections = sandbox_times(task, n)
    one, two = stage_times(evaluator, n)
    print(f"sandbox: {protections}")
    print(f"seconds per candidate (median of {n})")
    print(f"  {'in the sandbox, both stages':<36} {statistics.median(sandbox):6.2f} s")
    print(f"  {'stage 1 (unit test), in process':<36} {statistics.median(one):6.3f} s")
    print(f"  {'stage 2 (training), in process':<36} {statistics.median(two):6.2f} s")

    print(f"\nfitness over seeds 0-{seeds - 1} ({evaluator.WORLDS} worlds each)")
    print(f"{'loss':<6} {'seed 0':>8} {'mean':>8} {'sd':>7} {'min':>8} {'max':>8} {'KL':>7}")
    for name in LOSSES:
        loss = load_program(EXAMPLE / "archive" / f"{name}.py").loss
        runs = [evaluator.fitness(loss, seed) for seed in range(seeds)]
        scores = [r["score"] for r in runs]
        spread = statistics.stdev(scores) if len(scores) > 1 else 0.0
        kl = statistics.mean(r["kl"] for r in runs)
        print(
            f"{name:<6} {scores[0]:8.4f} {statistics.mean(scores):8.4f} {spread:7.4f} "
            f"{min(scores):8.4f} {max(scores):8.4f} {kl:7.1f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
