"""Place 8 points in the unit square, as far from each other as possible."""

import math


# EVOLVE-BLOCK-START
def place_points(n):
    """Points on a circle around the centre."""
    return [
        (0.5 + 0.4 * math.cos(2 * math.pi * i / n), 0.5 + 0.4 * math.sin(2 * math.pi * i / n))
        for i in range(n)
    ]


# EVOLVE-BLOCK-END


def run_experiment(n=8):
    return place_points(n)
