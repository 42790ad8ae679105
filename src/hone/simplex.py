"""Nelder–Mead's simplex search, asked and told (no model, no randomness): what
`hone.tuning` fits a formula's numbers with once its ladder of simple fractions stops
helping.

The usual libraries (SciPy's `minimize`) call the objective themselves; a tuning stage
evaluates its trials in the sandbox, a batch at a time, and must be able to replay them after
a restart. So the search is a generator: it yields the points to evaluate (a batch: the first
simplex, a shrink) and is sent their scores, lower is better, in the same order. The same
scores give the same points, which is what a resumed stage relies on.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence

Point = tuple[float, ...]
Search = Generator[list[Point], list[float], None]

REFLECT, EXPAND, CONTRACT, SHRINK = 1.0, 2.0, 0.5, 0.5  # the standard coefficients


def first_simplex(start: Sequence[float], step: float = 0.3, least: float = 0.1) -> list[Point]:
    """`start` and, for each coordinate, `start` moved along it by `step` of its value (at
    least `least`)."""
    points = [tuple(start)]
    for i, value in enumerate(start):
        moved = list(start)
        moved[i] = value + max(abs(value) * step, least)
        points.append(tuple(moved))
    return points


def nelder_mead(start: Sequence[float], step: float = 0.3, least: float = 0.1) -> Search:
    """Minimise a function of len(start) numbers: yields batches of points, is sent their
    values (lower is better; `math.inf` for a point that could not be evaluated) and runs
    until it is closed."""
    simplex = first_simplex(start, step, least)
    values = yield simplex
    ranked = sorted(zip(values, simplex, strict=True))
    while True:
        (best, _), (second_worst, _), (worst, far) = ranked[0], ranked[-2], ranked[-1]
        centre = _mean([p for _, p in ranked[:-1]])
        reflected = _along(centre, far, -REFLECT)
        [value] = yield [reflected]
        if value < best:
            expanded = _along(centre, far, -EXPAND)
            [grown] = yield [expanded]
            ranked[-1] = (grown, expanded) if grown < value else (value, reflected)
        elif value < second_worst:
            ranked[-1] = (value, reflected)
        else:
            outside = value < worst
            contracted = _along(centre, reflected if outside else far, CONTRACT)
            [shrunk] = yield [contracted]
            if shrunk < min(value, worst):
                ranked[-1] = (shrunk, contracted)
            else:
                low = ranked[0][1]
                points = [_along(low, p, SHRINK) for _, p in ranked[1:]]
                moved = yield points
                ranked = [ranked[0], *zip(moved, points, strict=True)]
        ranked.sort()


def _mean(points: list[Point]) -> Point:
    return tuple(sum(c) / len(points) for c in zip(*points, strict=True))


def _along(origin: Point, point: Point, t: float) -> Point:
    """origin + t * (point - origin)."""
    return tuple(o + t * (p - o) for o, p in zip(origin, point, strict=True))


__all__ = ["Point", "Search", "first_simplex", "nelder_mead"]
