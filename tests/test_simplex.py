"""Nelder–Mead asked and told (hone.simplex): it finds a minimum, in batches, the same way
every time."""

from __future__ import annotations

import math

from hone.simplex import Point, first_simplex, nelder_mead


def bowl(p: Point) -> float:
    x, y = p
    return (x - 1) ** 2 + 10 * (y + 2) ** 2


def minimise(evaluations: int, broken: Point | None = None) -> tuple[list[list[Point]], Point]:
    """Runs the search on `bowl` (math.inf at `broken`); the batches asked and the best point."""
    search, batches, best = nelder_mead([3.0, 3.0]), [], (math.inf, (0.0, 0.0))
    points = next(search)
    while evaluations > 0:
        batches.append(points)
        values = [math.inf if p == broken else bowl(p) for p in points]
        evaluations -= len(points)
        best = min(best, *zip(values, points, strict=True))
        points = search.send(values)
    search.close()
    return batches, best[1]


def test_it_finds_the_minimum_of_a_bowl() -> None:
    _, (x, y) = minimise(200)
    assert abs(x - 1) < 1e-3 and abs(y + 2) < 1e-3


def test_the_first_batch_is_the_simplex_then_one_point_at_a_time_but_shrinks() -> None:
    batches, _ = minimise(60)
    assert batches[0] == first_simplex([3.0, 3.0]) == [(3.0, 3.0), (3.9, 3.0), (3.0, 3.9)]
    assert {len(b) for b in batches[1:]} <= {1, 2} and any(len(b) == 1 for b in batches)


def test_the_same_values_give_the_same_points() -> None:
    assert minimise(80) == minimise(80)


def test_a_point_that_cannot_be_evaluated_is_avoided() -> None:
    batches, _ = minimise(40, broken=(3.9, 3.0))
    _, (x, y) = minimise(200, broken=(3.9, 3.0))
    assert batches[0][1] == (3.9, 3.0) and abs(x - 1) < 1e-2 and abs(y + 2) < 1e-2


def test_a_zero_start_still_moves() -> None:
    """A coordinate at 0 is moved by `least`, not by 0 % of itself."""
    assert first_simplex([0.0, 2.0]) == [(0.0, 2.0), (0.1, 2.0), (0.0, 2.6)]
