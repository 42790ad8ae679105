"""A run's seed is any integer; each library gets it in its own range."""

from __future__ import annotations

import numpy as np
import optuna
import pytest

from hone.seeds import UINT32, library_seed


@pytest.mark.parametrize("seed", [0, 4295, 10**6, 2**32, 2**70, -1, -5, -(10**30)])
def test_any_seed_maps_into_the_range_numpy_and_optuna_take(seed: int) -> None:
    for salt in (0, 1, 17):
        mapped = library_seed(seed, salt)
        assert 0 <= mapped < UINT32
        np.random.RandomState(mapped)  # raised "Seed must be between 0 and 2**32 - 1"
        optuna.samplers.CmaEsSampler(seed=mapped)


def test_seeds_in_range_before_draw_what_they_drew() -> None:
    # the sampler's seed was seed * 1_000_003 + program id; for those in range it stays so
    assert library_seed(0, 1) == 1
    assert library_seed(4294, 7) == 4294 * 1_000_003 + 7
    assert library_seed(3, 1) != library_seed(3, 2) != library_seed(4, 1)
