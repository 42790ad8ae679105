"""Completion-style (best-shot) edits of one function: the body of the next version of one
function put in its place (`complete_function`).
"""

from __future__ import annotations

import ast
import builtins
import re
import textwrap

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
    first line that is not indented, as in FunSearch's sampler. A body that reads names only
    the parent function's first statements assign, and lacks those statements, gets them back
    (`restored`).
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
    previous = function_source(parent, name)
    if previous is not None:
        source = restored(previous, source, parent)
    try:
        program = replace_function(parent, name, source)
    except ValueError as exc:
        return Edit(None, str(exc), "function")
    return checked(parent, program, "function")


def restored(previous: str, source: str, program: str) -> str:
    """`source`, a new version of the function `previous`, with the first statements of
    `previous` that it left out put back: a small model, shown a function that begins with its
    parameters (`p = {...}`), often writes the new body from the line after them and still
    reads `p`. When the body reads names that neither it, `program`'s module level nor the
    builtins define, and the shortest run of `previous`'s first statements (after its
    docstring) that assigns them all is absent from the body, that run (with the comments
    among and before it) goes in front of the body; otherwise `source` as it is."""
    try:
        old, new = syntax.parse(previous).body, syntax.parse(source).body
    except SyntaxError:
        return source
    defs = ast.FunctionDef | ast.AsyncFunctionDef
    if len(old) != 1 or len(new) != 1 or not isinstance(old[0], defs):
        return source
    if not isinstance(new[0], defs) or not (body := _statements(new[0])):
        return source
    missing = _undefined(source, program)
    if not missing:
        return source
    head = _statements(old[0])
    run = next((head[:k] for k in range(1, len(head) + 1) if missing <= _assigned(head[:k])), [])
    present = {ast.dump(node) for node in body}
    if not run or any(ast.dump(node) in present for node in run):
        return source
    lines = previous.splitlines(keepends=True)
    # from the end of the docstring (so the comments before the run come too), else the run
    start = (old[0].body[0].end_lineno or 0) if len(head) < len(old[0].body) else run[0].lineno - 1
    taken = textwrap.dedent("".join(lines[start : run[-1].end_lineno or run[-1].lineno]))
    into = source.splitlines(keepends=True)
    at = body[0].lineno - 1
    indent = re.match(r"[ \t]*", into[at])
    put = textwrap.indent(taken, indent.group() if indent else "    ")
    result = "".join(into[:at]) + put + "".join(into[at:])
    try:
        syntax.parse(result)
    except SyntaxError:
        return source
    return result


def _statements(function: ast.FunctionDef | ast.AsyncFunctionDef) -> list[ast.stmt]:
    """The function's statements after its docstring."""
    body = function.body
    first = body[0].value if body and isinstance(body[0], ast.Expr) else None
    return body[1:] if isinstance(first, ast.Constant) and isinstance(first.value, str) else body


def _undefined(source: str, program: str) -> set[str]:
    """The names the function `source` reads as globals that neither `program`'s module level
    nor the builtins define (none when `program` imports with `*`)."""
    try:
        module, function = syntax.symbols(program), syntax.symbols(source)
        tree = syntax.parse(program)
    except SyntaxError:
        return set()
    if any(
        isinstance(node, ast.ImportFrom) and any(a.name == "*" for a in node.names)
        for node in tree.body
    ):
        return set()
    defined = {s.get_name() for s in module.get_symbols() if s.is_assigned() or s.is_imported()}
    read: set[str] = set()
    tables = list(function.get_children())
    while tables:
        table = tables.pop()
        read |= {
            s.get_name()
            for s in table.get_symbols()
            if s.is_referenced() and s.is_global() and not s.is_declared_global()
        }
        tables += table.get_children()
    return read - defined - set(dir(builtins))


def _assigned(statements: list[ast.stmt]) -> set[str]:
    """The names these statements bind (assignments, imports, definitions, loop and with
    targets; also inside them)."""
    names: set[str] = set()
    for statement in statements:
        for node in ast.walk(statement):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                names.add(node.name)
            elif isinstance(node, ast.Import | ast.ImportFrom):
                names |= {(a.asname or a.name).split(".")[0] for a in node.names}
    return names
