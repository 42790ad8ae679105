"""A formula in a program's string, expanded into a sum of terms with a coefficient each: the
form in which `hone.tuning` fits a formula's numbers by least squares (`hone.least_squares`).

The model proposes the structure (which powers of n, which functions), tuning fits the
numbers: `"n**4/4 + (n - 1)**3/3"` has no setting of its three numbers that makes it the sum
of cubes, but expanded, `n**4/4 + n**3/3 - n**2 + n - 1/3` has one coefficient per power, and
the right ones make it exact. The string is parsed by `hone.verifiers.math`'s parser (model
text is never run in hone's process), expanded by SymPy, and written back with the
coefficients a fit found (`Formula.text`): decimals while fitting, fractions once snapped.
"""

from __future__ import annotations

import math
import re
import string
import tokenize
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from hone import syntax
from hone.constants import FORMULA_KINDS, Constant, Value, string_bounds
from hone.tree import Tree

MAX_TERMS = 12  # an expansion with more terms is not fitted (nor is one with larger powers)
MAX_POWER = 12
_NAME = re.compile(r"[A-Za-z_]\w*")


@dataclass(frozen=True)
class Formula:
    """A formula string of a program, expanded: where its text is and its terms."""

    path: str  # the file of the tree it is in
    start: int  # its string in that file, quotes included (or its strings joined by +)
    end: int
    opening: str  # the string's opening quote (with its prefix), as it is rewritten
    text_before: str  # as the program has it (its strings' text joined)
    terms: tuple[Any, ...]  # SymPy expressions: each term without its coefficient (1: a number)
    coefficients: tuple[float, ...]  # of the expansion as written (the fit's start)
    caret: bool  # the formula writes powers as ^, not **

    def text(self, values: Sequence[Value]) -> str:
        """The formula with these coefficients (a Fraction written as one: "n**4/4"; a float
        as a decimal); terms at 0 left out."""
        parts: list[tuple[bool, str]] = []
        for term, value in zip(self.terms, values, strict=True):
            if value == 0:
                continue
            parts.append((value < 0, _term(_sstr(term), -value if value < 0 else value)))
        if not parts:
            return "0"
        out = ("-" if parts[0][0] else "") + parts[0][1]
        for negative, text in parts[1:]:
            out += f" {'-' if negative else '+'} {text}"
        return out.replace("**", "^") if self.caret else out

    def tree(self, tree: Tree, values: Sequence[Value]) -> Tree:
        """`tree` with the formula's string replaced by one of `text(values)`."""
        closing = self.opening.lstrip(string.ascii_letters)  # (no prefix: r, b, u)
        new = self.opening + self.text(values) + closing
        program = tree[self.path]
        return tree.with_files({self.path: program[: self.start] + new + program[self.end :]})


def expanded(tree: Tree, found: Sequence[Constant]) -> Formula | None:
    """The formula string that `found` (a tuning stage's constants) are the numbers of,
    expanded; None when they are not all in one formula string, or it does not parse, or its
    expansion is too large or has a coefficient that is not a real number."""
    if not found or any(c.kind not in FORMULA_KINDS for c in found):
        return None
    path = found[0].path
    if any(c.path != path for c in found):
        return None
    span = _string_around(tree[path], found[0].start)
    if span is None or any(not span[0] <= c.start <= c.end <= span[1] for c in found):
        return None
    start, end, text, opening = span
    expression = _parsed(text)
    if expression is None:
        return None
    import sympy

    if any(p.exp.is_Integer and abs(int(p.exp)) > MAX_POWER for p in expression.atoms(sympy.Pow)):
        return None
    try:
        terms = sympy.expand(expression).as_ordered_terms()  # (as SymPy prints them)
    except Exception:  # (SymPy fails in many ways on odd input: nothing to fit then)
        return None
    if len(terms) > MAX_TERMS:
        return None
    rests, coefficients = [], []
    for term in terms:
        coefficient, rest = term.as_coeff_Mul()
        if not coefficient.is_real or not coefficient.is_Number or rest.has(sympy.Float):
            return None
        value = float(coefficient)
        if not math.isfinite(value):
            return None
        rests.append(rest)
        coefficients.append(value)
    caret = "^" in text and "**" not in text
    return Formula(path, start, end, opening, text, tuple(rests), tuple(coefficients), caret)


def _parsed(text: str) -> Any:
    """The formula as SymPy reads it with hone's safe parser, its names as variables; None
    when it does not parse."""
    from hone.verifiers.math.parsing import FUNCTIONS, ExpressionError, parse_expression

    names = sorted({n for n in _NAME.findall(text) if n not in FUNCTIONS})
    try:
        return parse_expression(text, names)
    except (ExpressionError, ValueError, TypeError):
        return None


def _string_around(program: str, offset: int) -> tuple[int, int, str, str] | None:
    """The string of a Python program that holds `offset`: a literal, or literals joined by
    `+` or side by side (`"n**4/4" + " + n**3/2"`): where it is, quotes included, its text
    (joined) and the opening quote it is rewritten with; None when there is none, or an
    f-string is part of it."""
    found = syntax.tokens(program)
    if found is None:
        return None
    kept = [(t, at) for t, at in found if t.type not in (tokenize.NL, tokenize.COMMENT)]
    tokens = [t for t, _ in kept]
    here = next(
        (
            i
            for i, (t, at) in enumerate(kept)
            if t.type == tokenize.STRING and at <= offset < at + len(t.string)
        ),
        None,
    )
    if here is None:
        return None
    first = last = here
    while first >= 1 and _joined(tokens, first - 1, -1):
        first -= 1 if tokens[first - 1].type == tokenize.STRING else 2
    while last + 1 < len(tokens) and _joined(tokens, last + 1, 1):
        last += 1 if tokens[last + 1].type == tokenize.STRING else 2
    texts, opening = [], ""
    for token in tokens[first : last + 1]:
        if token.type != tokenize.STRING:
            continue
        bounds = string_bounds(token.string)
        if bounds is None:
            return None
        opening = opening or token.string[: bounds[0]]
        texts.append(token.string[bounds[0] : bounds[1]])
    end = kept[last][1] + len(tokens[last].string)
    return kept[first][1], end, "".join(texts), opening


def _joined(tokens: list[tokenize.TokenInfo], index: int, direction: int) -> bool:
    """True when the token at `index` continues a string: another string, or a `+` with a
    string beyond it (in `direction`)."""
    token = tokens[index]
    if token.type == tokenize.STRING:
        return True
    beyond = index + direction
    return (
        token.type == tokenize.OP
        and token.string == "+"
        and 0 <= beyond < len(tokens)
        and tokens[beyond].type == tokenize.STRING
    )


def _term(term: str, size: Value) -> str:
    """A term with a coefficient of `size` (positive): "n**3/2", "3*n**2/4", "0.25*n", "1/3"."""
    if isinstance(size, Fraction):
        p, q = size.numerator, size.denominator
        head = term if p == 1 and term != "1" else str(p) if term == "1" else f"{p}*{term}"
        return head if q == 1 else f"{head}/{q}"
    number = _decimal(float(size))
    return number if term == "1" else term if number == "1" else f"{number}*{term}"


def _decimal(value: float) -> str:
    """A float as a decimal that reads back as the same float (no exponent: formulas take
    plain decimals)."""
    import numpy as np

    return str(np.format_float_positional(value, trim="-"))


def _sstr(term: Any) -> str:
    import sympy

    return str(sympy.sstr(term))


__all__ = ["MAX_POWER", "MAX_TERMS", "Formula", "expanded"]
