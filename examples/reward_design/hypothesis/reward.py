"""A reward function for MountainCar-v0: a policy is trained with it, then judged on reaching the flag."""

import numpy as np


# EVOLVE-BLOCK-START
def compute_reward(obs, action, next_obs, terminated):
    """Reward for a batch of transitions of N cars.

    Args:
        obs: (N, 2) array of [position, velocity] before the step.
        action: (N,) int array: 0 push left, 1 no push, 2 push right.
        next_obs: (N, 2) array of [position, velocity] after the step.
        terminated: (N,) bool array: the car reached the flag (position >= 0.5).

    Returns:
        (total, components): total is an (N,) array of rewards; components is a dict of named
        (N,) arrays (or numbers), the terms of the reward, reported back per episode.
    """
    position = next_obs[:, 0]
    time_penalty = -np.ones(len(action))
    progress = position + 0.5  # how far right of the valley floor the car is
    goal = 10.0 * terminated
    total = time_penalty + progress + goal
    return total, {"time_penalty": time_penalty, "progress": progress, "goal": goal}


# EVOLVE-BLOCK-END
