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
  ``0.5 * max(0, 1 - |lhs - rhs| / max(|rhs|, 1))`` where they do not, so a nearly right
  answer outranks a far-off one and every disagreeing point costs at least half a point;
* bounds: the fraction of sample points where the bound holds.

Text is parsed by SymPy's ``parse_expr`` only after its tokens are checked: numbers, the
variables, a fixed list of functions and constants, ``+ - * / ** ^ ( ) ,`` and implicit
multiplication (``2n``). Decimals are exact (``0.1`` is 1/10). The input length, the nesting
depth, numeric exponents and the arguments of factorial-like functions are bounded, so parsing
cannot compute a gigantic number; the sandbox's timeout remains the backstop for expressions
that are merely slow to simplify.
"""

from __future__ import annotations

import io
import itertools
import keyword
import math
import random
import re
import tokenize
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

import mpmath  # type: ignore[import-untyped]
import sympy  # type: ignore[import-untyped]
from sympy.core.function import AppliedUndef  # type: ignore[import-untyped]
from sympy.parsing.sympy_parser import (  # type: ignore[import-untyped]
    auto_number,
    auto_symbol,
    convert_xor,
    implicit_multiplication,
    parse_expr,
    rationalize,
)

from hone.evaluation import Evaluation

__all__ = [
    "ExpressionError",
    "check_bound",
    "check_equal",
    "check_solution",
    "parse_expression",
]

Domain: TypeAlias = Mapping[str, tuple[float, float]]
Relation: TypeAlias = Literal["<=", "<", ">=", ">"]
Variables: TypeAlias = Iterable["str | sympy.Symbol"]

MAX_LENGTH = 2000  # characters of expression text
MAX_DEPTH = 30  # nested parentheses
MAX_EXPONENT = 100  # |exponent| when the exponent is a number
MAX_DIGITS = 1000  # |number| <= 10**MAX_DIGITS for powers of numbers
MAX_FACTORIAL = 1000  # numeric arguments of factorial, binomial, gamma

_FUNCTION_NAMES = (
    "sqrt cbrt root exp log sin cos tan cot sec csc asin acos atan atan2 sinh cosh tanh asinh "
    "acosh atanh Abs sign floor ceiling Min Max factorial binomial gamma Rational pi E I"
)
_ALIASES = {"ln": "log", "abs": "Abs", "ceil": "ceiling", "min": "Min", "max": "Max", "e": "E"}
# Every name model-written text may use besides its variables.
FUNCTIONS: dict[str, Any] = {name: getattr(sympy, name) for name in _FUNCTION_NAMES.split()} | {
    alias: getattr(sympy, name) for alias, name in _ALIASES.items()
}
_FACTORIAL_LIKE = (sympy.factorial, sympy.binomial, sympy.gamma)
# Names the code that parse_expr generates calls; text may not use them itself.
_PARSER_NAMES: dict[str, Any] = {
    name: getattr(sympy, name)
    for name in ("Integer", "Float", "Rational", "Symbol", "Function", "Add", "Mul", "Pow")
}
_TRANSFORMATIONS = (auto_symbol, auto_number, rationalize, implicit_multiplication, convert_xor)
_OPERATORS = frozenset({"+", "-", "*", "/", "**", "^", "(", ")", ","})
_NUMBER = re.compile(r"(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_NONFINITE = (sympy.zoo, sympy.nan, sympy.oo, -sympy.oo)


class ExpressionError(ValueError):
    """Expression text that is not allowed or cannot be parsed; the message says why."""


def parse_expression(
    text: str,
    variables: Variables = (),
    *,
    names: Mapping[str, Any] | None = None,
    max_length: int = MAX_LENGTH,
) -> sympy.Expr:
    """Parse model-written text into a SymPy expression, safely; raise `ExpressionError`."""
    table = _symbol_table(variables)
    allowed: dict[str, Any] = {**FUNCTIONS, **table, **(names or {})}
    if not isinstance(text, str):
        raise ExpressionError(f"expected expression text, got {type(text).__name__}")
    text = text.strip()
    if not text:
        raise ExpressionError("the expression is empty")
    if len(text) > max_length:
        raise ExpressionError(
            f"the expression is {len(text)} characters long (at most {max_length})"
        )
    _check_tokens(text, allowed)
    # The first parse builds the tree without computing anything, to measure it.
    lazy = {name: _unevaluated(f) if f in _FACTORIAL_LIKE else f for name, f in allowed.items()}
    try:
        _check_sizes(_parse(text, lazy, evaluate=False))
        expr = _parse(text, allowed, evaluate=True)
    except ExpressionError:
        raise
    except Exception as exc:  # parse_expr raises many kinds; all mean "not an expression"
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ExpressionError(f"cannot parse {_clip(text)!r}: {detail}") from None
    if not isinstance(expr, sympy.Expr):
        raise ExpressionError(
            f"{_clip(text)!r} is not an expression (it is a {type(expr).__name__})"
        )
    return expr


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
    return Evaluation(score=sampled.score, metrics={**metrics, "symbolic": 0.0}, feedback=feedback)


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


# Parsing.


def _symbol_table(variables: Variables, *given: object) -> dict[str, sympy.Symbol]:
    """Name -> Symbol: symbols in SymPy inputs and `variables`; plain names become real symbols."""
    table: dict[str, sympy.Symbol] = {}
    for value in given:
        if isinstance(value, sympy.Basic):
            for symbol in sorted(value.free_symbols, key=str):
                table.setdefault(symbol.name, symbol)
    for variable in variables:
        if isinstance(variable, sympy.Symbol):
            table[variable.name] = variable
        elif isinstance(variable, str) and variable.isidentifier() and not variable.startswith("_"):
            table.setdefault(variable, sympy.Symbol(variable, real=True))
        else:
            raise ValueError(f"variable {variable!r} is not a valid name or sympy.Symbol")
    return table


def _parse(text: str, names: Mapping[str, Any], evaluate: bool) -> Any:
    return parse_expr(
        text,
        local_dict=dict(names),
        global_dict={"__builtins__": {}, **_PARSER_NAMES},
        transformations=_TRANSFORMATIONS,
        evaluate=evaluate,
    )


def _unevaluated(function: Any) -> Callable[..., Any]:
    return lambda *args: function(*args, evaluate=False)


def _check_tokens(text: str, allowed: Mapping[str, Any]) -> None:
    if not text.isascii() or not text.isprintable():
        raise ExpressionError(
            "use plain ASCII: digits, names, + - * / ** ( ) and commas (no newlines, no unicode)"
        )
    depth = 0
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, SyntaxError):
        raise ExpressionError(f"cannot parse {_clip(text)!r}: unbalanced parentheses") from None
    for token in tokens:
        kind, string = token.type, token.string
        if kind in (tokenize.NEWLINE, tokenize.NL, tokenize.ENDMARKER, tokenize.INDENT):
            continue
        if kind == tokenize.NAME:
            if string not in allowed or keyword.iskeyword(string) or string.startswith("_"):
                raise ExpressionError(_unknown_name(string, allowed))
        elif kind == tokenize.NUMBER:
            match = _NUMBER.fullmatch(string)
            if not match:
                raise ExpressionError(f"unsupported number {string!r}: write decimal numbers")
            if match.group(2) and abs(int(match.group(2)[1:])) > MAX_DIGITS:
                raise ExpressionError(f"the number {string!r} exceeds 10**{MAX_DIGITS}")
        elif kind == tokenize.OP and string in _OPERATORS:
            depth += {"(": 1, ")": -1}.get(string, 0)
            if depth < 0:
                raise ExpressionError(f"cannot parse {_clip(text)!r}: unbalanced parentheses")
            if depth > MAX_DEPTH:
                raise ExpressionError(f"parentheses are nested more than {MAX_DEPTH} deep")
        elif string in ("=", "=="):
            raise ExpressionError(f"{_clip(text)!r} is an equation; give only the expression")
        else:
            raise ExpressionError(f"{string!r} is not allowed in an expression")


def _unknown_name(name: str, allowed: Mapping[str, Any]) -> str:
    symbols = sorted(k for k, v in allowed.items() if isinstance(v, sympy.Symbol))
    usable = ", ".join(symbols) if symbols else "no variables"
    return (
        f"unknown name {name!r}: the expression may use {usable}, numbers, pi, E, I and "
        "the functions sqrt, exp, log, sin, cos, tan, floor, factorial, binomial, ..."
    )


def _check_sizes(expr: sympy.Basic) -> None:
    """Refuse (unevaluated) input whose evaluation would build a gigantic number."""
    for node in sympy.postorder_traversal(expr):
        if isinstance(node, sympy.Pow) and not node.exp.free_symbols:
            exponent = node.exp.evalf(15)
            if not exponent.is_number or abs(exponent) > MAX_EXPONENT:
                raise ExpressionError(
                    f"the exponent {_clip(str(node.exp), 40)} is too large (at most {MAX_EXPONENT})"
                )
            if not node.free_symbols:
                value = node.evalf(15)
                if value.is_number and abs(value) > sympy.Float(10) ** MAX_DIGITS:
                    raise ExpressionError(f"a number exceeds 10**{MAX_DIGITS}")
        if isinstance(node, sympy.Function) and node.func in _FACTORIAL_LIKE:
            for arg in node.args:
                if not arg.free_symbols and abs(arg.evalf(15)) > MAX_FACTORIAL:
                    raise ExpressionError(
                        f"{node.func.__name__} of a number above {MAX_FACTORIAL} is not allowed"
                    )


def _to_expr(value: object, table: Mapping[str, sympy.Symbol]) -> sympy.Expr:
    """An expression from text, a number or a SymPy object; raise `ExpressionError`."""
    if isinstance(value, str):
        return parse_expression(value, table.values())
    if isinstance(value, bool) or value is None:
        raise ExpressionError(f"expected an expression, got {value!r}")
    if isinstance(value, int):
        return sympy.Integer(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ExpressionError(f"expected a finite number, got {value!r}")
        return sympy.Rational(value)  # exactly the binary value, so 0.1 is not 1/10
    if isinstance(value, sympy.Expr):
        unknown = sorted(s.name for s in value.free_symbols if s.name not in table)
        if unknown:
            raise ExpressionError(_unknown_name(unknown[0], table))
        return value.subs({s: table[s.name] for s in value.free_symbols}, simultaneous=True)
    raise ExpressionError(f"expected an expression string, got a {type(value).__name__}")


def _parse_all(
    values: Mapping[str, object], table: Mapping[str, sympy.Symbol]
) -> list[sympy.Expr] | Evaluation:
    parsed = []
    for label, value in values.items():
        try:
            parsed.append(_to_expr(value, table))
        except ExpressionError as exc:
            return Evaluation.failed("invalid-output", f"{label}: {exc}")
    return parsed


def _equation_sides(
    equation: object, solution: Mapping[str, object], table: dict[str, sympy.Symbol]
) -> tuple[sympy.Expr, sympy.Expr, dict[str, Any]]:
    """(lhs, rhs, unknown name -> Symbol or Function); takes the unknowns out of `table`.

    A bad equation is the task author's mistake: it raises ValueError or TypeError.
    """
    unknowns: dict[str, Any] = {}
    if isinstance(equation, str):
        for name in solution:
            if re.search(rf"\b{re.escape(name)}\s*\(", equation):
                unknowns[name] = sympy.Function(name)
            elif re.search(rf"\b{re.escape(name)}\b", equation):
                unknowns[name] = sympy.Symbol(name, real=True)
    elif isinstance(equation, sympy.Equality | sympy.Expr):
        applied = {f.func.__name__: f.func for f in equation.atoms(AppliedUndef)}
        for name in solution:
            if name in applied or name in table:
                unknowns[name] = applied.get(name) or table[name]
    else:
        raise TypeError(f"equation must be text, sympy.Eq or an expression, not {equation!r}")
    missing = sorted(set(solution) - set(unknowns))
    if missing:
        raise ValueError(f"the unknown {missing[0]!r} does not occur in the equation")
    for name in unknowns:
        table.pop(name, None)
    if isinstance(equation, sympy.Equality):
        return equation.lhs, equation.rhs, unknowns
    if isinstance(equation, sympy.Expr):
        return equation, sympy.Integer(0), unknowns
    halves = re.split(r"==?", str(equation))
    if len(halves) > 2:
        raise ValueError(f"the equation {equation!r} has more than one '='")
    sides = [parse_expression(half, table.values(), names=unknowns) for half in halves]
    return sides[0], sides[1] if len(sides) == 2 else sympy.Integer(0), unknowns


def _arity(expr: sympy.Expr, function: Any) -> int:
    calls = [a for a in expr.atoms(AppliedUndef) if a.func == function]
    return len(calls[0].args) if calls else 1


# Numeric sampling.


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
    return _Point(at, a, b, error, 0.5 * max(0.0, 1.0 - float(error)))


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


# Bounds.


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


# Results and formatting.


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


def _simplified_text(expr: sympy.Expr) -> str:
    try:
        simplified = sympy.simplify(expr)
        text = str(simplified)
        if simplified.is_number and len(text) > 40:  # a long exact fraction: show its value
            text = str(simplified.evalf(12))
    except Exception:  # the unsimplified residual still tells the model something
        text = str(expr)
    return _clip(text, 200)


def _sub(a: Any, b: Any) -> Any:
    return None if a is None or b is None else a - b


def _finite_or(value: Any, default: float) -> float:
    if value is None:
        return default
    number = float(abs(value)) if isinstance(value, mpmath.mpc) else float(value)
    return number if math.isfinite(number) else default


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
