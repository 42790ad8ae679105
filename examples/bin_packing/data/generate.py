"""Write train.json: the instances the search evolves on, drawn from the distributions of the
held-out sets (holdout/), with fixed seeds, so that no held-out instance is among them.

- OR-style: 10 instances of 500 items, sizes uniform on the integers 20..100, capacity 150
  (OR-Library's binpack3 draws its u500 instances so);
- Weibull: 2 instances of 5,000 items, sizes from Weibull(shape 3, scale 45), clipped to 1..100
  and rounded, capacity 100 (FunSearch's Weibull 5k draws its instances so).

Run it to check train.json: ``python examples/bin_packing/data/generate.py`` rewrites it the
same, byte for byte.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def or_style(seed: int) -> dict:
    """An instance like OR3's: 500 integer sizes uniform on 20..100, capacity 150."""
    items = np.random.default_rng(seed).integers(20, 101, size=500)
    return {"capacity": 150, "num_items": 500, "items": [int(i) for i in items]}


def weibull(seed: int) -> dict:
    """An instance like Weibull 5k's: 5,000 sizes from Weibull(3, 45), in 1..100, capacity 100."""
    sizes = 45.0 * np.random.default_rng(seed).weibull(3.0, size=5000)
    items = np.clip(np.round(sizes), 1, 100)
    return {"capacity": 100, "num_items": 5000, "items": [int(i) for i in items]}


def training() -> dict[str, dict[str, dict]]:
    """The training sets, by the held-out set each stands for."""
    return {
        "or": {f"train_or_{i:02d}": or_style(1000 + i) for i in range(10)},
        "weibull": {f"train_weibull_{i}": weibull(2000 + i) for i in range(2)},
    }


if __name__ == "__main__":
    (HERE / "train.json").write_text(json.dumps(training()) + "\n", encoding="utf-8")
