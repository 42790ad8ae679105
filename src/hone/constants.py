"""A program's tunable constants (`hone.tuning` tunes them): where they are (float
literals, named parameters, numbers in formula strings and the implicit factors of a formula's
terms), how a new value is written back, and the steps a formula's numbers are tried at (the
`ladder` of simple multiples, `snap` to simple fractions)."""

from __future__ import annotations

import ast
import math
import re
import tokenize
from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

from hone import syntax
from hone.edits import blocks
from hone.task import language_of
from hone.tree import Tree

MAX_CONSTANTS = 12  # tuned at once: the first ones of the block
_FLOAT = re.compile(r"(?<![\w.])(?:\d+\.\d*|\.\d+|\d+(?:\.\d*)?[eE][-+]?\d+)(?![\w.])")
_NUMBER = re.compile(r"(?<![\w.])(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?(?![\w.])")  # in a string
_EXPONENT = re.compile(r"(?:\*\*|\^)\s*\(?\s*[-+]?$")  # what comes before an exponent
_MARKER = re.compile(r"#\s*tune\b")  # a comment that makes its line's strings tunable
_FORMULA = re.compile(r"[\w\s.+\-*/^()]*[a-zA-Z_][\w\s.+\-*/^()]*")  # names, numbers, operators
_OPERATOR = re.compile(r"[-+*/^]")
# the multiples of a number in a string a stage tries, simplest first
LADDER = tuple(
    Fraction(m) for m in ("2", "1/2", "3/2", "2/3", "3", "1/3", "4/3", "3/4", "4", "1/4")
)
SNAP_DENOMINATORS = 12  # a snapped value is p/q with q up to this
SNAP_TOLERANCE = 0.05  # ... within this share of the tuned value
# a literal, a named parameter, a number in a string, a number that is a whole term of a
# formula in a string (the 1 of "n**4/4 + 1"), a term's implicit factor 1 in a string
ConstantKind = Literal["float", "param", "string", "term", "factor"]
FORMULA_KINDS = ("string", "term", "factor")  # stepped by the ladder, not searched by CMA-ES
Span = tuple[int, int, ConstantKind]  # where a constant is in a block, and its kind

Value = float | Fraction  # a trial's value of a constant (a Fraction: a snapped one)


@dataclass(frozen=True)
class Constant:
    """A floating-point literal of a program: where it is and its value."""

    start: int  # offset in the program (its file's, in a tree)
    end: int
    value: float
    path: str = ""  # the file of a tree it is in
    kind: ConstantKind = "float"

    def bounds(self, spread: float) -> tuple[float, float]:
        """The range searched: the value ± `spread` of it (its sign kept). CMA-ES starts in the
        middle, the value itself, with steps of a sixth of the range."""
        low, high = sorted((self.value * (1 - spread), self.value * (1 + spread)))
        return low, high


def constants(
    program: str, language: str = "python", path: str = "", *, strings: bool = False
) -> list[Constant]:
    """The non-zero numeric constants of the program's EVOLVE blocks (the whole program
    without markers), in order: float literals, and in Python the values of a dict of named
    parameters and (with `strings`, or on a line with a `# tune` comment) the numbers inside
    strings; other strings and comments are skipped. At most `MAX_CONSTANTS`: named
    parameters first, then numbers in strings, then the first float literals. `path`: the
    file of a tree the program is."""
    try:
        parts = blocks(program)
    except ValueError:
        return []
    found, base = [], 0
    for fixed, body in zip(parts.fixed, parts.bodies, strict=False):
        base += len(fixed)
        found_here = _python_constants(body, strings) if language == "python" else None
        spans: list[Span] = found_here if found_here is not None else [
            (m.start(), m.end(), "float") for m in _FLOAT.finditer(_blank_comments(body))
        ]  # fmt: skip
        for start, end, kind in spans:
            value = float(body[start:end]) if kind != "factor" else 1.0
            if value != 0 and math.isfinite(value):
                found.append(Constant(base + start, base + end, value, path, kind))
        base += len(body)
    first = sorted(found, key=lambda c: _PRIORITY[c.kind])[:MAX_CONSTANTS]
    return sorted(first, key=lambda c: c.start)


_PRIORITY: dict[ConstantKind, int] = {"param": 0, "string": 1, "term": 1, "factor": 1, "float": 2}


def tree_constants(tree: Tree, *, strings: bool = False) -> list[Constant]:
    """The constants of every file of a tree (`constants`, each file in its language), in
    path order: the first `MAX_CONSTANTS` of them."""
    found: list[Constant] = []
    for path, text in tree.items():
        found += constants(text, language_of(path), path, strings=strings)
        if len(found) >= MAX_CONSTANTS:
            break
    return found[:MAX_CONSTANTS]


def substitute(program: str, found: list[Constant], values: list[Value]) -> str:
    """The program with each constant replaced by its new value."""
    out, last = [], 0
    for constant, value in zip(found, values, strict=True):
        out += [program[last : constant.start], _text(constant, value)]
        last = constant.end
    return "".join(out) + program[last:]


def _text(constant: Constant, value: Value) -> str:
    """How a value is written: a float literal, or a snapped fraction in a string ("(1/3)",
    "0.25" or "2": a formula reads them exactly)."""
    if constant.kind == "factor" and value == 1:  # a term's factor: not written when it is 1
        return ""
    text = _fraction(value) if isinstance(value, Fraction) else literal(value)
    return text + "*" if constant.kind == "factor" else text  # (a factor: before its term)


def _fraction(value: Fraction) -> str:
    if value.denominator == 1:
        return str(value.numerator)
    if 10**6 % value.denominator == 0:  # a finite decimal
        return format(value.numerator / value.denominator, ".6g")
    return f"({value.numerator}/{value.denominator})"


def ladder(found: list[Constant], values: list[Value]) -> list[tuple[int, Value]]:
    """The trials of one sweep over the numbers in strings (and implicit factors), in order:
    each one at a time (round-robin), first snapped to the simplest fraction near it (a
    decimal such as 0.26: `snap`), then each whole term at 0 (the formula without it), then
    times each of `LADDER`: (its index, the value tried)."""
    strings = [i for i, c in enumerate(found) if c.kind in FORMULA_KINDS]
    steps: list[tuple[int, Value]] = []
    for i in strings:
        near = snap(values[i])
        if near is not None and near != values[i]:
            steps.append((i, near))
    steps += [(i, Fraction(0)) for i in strings if found[i].kind == "term" and values[i] != 0]
    steps += [(i, Fraction(values[i]) * m) for m in LADDER for i in strings if values[i] != 0]
    return steps


def snap(value: Value) -> Fraction | None:
    """The simplest fraction p/q (q up to `SNAP_DENOMINATORS`) within `SNAP_TOLERANCE` of
    `value`, or None when there is none."""
    exact = Fraction(value)
    for q in range(1, SNAP_DENOMINATORS + 1):
        near = Fraction(round(exact * q), q)
        if near != 0 and abs(near - exact) <= SNAP_TOLERANCE * abs(exact):
            return near
    return None


def exact(tree: Tree, constant: Constant) -> Value:
    """A constant's value, exact (a Fraction of its text) when it is in a string."""
    if constant.kind == "factor":
        return Fraction(1)
    if constant.kind not in ("string", "term"):
        return constant.value
    return Fraction(tree[constant.path][constant.start : constant.end])


def substitute_tree(tree: Tree, found: list[Constant], values: list[Value]) -> Tree:
    """The tree with each constant (of `tree_constants`) replaced by its new value."""
    changes = {}
    for path in dict.fromkeys(c.path for c in found):
        mine = [(c, v) for c, v in zip(found, values, strict=True) if c.path == path]
        changes[path] = substitute(tree[path], [c for c, _ in mine], [v for _, v in mine])
    return tree.with_files(changes)


def literal(value: float) -> str:
    """A float literal of `value` to 6 significant digits (always with a point or exponent)."""
    text = f"{value:.6g}"
    return text if any(c in text for c in ".en") else text + ".0"


_STATEMENT_START = (tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT)


def _python_constants(body: str, strings: bool) -> list[Span] | None:
    """Spans of float NUMBER tokens, of named parameters' values and (`strings`, or on a line
    marked `# tune`) of numbers in strings; None when the block does not tokenize on its own."""
    tokens = syntax.tokens(body)
    if tokens is None:
        return None
    spans: dict[int, Span] = {}
    marked = {
        t.start[0] for t, _ in tokens if t.type == tokenize.COMMENT and _MARKER.match(t.string)
    }
    previous = tokenize.NEWLINE  # the type of the last token that is not a comment or NL
    for tok, start in tokens:
        statement = previous in _STATEMENT_START  # a string there is a docstring: prose
        if tok.type not in (tokenize.COMMENT, tokenize.NL):
            previous = tok.type
        if tok.type == tokenize.NUMBER and _FLOAT.fullmatch(tok.string):
            spans[start] = (start, start + len(tok.string), "float")
        elif tok.type == tokenize.STRING and not statement and (strings or tok.end[0] in marked):
            for m in _NUMBER.finditer(tok.string):
                if not _EXPONENT.search(tok.string[: m.start()]):
                    spans[start + m.start()] = (start + m.start(), start + m.end(), "string")
            factors, terms = _terms(tok.string)
            for at in factors:
                spans[start + at] = (start + at, start + at, "factor")
            for at in terms:
                begin, end, _ = spans[start + at]
                spans[start + at] = (begin, end, "term")
    for start, end in _parameters(body):
        spans[start] = (start, end, "param")
    return [spans[k] for k in sorted(spans)]


def _terms(literal: str) -> tuple[list[int], list[int]]:
    """In a string literal holding a formula (names, numbers, operators and parentheses),
    where each term of its top-level sum that has no number but exponents starts (its implicit
    factor 1: the `n**3` of `"n**4/4 + n**3"`), and where each term that is a number alone
    starts (the `1` of `"n**4/4 + 1"`). None in f-strings."""
    bounds = string_bounds(literal)
    if bounds is None:
        return [], []
    first, last = bounds
    content = literal[first:last]
    if not _FORMULA.fullmatch(content) or not _OPERATOR.search(content):
        return [], []
    found, alone, depth, term = [], [], 0, first
    for at in range(first, last + 1):
        char = literal[at] if at < last else "+"  # (the end closes the last term)
        if char in "([":
            depth += 1
        elif char in ")]":
            depth -= 1
        elif char in "+-" and depth == 0 and _binary(literal[first:at]):
            text = literal[term:at]
            stripped = text.lstrip()
            numbers = [m for m in _NUMBER.finditer(text) if not _EXPONENT.search(text[: m.start()])]
            if stripped and not numbers:
                found.append(term + len(text) - len(stripped))
            elif len(numbers) == 1 and numbers[0].group() == stripped.rstrip():
                alone.append(term + numbers[0].start())
            term = at + 1
    return found, alone


def string_bounds(literal: str) -> tuple[int, int] | None:
    """Where the text of a Python string literal is, inside its prefix and quotes; None for
    an f-string (its text holds code)."""
    quote = min(i for i in (literal.find("'"), literal.find('"')) if i >= 0)
    if "f" in literal[:quote].lower():
        return None
    width = 3 if literal[quote : quote + 3] in ('"""', "'''") else 1
    return quote + width, len(literal) - width


def _binary(before: str) -> bool:
    """True when a + or - after `before` separates two terms (not a sign after an operator,
    nor the exponent's sign of a number such as 1e-5)."""
    text = before.rstrip()
    return bool(text) and text[-1] not in "*/^(+-" and not re.search(r"\d[eE]$", text)


def _parameters(body: str) -> list[tuple[int, int]]:
    """Spans of the numbers of dicts of named parameters (`params = {"a": 0.5, "b": 2}`: each
    key a string, each value a number) assigned in the block."""
    try:
        tree = syntax.parse(body)
    except (SyntaxError, ValueError):
        return []
    lines, starts = body.splitlines(keepends=True), syntax.line_starts(body)
    found = []
    for node in ast.walk(tree):
        value = node.value if isinstance(node, ast.Assign | ast.AnnAssign) else None
        if not isinstance(value, ast.Dict) or not value.values:
            continue
        named = all(isinstance(k, ast.Constant) and isinstance(k.value, str) for k in value.keys)
        numbers = [n for n in map(_number, value.values) if n is not None]
        if named and len(numbers) == len(value.values):
            for n in numbers:
                end = n.end_lineno or n.lineno, n.end_col_offset or 0
                found.append((_offset(lines, starts, n.lineno, n.col_offset),
                              _offset(lines, starts, *end)))  # fmt: skip
    return found


def _number(node: ast.expr) -> ast.Constant | None:
    """The number a dict value is (its sign left out: it stays), else None."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        node = node.operand
    if (
        isinstance(node, ast.Constant)
        and isinstance(node.value, int | float)
        and not isinstance(node.value, bool)
    ):
        return node
    return None


def _offset(lines: list[str], starts: list[int], lineno: int, col: int) -> int:
    """The offset in the block of an AST position (its column counts UTF-8 bytes)."""
    return starts[lineno - 1] + len(lines[lineno - 1].encode()[:col].decode(errors="ignore"))


def _blank_comments(code: str) -> str:
    """`code` with // and /* */ comments blanked out (offsets kept)."""
    blank = lambda m: " " * len(m.group())  # noqa: E731
    return re.sub(r"/\*.*?\*/|//[^\n]*", blank, code, flags=re.DOTALL)


def divides(tree: Tree, constant: Constant) -> bool:
    """True when a number in a formula is a divisor (the 3 of "n**3/3")."""
    before = tree[constant.path][: constant.start]
    return constant.kind != "factor" and before.rstrip().endswith("/")


def snap_coefficient(value: Value, start: float) -> Value:
    """A fitted coefficient as a formula would have it: 0 when it is near 0 (within
    `SNAP_TOLERANCE` of its start's size, at least 1), else the simplest nearby fraction
    (`snap`), else itself."""
    if abs(float(value)) < SNAP_TOLERANCE * max(1.0, abs(start)):
        return Fraction(0)
    near = snap(value)
    return near if near is not None else value


def change(text: str, constant: Constant, value: Value) -> str:
    """'4 → 3', or for a term's factor the term before and after: 'n**3 → 0.5*n**3'."""
    if constant.kind != "factor":
        return f"{text[constant.start : constant.end]} → {_text(constant, value)}"
    term = re.match(r"[^-+\"']*", text[constant.start :])
    shown = term.group().strip() if term else ""
    return f"{shown} → {_text(constant, value)}{shown}"


__all__ = [
    "FORMULA_KINDS",
    "LADDER",
    "MAX_CONSTANTS",
    "Constant",
    "ConstantKind",
    "Value",
    "change",
    "constants",
    "divides",
    "exact",
    "ladder",
    "literal",
    "snap",
    "snap_coefficient",
    "string_bounds",
    "substitute",
    "substitute_tree",
    "tree_constants",
]
