"""A run's seed is any integer (`--seed 10**6`, `--seed -5`); the libraries that take one
accept a narrower range, so each gets the seed mapped into its range here, in one place.

`random.Random` takes any integer and gets the seed as it is. numpy's and Optuna's samplers
take 0..2**32 - 1: `library_seed` maps the seed (with a salt, so that two uses differ) into
that range. Seeds that were in range before map to the same value as before, so earlier runs
draw what they drew; seeds 2**32 apart draw the same.
"""

from __future__ import annotations

UINT32 = 2**32  # numpy.random.RandomState, Optuna's samplers: 0 <= seed < 2**32
SALT_STEP = 1_000_003  # a prime: seed * SALT_STEP + salt differs for nearby (seed, salt)


def library_seed(seed: int, salt: int = 0) -> int:
    """`seed` combined with `salt`, in 0..2**32 - 1 (numpy's and Optuna's range)."""
    return (seed * SALT_STEP + salt) % UINT32


__all__ = ["UINT32", "library_seed"]
