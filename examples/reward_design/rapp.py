"""DrEureka's reward-aware physics prior (RAPP) for MountainCar-v0.

Sweep each physics parameter alone, the others nominal, with policies trained by a good reward
on the nominal car, and keep the contiguous range around the nominal value where they still
reach the flag. These ranges ground the randomisation stage (`randomisation/`):

    python examples/reward_design/rapp.py            # print the sweep and the ranges
    python examples/reward_design/rapp.py --write    # also update RAPP_RANGES in
                                                     # randomisation/initial.py
    python examples/reward_design/rapp.py --reward runs/<run>/best/reward.py --write
        # DrEureka's order: the best reward of stage 1 trains the policies of the sweep, and
        # is copied to randomisation/reward.py, the reward stage 2 trains with
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import mountain_car as mc

from hone.evaluation import load_program

HERE = Path(__file__).resolve().parent
POINTS = 11  # grid values per parameter, plus the nominal one
THRESHOLD = 0.8  # mean success rate a setting needs to count as feasible
EPISODES = 100  # per policy and setting


def trained_policies(reward_fn: mc.RewardFn = mc.energy_reward) -> list[np.ndarray]:
    """Greedy Q-tables trained on the nominal car, one per fixed seed."""
    return [mc.train(reward_fn, seed).q for seed in mc.SEEDS]


def sweep(
    policies: Sequence[np.ndarray],
    bounds: Mapping[str, tuple[float, float]] = mc.SWEEP,
    points: int = POINTS,
) -> dict[str, list[tuple[float, float]]]:
    """Per parameter: (value, mean success rate of the policies) over the grid, ascending."""
    table = {}
    for name, (low, high) in bounds.items():
        grid = sorted({*np.linspace(low, high, points).round(10), mc.NOMINAL[name]})
        rows = []
        for value in grid:
            physics = {**mc.NOMINAL, name: float(value)}
            success = np.mean([mc.sim_rollout(q, physics, EPISODES)[0] for q in policies])
            rows.append((float(value), float(success)))
        table[name] = rows
    return table


def feasible_range(
    rows: Sequence[tuple[float, float]], nominal: float, threshold: float = THRESHOLD
) -> tuple[float, float] | None:
    """The widest run of feasible values that contains `nominal`; None if nominal fails."""
    values = [v for v, _ in rows]
    ok = [s >= threshold for _, s in rows]
    i = values.index(nominal)
    if not ok[i]:
        return None
    lo = hi = i
    while lo > 0 and ok[lo - 1]:
        lo -= 1
    while hi < len(rows) - 1 and ok[hi + 1]:
        hi += 1
    return values[lo], values[hi]


def rapp_ranges(
    policies: Sequence[np.ndarray], threshold: float = THRESHOLD
) -> dict[str, tuple[float, float] | None]:
    """Per physics parameter, the range in which the policies still succeed."""
    return {
        name: feasible_range(rows, mc.NOMINAL[name], threshold)
        for name, rows in sweep(policies).items()
    }


def write_ranges(ranges: Mapping[str, tuple[float, float] | None], path: Path) -> None:
    """Replace the RAPP_RANGES dict in the randomisation task's starting program."""
    lines = ["RAPP_RANGES = {"]
    lines += [f'    "{name}": {value!r},' for name, value in ranges.items()]
    lines.append("}")
    text = path.read_text(encoding="utf-8")
    new, count = re.subn(r"RAPP_RANGES = \{.*?\n\}", "\n".join(lines), text, flags=re.S)
    if count != 1:
        raise SystemExit(f"no RAPP_RANGES = {{...}} block in {path}")
    path.write_text(new, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", action="store_true", help="update randomisation/initial.py")
    parser.add_argument(
        "--reward",
        help="a reward program (stage 1's best/reward.py) instead of the hand-written reward; with "
        "--write it becomes stage 2's reward (randomisation/reward.py)",
    )
    args = parser.parse_args(argv)
    reward_fn: mc.RewardFn = mc.energy_reward
    if args.reward:
        module = load_program(args.reward)
        reward_fn = getattr(module, "compute_reward", None)
        if not callable(reward_fn):
            raise SystemExit(f"{args.reward} defines no compute_reward(obs, action, ...)")
    policies = trained_policies(reward_fn)
    table = sweep(policies)
    ranges = {}
    for name, rows in table.items():
        ranges[name] = feasible_range(rows, mc.NOMINAL[name])
        print(f"{name} (nominal {mc.NOMINAL[name]:g}): feasible {ranges[name]}")
        print("  " + "  ".join(f"{v:g}:{s:.2f}" for v, s in rows))
    if args.write:
        target = HERE / "randomisation" / "initial.py"
        write_ranges(ranges, target)
        print(f"wrote RAPP_RANGES to {target}")
        carried = HERE / "randomisation" / "reward.py"
        if args.reward:
            shutil.copyfile(args.reward, carried)
            print(f"stage 2 now trains with {args.reward} (copied to {carried})")
        elif carried.exists():
            carried.unlink()
            print(f"stage 2 trains with the hand-written reward again (removed {carried})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
