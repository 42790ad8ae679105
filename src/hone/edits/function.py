"""Completion-style (best-shot) edits of one function: the body of the next version of one
function put in its place (`complete_function`).
"""

from __future__ import annotations

import ast
import re

from hone import syntax
from hone.edits.edit import Edit
from hone.edits.program import checked


def function_names(code: str) -> list[str]:
    """Names of the top-level functions in `code`, in order (empty when it does not parse)."""
    try:
        tree = syntax.parse(code)
    except SyntaxError:
        return []
    return [n.name for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]


def function_source(code: str, name: str) -> str | None:
    """The source of top-level function `name` (decorators included), or None."""
    span = _function_span(code, name)
    if span is None:
        return None
    lines = code.splitlines(keepends=True)
    return "".join(lines[span[0] : span[1]])


def replace_function(code: str, name: str, new_source: str) -> str:
    """`code` with top-level function `name` replaced by `new_source`."""
    span = _function_span(code, name)
    if span is None:
        raise ValueError(f"no top-level function {name!r}")
    lines = code.splitlines(keepends=True)
    if not new_source.endswith("\n"):
        new_source += "\n"
    return "".join(lines[: span[0]]) + new_source + "".join(lines[span[1] :])


def _function_span(code: str, name: str) -> tuple[int, int] | None:
    try:
        tree = syntax.parse(code)
    except SyntaxError:
        return None
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == name:
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)]) - 1
            return first, node.end_lineno or node.lineno
    return None


def complete_function(parent: str, name: str, signature: str, completion: str) -> Edit:
    """Splice `signature` + the completed body into the program `parent` as the new function
    `name` (`Edit.into` puts it in a tree).

    `signature` is the ``def name_vN(...):`` line(s) the prompt ended with; the body ends at the
    first line that is not indented, as in FunSearch's sampler.
    """
    body_lines: list[str] = []
    for line in completion.splitlines():
        if line.strip() and not line[:1].isspace():
            break
        body_lines.append(line)
    body = "\n".join(body_lines).rstrip()
    if not body.strip():
        return Edit(None, "the completion has no function body", "function")
    versioned = re.compile(rf"\b{re.escape(name)}_v\d+\b")
    source = versioned.sub(name, signature.rstrip("\n") + "\n" + body + "\n")
    try:
        syntax.parse(source)
    except SyntaxError as exc:
        return Edit(
            None, f"the new function does not parse: line {exc.lineno}: {exc.msg}", "function"
        )
    try:
        program = replace_function(parent, name, source)
    except ValueError as exc:
        return Edit(None, str(exc), "function")
    return checked(parent, program, "function")
