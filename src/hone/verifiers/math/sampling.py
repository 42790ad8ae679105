"""Numeric checks at sample points: exact-point evaluation with mpmath on seeded random points."""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import mpmath
import sympy

from hone.evaluation import Evaluation
from hone.verifiers.math.parsing import Domain
from hone.verifiers.math.text import _fmt_box

_NONFINITE = (sympy.zoo, sympy.nan, sympy.oo, -sympy.oo)
# what a disagreeing point earns at most: its closeness rises linearly as the values approach
# (a small step left at agreement, so one wrong point keeps a mean below 1.0 in floating point)
PARTIAL = 0.99


@dataclass(frozen=True)
class _Point:
    at: dict[str, int | float]
    lhs: Any  # mpmath mpc, or None where undefined
    rhs: Any
    error: Any  # |lhs - rhs| / max(|rhs|, 1), or +inf where lhs is undefined
    closeness: float


@dataclass(frozen=True)
class _Sampled:
    points: list[_Point]
    failures: list[_Point]  # disagreeing points, simplest first

    @property
    def agreeing(self) -> int:
        return len(self.points) - len(self.failures)

    @property
    def agreement(self) -> float:
        return self.agreeing / len(self.points)

    @property
    def score(self) -> float:
        return sum(p.closeness for p in self.points) / len(self.points)

    @property
    def residuals(self) -> tuple[float, ...]:
        """(lhs - rhs) / max(|rhs|, 1) at each point, in order (what a least-squares fit of a
        formula's numbers minimises); none when one is undefined, complex or not finite."""
        out = []
        for p in self.points:
            if p.lhs is None or mpmath.im(p.lhs) != 0 or mpmath.im(p.rhs) != 0:
                return ()
            value = float(mpmath.re(p.lhs - p.rhs) / max(abs(p.rhs), 1))
            if not math.isfinite(value):
                return ()
            out.append(value)
        return tuple(out)


def _sample(
    lhs: sympy.Expr,
    rhs: sympy.Expr,
    table: Mapping[str, sympy.Symbol],
    domain: Domain | None,
    rng: random.Random,
    samples: int,
    digits: int,
    tolerance: float,
) -> _Sampled | Evaluation:
    """Compare lhs with rhs at up to `samples` distinct random points where rhs is defined."""
    symbols = [table[name] for name in sorted(table)]
    boxes = _intervals(symbols, domain)
    seen: set[tuple[int | float, ...]] = set()
    points: list[_Point] = []
    for at in _candidate_points(symbols, boxes, rng, samples):
        if at in seen:
            continue
        seen.add(at)
        subs = _subs(symbols, at, digits)
        b = _value(rhs, subs, digits)
        if b is None:
            continue
        a = _value(lhs, subs, digits)
        points.append(_compare(dict(zip(sorted(table), at, strict=True)), a, b, digits, tolerance))
        if len(points) >= samples:
            break
    if not points:
        return Evaluation.failed(
            "error",
            f"the reference is undefined at every sample point of {_fmt_box(symbols, boxes)}; "
            "give the check a domain where it is defined",
        )
    failures = sorted(
        (p for p in points if p.closeness < 1.0),
        key=lambda p: max((abs(v) for v in p.at.values()), default=0),
    )
    return _Sampled(points, failures)


def _candidate_points(
    symbols: Sequence[sympy.Symbol],
    boxes: Sequence[tuple[float, float]],
    rng: random.Random,
    samples: int,
) -> Iterator[tuple[int | float, ...]]:
    """Every point of a small integer lattice, else random points (with repeats to skip)."""
    finite = all(math.isfinite(lo) and math.isfinite(hi) for lo, hi in boxes)
    if symbols and finite and all(s.is_integer for s in symbols):
        ranges = [range(math.ceil(lo), math.floor(hi) + 1) for lo, hi in boxes]
        if math.prod(len(r) for r in ranges) <= samples:
            yield from itertools.product(*ranges)
            return
    for _ in range(4 * samples if symbols else 1):
        yield tuple(_from_unit(rng.random(), s, box) for s, box in zip(symbols, boxes, strict=True))


def _compare(at: dict[str, int | float], a: Any, b: Any, digits: int, tolerance: float) -> _Point:
    if a is None:
        return _Point(at, a, b, mpmath.inf, 0.0)
    with mpmath.workdps(digits):
        error = abs(a - b) / max(abs(b), 1)
    if error <= tolerance:
        return _Point(at, a, b, error, 1.0)
    return _Point(at, a, b, error, PARTIAL * max(0.0, 1.0 - float(error)))


def _value(expr: sympy.Expr, subs: Mapping[sympy.Symbol, sympy.Expr], digits: int) -> Any:
    """`expr` at `subs` as an mpmath number to `digits` digits, or None where undefined."""
    try:
        value = expr.evalf(digits, subs=dict(subs))
        if not value.is_number or value.has(*_NONFINITE):
            return None
        real, imag = value.as_real_imag()
        with mpmath.workdps(digits):
            result = mpmath.mpc(
                mpmath.mpf(sympy.Float(real, digits)), mpmath.mpf(sympy.Float(imag, digits))
            )
    except Exception:  # evalf fails in many ways on odd input; all mean "no value here"
        return None
    return result if mpmath.isfinite(result) else None


def _subs(
    symbols: Sequence[sympy.Symbol], at: Sequence[int | float], digits: int
) -> dict[sympy.Symbol, sympy.Expr]:
    return {
        s: sympy.Integer(v) if isinstance(v, int) else sympy.Float(v, digits)
        for s, v in zip(symbols, at, strict=True)
    }


def _intervals(symbols: Sequence[sympy.Symbol], domain: Domain | None) -> list[tuple[float, float]]:
    domain = dict(domain or {})
    names = {s.name for s in symbols}
    unknown = sorted(set(domain) - names)
    if unknown:
        raise ValueError(
            f"the domain names {unknown[0]!r}, which is not a variable ({sorted(names)})"
        )
    boxes = []
    for symbol in symbols:
        lo, hi = domain.get(symbol.name, _default_interval(symbol))
        if not lo <= hi or math.isnan(lo) or math.isnan(hi):
            raise ValueError(f"the interval of {symbol.name!r} is empty: ({lo}, {hi})")
        if symbol.is_integer and math.floor(hi) < math.ceil(lo):
            raise ValueError(f"the interval of {symbol.name!r} holds no integer: ({lo}, {hi})")
        boxes.append((float(lo), float(hi)))
    return boxes


def _default_interval(symbol: sympy.Symbol) -> tuple[float, float]:
    size = 20.0 if symbol.is_integer else 10.0
    if symbol.is_positive:
        return (1.0, size) if symbol.is_integer else (0.0, size)
    if symbol.is_nonnegative:
        return (0.0, size)
    if symbol.is_negative:
        return (-size, -1.0) if symbol.is_integer else (-size, 0.0)
    return (-size, size)


def _from_unit(u: float, symbol: sympy.Symbol, box: tuple[float, float]) -> int | float:
    """Map u in [0, 1] onto the interval; infinite ends reach about 1e6."""
    lo, hi = box
    u = min(max(u, 1e-6), 1 - 1e-6) if math.isinf(lo) or math.isinf(hi) else u
    if math.isinf(lo) and math.isinf(hi):
        x = math.tan(math.pi * (u - 0.5))
    elif math.isinf(hi):
        x = lo + u / (1 - u)
    elif math.isinf(lo):
        x = hi - (1 - u) / u
    else:
        x = lo + (hi - lo) * u
    if symbol.is_integer:
        return min(max(round(x), math.ceil(lo)), math.floor(hi))
    return min(max(x, lo), hi)
