"""Resume knows its task: a fingerprint of the task's files, kept with the run as it starts and
compared when it resumes, so that scores from an edited evaluator are never ranked beside the
old ones without the user saying so.

What is covered: every file of the task folder and its subfolders (hidden files and folders,
``__pycache__``, ``*.pyc`` and run folders, those holding a ``hone.db``, left out), the
evaluator and the config file where they lie outside it, and the files and folders of
`[evaluation] read_only` the evaluation may read. Files are compared by content (sha256) while the hashed bytes
stay within `HASH_BYTES`, and by size and modification time past that or for a file over
`HASH_FILE_BYTES`; at most `MAX_FILES` files are listed, in name order (past that the record
says it is incomplete). A task started from Python without a folder is fingerprinted by its
evaluator file, starting program and instruction.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hone.exceptions import TaskChangedError
from hone.meta import RunMeta
from hone.store import DB_NAME, Store
from hone.task import Task

KEY = "task_fingerprint"  # the store's meta key of the fingerprint
ACCEPTED = "accepted_changes"  # the meta key of the changes `--accept-changed-task` accepted
VERSION = 1
MAX_FILES = 5_000
HASH_BYTES = 256 << 20  # hashed in all; later files by size and modification time
HASH_FILE_BYTES = 64 << 20  # a file larger than this: by size and modification time
_SHOWN = 5  # file names a message lists

Entry = list[Any]  # [size, "sha256:<hex>"] or [size, "mtime:<ns>"]


def fingerprint(task: Task) -> dict[str, Any]:
    """The task's files, each by content or by size and time (see the module's docstring)."""
    files: dict[str, Entry] = {}
    budget = [HASH_BYTES]
    complete = True
    for name, path in _files(task):
        if len(files) >= MAX_FILES:
            complete = False
            break
        entry = _entry(path, budget)
        if entry is not None:
            files[name] = entry
    if task.root is None:  # (from Python: what the folder would have said)
        files["(starting program)"] = _text(task.program)
        files["(instruction)"] = _text(task.instruction)
    return {"version": VERSION, "files": files, "complete": complete}


@dataclass(frozen=True)
class Changes:
    """Which of a task's files changed between two fingerprints."""

    changed: tuple[str, ...] = ()
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.changed or self.added or self.removed)

    @property
    def files(self) -> list[str]:
        """Every file that changed, was added or was removed, in name order."""
        return sorted({*self.changed, *self.added, *self.removed})

    def describe(self) -> str:
        """'evaluate.py changed, data.csv added' (the first few of each)."""
        parts = []
        for names, what in ((self.changed, "changed"), (self.added, "added"), (self.removed, "removed")):  # fmt: skip
            if names:
                shown = ", ".join(names[:_SHOWN])
                more = f" and {len(names) - _SHOWN} more" if len(names) > _SHOWN else ""
                parts.append(f"{shown}{more} {what}")
        return "; ".join(parts)


def compare(before: Mapping[str, Any], now: Mapping[str, Any]) -> Changes:
    """What changed from fingerprint `before` to `now`."""
    old: dict[str, Entry] = dict(before.get("files") or {})
    new: dict[str, Entry] = dict(now.get("files") or {})
    changed = tuple(sorted(n for n in old.keys() & new.keys() if not _same(old[n], new[n])))
    added = tuple(sorted(new.keys() - old.keys()))
    removed = tuple(sorted(old.keys() - new.keys()))
    if not (before.get("complete", True) and now.get("complete", True)):
        # (past MAX_FILES the lists differ by where they were cut, not by the task)
        added = tuple(n for n in added if n <= max(old, default=""))
        removed = tuple(n for n in removed if n <= max(new, default=""))
    return Changes(changed, added, removed)


def check(store: Store, task: Task, *, accept: bool) -> Changes:
    """Compare the task with the fingerprint its run kept: unchanged, go on; changed, refuse
    with one sentence (TaskChangedError), unless `accept`, which keeps the change with the
    point where scores stop being comparable. A run recorded before fingerprints gets one now
    and resumes as before."""
    meta = store.meta()
    now = fingerprint(task)
    before = meta.task_fingerprint
    if before is None:
        store.set_meta(**{KEY: now})
        return Changes()
    changes = compare(before, now)
    if not changes:
        return changes
    run_dir = store.path.parent
    if not accept:
        where = f"hone run {task.root}" if task.root else "hone.run(task)"
        raise TaskChangedError(
            f"the task changed since this run started ({changes.describe()}), so scores from "
            f"now on would not compare with the run's; continue anyway with: hone resume "
            f"{run_dir} --accept-changed-task (the change is recorded), or start a new run: {where}"
        )
    record = {
        "at": time.time(),
        "files": changes.files,
        "summary": changes.describe(),
        # the hypotheses after this one were scored by the changed task
        "after_hypothesis": store.last_candidate(),
        "after_round": store.last_round(),
    }
    store.set_meta(**{KEY: now, ACCEPTED: [*meta.accepted_changes, record]})
    return changes


def accepted(meta: RunMeta) -> list[str]:
    """One line for each accepted change of a run's task (`hone show`)."""
    return [
        f"the task changed after hypothesis #{r.get('after_hypothesis')} (round "
        f"{r.get('after_round')}: {r.get('summary')}); later scores do not compare with earlier ones"
        for r in meta.accepted_changes
    ]


def _files(task: Task) -> Iterator[tuple[str, Path]]:
    """(name, path) of every covered file, without repeats: the task folder's by their path
    in it, the rest by their absolute path."""
    seen: set[Path] = set()
    root = task.root.resolve() if task.root else None
    sources = [root] if root else []
    extra = [task.evaluator]
    if task.source is not None:
        extra += [p for p in (task.source.config, task.source.program, task.source.evaluator) if p]
    sources += [Path(p) for p in task.evaluation.read_only]
    for source in [*sources, *extra]:
        for path in _walk(Path(source).resolve()):
            if path in seen:
                continue
            seen.add(path)
            inside = root is not None and path.is_relative_to(root)
            yield (path.relative_to(root).as_posix() if inside and root else str(path)), path


def _walk(top: Path) -> Iterator[Path]:
    """`top` itself (a file) or the files under it, in name order, skipping what is left out."""
    if top.is_file():
        yield top
        return
    if not top.is_dir():
        return
    for folder, dirs, names in os.walk(top):
        dirs[:] = sorted(
            d
            for d in dirs
            if not d.startswith(".")
            and d != "__pycache__"
            and not (Path(folder) / d / DB_NAME).exists()  # a run folder
        )
        for name in sorted(names):
            if not name.startswith(".") and not name.endswith(".pyc") and name != DB_NAME:
                yield Path(folder) / name


def _entry(path: Path, budget: list[int]) -> Entry | None:
    try:
        info = path.stat()
        if info.st_size > HASH_FILE_BYTES or info.st_size > budget[0]:
            return [info.st_size, f"mtime:{info.st_mtime_ns}"]
        digest = hashlib.sha256()
        with path.open("rb") as f:
            while block := f.read(1 << 20):
                digest.update(block)
    except OSError:
        return None  # unreadable now (a socket, no permission): not part of the task
    budget[0] -= info.st_size
    return [info.st_size, "sha256:" + digest.hexdigest()]


def _text(text: str) -> Entry:
    data = text.encode("utf-8", "surrogatepass")
    return [len(data), "sha256:" + hashlib.sha256(data).hexdigest()]


def _same(a: Entry, b: Entry) -> bool:
    """Equal entries; by size only when one was hashed and the other was not."""
    if str(a[1]).split(":")[0] != str(b[1]).split(":")[0]:
        return bool(a[0] == b[0])
    return bool(a == b)


__all__ = ["ACCEPTED", "KEY", "Changes", "accepted", "check", "compare", "fingerprint"]
