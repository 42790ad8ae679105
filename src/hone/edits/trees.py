"""Answers to a tree (`apply_tree_answer`, `hone.tree`): edits that name their files —
SEARCH/REPLACE blocks each after its file's path on a line of its own (bare, in backticks or
bold, after "File:" or a heading mark, or on the opening fence or the line before it; a block
naming none is under the path named last), unified diffs (`hone.patches`), and whole files in a
fence whose info string holds the path (```` ```src/a.py ````, ```` ```python src/a.py ````) or
after the path on its own line; an empty SEARCH creates a file, as in aider. They apply in the
answer's order, so an answer may add a file and edit it. Every edit is checked before anything
runs, each refusal one sentence naming the file: a path that is not normal or leaves the folder
(`..`, absolute, through a symbolic link of the base folder that leads outside it; one that
stays inside is refused too, naming its target), a path that is neither in the tree nor allowed
by `new_files`, a base file that is not editable (context or not), a new file that would replace
a base file, an edit outside a block, a SEARCH that does not match exactly once (with the
count), a hunk that does not match, a deletion or rename, and a ``.py`` file that no longer
parses. An answer that names no file edits a one-file tree exactly as `apply_answer` edits its
program (the same sentences), so a one-file task is the one-file case; there, a word with a dot
alone before a SEARCH block ("numpy.sort") is prose, as it always was, unless it is the file's
name.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

from hone import patches
from hone.edits.blocks import Blocks, blocks
from hone.edits.edit import REPEAT, Edit, EditKind, Invalid
from hone.edits.program import SEARCH_REPLACE, apply_answer, replaced, rewritten
from hone.tree import Tree, TreeSpec, _normal, _skeleton, link_problem, normal_path


@dataclass(frozen=True)
class _Search:
    at: int  # where in the answer: edits apply in the answer's order
    path: str | None  # as the answer wrote it (None: not named)
    number: int
    search: str
    replace: str


@dataclass(frozen=True)
class _Patch:
    at: int
    path: str | None  # the '+++' side (None: /dev/null, a deletion)
    old: str | None  # the '---' side (None: /dev/null, a new file)
    hunks: tuple[patches.Hunk, ...]


@dataclass(frozen=True)
class _Whole:
    at: int
    path: str
    text: str


_Named = _Search | _Patch | _Whole


_PATHLIKE = re.compile(r"[\w./@+~-]+")


_EXTENSION = re.compile(r"\.[A-Za-z][\w-]*$")


# What may surround a path on its own line: a heading or list mark, a "File:" label.
_LABEL = re.compile(
    r"(?:#{1,6}\s+|[-*+]\s+|\d+[.)]\s+)?(?:[*_]{0,2}(?:file(?:name)?|path)\s*:[*_]{0,2}\s*)?",
    re.IGNORECASE,
)


_FENCE_LINE = re.compile(r"[ \t]*(`{3,})([^`\n]*)")


def apply_tree_answer(parent: Tree, answer: str, spec: TreeSpec) -> Edit:
    """Apply a chat answer to a tree: SEARCH/REPLACE blocks each after its file's path,
    unified diffs, and whole files in a fence whose info string is the path. An answer that
    names no file edits a one-file tree as `apply_answer` edits its program."""
    known = _known(parent, spec)
    named = _named_edits(answer, known)
    if len(parent) == 1 and not any(edit.path for edit in named):
        ((path, text),) = parent.items()
        return apply_answer(text, answer).into(parent, path)
    if not named:
        return Edit(
            None,
            "the answer names no file: put the file's path on the line before each "
            "SEARCH/REPLACE block, or send a unified diff, or a fenced file whose info string "
            f"is its path (the files: {_listed(parent)})",
        )
    try:
        tree, kinds = _applied(parent, named, spec)
    except Invalid as exc:
        return Edit(None, str(exc))
    kind: EditKind = kinds.pop() if len(kinds) == 1 else "mixed"
    changed = tuple(tree.changed(parent))
    for path in changed:
        if path.endswith((".py", ".pyi")):
            try:
                _skeleton(tree[path])
            except SyntaxError as exc:
                return Edit(None, f"{path} does not parse: line {exc.lineno}: {exc.msg}", kind)
    if not changed or tree.key == parent.key:
        return Edit(None, REPEAT, kind)
    return Edit(tree, kind=kind, changed=changed)


def _applied(parent: Tree, named: list[_Named], spec: TreeSpec) -> tuple[Tree, set[EditKind]]:
    files: dict[str, str] = {}  # the new texts so far
    kinds: set[EditKind] = set()
    last: str | None = None  # the path the last SEARCH/REPLACE block was under
    for edit in sorted(named, key=lambda e: e.at):
        if isinstance(edit, _Search):
            written = edit.path or last
            if written is None:
                if len(parent) != 1:
                    raise Invalid(
                        f"SEARCH block {edit.number} names no file; put the file's path on the "
                        f"line before it (the files: {_listed(parent)})"
                    )
                written = parent.paths[0]
            last = written
        elif edit.path is None:
            raise Invalid(f"the diff deletes {edit.old}; a hypothesis may not remove files")
        else:
            written = edit.path
        path = _target(written, parent, spec, files)
        current = files.get(path, parent.get(path))
        if isinstance(edit, _Search):
            files[path] = _searched(path, current, edit)
            kinds.add("diff")
        elif isinstance(edit, _Patch):
            files[path] = _patch_file(path, current, edit)
            kinds.add("patch")
        elif current is None:
            files[path] = edit.text
            kinds.add("full")
        else:
            parts = _blocks_of(path, current)
            with _naming(path):
                files[path], kind = rewritten(parts, edit.text)
            kinds.add(kind)
    return parent.with_files(files), kinds


def _searched(path: str, current: str | None, edit: _Search) -> str:
    if current is None:  # a new file: an empty SEARCH creates it (aider's convention)
        if edit.search.strip():
            raise Invalid(
                f"SEARCH block {edit.number} searches {path}, which does not exist yet; to "
                "create it, leave SEARCH empty or send the whole file in a fence"
            )
        return edit.replace if edit.replace.endswith("\n") else edit.replace + "\n"
    parts = _blocks_of(path, current)
    with _naming(path):
        return replaced(parts, [(edit.number, edit.search, edit.replace)], "the file")


@contextlib.contextmanager
def _naming(path: str) -> Iterator[None]:
    """Name the file in the sentence of an edit refused inside it."""
    try:
        yield
    except Invalid as exc:
        raise Invalid(f"in {path}, {exc}") from None


def _blocks_of(path: str, text: str) -> Blocks:
    try:
        return blocks(text)
    except ValueError as exc:  # a parent's markers were checked when it was read
        raise Invalid(f"in {path}, the EVOLVE-BLOCK markers are malformed: {exc}") from None


def _patch_file(path: str, current: str | None, patch: _Patch) -> str:
    if patch.old is None and current is not None:
        raise Invalid(f"the diff creates {path}, which exists already; diff against its text")
    if patch.old is not None:
        try:
            old = normal_path(patch.old)
        except ValueError as exc:
            raise Invalid(str(exc)) from None
        if old != path:
            raise Invalid(f"the diff renames {old} to {path}; a hypothesis may not rename files")
        if current is None:
            raise Invalid(
                f"the diff changes {path}, which does not exist; to create it, diff from /dev/null"
            )
    try:
        text = patches.apply(current or "", patch.hunks)
    except ValueError as exc:
        raise Invalid(f"in {path}, {exc}") from None
    if current is None:
        return text
    before = _blocks_of(path, current)
    if not before.marked:
        return text
    try:
        after = blocks(text)
    except ValueError as exc:
        raise Invalid(f"in {path}, the diff breaks the EVOLVE-BLOCK markers: {exc}") from None
    if len(after.bodies) != len(before.bodies) or any(
        _normal(a) != _normal(b) for a, b in zip(after.fixed, before.fixed, strict=False)
    ):
        raise Invalid(
            f"in {path}, the diff changes code outside the EVOLVE "
            f"{'block' if len(before.bodies) == 1 else 'blocks'}, which must stay as it is; "
            "change only the code between the markers"
        )
    return before.join(after.bodies)


def _target(written: str, parent: Tree, spec: TreeSpec, added: Mapping[str, str]) -> str:
    """The normal path an edit names, once it may be written; else one sentence naming it."""
    try:
        path = normal_path(written)
    except ValueError as exc:
        raise Invalid(str(exc)) from None
    if spec.base is not None and (problem := link_problem(spec.base, path)):
        raise Invalid(problem)
    if path in parent or path in added:
        return path
    if spec.base is not None and os.path.lexists(spec.base / path):
        if spec.may_add(path):
            raise Invalid(
                f"{path} is a file of the program folder already, and a new file may not "
                "replace it; choose another name"
            )
        why = "it is context, shown read-only" if spec.is_context(path) else "it is not editable"
        raise Invalid(f"{path} may not be changed: {why} (the editable files: {_listed(parent)})")
    if not spec.may_add(path):
        where = (
            f"new files may only be added as {', '.join(spec.new_files)}"
            if spec.new_files
            else "no new files may be added"
        )
        raise Invalid(
            f"{path} is not a file of the program, and {where} (the editable files: "
            f"{_listed(parent)})"
        )
    return path


def _listed(parent: Tree, most: int = 8) -> str:
    paths = parent.paths
    more = f" and {len(paths) - most} more" if len(paths) > most else ""
    return ", ".join(paths[:most]) + more


def _known(parent: Tree, spec: TreeSpec) -> Callable[[str], bool]:
    """Whether a word without a '/' names a file: one of the tree or the program folder
    (Makefile), or, where answers are expected to name files (several of them, or new ones
    allowed), any word with an extension. A one-file task's answer that puts "numpy.sort"
    alone on the line before a SEARCH block means no file, as it always did."""
    base = spec.base
    naming = len(parent) > 1 or bool(spec.new_files)

    def known(word: str) -> bool:
        return (
            word in parent
            or (base is not None and os.path.lexists(base / word))
            or (naming and _EXTENSION.search(word) is not None)
        )

    return known


def _named_edits(answer: str, known: Callable[[str], bool]) -> list[_Named]:
    """Every edit in the answer, with the path it names (SEARCH/REPLACE blocks may name none).

    A fence after a path on its own line is a whole file only in an answer without
    SEARCH/REPLACE blocks or diffs: beside those, it is more likely a snippet shown."""
    blocks_found = list(SEARCH_REPLACE.finditer(answer))
    searches = [
        _Search(m.start(), _path_before(answer, m.start(), known), n, m[1], m[2])
        for n, m in enumerate(blocks_found, 1)
    ]
    spans = [(m.start(), m.end()) for m in blocks_found]
    found = patches.find(answer, spans)
    diffs = [_Patch(p.span[0], p.new, p.old, p.hunks) for p in found]
    spans += [p.span for p in found]
    wholes: list[_Whole] = []
    for start, end, info, body in _fences(answer):
        if any(s < end and start < e for s, e in spans):
            continue  # the fence holds SEARCH/REPLACE blocks or a diff
        path = next((p for w in re.split(r"[\s:]+", info) if (p := _path_in(w, known))), None)
        if path is None and not spans:
            path = _path_before(answer, start, known, fences=False)
        if path:
            wholes.append(_Whole(start, path, body))
    return [*searches, *diffs, *wholes]


def _path_before(
    answer: str, at: int, known: Callable[[str], bool], *, fences: bool = True
) -> str | None:
    """The path written on the last non-blank line before `at` (or on an opening fence
    there, or on the line before that fence), or None."""
    lines = [line for line in answer[:at].split("\n")[:-1] if line.strip()]
    if not lines:
        return None
    opening = _FENCE_LINE.fullmatch(lines[-1]) if fences else None
    if opening:
        words = re.split(r"[\s:]+", opening[2])
        path = next((p for w in words if (p := _path_in(w, known))), None)
        if path or len(lines) < 2:
            return path
        return _path_in(lines[-2], known)
    return _path_in(lines[-1], known)


def _path_in(line: str, known: Callable[[str], bool]) -> str | None:
    """The path a line holds alone (in backticks, bold, after "File:" or a heading mark)."""
    text = _LABEL.sub("", line.strip(), count=1).strip()
    text = text.strip("*_`'\"").rstrip(":").strip("*_`'\"")
    if not _PATHLIKE.fullmatch(text):
        return None
    return text if "/" in text or known(text) else None


def _fences(answer: str) -> list[tuple[int, int, str, str]]:
    """(start, end, info string, text) of each fenced block; a fence of n backticks closes at
    a line of n or more, so a file holding ``` fences can be sent in ````."""
    out: list[tuple[int, int, str, str]] = []
    lines = answer.split("\n")
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line) + 1)
    i = 0
    while i < len(lines):
        opening = _FENCE_LINE.fullmatch(lines[i])
        if not opening:
            i += 1
            continue
        closing = re.compile(rf"[ \t]*`{{{len(opening[1])},}}[ \t]*")
        j = next((j for j in range(i + 1, len(lines)) if closing.fullmatch(lines[j])), len(lines))
        body = "\n".join(lines[i + 1 : j])
        out.append((offsets[i], offsets[min(j + 1, len(lines))], opening[2].strip(), body + "\n"))
        i = j + 1
    return out
