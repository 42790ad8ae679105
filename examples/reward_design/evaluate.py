"""Evaluator for reward design with domain randomisation on MountainCar-v0 (DrEureka's form).

A hypothesis is a tree of two files: `reward.py`, whose `compute_reward(obs, action, next_obs,
terminated)` trains a tabular Q-learning policy from each of four fixed seeds
(`mountain_car.train`), and `randomisation.toml`, the physics ranges each training car draws
from at every reset. Each greedy policy then drives the held-out "real" car -- Gymnasium's
MountainCar-v0 with physics no candidate trains on, and a glitchy motor -- for 50 fixed
episodes. The score is the TRUE task metric there -- the fraction of episodes that reach the
flag within 200 steps, plus up to 0.1 for reaching it sooner -- never the candidate's own
reward. Per-component statistics over training (Eureka's "reward reflection") go back to the
model as `components`.

`evaluate_reward(reward_fn)` scores a reward alone on the nominal car (Eureka's stage, without
randomisation): `benchmarks/reward_design_cost.py` and the tests use it.
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import mountain_car as mc

from hone.evaluation import load_program


def evaluate(program_path: str) -> dict:
    """Score the hypothesis whose tree's root is `program_path`."""
    root = Path(program_path)
    try:
        module = load_program(str(root / "reward.py"))
    except Exception as exc:
        return {"combined_score": 0.0, "error": f"reward.py could not be loaded: {exc!r}"}
    reward_fn = getattr(module, "compute_reward", None)
    if not callable(reward_fn):
        return {
            "combined_score": 0.0,
            "error": "reward.py defines no function compute_reward(obs, action, next_obs, "
            "terminated)",
        }
    try:
        ranges = mc.check_ranges(tomllib.loads((root / "randomisation.toml").read_text()))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        return {"combined_score": 0.0, "error": f"randomisation.toml: {exc}"}
    except mc.InvalidRanges as exc:
        return {"combined_score": 0.0, "error": f"randomisation.toml: {exc}"}
    return evaluate_pair(reward_fn, ranges, str(root / "reward.py"))


def evaluate_pair(
    reward_fn, ranges: dict[str, tuple[float, float]], program_path: str | None = None
) -> dict:
    """Train with `reward_fn` under the randomisation `ranges`; score the policies on the
    held-out real car, and report the nominal car's success beside it."""
    try:
        trainings = [mc.train(reward_fn, seed, ranges) for seed in mc.SEEDS]
    except mc.RewardError as exc:
        return {"combined_score": 0.0, "error": _reward_failure(exc, program_path)}
    cars = mc.Transfer.of(trainings)
    success, length, nominal_success = cars.real_success, cars.real_mean_steps, cars.nominal_success
    stats = mc.statistics(trainings)
    train_success = stats["task_success"]
    return {
        "combined_score": mc.score(success, length),
        "real_success": success,
        "real_mean_steps": length,
        "nominal_success": nominal_success,
        "train_success_start": train_success["start"],
        "train_success_end": train_success["end"],
        "components": stats,
        "feedback": (
            f"randomised: {mc.shown_ranges(ranges)}. On the real car the greedy policies reached "
            f"the flag in {100 * success:.0f} % of {len(trainings) * mc.EVAL_EPISODES} episodes "
            f"(per training seed: {cars.per_seed}), in {length:.0f} steps on average (200 = "
            "failed); on the "
            f"nominal simulated car in {100 * nominal_success:.0f} %. During training the cars "
            f"reached the flag in {100 * train_success['start']:.0f} % of episodes in the first "
            f"fifth and {100 * train_success['end']:.0f} % in the last fifth. The table gives "
            "each reward component's sum per training episode; 'total' is the reward the "
            "policy maximised."
        ),
    }


def _reward_failure(exc: mc.RewardError, program_path: str | None) -> str:
    cause = exc.__cause__
    return str(exc) if cause is None else f"{exc} -- {mc.describe_exception(cause, program_path)}"


def evaluate_reward(reward_fn, program_path: str | None = None) -> dict:
    """Train with `reward_fn` on the nominal car and score the trained policies there on the
    true success metric (a reward alone, Eureka's stage)."""
    try:
        trainings = [mc.train(reward_fn, seed) for seed in mc.SEEDS]
    except mc.RewardError as exc:
        return {"combined_score": 0.0, "error": _reward_failure(exc, program_path)}
    results = [mc.rollout(t.q) for t in trainings]
    success = float(np.mean([s for s, _ in results]))
    length = float(np.mean([n for _, n in results]))
    stats = mc.statistics(trainings)
    per_seed = ", ".join(f"{s:.2f}" for s, _ in results)
    train_success = stats["task_success"]
    return {
        "combined_score": mc.score(success, length),
        "success_rate": success,
        "mean_steps": length,
        "train_success_start": train_success["start"],
        "train_success_end": train_success["end"],
        "components": stats,
        "feedback": (
            f"greedy policies reached the flag in {100 * success:.0f} % of "
            f"{len(results) * mc.EVAL_EPISODES} evaluation episodes (per training seed: "
            f"{per_seed}), in {length:.0f} steps on average (200 = failed). During training the "
            f"cars reached the flag in {100 * train_success['start']:.0f} % of episodes in the "
            f"first fifth and {100 * train_success['end']:.0f} % in the last fifth. The table "
            "gives each reward component's sum per training episode; 'total' is the reward the "
            "policy maximised."
        ),
    }


if __name__ == "__main__":
    import time

    here = Path(__file__).resolve().parent
    path = sys.argv[1] if len(sys.argv) > 1 else str(here / "hypothesis")
    start = time.perf_counter()
    print(evaluate(path))
    print(f"{time.perf_counter() - start:.2f} s")
