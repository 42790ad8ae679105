"""Short text for feedback: numbers, points, boxes and clipped expressions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import mpmath
import sympy


def _simplified_text(expr: sympy.Expr) -> str:
    try:
        simplified = sympy.simplify(expr)
        text = str(simplified)
        if simplified.is_number and len(text) > 40:  # a long exact fraction: show its value
            text = str(simplified.evalf(12))
    except Exception:  # the unsimplified residual still tells the model something
        text = str(expr)
    return _clip(text, 200)


def _fmt(value: Any) -> str:
    if value is None:
        return "undefined"
    if isinstance(value, mpmath.mpc) and value.imag == 0:
        value = value.real
    if isinstance(value, mpmath.mpf) and value == int(value) and abs(value) < 10**15:
        return str(int(value))
    return str(mpmath.nstr(value, 12))


def _fmt_point(at: Mapping[str, int | float]) -> str:
    return ", ".join(f"{name} = {value!r}" for name, value in at.items())


def _fmt_box(symbols: Sequence[sympy.Symbol], boxes: Sequence[tuple[float, float]]) -> str:
    return " x ".join(
        f"{s.name} in [{lo:g}, {hi:g}]" for s, (lo, hi) in zip(symbols, boxes, strict=True)
    )


def _clip(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
