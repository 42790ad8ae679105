"""Parsing expression text into SymPy safely: checked tokens, bounded sizes, symbol tables."""

from __future__ import annotations

import io
import keyword
import math
import re
import tokenize
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Literal, TypeAlias

import sympy
from sympy.core.function import AppliedUndef
from sympy.parsing.sympy_parser import (
    auto_number,
    auto_symbol,
    convert_xor,
    implicit_multiplication,
    parse_expr,
    rationalize,
)

from hone.evaluation import Evaluation
from hone.verifiers.math.text import _clip

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
