"""Evaluator for packing 26 circles in the unit square (AlphaEvolve's sum-of-radii problem).

The candidate's `run_packing()` (or, failing that, `construct_packing()`) returns the centres and
radii. This evaluator checks the packing itself -- 26 circles, finite numbers, radii >= 0, every
circle inside [0, 1] x [0, 1], no two circles overlapping (tolerance 1e-9) -- and recomputes the
sum of radii. The sum the candidate reports is never used. `verify_strict`, hone's re-check of
each new best, checks the packing again in exact rational arithmetic, allowing 1e-12 (rounding).
"""

from __future__ import annotations

import sys
from fractions import Fraction
from pathlib import Path

import numpy as np

from hone.evaluation import load_program

N_CIRCLES = 26
TOLERANCE = 1e-9
# verify_strict's, checked exactly: what rounding a touching pair to doubles leaves (a packing
# computed in floats touches only up to ~1e-16), a thousandth of TOLERANCE
STRICT_TOLERANCE = Fraction(1, 10**12)
BEST_KNOWN = 2.635  # AlphaEvolve (2025)


def check_packing(centers: object, radii: object) -> tuple[np.ndarray, np.ndarray]:
    """Return the packing as float arrays; raise ValueError naming the first violation."""
    try:
        c = np.asarray(centers, dtype=float)
        r = np.asarray(radii, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"centers and radii must be numeric arrays ({exc})") from None
    if c.shape != (N_CIRCLES, 2):
        raise ValueError(
            f"expected {N_CIRCLES} circles: centers must have shape ({N_CIRCLES}, 2), got {c.shape}"
        )
    if r.shape != (N_CIRCLES,):
        raise ValueError(
            f"expected {N_CIRCLES} circles: radii must have shape ({N_CIRCLES},), got {r.shape}"
        )
    for label, values in (("centers", c), ("radii", r)):
        bad = np.flatnonzero(~np.isfinite(values).reshape(N_CIRCLES, -1).all(axis=1))
        if bad.size:
            raise ValueError(f"{label} of circle {bad[0]} is not finite (NaN or infinity)")
    negative = np.flatnonzero(r < 0)
    if negative.size:
        i = negative[0]
        raise ValueError(f"circle {i} has a negative radius {r[i]:.6g}")
    # How far each circle sticks out past the four sides of the square.
    outside = np.maximum(r[:, None] - c, c + r[:, None] - 1.0).max(axis=1)
    out = np.flatnonzero(outside > TOLERANCE)
    if out.size:
        i = out[0]
        raise ValueError(
            f"circle {i} (centre ({c[i, 0]:.4f}, {c[i, 1]:.4f}), radius {r[i]:.4f}) lies outside "
            f"the unit square by {outside[i]:.4g}"
        )
    dist = np.sqrt(((c[:, None, :] - c[None, :, :]) ** 2).sum(axis=2))
    overlap = r[:, None] + r[None, :] - dist
    overlap[np.tril_indices(N_CIRCLES)] = -np.inf
    pairs = np.argwhere(overlap > TOLERANCE)
    if pairs.size:
        i, j = pairs[0]
        raise ValueError(f"circles {i} and {j} overlap by {overlap[i, j]:.4g}")
    return c, r


def evaluate_program(program) -> dict:
    """hone's trusted form: the candidate runs in its own sandboxed process and only the arrays
    it returns cross over; this process checks them, so the candidate cannot forge its score."""
    from hone.exceptions import CandidateError

    for name in ("run_packing", "construct_packing"):
        try:
            return score(program.call(name))
        except CandidateError as exc:
            if "defines no function" not in exc.reason:
                return {"combined_score": 0.0, "validity": 0.0, "error": exc.reason}
    return {
        "combined_score": 0.0,
        "validity": 0.0,
        "error": "the program defines neither run_packing() nor construct_packing()",
    }


def evaluate(program_path: str) -> dict:
    """OpenEvolve's form (used when hone is not the caller): imports the candidate here."""
    module = load_program(program_path)
    if callable(getattr(module, "run_packing", None)):
        return score(module.run_packing())
    if callable(getattr(module, "construct_packing", None)):
        return score(module.construct_packing())
    return {
        "combined_score": 0.0,
        "validity": 0.0,
        "error": "the program defines neither run_packing() nor construct_packing()",
    }


def score(result: object) -> dict:
    """Check what the candidate returned and compute the score from it."""
    if not isinstance(result, tuple | list) or len(result) < 2:
        return {
            "combined_score": 0.0,
            "validity": 0.0,
            "error": "run_packing() must return (centers, radii, sum_of_radii), "
            f"got {type(result).__name__}",
        }
    try:
        _, radii = check_packing(result[0], result[1])
    except ValueError as exc:
        return {"combined_score": 0.0, "validity": 0.0, "error": str(exc)}
    total = float(radii.sum())
    feedback = (
        f"valid packing of {N_CIRCLES} circles; sum of radii {total:.4f} "
        f"({100 * total / BEST_KNOWN:.1f} % of the best known {BEST_KNOWN}); "
        f"radii from {radii.min():.4f} to {radii.max():.4f}"
    )
    tiny = int(np.count_nonzero(radii < 1e-3))
    if tiny:
        feedback += f"; {tiny} circle(s) with radius below 0.001"
    return {
        "combined_score": total,
        "sum_radii": total,
        "validity": 1.0,
        "target_ratio": total / BEST_KNOWN,
        "feedback": feedback,
    }


def verify_strict(program_path: str) -> tuple[bool, str]:
    """hone's strict re-check of a new best: the packing checked again in exact rational
    arithmetic (each float is the fraction it stands for), allowing only `STRICT_TOLERANCE`,
    what rounding two touching circles to doubles leaves, where `evaluate` allows 1e-9: every
    circle inside the square, and r_i + r_j - STRICT_TOLERANCE <= the distance of each pair."""
    module = load_program(program_path)
    make = getattr(module, "run_packing", None) or getattr(module, "construct_packing", None)
    if not callable(make):
        return False, "the program defines neither run_packing() nor construct_packing()"
    result = make()
    try:
        c, r = check_packing(result[0], result[1])
    except (ValueError, TypeError, IndexError) as exc:
        return False, str(exc)
    eps = STRICT_TOLERANCE
    centers = [(Fraction(float(x)), Fraction(float(y))) for x, y in c]
    radii = [Fraction(float(v)) for v in r]
    for i, ((x, y), radius) in enumerate(zip(centers, radii, strict=True)):
        if min(x - radius, y - radius) < -eps or max(x + radius, y + radius) > 1 + eps:
            return False, f"circle {i} lies outside the unit square by more than 1e-12, exactly"
    for i in range(N_CIRCLES):
        (xi, yi), ri = centers[i], radii[i]
        for j in range(i + 1, N_CIRCLES):
            (xj, yj), rj = centers[j], radii[j]
            reach = ri + rj - eps  # overlap > eps: reach > distance, squared (both >= 0)
            if reach > 0 and reach**2 > (xi - xj) ** 2 + (yi - yj) ** 2:
                return False, f"circles {i} and {j} overlap by more than 1e-12, exactly"
    return True, f"exact: overlaps within 1e-12; sum of radii {float(sum(radii)):.6f}"


if __name__ == "__main__":
    import time

    path = sys.argv[1] if len(sys.argv) > 1 else str(Path(__file__).resolve().parent / "initial.py")
    start = time.perf_counter()
    print(evaluate(path))
    print(f"{time.perf_counter() - start:.3f} s")
