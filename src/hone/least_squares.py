"""Levenberg–Marquardt least squares, asked and told (no model, no randomness): what
`hone.tuning` fits a formula's coefficients with when the evaluator reports residuals
(`Evaluation.residuals`: the formula's errors at the points it compared), as LLM-SR fits the
parameters of the skeletons a model proposes.

Like `hone.simplex`, and for the same reason (a tuning stage evaluates its trials in the
sandbox, a batch at a time, and replays them after a restart), the search is a generator: it
yields batches of points and is sent, in the same order, each point's residuals (None for a
point that could not be evaluated). It minimises the sum of their squares, with a Jacobian of
forward differences: the point moved along each coordinate, in one batch; a step is tried
alone (one evaluation; if it does not lower the sum, a shorter one, more damped). On a formula
linear in its coefficients (any polynomial, expanded) one Gauss–Newton step lands on the
best fit; the damping only matters for the others. The same residuals give the same points.
"""

from __future__ import annotations

import math
from collections.abc import Generator, Sequence

import numpy as np

Point = tuple[float, ...]
Residuals = Sequence[float] | None  # a point's residuals; None: it could not be evaluated
Search = Generator[list[Point], list[Residuals], None]

STEP = 1e-5  # a coordinate's difference step, relative to its size (at least this much)
DAMPING = 0.0, 1e-3, 1e4  # the damping's start (none: Gauss–Newton), first retry, most
GAIN = 1e-6  # a step that lowers the sum of squares by less than this share: the end
TINY = 1e-18  # a sum of squares this small: fitted (to 9 digits; what is left is rounding)


def levenberg_marquardt(start: Sequence[float]) -> Search:
    """Minimise the sum of squared residuals of a function of len(start) numbers: yields
    batches of points, is sent their residuals, and returns when a step no longer lowers the
    sum by a useful share, or it is rounding; the caller stops it sooner by closing it."""
    x = np.asarray(start, dtype=float)
    told = yield _with_differences(x)
    residuals = _vector(told[0])
    jacobian = _jacobian(x, residuals, told[1:])
    damping = DAMPING[0]
    while residuals is not None and jacobian is not None and _sum(residuals) > TINY:
        step = _step(jacobian, residuals, damping)
        if step is None:
            return
        [moved] = yield [tuple(float(v) for v in x + step)]
        lower = _vector(moved)
        if lower is None or _sum(lower) >= _sum(residuals):
            damping = max(damping * 100, DAMPING[1])  # (a shorter step, nearer the gradient)
            if damping > DAMPING[2]:
                return
            continue
        gain = 1 - _sum(lower) / _sum(residuals)
        x, residuals, damping = x + step, lower, max(damping / 100, DAMPING[0])
        if gain < GAIN or _sum(residuals) <= TINY:
            return
        told = yield _with_differences(x)[1:]
        jacobian = _jacobian(x, residuals, told)


def _with_differences(x: np.ndarray) -> list[Point]:
    """`x` and, for each coordinate, `x` moved by its difference step."""
    points = [tuple(float(v) for v in x)]
    for i, h in enumerate(_steps(x)):
        moved = x.copy()
        moved[i] += h
        points.append(tuple(float(v) for v in moved))
    return points


def _steps(x: np.ndarray) -> np.ndarray:
    steps: np.ndarray = STEP * np.maximum(1.0, np.abs(x))
    return steps


def _jacobian(x: np.ndarray, base: np.ndarray | None, moved: list[Residuals]) -> np.ndarray | None:
    """The forward differences of the residuals at `x` (`base`; `moved`: at each
    coordinate's step), one column per coordinate; None when one is missing."""
    vectors = [_vector(r) for r in moved]
    if base is None or not vectors or any(v is None or v.shape != base.shape for v in vectors):
        return None
    columns = [(v - base) / h for v, h in zip(vectors, _steps(x), strict=True)]
    return np.column_stack(columns)


def _step(jacobian: np.ndarray, residuals: np.ndarray, damping: float) -> np.ndarray | None:
    """The damped Gauss–Newton step: least squares of J·step = -r with `damping` times the
    columns' scale as extra rows (SVD: the columns of a polynomial's powers differ by orders
    of magnitude); None when it is not finite."""
    scale = np.sqrt(np.maximum((jacobian**2).sum(axis=0), 1e-300))
    rows = np.vstack([jacobian, np.diag(math.sqrt(damping) * scale)])
    wanted = np.concatenate([-residuals, np.zeros(jacobian.shape[1])])
    step: np.ndarray = np.linalg.lstsq(rows, wanted, rcond=None)[0]
    return step if np.all(np.isfinite(step)) else None


def _vector(residuals: Residuals) -> np.ndarray | None:
    if residuals is None or len(residuals) == 0:
        return None
    vector = np.asarray(residuals, dtype=float)
    return vector if np.all(np.isfinite(vector)) else None


def _sum(residuals: np.ndarray) -> float:
    return float(residuals @ residuals)


__all__ = ["Point", "Residuals", "Search", "levenberg_marquardt"]
