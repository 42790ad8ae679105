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
    centers = [(0.5, 0.5)]
    for k in range(8):
        angle = 2 * np.pi * k / 8
        centers.append((0.5 + 0.26 * np.cos(angle), 0.5 + 0.26 * np.sin(angle)))
    for k in range(17):
        angle = 2 * np.pi * (k + 0.5) / 17
        x, y = 0.5 + 0.44 * np.cos(angle), 0.5 + 0.44 * np.sin(angle)
        centers.append((min(max(x, 0.06), 0.94), min(max(y, 0.06), 0.94)))
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
