"""Python source parsed into an `ast.Module`, safely from any thread; into tokens with their
offsets (`tokens`); and into its symbol tables (`symbols`).

CPython 3.11 keeps the AST builder's recursion depth in state shared by every thread, so two
threads parsing at once (hone's prompt building, a library's thread) can fail one of them with
a spurious ``SystemError: AST constructor recursion depth mismatch`` (python/cpython#106905);
seen in hone's own suite. hone's parses take one lock, and the spurious error is parsed again.
"""

from __future__ import annotations

import ast
import io
import symtable
import threading
import tokenize

_LOCK = threading.Lock()
_TRIES = 3
_SPURIOUS = "AST constructor recursion depth mismatch"


def parse(source: str, filename: str = "<unknown>") -> ast.Module:
    """`ast.parse(source)`; a SyntaxError is the source's, never the interpreter's state."""
    for attempt in range(_TRIES):
        try:
            with _LOCK:
                return ast.parse(source, filename)
        except SystemError as error:
            if _SPURIOUS not in str(error) or attempt == _TRIES - 1:
                raise
    raise AssertionError("unreachable")  # (the loop returns or raises)


def symbols(source: str) -> symtable.SymbolTable:
    """The module's symbol table (`symtable.symtable`), under the parses' lock; a SyntaxError
    is the source's."""
    with _LOCK:
        return symtable.symtable(source, "<source>", "exec")


def tokens(source: str) -> list[tuple[tokenize.TokenInfo, int]] | None:
    """The tokens of `source`, each with the offset in it where it starts (it ends
    `len(token.string)` later); None when `source` does not tokenize."""
    starts = line_starts(source)
    try:
        found = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return None
    return [(t, starts[t.start[0] - 1] + t.start[1]) for t in found]


def line_starts(source: str) -> list[int]:
    """The offset in `source` where each line starts (line N at index N - 1, as `ast` and
    `tokenize` number them), and its length last."""
    starts = [0]
    for line in source.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))
    return starts
