"""What small models send instead of a whole one-block file, made into the block's new body:
the block's contents alone, the block from its START line with no END, the program up to the END
line with no START, or the whole program without markers (`block_of`); and, when that code is
only definitions and imports, those definitions put in place of the block's own, the rest kept
(`spliced`). Code outside the block that an answer repeats must be the file's, blank and comment
lines aside (`same_outside`); the file's own text is what is kept.

Seen in Qwen2.5-Coder-0.5B's answers to chat prompts on the peers' circle_packing folders
(benchmarks/peers_real_model.py's proxy log): after prose without code, its commonest answers.
"""

from __future__ import annotations

import ast

from hone import syntax
from hone.edits.blocks import Blocks, marker
from hone.edits.edit import Invalid


def same_outside(mine: str, theirs: str) -> bool:
    """True when an answer's copy of code outside the blocks has the same code lines as the
    file's (blank and comment lines aside: small models drop comments; the file's own text is
    what is kept)."""
    return _code_lines(mine) == _code_lines(theirs)


def _code_lines(text: str) -> list[str]:
    return [
        line.rstrip()
        for line in text.splitlines()
        if line.strip() and not line.lstrip().startswith(("#", "//"))
    ]


def block_of(parts: Blocks, code: str) -> str | None:
    """The new body of a one-block file's block from an answer that does not send the whole
    file with both markers (None: it does): the block's contents alone; the block from its
    START line with no END (small models stop there); the program up to the END line with no
    START; or the whole program without markers. Code outside the block must come back as it
    is, or not at all."""
    lines = code.splitlines(keepends=True)
    starts = [i for i, line in enumerate(lines) if marker(line) == "START"]
    ends = [i for i, line in enumerate(lines) if marker(line) == "END"]
    if len(starts) + len(ends) > 1 or (starts and ends):
        return None  # both markers (or too many): the whole file's rules
    before, after = parts.fixed[0], parts.fixed[-1]  # (their START and END lines included)
    if starts:
        cut = starts[0]
        if "".join(lines[:cut]).strip() and not same_outside("".join(lines[: cut + 1]), before):
            raise Invalid(_CHANGED.format(where="before"))
        return "".join(lines[cut + 1 :])
    if ends:
        cut = ends[0]
    else:
        # a whole program without markers: cut where the code after the block begins (its
        # first code line: a comment there may have been dropped)
        outside = [line.strip() for line in _code_lines("".join(after.splitlines(True)[1:]))]
        cut = next(
            (i for i, line in enumerate(lines) if outside and line.strip() == outside[0]), -1
        )
        if cut < 0:
            return code  # the block's new contents
        if not same_outside("".join(lines[cut:]), "".join(after.splitlines(keepends=True)[1:])):
            raise Invalid(_CHANGED.format(where="after"))
    if ends and not same_outside("".join(lines[cut:]), after):
        raise Invalid(_CHANGED.format(where="after"))
    return _without(before.splitlines(keepends=True)[:-1], lines[:cut])


_CHANGED = (
    "the answer changes code {where} the EVOLVE-BLOCK, which must stay as it is; change only "
    "the code between the markers"
)


def _without(head: list[str], lines: list[str]) -> str:
    """`lines` without their first lines where they repeat `head` (the code before the block,
    blank lines aside)."""
    wanted = [line.strip() for line in head if line.strip()]
    seen = cut = 0
    for i, line in enumerate(lines):
        if seen == len(wanted):
            break
        if not line.strip():
            continue
        if line.strip() != wanted[seen]:
            return "".join(lines)
        seen, cut = seen + 1, i + 1
    return "".join(lines[cut:])


_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def spliced(body: str, new: str) -> str:
    """A Python block's new body from an answer's text for it (`new`): when the answer gives
    only definitions and imports, each definition replaces the block's one of that name (a new
    one is added at the end) and its new imports join the block's, so what it left out stays;
    otherwise `new` is the body. Either way an import of the block that `new` dropped but
    still uses is kept. Not Python (or not parsing): `new` as it is."""
    try:
        old, tree = syntax.parse(body), syntax.parse(new)
    except SyntaxError:
        return new
    imports = (ast.Import, ast.ImportFrom)
    defined = [n for n in tree.body if isinstance(n, _DEFS)]
    parts = [n for n in tree.body if not isinstance(n, (*_DEFS, *imports)) and not _is_doc(n)]
    if parts or not defined:
        return _kept_imports(old, body, tree) + new
    result = body
    names = {n.name for n in old.body if isinstance(n, _DEFS)}
    for node in defined:
        source = _source(new, node)
        if node.name in names:
            result = _replace_def(result, node.name, source)
        else:
            result = result.rstrip("\n") + "\n\n\n" + source
    have = {_source(body, n).strip() for n in old.body if isinstance(n, imports)}
    added = [
        t
        for n in tree.body
        if isinstance(n, imports) and (t := _source(new, n)).strip() not in have
    ]
    if not added:
        return result
    lines = result.splitlines(keepends=True)
    at = max((n.end_lineno or n.lineno for n in old.body if isinstance(n, imports)), default=0)
    return "".join(lines[:at]) + "".join(added) + "".join(lines[at:])


def _is_doc(node: ast.stmt) -> bool:
    return isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)


def _source(text: str, node: ast.stmt) -> str:
    """The lines of a top-level statement (decorators included), with their newline."""
    first = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))]) - 1
    source = "".join(text.splitlines(keepends=True)[first : node.end_lineno or node.lineno])
    return source if source.endswith("\n") else source + "\n"


def _replace_def(code: str, name: str, source: str) -> str:
    tree = syntax.parse(code)
    node = next(n for n in tree.body if isinstance(n, _DEFS) and n.name == name)
    first = min([node.lineno, *(d.lineno for d in node.decorator_list)]) - 1
    lines = code.splitlines(keepends=True)
    return "".join(lines[:first]) + source + "".join(lines[node.end_lineno or node.lineno :])


def _kept_imports(old: ast.Module, body: str, tree: ast.Module) -> str:
    """The block's import statements that bind a name `tree` uses and does not bind itself."""
    bound = {
        (alias.asname or alias.name).split(".")[0]
        for n in ast.walk(tree)
        if isinstance(n, ast.Import | ast.ImportFrom)
        for alias in n.names
    }
    bound |= {n.name for n in ast.walk(tree) if isinstance(n, _DEFS)}
    bound |= {
        n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)
    }
    used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    kept = []
    for node in old.body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = {(a.asname or a.name).split(".")[0] for a in node.names}
            if names & used and not names & bound:
                kept.append(_source(body, node))
    return "".join(kept)
