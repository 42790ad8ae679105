"""SymPy/mpmath checks of expressions, equations and bounds, for a task's `evaluate.py`.

Each check returns a `hone.Evaluation` whose feedback the model reads next round, and never
raises for a bad candidate: text that cannot be parsed is an `invalid-output` evaluation.

* `check_equal(candidate, reference, variables)`: the same function? SymPy first (the
  difference simplifies to 0), then exact-point numerics with mpmath at seeded random points.
* `check_solution(equation, solution, variables)`: substitute the unknowns (symbols, or
  functions such as ``f`` in ``f(n) - f(n - 1) = n**3``); the residual lhs - rhs must vanish.
* `check_bound(expression, bound, variables, domain=...)`: ``expression <= bound`` (or ``<``,
  ``>=``, ``>``) on a box; proved by SymPy for rational functions of one variable, else
  sampled on a dense grid and at random points, with the worst point refined by a local search.

Scores. 1.0 means verified: proved symbolically, or agreeing at every sample point to
`tolerance` (relative, at `digits` significant digits; the metric ``symbolic`` tells which).
Below 1.0 the score is a gradient for the search and never reaches 1.0:

* equalities and solutions: the mean over sample points of 1 where the two sides agree and
  ``0.99 * max(0, 1 - |lhs - rhs| / max(|rhs|, 1))`` where they do not: it rises continuously
  as the values approach the true ones, so an answer whose values are closer everywhere
  outranks one that happens to be exact at a point (the step left at agreement, 0.01 a point,
  only keeps a wrong answer's mean below 1.0), and parameter tuning can climb it to the exact
  form;
* bounds: the fraction of sample points where the bound holds.

Text is parsed by SymPy's ``parse_expr`` only after its tokens are checked: numbers, the
variables, a fixed list of functions and constants, ``+ - * / ** ^ ( ) ,`` and implicit
multiplication (``2n``). Decimals are exact (``0.1`` is 1/10). The input length, the nesting
depth, numeric exponents and the arguments of factorial-like functions are bounded, so parsing
cannot compute a gigantic number; the sandbox's timeout remains the backstop for expressions
that are merely slow to simplify.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from typing import Any

import mpmath
import sympy

from hone.evaluation import Evaluation
from hone.verifiers.math.bounds import _BoundContext, _proved_nonnegative, _search, _sort_key
from hone.verifiers.math.parsing import (
    Domain,
    ExpressionError,
    Relation,
    Variables,
    _arity,
    _equation_sides,
    _parse_all,
    _symbol_table,
    parse_expression,
)
from hone.verifiers.math.sampling import _intervals, _sample
from hone.verifiers.math.text import _clip, _fmt, _fmt_box, _fmt_point, _simplified_text

__all__ = [
    "ExpressionError",
    "check_bound",
    "check_equal",
    "check_solution",
    "parse_expression",
]


def check_equal(
    candidate: object,
    reference: object,
    variables: Variables = (),
    *,
    domain: Domain | None = None,
    rng: random.Random | None = None,
    samples: int = 24,
    digits: int = 50,
    tolerance: float = 1e-30,
) -> Evaluation:
    """Is `candidate` the same function of `variables` as `reference`? Feedback names a point."""
    table = _symbol_table(variables, reference)
    parsed = _parse_all({"the candidate": candidate, "the reference": reference}, table)
    if isinstance(parsed, Evaluation):
        return parsed
    cand, ref = parsed
    if _is_zero(cand - ref):
        return _verified(
            "equal: the difference simplifies to 0", symbolic=True, metrics={"agreement": 1.0}
        )
    sampled = _sample(cand, ref, table, domain, rng or random.Random(0), samples, digits, tolerance)
    if isinstance(sampled, Evaluation):
        return sampled
    metrics = {"agreement": sampled.agreement, "points": float(len(sampled.points))}
    if not sampled.failures:
        return _verified(
            f"equal at all {len(sampled.points)} sample points to {digits} digits "
            "(SymPy could not simplify the difference to 0)",
            symbolic=False,
            metrics=metrics,
        )
    examples = "; ".join(
        f"at {_fmt_point(p.at)} the candidate is {_fmt(p.lhs)} but the reference is {_fmt(p.rhs)}"
        for p in sampled.failures[:3]
    )
    feedback = (
        f"not equal: {examples}. They agree at {sampled.agreeing} of "
        f"{len(sampled.points)} sample points."
    )
    return Evaluation(
        score=sampled.score,
        metrics={**metrics, "symbolic": 0.0},
        feedback=feedback,
        residuals=sampled.residuals,
    )


def check_solution(
    equation: object,
    solution: Mapping[str, object],
    variables: Variables = (),
    *,
    domain: Domain | None = None,
    rng: random.Random | None = None,
    samples: int = 24,
    digits: int = 50,
    tolerance: float = 1e-30,
) -> Evaluation:
    """Does substituting `solution` (unknown name -> expression) satisfy `equation`?

    `equation` is ``"lhs = rhs"``, a SymPy ``Eq``, or an expression meaning ``expr = 0``. An
    unknown used as a function (``f(x)``, ``f(n - 1)``, ``f(x).diff(x)``) is replaced by
    ``Lambda(variables, value)``, the variables in name order. Variables left after substitution
    must satisfy the equation identically (checked over `domain`). A malformed equation or an
    unknown that does not occur in it is the task's mistake and raises ValueError.
    """
    table = _symbol_table(variables, equation)
    lhs, rhs, unknowns = _equation_sides(equation, solution, table)
    values = _parse_all({f"the value of {name}": solution[name] for name in solution}, table)
    if isinstance(values, Evaluation):
        return values
    params = tuple(table[name] for name in sorted(table))
    for name, value in zip(solution, values, strict=True):
        unknown = unknowns[name]
        if isinstance(unknown, sympy.FunctionClass):
            arity = _arity(lhs - rhs, unknown)
            replacement = sympy.Lambda(params[:arity], value)
            lhs, rhs = lhs.replace(unknown, replacement), rhs.replace(unknown, replacement)
        else:
            lhs, rhs = lhs.subs(unknown, value), rhs.subs(unknown, value)
    lhs, rhs = lhs.doit(), rhs.doit()
    stated = ", ".join(
        f"{name} = {_clip(repr(solution[name]) if isinstance(solution[name], float) else str(v), 60)}"
        for name, v in zip(solution, values, strict=True)
    )
    residual = lhs - rhs
    if _is_zero(residual):
        return _verified(
            f"satisfied: with {stated} the residual lhs - rhs simplifies to 0",
            symbolic=True,
            metrics={"agreement": 1.0, "residual": 0.0},
        )
    sampled = _sample(lhs, rhs, table, domain, rng or random.Random(0), samples, digits, tolerance)
    if isinstance(sampled, Evaluation):
        return sampled
    residuals = [_sub(p.lhs, p.rhs) for p in sampled.points]
    largest = max((mpmath.inf if r is None else abs(r) for r in residuals), default=0)
    metrics = {
        "agreement": sampled.agreement,
        "points": float(len(sampled.points)),
        "residual": _finite_or(largest, 1e300),
    }
    if not sampled.failures:
        where = f" at all {len(sampled.points)} sample points" if table else ""
        return _verified(
            f"satisfied{where}: with {stated} the residual is below {tolerance:g} "
            f"(largest {_fmt(largest)})",
            symbolic=False,
            metrics=metrics,
        )
    simplified = _simplified_text(residual)
    lines = [f"not satisfied: with {stated} the residual lhs - rhs is {simplified}"]
    for p in sampled.failures[:3]:
        at = f"at {_fmt_point(p.at)}: " if p.at else ""
        lines.append(
            f"{at}lhs = {_fmt(p.lhs)}, rhs = {_fmt(p.rhs)}, residual = {_fmt(_sub(p.lhs, p.rhs))}"
        )
    if table:
        lines.append(f"It holds at {sampled.agreeing} of {len(sampled.points)} sample points.")
    return Evaluation(
        score=sampled.score, metrics={**metrics, "symbolic": 0.0}, feedback="\n".join(lines)
    )


def check_bound(
    expression: object,
    bound: object,
    variables: Variables,
    *,
    domain: Domain | None = None,
    relation: Relation = "<=",
    rng: random.Random | None = None,
    grid: int = 256,
    samples: int = 64,
    digits: int = 30,
    tolerance: float = 1e-20,
) -> Evaluation:
    """Does ``expression <relation> bound`` hold on the box `domain`? Feedback names the worst point.

    Intervals are closed; an infinite end (``math.inf``) is sampled up to about 1e6. Either side
    may come from the model. A point where a side is undefined or not real is a violation.
    """
    table = _symbol_table(variables, expression, bound)
    parsed = _parse_all({"the expression": expression, "the bound": bound}, table)
    if isinstance(parsed, Evaluation):
        return parsed
    expr, limit = parsed
    gap = limit - expr if relation in ("<=", "<") else expr - limit  # must stay >= 0 (> 0)
    strict = relation in ("<", ">")
    symbols = [table[name] for name in sorted(table)]
    boxes = _intervals(symbols, domain)
    claim = f"{_clip(str(expr), 80)} {relation} {_clip(str(limit), 80)}"
    box = f" on {_fmt_box(symbols, boxes)}" if symbols else ""
    if _proved_nonnegative(gap, symbols, boxes, strict):
        return _verified(
            f"holds: SymPy proves {claim}{box}", symbolic=True, metrics={"fraction_holding": 1.0}
        )
    context = _BoundContext(expr, limit, gap, symbols, boxes, strict, digits, tolerance)
    units, margins = _search(context, grid, samples, rng or random.Random(0))
    worst = min(range(len(units)), key=lambda i: _sort_key(margins[i]))
    holding = sum(1 for m in margins if context.holds(m))
    metrics = {"fraction_holding": holding / len(units), "points": float(len(units))}
    where = f" at {_fmt_point(context.point(units[worst]))}" if symbols else ""
    if holding == len(units):
        return _verified(
            f"holds at all {len(units)} sampled points{box} (numeric check, not a proof); "
            f"smallest margin {_fmt(margins[worst])}{where}",
            symbolic=False,
            metrics={**metrics, "worst_margin": _finite_or(margins[worst], 0.0)},
        )
    lhs, rhs = context.sides(units[worst])
    feedback = f"fails: {claim} is violated{where}: expression = {_fmt(lhs)}, bound = {_fmt(rhs)}"
    if margins[worst] is not None:
        feedback += f" (violated by {_fmt(-margins[worst])})"
        metrics["worst_margin"] = _finite_or(margins[worst], -1e300)
    if symbols:
        feedback += f". It holds at {holding} of {len(units)} sampled points."
    return Evaluation(
        score=metrics["fraction_holding"], metrics={**metrics, "symbolic": 0.0}, feedback=feedback
    )


def _is_zero(expr: sympy.Expr) -> bool:
    """True when SymPy shows `expr` is 0; False when it cannot (which proves nothing)."""
    try:
        if expr == 0:
            return True
        simplified = sympy.simplify(expr)
        if simplified == 0:
            return True
        return bool(simplified.is_number and simplified.equals(0) is True)
    except Exception:  # simplification can fail on odd input; then numerics decide
        return False


def _verified(feedback: str, symbolic: bool, metrics: Mapping[str, float]) -> Evaluation:
    return Evaluation(
        score=1.0, metrics={**metrics, "symbolic": 1.0 if symbolic else 0.0}, feedback=feedback
    )


def _sub(a: Any, b: Any) -> Any:
    return None if a is None or b is None else a - b


def _finite_or(value: Any, default: float) -> float:
    if value is None:
        return default
    number = float(abs(value)) if isinstance(value, mpmath.mpc) else float(value)
    return number if math.isfinite(number) else default
