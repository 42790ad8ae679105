"""Cost and effect of the reward-design example (Eureka + DrEureka on MountainCar-v0).

Run ``python benchmarks/reward_design_cost.py`` (about 2 minutes on 2 cores) or ``--quick``.
It prints:

seconds per candidate
    Medians of wall-clock and CPU time over several evaluations, in this process (no sandbox):
    a hypothesis of the main task (a reward and its randomisation: train four policies, score
    them on the held-out real car and the nominal one), stage 2 (a randomisation alone) and
    one RAPP sweep.
rewards
    On the same fixed seeds, the true success on the nominal car of policies trained there with
    a zero reward, the environment's own reward, the starting reward, and the hand-written
    energy reward (`evaluate_reward`: a reward alone, Eureka's stage).
randomisation
    The success on the held-out real car of policies trained with the hand-written reward and no
    randomisation, the RAPP ranges of ``randomisation/initial.py``, and too-wide ranges.

Training and evaluation use fixed seeds, so the scores are the same in every run; only the
timings vary.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from hone.evaluation import load_program

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "reward_design"
TOO_WIDE = {"force": (0.0003, 0.003), "gravity": (0.001, 0.006), "action_noise": (0.0, 0.6)}


def median_seconds(fn, n: int) -> tuple[float, float]:
    """Median wall-clock and CPU seconds of `fn()` over `n` calls."""
    wall, cpu = [], []
    for _ in range(n):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return statistics.median(wall), statistics.median(cpu)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    args = parser.parse_args(argv)
    n = 3 if args.quick else 5
    stage1 = load_program(EXAMPLE / "evaluate.py")
    stage2 = load_program(EXAMPLE / "randomisation" / "evaluate.py")
    rapp = load_program(EXAMPLE / "rapp.py")
    initial2 = load_program(EXAMPLE / "randomisation" / "initial.py")
    mc = stage1.mc

    print(f"seconds per candidate (median of {n}, no sandbox)      wall      CPU")
    s1 = median_seconds(lambda: stage1.evaluate(str(EXAMPLE / "hypothesis")), n)
    s2 = median_seconds(lambda: stage2.evaluate(str(EXAMPLE / "randomisation" / "initial.py")), n)
    policies = rapp.trained_policies()
    sweep = median_seconds(lambda: rapp.rapp_ranges(policies), max(1, n // 2))
    for label, (wall, cpu) in (
        ("a hypothesis: reward + randomisation (4 trainings + 400 episodes)", s1),
        ("stage 2: a randomisation (4 trainings + 400 episodes)", s2),
        ("RAPP sweep (4 parameters x 11-12 values, 4 policies)", sweep),
    ):
        print(f"  {label:<66} {wall:6.2f} s {cpu:6.2f} s")

    rewards = {
        "zero reward": lambda o, a, x, t: (np.zeros(len(a)), {}),
        "environment's reward (-1 per step)": mc.env_reward,
        "starting program (time + position + goal)": load_program(
            str(EXAMPLE / "hypothesis" / "reward.py")
        ).compute_reward,
        "hand-written (energy shaping + goal)": mc.energy_reward,
    }
    print("\nrewards (stage 1; seeds 0-3, 50 evaluation episodes each)")
    print(f"  {'reward':<44} {'success':>8} {'steps':>7} {'score':>7} {'own return':>11}")
    for label, fn in rewards.items():
        r = stage1.evaluate_reward(fn)
        own = r["components"]["total"]["end"]
        print(
            f"  {label:<44} {r['success_rate']:8.3f} {r['mean_steps']:7.1f} "
            f"{r['combined_score']:7.3f} {own:11.1f}"
        )

    configs = {
        "no randomisation": {},
        "RAPP ranges (all four)": dict(initial2.RAPP_RANGES),
        "RAPP ranges of force, gravity, action_noise": {
            k: initial2.RAPP_RANGES[k] for k in ("force", "gravity", "action_noise")
        },
        "too wide (force, gravity, noise x3-4)": TOO_WIDE,
    }
    print("\nrandomisation (stage 2; hand-written reward, seeds 0-3, 50 real episodes each)")
    print(f"  {'ranges':<44} {'real':>7} {'nominal':>8} {'training':>9} {'score':>7}")
    for label, ranges in configs.items():
        r = stage2.evaluate_ranges(ranges)
        print(
            f"  {label:<44} {r['real_success']:7.3f} {r['nominal_success']:8.3f} "
            f"{r['train_success']:9.3f} {r['combined_score']:7.3f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
