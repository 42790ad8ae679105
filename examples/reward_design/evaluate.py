"""Evaluator for reward design on MountainCar-v0 (Eureka's reward-search stage).

The candidate's `compute_reward(obs, action, next_obs, terminated)` trains a tabular Q-learning
policy from each of four fixed seeds (`mountain_car.train`); each greedy policy then drives
Gymnasium's own MountainCar-v0 for 50 fixed episodes. The score is the TRUE task metric -- the
fraction of episodes that reach the flag within 200 steps, plus up to 0.1 for reaching it
sooner -- and never the candidate's own reward. Per-component statistics over training (Eureka's
"reward reflection") go back to the model as `components`.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import mountain_car as mc

from hone.evaluation import load_program


def evaluate(program_path: str) -> dict:
    try:
        module = load_program(program_path)
    except Exception as exc:
        return {"combined_score": 0.0, "error": f"the program could not be loaded: {exc!r}"}
    reward_fn = getattr(module, "compute_reward", None)
    if not callable(reward_fn):
        return {
            "combined_score": 0.0,
            "error": "the program defines no function compute_reward(obs, action, next_obs, "
            "terminated)",
        }
    return evaluate_reward(reward_fn, program_path)


def evaluate_reward(reward_fn, program_path: str | None = None) -> dict:
    """Train with `reward_fn` and score the trained policies on the true success metric."""
    try:
        trainings = [mc.train(reward_fn, seed) for seed in mc.SEEDS]
    except mc.RewardError as exc:
        cause = exc.__cause__
        reason = (
            str(exc) if cause is None else f"{exc} -- {mc.describe_exception(cause, program_path)}"
        )
        return {"combined_score": 0.0, "error": reason}
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

    path = sys.argv[1] if len(sys.argv) > 1 else str(Path(__file__).resolve().parent / "initial.py")
    start = time.perf_counter()
    print(evaluate(path))
    print(f"{time.perf_counter() - start:.2f} s")
