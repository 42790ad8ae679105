"""EVOLVE blocks: where a file's editable parts are (`blocks`, any number, every comment style
`_MARKER` knows; `region`, the one block of a one-block program).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

START = "# EVOLVE-BLOCK-START"


END = "# EVOLVE-BLOCK-END"


@dataclass(frozen=True)
class Region:
    """A program split around its EVOLVE-BLOCK: `prefix + body + suffix == program`."""

    prefix: str
    body: str
    suffix: str

    @property
    def marked(self) -> bool:
        """True when the program has EVOLVE-BLOCK markers."""
        return bool(self.prefix or self.suffix)

    def join(self, body: str) -> str:
        """The program with a new block body."""
        if body and not body.endswith("\n") and self.suffix:
            body += "\n"
        return self.prefix + body + self.suffix


# A marker line in any common comment style: a line comment (# Python, shell, R, Julia;
# // C, Go, Rust; -- Lua, Haskell, SQL; ; Lisp, assembly; % LaTeX, Matlab, Erlang; ! Fortran)
# or a block comment closed on its line (/* */ C, (* *) OCaml, Wolfram, Pascal; <!-- -->
# HTML, Markdown; {- -} Haskell).
_MARKER = re.compile(
    r"(?:#+|//+|--+|;+|%+|!+)\s*EVOLVE-BLOCK-(START|END)(?![\w-]).*"
    r"|/\*\s*EVOLVE-BLOCK-(START|END)\s*\*/"
    r"|\(\*\s*EVOLVE-BLOCK-(START|END)\s*\*\)"
    r"|<!--\s*EVOLVE-BLOCK-(START|END)\s*-->"
    r"|\{-\s*EVOLVE-BLOCK-(START|END)\s*-\}"
)


def marker(line: str) -> str | None:
    """The EVOLVE-BLOCK marker a line is, START or END (in any comment style), else None."""
    match = _MARKER.fullmatch(line.strip())
    if match is None:
        return None
    return next(group for group in match.groups() if group)


def region(program: str) -> Region:
    """Split a program at its markers; raises ValueError when they are malformed."""
    lines = program.splitlines(keepends=True)
    starts = [i for i, line in enumerate(lines) if marker(line) == "START"]
    ends = [i for i, line in enumerate(lines) if marker(line) == "END"]
    if not starts and not ends:
        return Region("", program, "")
    if len(starts) != 1 or len(ends) != 1 or ends[0] < starts[0]:
        raise ValueError(
            "expected one EVOLVE-BLOCK-START line followed by one EVOLVE-BLOCK-END line, found "
            f"{len(starts)} start and {len(ends)} end marker(s)"
        )
    s, e = starts[0], ends[0]
    return Region("".join(lines[: s + 1]), "".join(lines[s + 1 : e]), "".join(lines[e:]))


@dataclass(frozen=True)
class Blocks:
    """A file split at any number of EVOLVE blocks:
    `fixed[0] + bodies[0] + fixed[1] + ... + bodies[-1] + fixed[-1] == text`.

    A file without markers is one body between two empty fixed parts: all of it may change.
    Marker lines belong to the fixed parts, so only the bodies ever change.
    """

    fixed: tuple[str, ...]
    bodies: tuple[str, ...]

    @property
    def marked(self) -> bool:
        """True when the file has EVOLVE-BLOCK markers."""
        return any(self.fixed)

    @property
    def outside(self) -> str:
        """The text that may not change, run together (markers included)."""
        return "".join(self.fixed)

    def join(self, bodies: Sequence[str]) -> str:
        """The file with new block bodies, in order."""
        parts = [self.fixed[0]]
        for body, after in zip(bodies, self.fixed[1:], strict=True):
            if body and not body.endswith("\n") and after:
                body += "\n"
            parts += [body, after]
        return "".join(parts)


def blocks(text: str) -> Blocks:
    """Split a file at its EVOLVE blocks; raises ValueError when the markers are malformed."""
    lines = text.splitlines(keepends=True)
    marks = [(i, kind) for i, line in enumerate(lines) if (kind := marker(line))]
    if not marks:
        return Blocks(("", ""), (text,))
    for number, (i, kind) in enumerate(marks):
        expected = "START" if number % 2 == 0 else "END"
        if kind != expected:
            raise ValueError(
                f"line {i + 1} is an EVOLVE-BLOCK-{kind} where an EVOLVE-BLOCK-{expected} was "
                "expected; markers come in START/END pairs, one block after another"
            )
    if len(marks) % 2:
        raise ValueError(
            f"the EVOLVE-BLOCK-START on line {marks[-1][0] + 1} has no EVOLVE-BLOCK-END after it"
        )
    fixed, bodies, done = [], [], 0
    for (start, _), (end, _) in zip(marks[::2], marks[1::2], strict=True):
        fixed.append("".join(lines[done : start + 1]))
        bodies.append("".join(lines[start + 1 : end]))
        done = end
    fixed.append("".join(lines[done:]))
    return Blocks(tuple(fixed), tuple(bodies))
