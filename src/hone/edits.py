"""Turning a model's answer into a new program or tree, and keeping edits inside the
EVOLVE blocks.

A file may hold any number of EVOLVE blocks, in any comment style `_MARKER` knows (`blocks`);
where it has some, only their bodies may change, whatever the answer's shape. A file without
markers may change anywhere.

One program (`apply_answer`): SEARCH/REPLACE blocks, a full program (or only the block's new
contents) in a fenced code block, and — for completion-style prompts — the body of the next
version of one function (`complete_function`). A one-block file also takes what small models
send instead of the whole file (`_block_of`): the block from its START line without the END,
the program up to the END line without the START, the whole program without markers; code
that is only definitions and imports changes those definitions and keeps the block's others
(`_spliced`).

A tree (`apply_tree_answer`, `hone.tree`): edits that name their files — SEARCH/REPLACE
blocks each after its file's path on a line of its own (bare, in backticks or bold, after
"File:" or a heading mark, or on the opening fence or the line before it; a block naming
none is under the path named last), unified diffs (`hone.patches`), and whole files in a
fence whose info string holds the path (```` ```src/a.py ````, ```` ```python src/a.py ````)
or after the path on its own line; an empty SEARCH creates a file, as in aider. They apply in
the answer's order, so an answer may add a file and edit it. Every edit is checked before
anything runs, each refusal one sentence naming the file: a path that is not normal or leaves
the folder (`..`, absolute, through a symbolic link of the base folder that leads outside it;
one that stays inside is refused too, naming its target), a path that is neither in the tree
nor allowed by `new_files`, a base file that is not editable (context or not), a new file
that would replace a base file, an edit outside a block, a SEARCH that does not match exactly
once (with the count), a hunk that does not match, a deletion or rename, and a ``.py`` file
that no longer parses. An answer that names no file edits a one-file tree exactly as
`apply_answer` edits its program (the same sentences), so a one-file task is the one-file
case; there, a word with a dot alone before a SEARCH block ("numpy.sort") is prose, as it
always was, unless it is the file's name.

`read_tree` reads a program folder's editable files: `editable` globs, or by default every
text file with EVOLVE-BLOCK markers, else every text file up to `tree.DEFAULT_LIMIT` bytes
(a larger one is data, not a program to rewrite).

An answer that cannot be applied is rejected with a reason the model sees next round;
nothing here raises for a bad answer.
"""

from __future__ import annotations

import ast
import contextlib
import os
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from hone import patches, syntax
from hone.exceptions import TaskError
from hone.tree import (
    DEFAULT_LIMIT,
    Tree,
    TreeSpec,
    _normal,
    _skeleton,
    files_under,
    link_problem,
    matches,
    normal_path,
    read_text,
)
from hone.tree import program_key as program_key  # where it always was
from hone.tree import same_program as same_program

START = "# EVOLVE-BLOCK-START"
END = "# EVOLVE-BLOCK-END"
REPEAT = "the answer repeats its parent unchanged"  # why an answer that changes nothing fails

# a fence opens at the start of a line: "in one ```python block." in a sentence opens none
_FENCE = re.compile(r"^[ \t]*```[ \t]*([\w+-]*)[^\n]*\n(.*?)(?:\n[ \t]*```|\Z)", re.DOTALL | re.M)
_DIFF = re.compile(r"<{5,9} SEARCH[^\n]*\n(.*?)\n?={5,9}[ \t]*\n(.*?)\n?>{5,9} REPLACE", re.DOTALL)


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


def _marker(line: str) -> str | None:
    match = _MARKER.fullmatch(line.strip())
    if match is None:
        return None
    return next(group for group in match.groups() if group)


def region(program: str) -> Region:
    """Split a program at its markers; raises ValueError when they are malformed."""
    lines = program.splitlines(keepends=True)
    starts = [i for i, line in enumerate(lines) if _marker(line) == "START"]
    ends = [i for i, line in enumerate(lines) if _marker(line) == "END"]
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
    marks = [(i, kind) for i, line in enumerate(lines) if (kind := _marker(line))]
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


# -- the editable files of a program folder -----------------------------------------------
def read_tree(spec: TreeSpec) -> Tree:
    """The editable files of the folder `spec.base`, by `spec.editable` or the default rule;
    raises TaskError (one sentence) when there are none or a glob matches no text file."""
    folder = spec.base
    if folder is None or not folder.is_dir():
        raise TaskError(f"the program folder {str(folder)!r} does not exist")
    texts: dict[str, str] = {}
    others: list[str] = []
    for path in files_under(folder):
        text = read_text(folder / path)
        if text is None:
            others.append(path)
            continue
        try:
            if normal_path(path) != path:
                raise ValueError("its name is not in Unicode's normal form (NFC)")
        except ValueError as exc:
            raise TaskError(f"{str(folder / path)!r} cannot be evolved: {exc}; rename it") from None
        texts[path] = text
    if spec.editable:
        files: dict[str, str] = {}
        for glob in spec.editable:
            matched = {p: t for p, t in texts.items() if matches(glob, p)}
            if not matched:
                binary = any(matches(glob, p) for p in others)
                what = "only files that are not UTF-8 text" if binary else "no file"
                raise TaskError(
                    f"the editable glob {glob!r} matches {what} under {str(folder)!r}; "
                    "fix the glob in task.toml"
                )
            files.update(matched)
        return Tree(files)
    marked = {}
    for path, text in texts.items():
        if "EVOLVE-BLOCK" not in text:  # most files: no need to look at every line
            continue
        try:
            parts = blocks(text)
        except ValueError as exc:
            raise TaskError(f"{str(folder / path)!r}: {exc}") from None
        if parts.marked:
            marked[path] = text
    if marked:
        return Tree(marked)
    small = {p: t for p, t in texts.items() if len(t.encode()) <= DEFAULT_LIMIT}
    if not small:
        raise TaskError(
            f"the program folder {str(folder)!r} holds no UTF-8 text file to evolve; "
            "add one, or name the files with editable = [...] in task.toml"
        )
    return Tree(small)


class _Invalid(Exception):
    """Why an answer cannot be applied: one sentence, caught where the edit's value is made."""


_NO_CODE = (
    "the answer contains no code: reply with a fenced code block holding the whole "
    "program, or with SEARCH/REPLACE blocks"
)


def apply_answer(parent: str, answer: str) -> Edit:
    """Apply a chat-style answer (SEARCH/REPLACE blocks or a fenced program) to the text of
    one program, `parent` (the edit's tree names it `PROGRAM_NAME`; `Edit.into` puts it in a
    tree): what `apply_tree_answer` does with an answer that names no file of a one-file
    tree."""
    parts = blocks(parent)
    diffs = _DIFF.findall(answer)
    kind: Literal["diff", "full", "block"] = "diff"
    try:
        if diffs:
            numbered = [(n, search, replace) for n, (search, replace) in enumerate(diffs, 1)]
            program = _replaced(parts, numbered, "the program")
        else:
            code = _code_in(answer)
            if code is None:
                return Edit(None, _NO_CODE)
            program, kind = _rewritten(parts, code)
    except _Invalid as exc:
        return Edit(None, str(exc))
    return _checked(parent, program, kind)


def _replaced(parts: Blocks, diffs: Sequence[tuple[int, str, str]], whole: str) -> str:
    """The file with each (number, SEARCH, REPLACE) applied inside its blocks, in order."""
    bodies = list(parts.bodies)
    for number, search, replace in diffs:
        if not search.strip():
            raise _Invalid(f"SEARCH block {number} is empty; copy the lines to replace into it")
        counts = [body.count(search) for body in bodies]
        if sum(counts) == 0:
            if parts.marked and search in parts.outside:
                raise _Invalid(
                    f"SEARCH block {number} matches code outside the EVOLVE-BLOCK, "
                    "which may not change"
                )
            raise _Invalid(
                f"SEARCH block {number} does not match {whole} exactly; copy the lines "
                "verbatim, including indentation"
            )
        if sum(counts) > 1:
            raise _Invalid(
                f"SEARCH block {number} matches {sum(counts)} places; include more lines to "
                "make it unique"
            )
        at = counts.index(1)
        bodies[at] = bodies[at].replace(search, replace, 1)
    return parts.join(bodies)


def _rewritten(parts: Blocks, code: str) -> tuple[str, Literal["full", "block"]]:
    """The file an answer's whole new text (or one block's new body) makes, and which it was."""
    if not parts.marked:
        return code, "full"
    if len(parts.bodies) == 1:
        body = _block_of(parts, code)
        if body is not None:
            return parts.join([_spliced(parts.bodies[0], body)]), "block"
    try:
        if len(parts.bodies) == 1:  # the sentences of one-block files, as they always were
            one = region(code)
            new = Blocks((one.prefix, one.suffix), (one.body,))
        else:
            new = blocks(code)
    except ValueError as exc:
        raise _Invalid(f"the answer's EVOLVE-BLOCK markers are malformed: {exc}") from None
    if not new.marked:
        raise _Invalid(
            f"the answer has no EVOLVE-BLOCK markers but the file has {len(parts.bodies)} "
            "blocks; send the whole file with its markers, or SEARCH/REPLACE blocks"
        )
    if len(new.bodies) != len(parts.bodies):
        raise _Invalid(
            f"the answer has {len(new.bodies)} EVOLVE blocks where the file has "
            f"{len(parts.bodies)}; keep every marker line as it is"
        )
    last = len(parts.fixed) - 1
    for i, (mine, theirs) in enumerate(zip(parts.fixed, new.fixed, strict=True)):
        if not _same_outside(mine, theirs):
            where = "before" if i == 0 else "after" if i == last else "between"
            block = "the EVOLVE-BLOCK" if last == 1 else "the EVOLVE blocks"
            raise _Invalid(
                f"the answer changes code {where} {block}, which must stay as it is; "
                "change only the code between the markers"
            )
    return parts.join(new.bodies), "full"


def _block_of(parts: Blocks, code: str) -> str | None:
    """The new body of a one-block file's block from an answer that does not send the whole
    file with both markers (None: it does): the block's contents alone; the block from its
    START line with no END (small models stop there); the program up to the END line with no
    START; or the whole program without markers. Code outside the block must come back as it
    is, or not at all."""
    lines = code.splitlines(keepends=True)
    starts = [i for i, line in enumerate(lines) if _marker(line) == "START"]
    ends = [i for i, line in enumerate(lines) if _marker(line) == "END"]
    if len(starts) + len(ends) > 1 or (starts and ends):
        return None  # both markers (or too many): the whole file's rules
    before, after = parts.fixed[0], parts.fixed[-1]  # (their START and END lines included)
    if starts:
        cut = starts[0]
        if "".join(lines[:cut]).strip() and not _same_outside("".join(lines[: cut + 1]), before):
            raise _Invalid(_CHANGED.format(where="before"))
        return "".join(lines[cut + 1 :])
    if ends:
        cut = ends[0]
    else:
        # a whole program without markers: cut where the code after the block begins
        outside = [line.strip() for line in after.splitlines()[1:] if line.strip()]
        cut = next(
            (i for i, line in enumerate(lines) if outside and line.strip() == outside[0]), -1
        )
        if cut < 0:
            return code  # the block's new contents
        if not _same_outside("".join(lines[cut:]), "".join(after.splitlines(keepends=True)[1:])):
            raise _Invalid(_CHANGED.format(where="after"))
    if ends and not _same_outside("".join(lines[cut:]), after):
        raise _Invalid(_CHANGED.format(where="after"))
    return _without(before.splitlines(keepends=True)[:-1], lines[:cut])


def _same_outside(mine: str, theirs: str) -> bool:
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


def _spliced(body: str, new: str) -> str:
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


def _checked(parent: str, program: str, kind: EditKind) -> Edit:
    try:
        parent_skeleton = _skeleton(parent)
    except SyntaxError:  # not Python (or a parent that never parsed): compare the text
        same = _normal(program) == _normal(parent)
    else:
        try:
            same = _skeleton(program) == parent_skeleton
        except SyntaxError as exc:
            return Edit(None, f"the new program does not parse: line {exc.lineno}: {exc.msg}", kind)
    if same:
        return Edit(None, REPEAT, kind)
    return _program(program, kind=kind)


def _code_in(answer: str) -> str | None:
    blocks: list[tuple[str, str]] = [
        (lang.lower(), code) for lang, code in _FENCE.findall(answer) if code.strip()
    ]
    python = [code for lang, code in blocks if lang in ("python", "py", "python3", "")]
    if python or blocks:  # Python first; any other language's block otherwise
        code = max(python or [code for _, code in blocks], key=len)
        return code if code.endswith("\n") else code + "\n"
    stripped = answer.strip()
    if stripped and "\n" in stripped:
        try:
            syntax.parse(stripped)
        except SyntaxError:
            return None
        return stripped + "\n"
    return None


# -- answers that name their files (trees) ----------------------------------------------------
EditKind = Literal["diff", "patch", "full", "block", "function", "mixed", "none"]
PROGRAM_NAME = "program.py"  # the file an edit of one program's text is named (`apply_answer`)


@dataclass(frozen=True)
class Edit:
    """The tree an answer produced and the files it changed, or why it produced none."""

    tree: Tree | None
    reason: str = ""
    # diff: SEARCH/REPLACE; patch: unified diff; full/block: a whole file or block; function:
    # a completed function; mixed: several of these
    kind: EditKind = "none"
    changed: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """True when the answer yielded a tree."""
        return self.tree is not None

    @property
    def program(self) -> str | None:
        """The new program's text, when the tree is one file (else None)."""
        if self.tree is None or len(self.tree) != 1:
            return None
        return self.tree.text

    def into(self, parent: Tree, path: str) -> Edit:
        """This edit of one program's text (`apply_answer`, `complete_function`) as the file
        `path` of `parent`."""
        if self.program is None:
            return Edit(None, self.reason, self.kind)
        return Edit(parent.with_files({path: self.program}), kind=self.kind, changed=(path,))


def _program(program: str | None, reason: str = "", kind: EditKind = "none") -> Edit:
    """An edit of one program's text: its new text, or why there is none."""
    if program is None:
        return Edit(None, reason, kind)
    return Edit(Tree.one(PROGRAM_NAME, program), reason, kind, (PROGRAM_NAME,))


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
    except _Invalid as exc:
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
                    raise _Invalid(
                        f"SEARCH block {edit.number} names no file; put the file's path on the "
                        f"line before it (the files: {_listed(parent)})"
                    )
                written = parent.paths[0]
            last = written
        elif edit.path is None:
            raise _Invalid(f"the diff deletes {edit.old}; a hypothesis may not remove files")
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
                files[path], kind = _rewritten(parts, edit.text)
            kinds.add(kind)
    return parent.with_files(files), kinds


def _searched(path: str, current: str | None, edit: _Search) -> str:
    if current is None:  # a new file: an empty SEARCH creates it (aider's convention)
        if edit.search.strip():
            raise _Invalid(
                f"SEARCH block {edit.number} searches {path}, which does not exist yet; to "
                "create it, leave SEARCH empty or send the whole file in a fence"
            )
        return edit.replace if edit.replace.endswith("\n") else edit.replace + "\n"
    parts = _blocks_of(path, current)
    with _naming(path):
        return _replaced(parts, [(edit.number, edit.search, edit.replace)], "the file")


@contextlib.contextmanager
def _naming(path: str) -> Iterator[None]:
    """Name the file in the sentence of an edit refused inside it."""
    try:
        yield
    except _Invalid as exc:
        raise _Invalid(f"in {path}, {exc}") from None


def _blocks_of(path: str, text: str) -> Blocks:
    try:
        return blocks(text)
    except ValueError as exc:  # a parent's markers were checked when it was read
        raise _Invalid(f"in {path}, the EVOLVE-BLOCK markers are malformed: {exc}") from None


def _patch_file(path: str, current: str | None, patch: _Patch) -> str:
    if patch.old is None and current is not None:
        raise _Invalid(f"the diff creates {path}, which exists already; diff against its text")
    if patch.old is not None:
        try:
            old = normal_path(patch.old)
        except ValueError as exc:
            raise _Invalid(str(exc)) from None
        if old != path:
            raise _Invalid(f"the diff renames {old} to {path}; a hypothesis may not rename files")
        if current is None:
            raise _Invalid(
                f"the diff changes {path}, which does not exist; to create it, diff from /dev/null"
            )
    try:
        text = patches.apply(current or "", patch.hunks)
    except ValueError as exc:
        raise _Invalid(f"in {path}, {exc}") from None
    if current is None:
        return text
    before = _blocks_of(path, current)
    if not before.marked:
        return text
    try:
        after = blocks(text)
    except ValueError as exc:
        raise _Invalid(f"in {path}, the diff breaks the EVOLVE-BLOCK markers: {exc}") from None
    if len(after.bodies) != len(before.bodies) or any(
        _normal(a) != _normal(b) for a, b in zip(after.fixed, before.fixed, strict=False)
    ):
        raise _Invalid(
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
        raise _Invalid(str(exc)) from None
    if spec.base is not None and (problem := link_problem(spec.base, path)):
        raise _Invalid(problem)
    if path in parent or path in added:
        return path
    if spec.base is not None and os.path.lexists(spec.base / path):
        if spec.may_add(path):
            raise _Invalid(
                f"{path} is a file of the program folder already, and a new file may not "
                "replace it; choose another name"
            )
        why = "it is context, shown read-only" if spec.is_context(path) else "it is not editable"
        raise _Invalid(f"{path} may not be changed: {why} (the editable files: {_listed(parent)})")
    if not spec.may_add(path):
        where = (
            f"new files may only be added as {', '.join(spec.new_files)}"
            if spec.new_files
            else "no new files may be added"
        )
        raise _Invalid(
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
    blocks_found = list(_DIFF.finditer(answer))
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


# -- completion-style (best-shot) edits of one function ---------------------------------------
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
    return _checked(parent, program, "function")


def answer_grammar(parent: str) -> str:
    """A GBNF grammar (llama.cpp) for a chat answer to improve `parent`: a line of idea, then
    one or two SEARCH/REPLACE blocks whose SEARCH lines are lines of the parent's EVOLVE block
    (so that they match). No whole programs: small models given the choice copy the program."""
    try:
        body = region(parent).body
    except ValueError:
        body = parent
    lines = sorted({line for line in body.splitlines() if line.strip()})
    copied = " | ".join(_gbnf(line + "\n") for line in lines) or '"\\n"'
    return "\n".join(
        (
            "root ::= idea block block?",
            'idea ::= [^\\n<`] [^\\n]{0,300} "\\n" "\\n"?',
            'block ::= "<<<<<<< SEARCH\\n" search "=======\\n" replace ">>>>>>> REPLACE\\n" "\\n"?',
            'search ::= (copied | "\\n"){1,12}',
            f"copied ::= {copied}",
            'replace ::= ([^>\\n] [^\\n]* "\\n" | "\\n"){0,40}',
        )
    )


def _gbnf(text: str) -> str:
    """`text` as a GBNF string literal."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped.replace(chr(9), chr(92) + "t")}"'
