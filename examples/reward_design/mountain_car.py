"""MountainCar-v0 for reward design: physics, a vectorised copy of its dynamics, a tabular
Q-learning trainer and the true success metric, measured on Gymnasium's own environment.

Both task folders (this one and `randomisation/`) and `rapp.py` import this module.
"""

from __future__ import annotations

import math
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import gymnasium as gym
import numpy as np

MIN_POSITION, MAX_POSITION, GOAL_POSITION = -1.2, 0.6, 0.5
MAX_STEPS = 200  # MountainCar-v0's time limit

# The physics a candidate trains in, and the held-out "real" car no candidate ever trains in:
# a weaker motor, a steeper hill and a glitchy actuator (15 % of actions replaced at random).
NOMINAL = {"force": 0.001, "gravity": 0.0025, "max_speed": 0.07, "action_noise": 0.0}
REAL = {"force": 0.00075, "gravity": 0.0027, "max_speed": 0.07, "action_noise": 0.15}
# What a randomisation range may span at most, and where the RAPP sweep looks.
LIMITS = {
    "force": (0.0001, 0.005),
    "gravity": (0.0, 0.01),
    "max_speed": (0.01, 0.2),
    "action_noise": (0.0, 1.0),
}
SWEEP = {
    "force": (0.0005, 0.0015),
    "gravity": (0.00125, 0.00375),
    "max_speed": (0.035, 0.105),
    "action_noise": (0.0, 0.3),
}

# The trainer: tabular Q-learning on an 18 x 14 grid over (position, velocity), 32 cars stepped
# together, epsilon-greedy from 0.5 down to 0.02. Fixed seeds: the same reward trains the same
# policies.
BINS = (18, 14)
N_ENVS = 32
STEPS = 7000
ALPHA, GAMMA = 0.2, 0.99
EPSILON = (0.5, 0.02)
SEEDS = (0, 1, 2, 3)
EVAL_EPISODES = 50  # per trained policy
CHECKPOINTS = 5  # training is cut into fifths for the start/end statistics
MAX_COMPONENTS = 12

RewardFn = Callable[..., object]


class RewardError(Exception):
    """The candidate's reward function raised or returned something unusable."""


@dataclass
class Training:
    """A trained Q-table and what happened, per finished episode, while training it."""

    q: np.ndarray
    success: np.ndarray  # bool per episode: reached the flag (the true metric)
    length: np.ndarray  # steps per episode
    checkpoint: np.ndarray  # which fifth of training the episode ended in
    returns: dict[str, np.ndarray] = field(default_factory=dict)  # per-episode sums


def describe_exception(exc: BaseException, program_path: str | None = None) -> str:
    """`Type: message`, with the candidate's line that raised it when known."""
    text = f"{type(exc).__name__}: {exc}"
    if program_path is not None:
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == program_path]
        if frames:
            text += f" (line {frames[-1].lineno}: {(frames[-1].line or '').strip()})"
    return text


def make_env(physics: Mapping[str, float] = NOMINAL, seed: int = 0) -> gym.Env:
    """MountainCar-v0 with the given physics, and action noise when `action_noise` > 0."""
    env = gym.make("MountainCar-v0")
    car = env.unwrapped
    car.force = float(physics["force"])
    car.gravity = float(physics["gravity"])
    car.max_speed = float(physics["max_speed"])
    if physics.get("action_noise", 0.0) > 0:
        env = ActionNoise(env, float(physics["action_noise"]), seed)
    return env


class ActionNoise(gym.ActionWrapper):
    """With probability `p` the motor does a random action instead of the chosen one."""

    def __init__(self, env: gym.Env, p: float, seed: int):
        super().__init__(env)
        self.p = p
        self.rng = np.random.default_rng(seed)

    def action(self, action):
        if self.rng.random() < self.p:
            return int(self.rng.integers(3))
        return action


def step(pos, vel, action, force, gravity, max_speed):
    """MountainCarEnv.step on arrays of cars: (position, velocity, terminated)."""
    vel = vel + ((action - 1) * force + np.cos(3 * pos) * (-gravity))
    vel = np.minimum(np.maximum(vel, -max_speed), max_speed)  # np.clip, faster on small arrays
    pos = np.minimum(np.maximum(pos + vel, MIN_POSITION), MAX_POSITION)
    vel = np.where((pos == MIN_POSITION) & (vel < 0), 0.0, vel)
    return pos, vel, (pos >= GOAL_POSITION) & (vel >= 0.0)


def cell(pos, vel):
    """Index of the Q-table row for each (position, velocity)."""
    i = ((np.asarray(pos) - MIN_POSITION) / (MAX_POSITION - MIN_POSITION) * BINS[0]).astype(int)
    j = ((np.asarray(vel) + 0.07) / 0.14 * BINS[1]).astype(int)
    i = np.minimum(np.maximum(i, 0), BINS[0] - 1)
    return i * BINS[1] + np.minimum(np.maximum(j, 0), BINS[1] - 1)


def _sample(rng, ranges: Mapping[str, tuple[float, float]], n: int) -> dict[str, np.ndarray]:
    return {k: rng.uniform(*ranges.get(k, (v, v)), n) for k, v in NOMINAL.items()}


class InvalidRanges(Exception):
    """The randomisation is not a usable {parameter: (low, high)} dict."""


def check_ranges(value: object) -> dict[str, tuple[float, float]]:
    """The ranges as {parameter: (low, high)} floats, within `mountain_car.LIMITS`."""
    if not isinstance(value, dict):
        raise InvalidRanges(f"randomisation() returned a {type(value).__name__}, not a dict")
    ranges = {}
    for name, pair in value.items():
        if name not in LIMITS:
            raise InvalidRanges(f"unknown parameter {name!r}; use some of {sorted(LIMITS)}")
        try:
            low, high = (float(x) for x in pair)
        except (TypeError, ValueError):
            raise InvalidRanges(
                f"{name!r}: {pair!r} is not a (low, high) pair of numbers"
            ) from None
        lo, hi = LIMITS[name]
        if not (math.isfinite(low) and math.isfinite(high)) or low > high:
            raise InvalidRanges(f"{name!r}: ({low:g}, {high:g}) needs finite low <= high")
        if low < lo or high > hi:
            raise InvalidRanges(
                f"{name!r}: ({low:g}, {high:g}) is outside the allowed {lo:g}-{hi:g}"
            )
        ranges[name] = (low, high)
    return ranges


def check_reward(out: object, n: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The (total, components) a reward function returned, as finite arrays of shape (n,)."""
    if isinstance(out, tuple | list) and len(out) == 2 and isinstance(out[1], Mapping):
        total, parts = out
    elif isinstance(out, tuple | list | Mapping):
        raise RewardError(
            f"compute_reward returned a {type(out).__name__}; return (total, components): "
            f"an array of {n} rewards and a dict of named arrays"
        )
    else:
        total, parts = out, {}
    checked = {"total": _as_rewards(total, n, "the total reward")}
    if len(parts) > MAX_COMPONENTS:
        raise RewardError(f"{len(parts)} components; at most {MAX_COMPONENTS} are tracked")
    for name, value in parts.items():
        key = str(name).replace(".", "_")
        checked[key] = _as_rewards(value, n, f"component {str(name)!r}")
    return checked.pop("total"), checked


def _as_rewards(value: object, n: int, what: str) -> np.ndarray:
    try:
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise RewardError(f"{what} is a {type(value).__name__}, not numbers") from None
    try:
        array = array if array.shape == (n,) else np.broadcast_to(array, (n,))
    except ValueError:
        raise RewardError(
            f"{what} has shape {array.shape}; expected ({n},), one value per car"
        ) from None
    if not np.all(np.isfinite(array)):
        raise RewardError(
            f"{what} is NaN or infinite for {int(np.sum(~np.isfinite(array)))} car(s)"
        )
    return array


def train(
    reward_fn: RewardFn,
    seed: int = 0,
    randomisation: Mapping[str, tuple[float, float]] | None = None,
    steps: int = STEPS,
    n_envs: int = N_ENVS,
) -> Training:
    """Q-learning with `reward_fn(obs, action, next_obs, terminated)` on `n_envs` cars.

    With `randomisation`, each car draws its physics uniformly from the ranges at every reset.
    Raises RewardError when the reward function raises or returns something unusable.
    """
    rng = np.random.default_rng(seed)
    ranges = dict(randomisation or {})
    q = np.zeros((BINS[0] * BINS[1], 3))
    physics = _sample(rng, ranges, n_envs)
    pos, vel = rng.uniform(-0.6, -0.4, n_envs), np.zeros(n_envs)
    t = np.zeros(n_envs, dtype=int)
    sums: dict[str, np.ndarray] = {"total": np.zeros(n_envs)}
    log: dict[str, list] = {"success": [], "length": [], "checkpoint": []}
    returns: dict[str, list] = {}
    s = cell(pos, vel)
    for k in range(steps):
        eps = EPSILON[0] + (EPSILON[1] - EPSILON[0]) * k / steps
        explore = rng.random(n_envs) < eps
        action = np.where(explore, rng.integers(0, 3, n_envs), q[s].argmax(1))
        glitch = rng.random(n_envs) < physics["action_noise"]
        done_action = np.where(glitch, rng.integers(0, 3, n_envs), action)
        pos2, vel2, terminated = step(
            pos, vel, done_action, physics["force"], physics["gravity"], physics["max_speed"]
        )
        obs, next_obs = np.stack([pos, vel], 1), np.stack([pos2, vel2], 1)
        try:
            out = reward_fn(obs, action.copy(), next_obs, terminated.copy())
        except Exception as exc:  # the candidate's fault: report it, with the step
            raise RewardError(f"compute_reward raised at training step {k}: {exc!r}") from exc
        reward, parts = check_reward(out, n_envs)
        s2 = cell(pos2, vel2)
        target = reward + GAMMA * np.where(terminated, 0.0, q[s2].max(1))
        np.add.at(q, (s, action), ALPHA * (target - q[s, action]))
        sums["total"] += reward
        for name, value in parts.items():
            sums.setdefault(name, np.zeros(n_envs))[:] += value
        t += 1
        done = terminated | (t >= MAX_STEPS)
        if done.any():
            m = int(done.sum())
            log["success"].extend(terminated[done])
            log["length"].extend(t[done])
            log["checkpoint"].extend([k * CHECKPOINTS // steps] * m)
            for name, acc in sums.items():
                returns.setdefault(name, []).extend(acc[done])
                acc[done] = 0.0
            pos2, vel2 = pos2.copy(), vel2.copy()
            pos2[done], vel2[done], t[done] = rng.uniform(-0.6, -0.4, m), 0.0, 0
            for name, values in _sample(rng, ranges, m).items():
                physics[name][done] = values
            s2 = cell(pos2, vel2)
        pos, vel, s = pos2, vel2, s2
    count = len(log["success"])
    return Training(
        q=q,
        success=np.array(log["success"], dtype=bool),
        length=np.array(log["length"], dtype=int),
        checkpoint=np.array(log["checkpoint"], dtype=int),
        returns={k: np.array(v, dtype=float)[:count] for k, v in returns.items()},
    )


def rollout(
    q: np.ndarray,
    physics: Mapping[str, float] = NOMINAL,
    episodes: int = EVAL_EPISODES,
    seed: int = 10_000,
) -> tuple[float, float]:
    """(success rate, mean episode length) of the greedy policy on Gymnasium's MountainCar-v0."""
    env = make_env(physics, seed)
    successes, lengths = 0, []
    for i in range(episodes):
        obs, _ = env.reset(seed=seed + i)
        terminated = truncated = False
        steps = 0
        while not (terminated or truncated):  # the TimeLimit wrapper truncates at MAX_STEPS
            obs, _, terminated, truncated, _ = env.step(int(q[cell(obs[0], obs[1])].argmax()))
            steps += 1
        successes += bool(terminated)
        lengths.append(steps)
    env.close()
    return successes / episodes, float(np.mean(lengths))


def sim_rollout(
    q: np.ndarray, physics: Mapping[str, float] = NOMINAL, episodes: int = 100, seed: int = 10_000
) -> tuple[float, float]:
    """The same as `rollout`, on all episodes at once with the vectorised dynamics."""
    rng = np.random.default_rng(seed)
    pos, vel = rng.uniform(-0.6, -0.4, episodes), np.zeros(episodes)
    done, length = np.zeros(episodes, dtype=bool), np.full(episodes, MAX_STEPS)
    noise = float(physics.get("action_noise", 0.0))
    for n in range(1, MAX_STEPS + 1):
        action = q[cell(pos, vel)].argmax(1)
        if noise > 0:
            action = np.where(rng.random(episodes) < noise, rng.integers(0, 3, episodes), action)
        pos, vel, terminated = step(
            pos, vel, action, physics["force"], physics["gravity"], physics["max_speed"]
        )
        length[terminated & ~done] = n
        done |= terminated
        if done.all():
            break
    return float(done.mean()), float(length.mean())


@dataclass(frozen=True)
class Transfer:
    """How trained greedy policies do on the held-out real car and on the nominal one."""

    real_success: float
    real_mean_steps: float
    nominal_success: float
    per_seed: str  # the real car's success per training seed, "0.62, 0.70, ..."

    @classmethod
    def of(cls, trainings: list[Training]) -> Transfer:
        """Roll out each training's policy on both cars (EVAL_EPISODES each)."""
        real = [rollout(t.q, REAL) for t in trainings]
        nominal = [rollout(t.q, NOMINAL) for t in trainings]
        return cls(
            float(np.mean([s for s, _ in real])),
            float(np.mean([n for _, n in real])),
            float(np.mean([s for s, _ in nominal])),
            ", ".join(f"{s:.2f}" for s, _ in real),
        )


def shown_ranges(ranges: Mapping[str, tuple[float, float]]) -> str:
    """The ranges as feedback reads them: "force 0.0007-0.0015, ..." or "none"."""
    return ", ".join(f"{k} {lo:g}-{hi:g}" for k, (lo, hi) in ranges.items()) or "none"


def score(success: float, mean_length: float) -> float:
    """Success rate, with a tie-break of up to 0.1 for reaching the flag sooner."""
    return success + 0.1 * (1.0 - mean_length / MAX_STEPS)


def statistics(trainings: list[Training]) -> dict[str, dict[str, float]]:
    """Eureka's reward reflection: per component, per-episode sums over training."""
    checkpoint = np.concatenate([t.checkpoint for t in trainings])
    columns = {
        "task_success": np.concatenate([t.success for t in trainings]).astype(float),
        "episode_length": np.concatenate([t.length for t in trainings]).astype(float),
    }
    for name in trainings[0].returns:
        columns[name] = np.concatenate([t.returns[name] for t in trainings])
    stats = {}
    first, last = checkpoint == 0, checkpoint == CHECKPOINTS - 1
    for name, values in columns.items():
        if len(values) == 0:
            continue
        stats[name] = {
            "mean": float(values.mean()),
            "min": float(values.min()),
            "max": float(values.max()),
            "start": float(values[first].mean()) if first.any() else math.nan,
            "end": float(values[last].mean()) if last.any() else math.nan,
        }
    return stats


def env_reward(obs, action, next_obs, terminated):
    """MountainCar-v0's own reward: -1 per step."""
    return np.full(len(action), -1.0), {"step": np.full(len(action), -1.0)}


def energy_reward(obs, action, next_obs, terminated):
    """A hand-written reward: -1 per step, a bonus for gaining mechanical energy, +10 at the flag.

    The energy term is potential-based shaping (Ng et al. 1999) with the car's energy per unit
    mass, kinetic plus potential, so it does not change which policies are optimal.
    """

    def energy(x):
        return 0.5 * x[:, 1] ** 2 + NOMINAL["gravity"] / 3 * np.sin(3 * x[:, 0])

    time = np.full(len(action), -1.0)
    shaping = 1e5 * (GAMMA * energy(next_obs) - energy(obs))
    goal = 10.0 * terminated
    return time + shaping + goal, {"time": time, "energy_gain": shaping, "goal": goal}
