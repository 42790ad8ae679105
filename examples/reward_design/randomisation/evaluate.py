"""Evaluator for domain randomisation on MountainCar-v0 (DrEureka's second stage).

The candidate's `randomisation()` returns physics ranges. With a fixed reward (stage 1's best,
carried over by `rapp.py --reward runs/<run>/best/reward.py --write` into `reward.py` here, else the
hand-written `mountain_car.energy_reward`), a policy is trained from each of four fixed seeds, every car
drawing its physics from those ranges at each reset. Each greedy policy then drives the held-out
"real" car -- Gymnasium's MountainCar-v0 with physics no candidate trains on, and a glitchy
motor -- for 50 fixed episodes. The score is the success rate there, plus up to 0.1 for
reaching the flag sooner.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import mountain_car as mc

from hone.evaluation import load_program


def evaluate(program_path: str) -> dict:
    try:
        module = load_program(program_path)
    except Exception as exc:
        return {"combined_score": 0.0, "error": f"the program could not be loaded: {exc!r}"}
    function = getattr(module, "randomisation", None)
    if not callable(function):
        return {"combined_score": 0.0, "error": "the program defines no function randomisation()"}
    try:
        ranges = mc.check_ranges(function())
    except mc.InvalidRanges as exc:
        return {"combined_score": 0.0, "error": str(exc)}
    except Exception as exc:
        return {
            "combined_score": 0.0,
            "error": f"randomisation() raised {mc.describe_exception(exc, program_path)}",
        }
    return evaluate_ranges(ranges)


def fixed_reward() -> mc.RewardFn:
    """The reward policies are trained with: stage 1's best (`reward.py` here, written by
    `rapp.py --reward ... --write`), else the hand-written `mountain_car.energy_reward`."""
    carried = Path(__file__).resolve().parent / "reward.py"
    if carried.is_file():
        return load_program(str(carried)).compute_reward
    return mc.energy_reward


REWARD = fixed_reward()


def evaluate_ranges(ranges: dict[str, tuple[float, float]]) -> dict:
    """Train under `ranges` with the fixed reward; score on the held-out real car."""
    trainings = [mc.train(REWARD, seed, ranges) for seed in mc.SEEDS]
    cars = mc.Transfer.of(trainings)
    success, length, sim_success = cars.real_success, cars.real_mean_steps, cars.nominal_success
    train_success = float(np.mean(np.concatenate([t.success for t in trainings])))
    return {
        "combined_score": mc.score(success, length),
        "real_success": success,
        "real_mean_steps": length,
        "nominal_success": sim_success,
        "train_success": train_success,
        "feedback": (
            f"randomised: {mc.shown_ranges(ranges)}. On the real car the policies reached the "
            f"flag in {100 * success:.0f} % of {len(trainings) * mc.EVAL_EPISODES} episodes (per "
            f"training seed: {cars.per_seed}), in {length:.0f} steps on average (200 = failed); "
            "on the nominal "
            f"simulated car in {100 * sim_success:.0f} %. {100 * train_success:.0f} % of the "
            "training episodes reached the flag."
        ),
    }


if __name__ == "__main__":
    import time

    path = sys.argv[1] if len(sys.argv) > 1 else str(Path(__file__).resolve().parent / "initial.py")
    start = time.perf_counter()
    print(evaluate(path))
    print(f"{time.perf_counter() - start:.2f} s")
