"""Laying a candidate's files over the read-only base folder, as the tree it evaluates.

A tree hypothesis holds only the files that may differ (`hone.tree`); the rest of the task's
program folder, the *base*, is the same for every candidate and is never copied. The worker
builds each candidate's tree in its private temporary directory, in one of two ways:

* ``overlay``: an overlayfs mount with the base as its lower layer and a fresh directory as
  its upper one, into which the tree's files are written first. The candidate sees every base
  file; whatever it writes (new files anywhere, or a base file, copied up first) lands in the
  upper directory, never in the base. The cost is O(files of the tree) whatever the base's
  size. A candidate that runs as a user of its own must own the folders to write in them:
  the worker lays a read-only layer of the base's folders owned by that user between the two
  (`Base.with_folders`, made once per worker); without it each candidate's upper directory
  gets every folder, O(folders) more. It needs mount rights in the process's mount
  namespace: root, or the user namespace the worker gives itself (Linux 5.11 or later for
  overlayfs there).
* ``farm``: real directories, one per base folder, with a symbolic link per base file (to a
  read-only view of the base: a read-only bind mount when one can be made, the base itself
  when it is on a read-only mount already), and the tree's files written as real files
  over them. New files can be written anywhere; writing through a link fails with EROFS.
  Without mount rights the links lead to the base itself, which then is only as safe as its
  permissions (`Materialised.protected` is False, `reason` says why). O(files of the base).

`materialise` tries the overlay and falls back to the farm. `Base.scan` lists the base once
per worker: a folder's listing is what both strategies need and what does not change.
A tree's file overriding a base file keeps the base file's permission bits (a script stays
executable); a new file is 0644.

This module runs in the evaluation worker, so it imports only what the worker has loaded.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Literal

from hone.sandbox import isolation

Strategy = Literal["overlay", "farm"]
_NEW_FILE_MODE = 0o644
_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


@dataclass(frozen=True)
class Base:
    """A read-only base folder, listed once: its folders, and every other entry (files and
    symbolic links, never followed) with its mode, as paths relative to it."""

    path: Path
    folders: tuple[str, ...]
    entries: Mapping[str, int]
    # A read-only copy of the folders alone, owned by `owner` (`with_folders`), or None.
    layer: Path | None = None
    owner: int | None = None

    @classmethod
    def scan(cls, path: Path) -> Base:
        """List the folder `path` (resolved)."""
        root = path.resolve()
        folders: list[str] = []
        entries: dict[str, int] = {}
        pending = [""]
        while pending:
            rel = pending.pop()
            with os.scandir(root / rel if rel else root) as listing:
                for entry in listing:
                    name = f"{rel}/{entry.name}" if rel else entry.name
                    if entry.is_dir(follow_symlinks=False):
                        folders.append(name)
                        pending.append(name)
                    else:
                        entries[name] = entry.stat(follow_symlinks=False).st_mode
        return cls(root, tuple(sorted(folders)), MappingProxyType(dict(sorted(entries.items()))))

    def with_folders(self, owner: int, where: Path) -> Base:
        """This base with a layer of its folders owned by `owner` at `where`, a new empty
        directory on the worker's private /tmp, kept read-only there for the worker's life:
        an overlay for a candidate of that user then lays it between the base and the
        candidate's files, instead of making every folder anew per candidate (which costs
        O(folders)). Raises OSError when it cannot be mounted."""

        def fill(root: str) -> None:
            for folder in self.folders:  # (sorted: a parent before its children)
                os.mkdir(f"{root}/{folder}", 0o755)
                os.chown(f"{root}/{folder}", owner, owner)
            os.chown(root, owner, owner)

        isolation.kept_layer(str(where), fill)
        return dataclasses.replace(self, layer=where, owner=owner)

    def mode(self, path: str) -> int:
        """The permission bits of the base file at `path`; a new file's when there is none."""
        found = self.entries.get(path)
        return stat.S_IMODE(found) if found is not None else _NEW_FILE_MODE


@dataclass(frozen=True)
class Materialised:
    """A candidate's tree at `root`; `remove` takes it down."""

    root: Path
    strategy: Strategy
    protected: bool  # a write to a base file cannot reach the base folder
    reason: str = ""  # why the overlay was not used, or why the base is not protected
    layers: Path | None = None  # the overlay's upper and work folders, or the base's view
    mounts: tuple[Path, ...] = ()

    def remove(self) -> None:
        """Unmount and delete the tree (and its layers); the base is never touched."""
        for mount in self.mounts:
            isolation.unmount(str(mount))  # raises rather than delete through a mount
        for path in (self.root, self.layers):
            if path is not None:
                shutil.rmtree(path, ignore_errors=True)


def materialise(
    files: Mapping[str, str],
    base: Base | None,
    dest: Path,
    *,
    strategy: Strategy | None = None,
    owner: int | None = None,
) -> Materialised:
    """Build the tree of `files` (normalised relative paths to texts) over `base` at `dest`
    (which must not exist), by `strategy` or the overlay where it can be mounted, else the
    farm. `owner` is the user id the candidate runs as, when it is not this process's: the
    tree's folders and files become its own, so it can write there."""
    dest.mkdir(mode=0o755)
    if base is None:
        for path, text in files.items():
            _write(dest, path, text, _NEW_FILE_MODE, owner)
        if owner is not None:
            os.chown(dest, owner, owner)
        return Materialised(dest, "farm", protected=True)
    layers = dest.with_name(f".{dest.name}.layers")
    layers.mkdir(mode=0o711)  # the farm's links lead through it
    reason = ""
    if strategy in (None, "overlay"):
        try:
            return _overlay(files, base, dest, layers, owner)
        except OSError as exc:
            if strategy == "overlay":
                _clear(dest, layers)
                raise
            reason = f"overlay unavailable: {exc.strerror or exc}"
            _clear(dest, layers)
            dest.mkdir(mode=0o755)
            layers.mkdir(mode=0o711)
    return _farm(files, base, dest, layers, owner, reason)


def _overlay(
    files: Mapping[str, str], base: Base, dest: Path, layers: Path, owner: int | None
) -> Materialised:
    upper, work = layers / "upper", layers / "work"
    upper.mkdir()
    work.mkdir()
    over = base.layer if owner is not None and owner == base.owner else None
    if owner is not None:  # the merged folders take the upper ones' owner, or the layer's
        if over is None:
            for folder in base.folders:
                (upper / folder).mkdir()
                os.chown(upper / folder, owner, owner)
        os.chown(upper, owner, owner)
    for path, text in files.items():
        _write(upper, path, text, base.mode(path), owner)
    isolation.mount_overlay(
        str(base.path), str(upper), str(work), str(dest), over=str(over) if over else None
    )
    return Materialised(dest, "overlay", protected=True, layers=layers, mounts=(dest,))


def _farm(
    files: Mapping[str, str],
    base: Base,
    dest: Path,
    layers: Path,
    owner: int | None,
    reason: str,
) -> Materialised:
    view, mounts, protected = _read_only_view(base.path, layers / "base")
    if not protected:
        reason = "; ".join(filter(None, [reason, "the base folder is not read-only"]))
    for folder in base.folders:
        (dest / folder).mkdir()
        if owner is not None:
            os.chown(dest / folder, owner, owner)
    if owner is not None:
        os.chown(dest, owner, owner)
    for path in base.entries:
        if path not in files:
            os.symlink(f"{view}/{path}", f"{dest}/{path}")
    for path, text in files.items():
        _write(dest, path, text, base.mode(path), owner)
    return Materialised(dest, "farm", protected, reason, layers, mounts)


def _read_only_view(path: Path, spot: Path) -> tuple[Path, tuple[Path, ...], bool]:
    """Where the farm's links lead: the base when it is on a read-only mount already, else
    a read-only bind mount of it at `spot`, else (no mount rights) the base as it is."""
    if os.statvfs(path).f_flag & os.ST_RDONLY:
        return path, (), True
    spot.mkdir()
    try:
        isolation.bind_read_only(str(path), str(spot))
    except OSError:
        spot.rmdir()
        return path, (), False
    return spot, (spot,), True


def _write(root: Path, path: str, text: str, mode: int, owner: int | None) -> None:
    """Write one file of the tree under `root`, creating its folders; nothing on the way is
    followed if it is a symbolic link (ValueError: the path is refused)."""
    *folders, name = path.split("/")
    fd = os.open(root, _DIR)
    try:
        for folder in folders:
            with contextlib.suppress(FileExistsError):
                os.mkdir(folder, 0o755, dir_fd=fd)
                if owner is not None:
                    os.chown(folder, owner, owner, dir_fd=fd)
            try:
                inner = os.open(folder, _DIR, dir_fd=fd)
            except OSError as exc:  # a link, or a file
                raise ValueError(
                    f"{path} cannot be written: {folder} is not a folder ({exc.strerror})"
                ) from None
            os.close(fd)
            fd = inner
        with contextlib.suppress(FileNotFoundError):  # a farm's link to the base file
            if stat.S_ISLNK(os.lstat(name, dir_fd=fd).st_mode):
                os.unlink(name, dir_fd=fd)
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC
        out = os.open(name, flags, mode, dir_fd=fd)
        with os.fdopen(out, "w", encoding="utf-8", newline="") as f:
            f.write(text)
            os.fchmod(f.fileno(), mode)  # whatever the umask
            if owner is not None:
                os.fchown(f.fileno(), owner, owner)
    finally:
        os.close(fd)


def _clear(*paths: Path) -> None:
    for path in paths:
        shutil.rmtree(path, ignore_errors=True)
