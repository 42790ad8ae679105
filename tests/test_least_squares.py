"""Levenberg–Marquardt asked and told (hone.least_squares): a formula linear in its
coefficients is fitted in one step, others in a few, the same way every time."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pytest

from hone.least_squares import Point, Residuals, levenberg_marquardt

NS = range(1, 21)
CUBES = [(n * (n + 1) // 2) ** 2 for n in NS]  # 1**3 + ... + n**3


def polynomial(c: Point) -> list[float]:
    """The relative errors of c0*n**4 + c1*n**3 + c2*n**2 + c3*n + c4 as the sum of cubes."""
    return [
        (sum(k * n ** (4 - i) for i, k in enumerate(c)) - s) / s
        for n, s in zip(NS, CUBES, strict=True)
    ]


def shifted(c: Point) -> list[float]:
    """... of a*n**4 + b*(n - h)**3: not linear in h, and never exact."""
    a, b, h = c
    return [(a * n**4 + b * (n - h) ** 3 - s) / s for n, s in zip(NS, CUBES, strict=True)]


def fit(
    residuals: Callable[[Point], Sequence[float] | None], start: Sequence[float]
) -> tuple[list[list[Point]], Point]:
    """Runs the search to its end; the batches asked and the last point that lowered the sum."""
    search, batches, best = levenberg_marquardt(start), [], (float("inf"), tuple(start))
    points = next(search)
    try:
        while True:
            batches.append(points)
            told: list[Residuals] = [residuals(p) for p in points]
            for point, r in zip(points, told, strict=True):
                if r is not None and sum(x * x for x in r) < best[0]:
                    best = sum(x * x for x in r), point
            points = search.send(told)
    except StopIteration:
        pass
    return batches, best[1]


def test_a_polynomial_is_fitted_in_one_step() -> None:
    """From the expansion of n**4/4 + (n - 1)**3/3: the start and its 5 differences, then one
    step lands on the sum of cubes (n**4/4 + n**3/2 + n**2/4) to rounding, and the search
    ends."""
    batches, best = fit(polynomial, [0.25, 1 / 3, -1.0, 1.0, -1 / 3])
    assert [len(b) for b in batches] == [6, 1]
    assert best == pytest.approx((0.25, 0.5, 0.25, 0.0, 0.0), abs=1e-9)


def test_a_nonlinear_formula_is_fitted_in_a_few_steps() -> None:
    start = [1 / 3, 1.0, 0.25]
    batches, best = fit(shifted, start)
    before, after = sum(x * x for x in shifted(tuple(start))), sum(x * x for x in shifted(best))
    assert after < before / 100 and len(batches) < 30
    assert sum(len(b) for b in batches) < 60


def test_the_same_residuals_give_the_same_points() -> None:
    assert fit(shifted, [1 / 3, 1.0, 0.25]) == fit(shifted, [1 / 3, 1.0, 0.25])


def test_a_start_that_cannot_be_evaluated_ends_the_search() -> None:
    batches, best = fit(lambda p: None, [0.25, 0.5])
    assert len(batches) == 1 and best == (0.25, 0.5)


def test_a_step_that_cannot_be_evaluated_is_shortened() -> None:
    """The first step's point fails: the search damps the step (a shorter one, nearer the
    gradient) instead of giving up, and still lowers the sum."""
    start = (0.25, 1 / 3, -1.0, 1.0, -1 / 3)
    seen: list[Point] = []

    def broken_once(c: Point) -> list[float] | None:
        seen.append(c)
        return None if len(seen) == 7 else polynomial(c)  # the first step (after 6 points)

    batches, best = fit(broken_once, start)
    assert len(batches) > 3 and batches[1] != batches[2]
    assert sum(x * x for x in polynomial(best)) < sum(x * x for x in polynomial(start)) / 100
