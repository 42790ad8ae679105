"""Python source parsed into an `ast.Module`, safely from any thread.

CPython 3.11 keeps the AST builder's recursion depth in state shared by every thread, so two
threads parsing at once (hone's prompt building, a library's thread) can fail one of them with
a spurious ``SystemError: AST constructor recursion depth mismatch`` (python/cpython#106905);
seen in hone's own suite. hone's parses take one lock, and the spurious error is parsed again.
"""

from __future__ import annotations

import ast
import threading

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
