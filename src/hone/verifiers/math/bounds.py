"""Bounds: SymPy proofs for rational functions of one variable, else a grid and local search."""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import mpmath
import sympy

from hone.verifiers.math.sampling import _from_unit, _subs, _value


@dataclass(frozen=True)
class _BoundContext:
    expr: sympy.Expr
    limit: sympy.Expr
    gap: sympy.Expr
    symbols: list[sympy.Symbol]
    boxes: list[tuple[float, float]]
    strict: bool
    digits: int
    tolerance: float

    def point(self, unit: Sequence[float]) -> dict[str, int | float]:
        return {
            s.name: _from_unit(u, s, box)
            for s, u, box in zip(self.symbols, unit, self.boxes, strict=True)
        }

    def _subs(self, unit: Sequence[float]) -> dict[sympy.Symbol, sympy.Expr]:
        return _subs(self.symbols, list(self.point(unit).values()), self.digits)

    def margin(self, unit: Sequence[float]) -> Any:
        """The gap (>= 0 where the claim holds) as an mpf, or None where it is undefined."""
        value = _value(self.gap, self._subs(unit), self.digits)
        if value is None or abs(value.imag) > self.tolerance * max(1, abs(value)):
            return None
        return value.real

    def holds(self, margin: Any) -> bool:
        if margin is None:
            return False
        return bool(margin > 0 if self.strict else margin >= -self.tolerance)

    def sides(self, unit: Sequence[float]) -> tuple[Any, Any]:
        subs = self._subs(unit)
        return _value(self.expr, subs, self.digits), _value(self.limit, subs, self.digits)


def _search(
    context: _BoundContext, grid: int, samples: int, rng: random.Random
) -> tuple[list[list[float]], list[Any]]:
    """Margins on a grid and at random points, plus the worst of them refined."""
    dimensions = len(context.symbols)
    units = _grid_units(dimensions, grid)
    if dimensions:
        units += [[rng.random() for _ in range(dimensions)] for _ in range(samples)]
    margins = [context.margin(u) for u in units]
    if dimensions:
        start = units[min(range(len(units)), key=lambda i: _sort_key(margins[i]))]
        units.append(_refine(context.margin, start, step=1.0 / math.isqrt(len(units))))
        margins.append(context.margin(units[-1]))
    return units, margins


def _sort_key(margin: Any) -> Any:
    return -mpmath.inf if margin is None else margin


def _grid_units(dimensions: int, total: int) -> list[list[float]]:
    """An evenly spaced grid of about `total` points on [0, 1]**dimensions, ends included."""
    if dimensions == 0:
        return [[]]
    per_axis = max(2, round(total ** (1 / dimensions)))
    axis = [i / (per_axis - 1) for i in range(per_axis)]
    units: list[list[float]] = [[]]
    for _ in range(dimensions):
        units = [[*u, a] for u in units for a in axis]
    return units


def _refine(
    margin: Callable[[Sequence[float]], Any], start: list[float], step: float, budget: int = 200
) -> list[float]:
    """Pattern search for a smaller margin near `start` (unit coordinates); stop at undefined."""
    best, best_margin = list(start), margin(start)
    while best_margin is not None and step > 1e-12 and budget > 0:
        improved = False
        for i in range(len(best)):
            for direction in (1.0, -1.0):
                trial = list(best)
                trial[i] = min(max(trial[i] + direction * step, 0.0), 1.0)
                budget -= 1
                value = margin(trial)
                if value is None:
                    return trial
                if value < best_margin:
                    best, best_margin, improved = trial, value, True
        if not improved:
            step /= 2
    return best


def _proved_nonnegative(
    gap: sympy.Expr, symbols: list[sympy.Symbol], boxes: list[tuple[float, float]], strict: bool
) -> bool:
    """True only when SymPy decides that `gap` >= 0 (> 0 if strict) on the box."""
    try:
        if not gap.free_symbols:
            return bool(gap.is_positive if strict else gap.is_nonnegative)
        if len(symbols) != 1 or not gap.is_rational_function(symbols[0]):
            return False
        (x,), ((lo, hi),) = symbols, boxes
        numerator, denominator = sympy.fraction(sympy.together(gap))
        if sympy.degree(numerator, x) + sympy.degree(denominator, x) > 12:
            return False
        interval = sympy.Interval(_sympy_end(lo), _sympy_end(hi))
        violation = gap <= 0 if strict else gap < 0
        return bool(sympy.solveset(violation, x, interval) == sympy.EmptySet)
    except Exception:  # SymPy could not decide: the numeric check follows
        return False


def _sympy_end(value: float) -> sympy.Expr:
    if math.isinf(value):
        return sympy.oo if value > 0 else -sympy.oo
    return sympy.nsimplify(value, rational=True)
