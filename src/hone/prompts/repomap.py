"""A folder task's map for chat prompts: every file of the program folder with its size and the
top-level names it defines, the editable ones marked, trimmed to `MAP_CHARS`.

The model sees the editable files in full elsewhere in the prompt, and the context files as
far as their budget allows; the map tells it what else is there (aider's repository map, in
small): what a module it imports defines, which files it may not touch, where data lies.
Names come from Python's `ast` for ``.py`` files (beyond `AST_CHARS`, from their lines, as
below), from a line-anchored regular expression for C and C++, JavaScript and TypeScript, Go,
Rust and the section headers of TOML and INI files, and are left out for other files (path and
size only). Trimming keeps the editable files first: over the budget, the other files lose
their names, then the last of them their lines (counted in one closing line).
"""

from __future__ import annotations

import ast
import functools
import re
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Literal

from hone import syntax
from hone.tree import DEFAULT_LIMIT, Tree, TreeSpec, files_under, read_text

MAP_CHARS = 4000  # of the map in one prompt (about 1,000 tokens)
NAMES_SHOWN = 12  # of one file's names; the rest counted
# Python files up to this size are read with `ast`; larger ones line by line (parsing costs
# about 3 ms per KB on a loaded machine, the line pattern a hundredth of that)
AST_CHARS = 32_000
Role = Literal["editable", "context", "binary", "other"]

_C = (  # a function's definition (its line ends unclosed: no ';'), a #define, a type
    r"^(?:[A-Za-z_][\w:<>,*&\s]*?[\s*&])?([A-Za-z_]\w*)\s*\([^;\n]*$"
    r"|^#define\s+(\w+)"
    r"|^(?:typedef\s+)?(?:struct|union|enum|class)\s+(\w+)\s*[{:]"
)
_PATTERNS: dict[str, re.Pattern[str]] = {
    **dict.fromkeys(
        (".c", ".h", ".cc", ".cpp", ".cxx", ".hpp", ".hh", ".cu", ".cuh"), re.compile(_C, re.M)
    ),
    **dict.fromkeys(
        (".js", ".mjs", ".cjs", ".ts", ".tsx", ".jsx"),
        re.compile(
            r"^(?:export\s+(?:default\s+)?)?(?:async\s+)?"
            r"(?:function\*?|class|const|let|var|interface|type|enum)\s+([A-Za-z_$][\w$]*)",
            re.M,
        ),
    ),
    ".go": re.compile(r"^(?:func\s+(?:\([^)]*\)\s*)?|type\s+|var\s+|const\s+)([A-Za-z_]\w*)", re.M),
    ".rs": re.compile(
        r"^(?:pub(?:\([^)]*\))?\s+)?(?:async\s+)?(?:unsafe\s+)?"
        r"(?:fn|struct|enum|trait|mod|const|static|type|union)\s+([A-Za-z_]\w*)",
        re.M,
    ),
    **dict.fromkeys((".toml", ".ini", ".cfg"), re.compile(r"^\[+\s*([^\]\s]+)\s*\]+", re.M)),
    **dict.fromkeys(
        (".py", ".pyi"),
        re.compile(
            r"^(?:async\s+def|def|class)\s+([A-Za-z_]\w*)|^([A-Za-z_]\w*)\s*(?::[^=\n]*)?=(?!=)",
            re.M,
        ),
    ),
}
_NOT_NAMES = frozenset({"if", "for", "while", "switch", "return", "sizeof", "else", "do"})


@dataclass(frozen=True)
class Entry:
    """One file on the map."""

    path: str
    size: int  # bytes
    role: Role
    names: tuple[str, ...] = ()


def repository_map(spec: TreeSpec, tree: Tree, budget: int = MAP_CHARS) -> str:
    """The map of the program folder `spec.base` with `tree`'s files over it (a prompt
    section), or '' for a task without a folder."""
    if spec.base is None:
        return ""
    entries = {e.path: e for e in base_entries(spec)}  # (the tree's files replace theirs)
    for path, text in tree.items():
        entries[path] = Entry(path, len(text.encode()), "editable", defined_names(path, text))
    ordered = sorted(entries.values(), key=lambda e: e.path)
    total = sum(e.size for e in ordered)
    title = (
        f"## The repository: {len(ordered)} files, {_size(total)} (* editable: shown in full "
        "below; the rest read-only)"
    )
    lines = [_line(e) for e in ordered]
    if len(title) + sum(len(line) + 1 for line in lines) > budget:
        lines = [_line(e, names=e.role == "editable") for e in ordered]
    left = budget - len(title) - 80  # (room for the closing line)
    shown: list[str] = []
    unlisted: list[Entry] = []
    for entry, line in zip(ordered, lines, strict=True):
        if entry.role != "editable" and len(line) + 1 > left:
            unlisted.append(entry)
            continue
        left -= len(line) + 1
        shown.append(line)
    if unlisted:
        size = _size(sum(e.size for e in unlisted))
        shown.append(f"  … and {len(unlisted)} more read-only files ({size}), not listed")
    return "\n".join([title, *shown]) + "\n"


def _line(entry: Entry, *, names: bool = True) -> str:
    mark = "*" if entry.role == "editable" else " "
    role = {"editable": "", "context": ", context", "binary": ", binary", "other": ""}[entry.role]
    text = f"{mark} {entry.path} ({_size(entry.size)}{role})"
    if names and entry.names:
        more = len(entry.names) - NAMES_SHOWN
        text += ": " + ", ".join(entry.names[:NAMES_SHOWN]) + (f", … +{more}" if more > 0 else "")
    return text


def _size(size: int) -> str:
    if size < 1000:
        return f"{size} B"
    if size < 1_000_000:
        return f"{size / 1000:.1f} KB"
    return f"{size / 1_000_000:.1f} MB"


@functools.lru_cache(maxsize=8)
def base_entries(spec: TreeSpec) -> tuple[Entry, ...]:
    """The program folder's files on disk with their sizes and names (read once: the base is
    the same for every hypothesis, whichever files a hypothesis adds)."""
    if spec.base is None:
        return ()
    found = []
    for path in files_under(spec.base):
        file = spec.base / path
        size = file.stat().st_size
        text = read_text(file) if size <= DEFAULT_LIMIT else None
        if text is None and size > DEFAULT_LIMIT:
            found.append(Entry(path, size, "context" if spec.is_context(path) else "other"))
        elif text is None:
            found.append(Entry(path, size, "binary"))
        else:
            role: Role = "context" if spec.is_context(path) else "other"
            found.append(Entry(path, size, role, defined_names(path, text)))
    return tuple(found)


@functools.lru_cache(maxsize=1024)
def defined_names(path: str, text: str) -> tuple[str, ...]:
    """The top-level names a file defines, in order: functions, classes and assigned names
    for Python; a regular expression's find for the languages the module names; else none."""
    suffix = PurePosixPath(path).suffix.lower()
    if suffix in (".py", ".pyi") and len(text) <= AST_CHARS:
        return _python_names(text)
    pattern = _PATTERNS.get(suffix)
    if pattern is None:
        return ()
    names: dict[str, None] = {}  # (an ordered set)
    for match in pattern.finditer(text):
        name = next((g for g in match.groups() if g), None)
        if name and name not in _NOT_NAMES:
            names[name] = None
    return tuple(names)


def _python_names(text: str) -> tuple[str, ...]:
    try:
        module = syntax.parse(text)
    except (SyntaxError, ValueError):
        return ()
    names: dict[str, None] = {}  # (an ordered set)
    for node in module.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names[node.name] = None
        elif isinstance(node, ast.Assign):
            names.update((t.id, None) for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names[node.target.id] = None
    return tuple(names)


__all__ = ["MAP_CHARS", "Entry", "base_entries", "defined_names", "repository_map"]
