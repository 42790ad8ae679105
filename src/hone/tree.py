"""A hypothesis's files: a `Tree` of paths to texts, over a read-only base folder.

A tree holds only the files that can differ between hypotheses: the editable files of the
task's program folder, and the files a hypothesis added where `new_files` allows it.
Everything else under the folder is the *base*, the same for every hypothesis and read from
the task folder, never copied per hypothesis (`hone.sandbox.materialise` lays a tree over it).
A one-file task is the one-file case, `Tree.one(filename, text)`, with no base.

Paths are normalised POSIX paths relative to the program folder: Unicode NFC, forward
slashes, no empty, ``.`` or ``..`` parts, no leading ``/``, no control characters and no
backslashes (a model that writes one meant a separator, a file whose name holds one is
rare enough to refuse). A path that breaks a rule is refused with one sentence naming it.

Globs (`editable`, `context`, `new_files` in task.toml) are matched against those paths,
anchored at the program folder: ``*`` and ``?`` match within one part (``*`` matches names
starting with a dot too, as `fnmatch` does), ``[abc]``/``[!abc]`` one character of a part,
and a part that is exactly ``**`` any number of parts, none included: ``src/**/*.py`` matches
``src/a.py`` and ``src/x/y/a.py``, ``*.py`` only the files at the top. A glob ending in ``/``
means everything under that folder. (Python 3.13's `PurePath.full_match` has these rules;
hone supports 3.11, and `wcmatch` is not a dependency, so a small translator does it.)

Identity: `Tree.digest` is exact (sha256 over the paths and each file's `blob_hash`);
`Tree.key`, the evaluation cache's, is equal for trees whose files differ only in comments,
docstrings or layout (`program_key` per file: the AST without docstrings for Python, the
text without trailing spaces and blank ends otherwise).

Reading a folder (`files_under`, `read_text`; `hone.edits.read_tree` applies the default
rule, which needs the EVOLVE-BLOCK markers): a file is *text* when it holds no NUL byte and
decodes as UTF-8; binary and other files belong to the base. Symbolic links are never read
(they belong to the base as well), and these folders are not entered, being version control,
caches, environments or build outputs nobody evolves: ``.git``, ``.hg``, ``.svn``,
``__pycache__``, ``.mypy_cache``, ``.pytest_cache``, ``.ruff_cache``, ``.ipynb_checkpoints``,
``.tox``, ``.nox``, ``.venv``, ``node_modules``, ``build``, ``dist``, ``*.egg-info`` and any
folder holding a ``pyvenv.cfg`` (a virtual environment of any name). A model never sees or
edits them, but a candidate does: the whole folder is its base.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import os
import re
import stat
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hone import syntax
from hone.patches import file_diff

DEFAULT_LIMIT = 1 << 20  # bytes: larger text files are not editable by default
SKIPPED = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        "__pycache__",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".ipynb_checkpoints",
        ".tox",
        ".nox",
        ".venv",
        "node_modules",
        "build",
        "dist",
    }
)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def normal_path(path: str) -> str:
    """`path` in normal form; raises ValueError with one sentence when it is not a file's
    path inside the program folder."""
    if _CONTROL.search(path):
        raise ValueError(f"the path {path!r} holds a control character")
    if "\\" in path:
        raise ValueError(f"the path {path!r} holds a backslash; separate folders with '/'")
    text = unicodedata.normalize("NFC", path.strip())
    if not text:
        raise ValueError("an empty path names no file")
    if text.startswith("/"):
        raise ValueError(
            f"the path {path!r} is absolute; name files relative to the program folder"
        )
    parts = [part for part in text.split("/") if part not in ("", ".")]
    if ".." in parts:
        raise ValueError(f"the path {path!r} leaves the program folder ('..'); stay inside it")
    if not parts:
        raise ValueError(f"the path {path!r} names the program folder, not a file in it")
    if text.endswith("/"):
        raise ValueError(f"the path {path!r} names a folder, not a file")
    return "/".join(parts)


def blob_hash(text: str) -> str:
    """The content address of one file's text: sha256 hex of its UTF-8."""
    return hashlib.sha256(text.encode()).hexdigest()


class Tree(Mapping[str, str]):
    """An immutable mapping of normalised relative paths to file texts, sorted by path."""

    __slots__ = ("_digest", "_files", "_key")
    _files: dict[str, str]
    _digest: str | None
    _key: str | None

    def __init__(self, files: Mapping[str, str] | Iterable[tuple[str, str]] = ()) -> None:
        normal: dict[str, str] = {}
        for path, text in dict(files).items():
            name = normal_path(path)
            if name in normal:
                raise ValueError(f"the paths {path!r} and {name!r} name the same file")
            normal[name] = _checked_text(name, text)
        object.__setattr__(self, "_files", dict(sorted(normal.items())))
        object.__setattr__(self, "_digest", None)
        object.__setattr__(self, "_key", None)

    @classmethod
    def one(cls, path: str, text: str) -> Tree:
        """The tree of a one-file task."""
        return cls({path: text})

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"a Tree cannot be changed (use with_files); tried to set {name}")

    def __getitem__(self, path: str) -> str:
        return self._files[path]

    def __iter__(self) -> Iterator[str]:
        return iter(self._files)

    def __len__(self) -> int:
        return len(self._files)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Tree):
            return self._files == other._files
        return super().__eq__(other)

    def __hash__(self) -> int:
        return hash(self.digest)

    def __repr__(self) -> str:
        shown = ", ".join(list(self._files)[:3]) + (", ..." if len(self) > 3 else "")
        return f"Tree([{shown}], digest={self.digest[:12]})"

    @property
    def paths(self) -> tuple[str, ...]:
        """The files' paths, sorted."""
        return tuple(self._files)

    def changed(self, parent: Mapping[str, str]) -> dict[str, str]:
        """The files whose text differs from `parent`'s, or that `parent` lacks."""
        return {p: t for p, t in self._files.items() if parent.get(p) != t}

    def with_files(self, changes: Mapping[str, str]) -> Tree:
        """This tree with `changes` written over it (a path's new text, or a new path)."""
        if not changes:
            return self
        files = dict(self._files)
        for path, text in changes.items():
            name = normal_path(path)
            files[name] = _checked_text(name, text)
        tree = Tree.__new__(Tree)
        object.__setattr__(tree, "_files", dict(sorted(files.items())))
        object.__setattr__(tree, "_digest", None)
        object.__setattr__(tree, "_key", None)
        return tree

    @property
    def digest(self) -> str:
        """An exact content hash: sha256 over the sorted (path, blob hash) pairs."""
        if self._digest is None:
            lines = "".join(f"{p}\0{blob_hash(t)}\n" for p, t in self._files.items())
            object.__setattr__(self, "_digest", hashlib.sha256(lines.encode()).hexdigest())
        assert self._digest is not None
        return self._digest

    @property
    def key(self) -> str:
        """Equal for trees whose files differ only in comments, docstrings or layout: the
        evaluation cache's key (`edits.program_key` per file, combined in path order).

        A one-file tree's key is its file's, whatever its name, as hone has always stored
        it, so a run stored before trees existed keeps its cache."""
        if self._key is None:
            if len(self) == 1:
                text = program_key(next(iter(self._files.values())))
            else:
                text = "".join(f"{p}\0{program_key(t)}\0" for p, t in self._files.items())
            key = hashlib.blake2b(text.encode(), digest_size=12).hexdigest()
            object.__setattr__(self, "_key", key)
        assert self._key is not None
        return self._key

    @property
    def text(self) -> str:
        """The files as one text: a one-file tree's is its file's; else each file after a
        line naming its path, in path order (what the near-copy filter and the complexity
        feature compare, and what a view shows as the program)."""
        if len(self) == 1:
            return next(iter(self._files.values()))
        return "".join(f"# {p}\n{t}" + ("" if t.endswith("\n") else "\n") for p, t in self.items())

    def diff(self, parent: Mapping[str, str]) -> str:
        """The changes from `parent` as a unified diff per file, as `git apply` takes it."""
        return "".join(
            file_diff(path, parent.get(path), text) for path, text in self.changed(parent).items()
        )

    def __reduce__(self) -> tuple[Any, ...]:
        return (Tree, (self._files,))


def _checked_text(path: str, text: object) -> str:
    if not isinstance(text, str):
        raise TypeError(f"the text of {path} is a {type(text).__name__}, not a str")
    if not text.isascii():
        try:
            text.encode()
        except UnicodeEncodeError as exc:
            raise ValueError(f"the text of {path} is not valid Unicode: {exc.reason}") from None
    return text


# -- program keys ---------------------------------------------------------------------------
def program_key(code: str) -> str:
    """A key equal for programs that differ only in comments, docstrings or layout."""
    try:
        return _skeleton(code)
    except SyntaxError:
        return _normal(code)


def same_program(a: str, b: str) -> bool:
    """True when two programs differ only in comments, docstrings, blank lines or layout."""
    return program_key(a) == program_key(b)


@functools.lru_cache(maxsize=256)
def _skeleton(code: str) -> str:
    """`ast.dump` of the program with the leading string of every body (docstrings) dropped."""
    return _dump(syntax.parse(code))


def _dump(node: object) -> str:
    # Exactly what ast.dump(node) returns once every `body` list has lost a leading string
    # (`body[1:] or [Pass()]`), in one pass and about three times faster (a new program is
    # keyed on every hypothesis: 3 ms for a 300-line one with ast.walk and ast.dump).
    if isinstance(node, ast.AST):
        cls = type(node)
        fields = []
        for name in node._fields:
            try:
                value = getattr(node, name)
            except AttributeError:
                continue
            if value is None and getattr(cls, name, ...) is None:
                continue
            if name == "body" and isinstance(value, list) and value:
                first = value[0]
                if (
                    isinstance(first, ast.Expr)
                    and isinstance(first.value, ast.Constant)
                    and isinstance(first.value.value, str)
                ):
                    value = value[1:] or [ast.Pass()]
            fields.append(f"{name}={_dump(value)}")
        return f"{cls.__name__}({', '.join(fields)})"
    if isinstance(node, list):
        return f"[{', '.join([_dump(item) for item in node])}]" if node else "[]"
    return repr(node)


def _normal(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.strip().splitlines())


# -- globs ------------------------------------------------------------------------------------
def matches(glob: str, path: str) -> bool:
    """True when the normalised `path` matches `glob` (rules in the module's docstring)."""
    return _compiled(glob).fullmatch(path) is not None


@functools.lru_cache(maxsize=1024)
def _compiled(glob: str) -> re.Pattern[str]:
    text = glob.strip()
    while text.startswith("./"):
        text = text[2:]
    if text.endswith("/"):
        text += "**"
    parts = text.split("/")
    pattern = ""
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if part == "**":
            pattern += ".*" if last else "(?:[^/]+/)*"
        else:
            pattern += _part(part) + ("" if last else "/")
    return re.compile(pattern, re.DOTALL)


def _part(part: str) -> str:
    """One path part of a glob as a regular expression that never crosses a '/'."""
    out, i = "", 0
    while i < len(part):
        char = part[i]
        if char == "*":
            out += "[^/]*"
        elif char == "?":
            out += "[^/]"
        elif char == "[" and (end := _class_end(part, i)) > 0:
            inner = part[i + 1 : end]
            negate = inner.startswith("!")
            inner = (inner[1:] if negate else inner).replace("\\", "\\\\")
            if inner.startswith("^"):
                inner = "\\" + inner
            out += ("[^/" if negate else "[") + inner + "]"
            i = end
        else:
            out += re.escape(char)
        i += 1
    return out


def _class_end(part: str, start: int) -> int:
    """Where the character class opened at `start` closes (a ']' first in it is a member),
    or -1 when it does not: then '[' is itself."""
    first = start + 2 if part[start + 1 : start + 2] == "!" else start + 1
    return part.find("]", first + 1)


def glob_problem(glob: str) -> str | None:
    """Why `glob` cannot name files inside the program folder (one sentence), or None."""
    text = glob.strip()
    if not text:
        return "an empty glob matches no file"
    if text.startswith("/"):
        return f"the glob {glob!r} is absolute; write it relative to the program folder"
    if ".." in text.split("/"):
        return f"the glob {glob!r} leaves the program folder ('..')"
    if "\\" in text:
        return f"the glob {glob!r} holds a backslash; separate folders with '/'"
    return None


@dataclass(frozen=True)
class TreeSpec:
    """Which files of a program folder (`base`) the model may change, see and add.

    `editable` empty means the default rule (module docstring); `context` are shown to the
    model read-only; `new_files` are where a hypothesis may add a file (nowhere by default).
    A one-file task has no base and no globs.
    """

    base: Path | None = None
    editable: tuple[str, ...] = ()
    context: tuple[str, ...] = ()
    new_files: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for key in ("editable", "context", "new_files"):
            for glob in getattr(self, key):
                problem = glob_problem(glob)
                if problem:
                    raise ValueError(f"{key}: {problem}")

    def may_add(self, path: str) -> bool:
        """True when a hypothesis may add a file at `path` (a `new_files` glob matches)."""
        return any(matches(glob, path) for glob in self.new_files)

    def is_context(self, path: str) -> bool:
        """True when `path` is shown to the model read-only."""
        return any(matches(glob, path) for glob in self.context)


def link_problem(base: Path, path: str) -> str | None:
    """Why a hypothesis may not write the normalised `path` over the folder `base` on disk
    (it goes through or is a symbolic link, or through a file), one sentence; else None."""
    root = base.resolve()
    here = root
    parts = path.split("/")
    for i, part in enumerate(parts):
        here = here / part
        shown = "/".join(parts[: i + 1])
        try:
            mode = os.lstat(here).st_mode
        except FileNotFoundError:
            return None  # the rest does not exist yet: written as real folders and a file
        except OSError as exc:
            return f"{path} cannot be written: {shown}: {exc.strerror}"
        if stat.S_ISLNK(mode):
            target = here.resolve()
            link = (
                "is a symbolic link" if shown == path else f"goes through the symbolic link {shown}"
            )
            if not target.is_relative_to(root):
                return f"{path} {link}, which leads outside the program folder"
            real = target.relative_to(root).as_posix()
            return f"{path} {link} (to {real}); name the file by its real path"
        if i < len(parts) - 1 and not stat.S_ISDIR(mode):
            return f"{path} cannot be written: {shown} is a file, not a folder"
        if i == len(parts) - 1 and stat.S_ISDIR(mode):
            return f"{path} is a folder, not a file"
    return None


# -- reading a program folder -----------------------------------------------------------------
def files_under(folder: Path) -> Iterator[str]:
    """The relative POSIX paths of the regular files under `folder` (no symbolic links),
    skipping the folders named in the module's docstring."""
    for top, dirs, names in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not _skipped(Path(top, d)))
        rel = Path(top).relative_to(folder).as_posix()
        for name in sorted(names):
            if stat.S_ISREG(os.lstat(os.path.join(top, name)).st_mode):
                yield name if rel == "." else f"{rel}/{name}"


def _skipped(folder: Path) -> bool:
    name = folder.name
    return (
        name in SKIPPED
        or name.endswith(".egg-info")
        or folder.is_symlink()
        or (folder / "pyvenv.cfg").is_file()
    )


def read_text(path: Path) -> str | None:
    """The file's text, or None when it is not text (a NUL byte, or not UTF-8)."""
    data = path.read_bytes()
    if b"\0" in data:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None
