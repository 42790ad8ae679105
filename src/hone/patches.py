"""Unified diffs: writing one per file as git does, finding them in a model's answer, and
applying them exactly.

`file_diff` writes what `git diff` writes (``diff --git``, ``new file mode`` for a new file,
``\\ No newline at end of file`` where a text has no final newline), so `git apply` takes it.

`find` reads diffs as models write them: with or without git's ``a/``/``b/`` prefixes and
``diff --git`` lines, in a fence or not, a timestamp after a path, hunks whose header counts
are wrong (they are not read: a hunk runs to the next ``@@``, the next file, or the first line
that is not ``' '``, ``'-'``, ``'+'`` or ``'\\'``; a blank line counts as blank context) and
hunks without line numbers (``@@ ... @@``). `apply` is exact, with no fuzz: every context and
``'-'`` line must match; a hunk not at the line its header says is applied at the nearest
place it matches, as `git apply` does, and one without line numbers must match exactly once.
(No parser library is installed here, and `unidiff` would only parse; this is the applier.)
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass

_HUNK = re.compile(r"@@ -(\d+)(?:,\d+)? \+\d+(?:,\d+)? @@|@@.*@@")


@dataclass(frozen=True)
class Hunk:
    """One hunk: where its old side starts (1-based, 0 when empty; None: not said), and its
    lines as written (' ', '-', '+' and '\\' lines)."""

    start: int | None
    lines: tuple[str, ...]


@dataclass(frozen=True)
class FilePatch:
    """One file's diff found in a text: its paths as written (None for /dev/null) and hunks;
    `span` is where it is in the text."""

    old: str | None
    new: str | None
    hunks: tuple[Hunk, ...]
    span: tuple[int, int]


def file_diff(path: str, old: str | None, new: str) -> str:
    """One file's unified diff with git's headers (`old` None: a new file)."""
    head = [f"diff --git a/{path} b/{path}\n"]
    if old is None:
        head.append("new file mode 100644\n")
    hunks = difflib.unified_diff(
        _lines(old or ""), _lines(new), "/dev/null" if old is None else f"a/{path}", f"b/{path}"
    )
    # difflib's own lines end with "\n"; a text's last line may not.
    tail = [
        line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in hunks
    ]
    return "".join(head + tail)


def _lines(text: str) -> list[str]:
    """`text` split after each "\\n" only (str.splitlines also splits at \\r, \\f, ...)."""
    lines = text.split("\n")
    last = lines.pop()
    return [line + "\n" for line in lines] + ([last] if last else [])


def find(text: str, skip: Sequence[tuple[int, int]] = ()) -> list[FilePatch]:
    """The unified diffs in `text`, one per file, outside the spans in `skip`."""
    lines = text.split("\n")
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line) + 1)

    def header(i: int) -> bool:
        return (
            i + 2 < len(lines)
            and lines[i].startswith("--- ")
            and lines[i + 1].startswith("+++ ")
            and lines[i + 2].startswith("@@")
            and not any(s <= offsets[i] < e for s, e in skip)
        )

    found: list[FilePatch] = []
    i = 0
    while i < len(lines):
        if not header(i):
            i += 1
            continue
        start = i
        old, new = _path(lines[i][4:]), _path(lines[i + 1][4:])
        i += 2
        hunks: list[Hunk] = []
        while i < len(lines) and lines[i].startswith("@@"):
            numbers = _HUNK.match(lines[i])
            first = int(numbers[1]) if numbers and numbers[1] else None
            i += 1
            body: list[str] = []
            while (
                i < len(lines)
                and (lines[i][:1] in (" ", "-", "+", "\\") or not lines[i])
                and not lines[i].startswith("@@")
                and not header(i)
            ):
                body.append(lines[i])
                i += 1
            while body and not body[-1]:
                body.pop()
            hunks.append(Hunk(first, tuple(body)))
        found.append(FilePatch(old, new, tuple(hunks), (offsets[start], offsets[i])))
    return found


def _path(side: str) -> str | None:
    """The path on a '---' or '+++' line: git's a/ and b/ dropped, a timestamp cut off."""
    path = side.split("\t")[0].strip()
    if len(path) > 1 and path[0] == path[-1] == '"':
        path = path[1:-1]
    if path == "/dev/null":
        return None
    return path[2:] if path.startswith(("a/", "b/")) else path


def apply(text: str, hunks: Sequence[Hunk]) -> str:
    """`text` with the hunks applied in order; ValueError (one sentence) when one does not
    apply."""
    lines = text.split("\n")
    newline = lines[-1] == ""  # the text ends with a newline (or is empty)
    if newline:
        lines.pop()
    done = 0  # hunks apply in order: the next one starts after this line
    shift = 0  # lines added minus lines removed so far
    for number, hunk in enumerate(hunks, 1):
        old, new, open_end = _sides(hunk)
        if not old:  # an insertion: after the header's line
            at = min(max((hunk.start or 0) + shift, done), len(lines))
        else:
            found = [
                i for i in range(done, len(lines) - len(old) + 1) if lines[i : i + len(old)] == old
            ]
            if not found:
                raise ValueError(
                    f"hunk {number} of the diff does not match the file; copy its context and "
                    "'-' lines exactly"
                )
            if hunk.start is None and len(found) > 1:
                raise ValueError(
                    f"hunk {number} of the diff matches {len(found)} places and has no line "
                    "numbers; include more context lines"
                )
            expected = (hunk.start or 1) - 1 + shift
            at = min(found, key=lambda i: abs(i - expected))
        if at + len(old) == len(lines):  # the hunk ends the file: it says how
            newline = not open_end
        lines[at : at + len(old)] = new
        done, shift = at + len(new), shift + len(new) - len(old)
    return "\n".join(lines) + ("\n" if newline and lines else "")


def _sides(hunk: Hunk) -> tuple[list[str], list[str], bool]:
    """The hunk's old and new lines, and whether the new side's last line has no newline
    (the old side's need not be known: lines are compared without their newlines)."""
    old: list[str] = []
    new: list[str] = []
    open_end = False
    tag = ""
    for line in hunk.lines:
        if line.startswith("\\"):
            open_end = open_end or tag in " +"
            continue
        tag, content = (line[0], line[1:]) if line else (" ", "")  # a blank context line
        if tag in " -":
            old.append(content)
        if tag in " +":
            new.append(content)
    return old, new, open_end
