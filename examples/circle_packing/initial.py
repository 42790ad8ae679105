"""Circle packing: 26 disjoint circles in the unit square with the largest sum of radii."""

import numpy as np

N_CIRCLES = 26


# EVOLVE-BLOCK-START
def construct_packing() -> tuple[np.ndarray, np.ndarray]:
    """Place 26 circles in the unit square [0, 1] x [0, 1].

    Returns:
        centers: array of shape (26, 2), the (x, y) centre of each circle.
        radii: array of shape (26,), the radius of each circle (>= 0).
    Circles must lie inside the square and must not overlap; the sum of radii is maximised.

    Start: one circle in the middle and two rings around it; the radii are then grown as
    large as the centres allow.
    """
    # The layout's parameters (a middle circle, a ring of 8 and a ring of 17 around it):
    # change their values, or the layout itself, to pack the circles better.
    p = {
        "middle_x": 0.5,  # the middle circle's centre
        "middle_y": 0.5,
        "inner_x": 0.5,  # the inner ring's centre and its radius along x and along y
        "inner_y": 0.5,
        "inner_rx": 0.26,
        "inner_ry": 0.26,
        "outer_turn": 0.5,  # the outer ring's angle offset, in steps of 1/17 of a turn
        "outer_x": 0.5,
        "outer_y": 0.5,
        "outer_rx": 0.44,
        "outer_ry": 0.44,
        "margin": 0.06,  # no centre of the outer ring is nearer a side than this
    }
    centers = [(p["middle_x"], p["middle_y"])]
    for k in range(8):
        angle = 2 * np.pi * k / 8
        x = p["inner_x"] + p["inner_rx"] * np.cos(angle)
        y = p["inner_y"] + p["inner_ry"] * np.sin(angle)
        centers.append((x, y))
    low, high = p["margin"], 1 - p["margin"]
    for k in range(17):
        angle = 2 * np.pi * (k + p["outer_turn"]) / 17
        x = p["outer_x"] + p["outer_rx"] * np.cos(angle)
        y = p["outer_y"] + p["outer_ry"] * np.sin(angle)
        centers.append((min(max(x, low), high), min(max(y, low), high)))
    centers = np.array(centers)
    return centers, compute_max_radii(centers)


def compute_max_radii(centers: np.ndarray) -> np.ndarray:
    """Largest radii the centres allow: every circle first gets half the distance to its
    nearest neighbour (or its distance to the nearest side, if smaller), then each one in turn
    grows into any room left around it."""
    n = len(centers)
    walls = np.minimum(centers, 1 - centers).min(axis=1)
    dist = np.hypot(*(centers[:, None, :] - centers[None, :, :]).transpose(2, 0, 1))
    np.fill_diagonal(dist, np.inf)
    radii = np.minimum(walls, dist.min(axis=1) / 2)
    for i in range(n):
        radii[i] = max(0.0, min(walls[i], (dist[i] - radii).min()))
    return radii


# EVOLVE-BLOCK-END


def run_packing() -> tuple[np.ndarray, np.ndarray, float]:
    """Build the packing; return (centers, radii, sum of radii)."""
    centers, radii = construct_packing()
    return centers, radii, float(np.sum(radii))
