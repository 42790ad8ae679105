"""A candidate's tree laid over the read-only base: by overlayfs and by a farm of links.

Each case runs in a forked child with a mount namespace of its own (as the worker has one),
so no mount it makes is seen outside it; the child reports what it saw and the parent checks.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import stat
import tempfile
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from hone.sandbox import isolation, write_all
from hone.sandbox.materialise import Base, Materialised, materialise

NOBODY = 65534
BASE = {
    "main.py": "import helper\n",
    "helper.py": "def help():\n    return 1\n",
    "src/pkg/core.py": "CORE = 1\n",
    "src/pkg/data.txt": "data\n",
    "run.sh": "#!/bin/sh\necho base\n",
    "docs/notes, with: odd chars.md": "notes\n",
}
TREE = {
    "helper.py": "def help():\n    return 2\n",
    "run.sh": "#!/bin/sh\necho tree\n",
    "src/pkg/new_module.py": "NEW = 1\n",
    "src/added/deep/x.py": "X = 1\n",
}


def fingerprint(folder: Path) -> str:
    """Names, modes, link targets and contents of everything under `folder`."""
    digest = hashlib.sha256()
    for top, dirs, files in sorted(os.walk(folder)):
        dirs.sort()
        for name in sorted(dirs + files):
            path = Path(top, name)
            info = os.lstat(path)
            digest.update(f"{path.relative_to(folder)}\0{info.st_mode}\0".encode())
            if stat.S_ISLNK(info.st_mode):
                digest.update(os.readlink(path).encode())
            elif stat.S_ISREG(info.st_mode):
                digest.update(path.read_bytes())
    return digest.hexdigest()


@pytest.fixture
def place() -> Iterator[Path]:
    """A folder every user may traverse (pytest's tmp_path is root's alone)."""
    path = Path(tempfile.mkdtemp(prefix="hone-materialise-", dir="/tmp"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def base(place: Path) -> Path:
    folder = place / "base"
    for path, text in BASE.items():
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        (folder / path).write_text(text)
    (folder / "run.sh").chmod(0o755)
    (folder / "image.bin").write_bytes(b"\x89PNG\0\1")
    (folder / "src" / "pkg" / "alias.py").symlink_to("core.py")
    (folder / "empty").mkdir()
    for path in [folder, *folder.rglob("*")]:
        if not path.is_symlink():
            path.chmod(path.stat().st_mode | 0o555)  # readable by a candidate of its own
    return folder


def in_namespace(check: Callable[[], Any], *, unprivileged: bool = False) -> Any:
    """Run `check` in a forked child with a mount namespace of its own (as root, or as
    nobody in a user namespace of its own, as a worker not run by root does); its result."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        try:
            os.close(read)
            try:
                if unprivileged:
                    os.setresgid(NOBODY, NOBODY, NOBODY)
                    os.setresuid(NOBODY, NOBODY, NOBODY)
                    isolation._libc.prctl(4, 1, 0, 0, 0)  # dumpable again: /proc/self is ours
                    isolation._unshare(isolation._CLONE_NEWUSER | isolation._CLONE_NEWNS)
                    isolation._write("/proc/self/setgroups", "deny")
                    isolation._write("/proc/self/uid_map", f"{NOBODY} {NOBODY} 1")
                    isolation._write("/proc/self/gid_map", f"{NOBODY} {NOBODY} 1")
                else:
                    isolation._unshare(isolation._CLONE_NEWNS)
                isolation._mount(None, "/", None, isolation._MS_REC | isolation._MS_PRIVATE)
            except OSError as exc:
                message = {"refused": f"namespaces unavailable: {exc}"}
            else:
                message = {"result": check()}
        except BaseException:
            message = {"error": traceback.format_exc()}
        try:
            write_all(write, json.dumps(message).encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as f:
        message = json.loads(f.read() or b'{"error": "the child died"}')
    os.waitpid(pid, 0)
    if "refused" in message:
        pytest.skip(f"the kernel refuses: {message['refused']}")
    assert "error" not in message, message["error"]
    return message["result"]


def append(path: Path, text: str) -> None:
    with open(path, "a") as f:
        f.write(text)


def look(tree: Materialised) -> dict[str, Any]:
    """What a candidate sees at the tree's root, and what its writes do."""
    root = tree.root
    seen = {
        str(p.relative_to(root)): p.read_text()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.suffix != ".bin"
    }
    attempts = {}
    for name, attempt in {
        "new file at the top": lambda: (root / "out.txt").write_text("out"),
        "new file in a base folder": lambda: (root / "src" / "pkg" / "out.txt").write_text("o"),
        "new file in an empty folder": lambda: (root / "empty" / "out.txt").write_text("o"),
        "new folder": lambda: (root / "made" / "deeper").mkdir(parents=True),
        "write a base file": lambda: (root / "main.py").write_text("hacked"),
        "append to a base file": lambda: append(root / "src/pkg/core.py", "hacked"),
        "truncate a base file": lambda: os.truncate(root / "src/pkg/data.txt", 0),
        "write through a link in the base": lambda: (root / "src/pkg/alias.py").write_text("h"),
        "chmod a base file": lambda: os.chmod(root / "main.py", 0o777),
        "rewrite a tree file": lambda: (root / "helper.py").write_text("rewritten"),
    }.items():
        try:
            attempt()
            attempts[name] = "ok"
        except OSError as exc:
            attempts[name] = errno.errorcode.get(exc.errno or 0, str(exc))
    return {
        "strategy": tree.strategy,
        "protected": tree.protected,
        "reason": tree.reason,
        "seen": seen,
        "image": (root / "image.bin").read_bytes().hex(),
        "run.sh executable": os.access(root / "run.sh", os.X_OK),
        "attempts": attempts,
        "after": {name: (root / name).read_text() for name in ("main.py", "out.txt")},
    }


def built_and_removed(base: Path, place: Path, **options: Any) -> dict[str, Any]:
    tree = materialise(TREE, Base.scan(base), place / "candidate", **options)
    seen = look(tree)
    tree.remove()
    seen["left"] = sorted(os.listdir(place))
    seen["mounted"] = str(place) in Path("/proc/self/mountinfo").read_text()
    return seen


def expected_view() -> dict[str, str]:
    view = {**BASE, **TREE, "src/pkg/alias.py": BASE["src/pkg/core.py"]}
    return dict(sorted(view.items()))


@pytest.mark.parametrize("strategy", ["overlay", "farm"])
def test_each_strategy_shows_the_tree_over_the_base_and_never_writes_the_base(
    strategy: str, base: Path, place: Path
) -> None:
    before = fingerprint(base)
    seen = in_namespace(lambda: built_and_removed(base, place, strategy=strategy))
    assert seen["strategy"] == strategy and seen["protected"] and seen["reason"] == ""
    assert seen["seen"] == expected_view()
    assert seen["image"] == b"\x89PNG\0\1".hex() and seen["run.sh executable"]
    attempts = seen["attempts"]
    for made in ("new file at the top", "new file in a base folder", "new folder"):
        assert attempts[made] == "ok", made
    assert attempts["new file in an empty folder"] == "ok"
    assert attempts["rewrite a tree file"] == "ok"
    writes = [
        "write a base file",
        "append to a base file",
        "truncate a base file",
        "write through a link in the base",
        "chmod a base file",
    ]
    if strategy == "overlay":  # copied up: the candidate's copy changes, the base does not
        assert all(attempts[name] == "ok" for name in writes), attempts
        assert seen["after"]["main.py"] == "hacked"
    else:  # the link leads to a read-only view
        assert all(attempts[name] == "EROFS" for name in writes), attempts
        assert seen["after"]["main.py"] == BASE["main.py"]
    assert seen["after"]["out.txt"] == "out"
    assert seen["left"] == ["base"] and not seen["mounted"]  # removed, unmounted
    assert fingerprint(base) == before


def test_the_overlay_is_chosen_where_it_can_be_mounted(base: Path, place: Path) -> None:
    seen = in_namespace(lambda: built_and_removed(base, place))
    assert seen["strategy"] == "overlay" and seen["seen"] == expected_view()


def test_without_mount_rights_the_farm_links_to_the_base_and_says_it_is_unprotected(
    base: Path, place: Path
) -> None:
    before = fingerprint(base)
    os.chown(place, NOBODY, NOBODY)

    def check() -> dict[str, Any]:
        os.setresuid(NOBODY, NOBODY, 0)  # no mount rights left
        seen = built_and_removed(base, place)
        os.setresuid(0, 0, 0)
        return seen

    seen = in_namespace(check)
    assert seen["strategy"] == "farm" and not seen["protected"]
    assert seen["reason"].startswith("overlay unavailable: mount ")
    assert seen["reason"].endswith("Operation not permitted; the base folder is not read-only")
    assert seen["seen"] == expected_view()
    # The candidate (nobody) may not write the base (root's files), but may write its tree.
    assert seen["attempts"]["write a base file"] == "EACCES"
    assert seen["attempts"]["new file in a base folder"] == "ok"
    assert fingerprint(base) == before


@pytest.mark.parametrize("strategy", ["overlay", "overlay over a folders layer", "farm"])
def test_a_candidate_of_its_own_user_can_write_anywhere_in_its_tree(
    strategy: str, base: Path, place: Path
) -> None:
    before = fingerprint(base)

    def check() -> dict[str, Any]:
        scanned = Base.scan(base)
        if strategy.endswith("layer"):  # as a worker lays it, once for every candidate
            (place / "folders").mkdir()
            scanned = scanned.with_folders(NOBODY, place / "folders")
        tree = materialise(TREE, scanned, place / "c", strategy=strategy[:7], owner=NOBODY)  # type: ignore[arg-type]
        if strategy.endswith("layer"):  # no folder of the base's made for this candidate
            upper = {
                p.relative_to(tree.layers / "upper").as_posix()
                for p in (tree.layers / "upper").rglob("*")
            }  # type: ignore[operator]
            assert upper == {
                "helper.py",
                "run.sh",
                "src",
                "src/pkg",
                "src/pkg/new_module.py",
                "src/added",
                "src/added/deep",
                "src/added/deep/x.py",
            }, upper
            assert os.stat(place / "folders" / "docs").st_uid == NOBODY
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the candidate, as the user of its own
            try:
                os.setresgid(NOBODY, NOBODY, NOBODY)
                os.setresuid(NOBODY, NOBODY, NOBODY)
                write_all(write, json.dumps(look(tree)).encode())
            finally:
                os._exit(0)
        os.close(write)
        with os.fdopen(read, "rb") as f:
            seen: dict[str, Any] = json.loads(f.read())
        os.waitpid(pid, 0)
        if strategy.endswith("layer"):  # the candidate's writes went to its upper folder
            assert (tree.layers / "upper" / "src" / "pkg" / "out.txt").is_file()  # type: ignore[operator]
            assert all(p.is_dir() for p in (place / "folders").rglob("*"))
        tree.remove()
        return seen

    seen = in_namespace(check)
    assert seen["seen"] == expected_view()
    attempts = seen["attempts"]
    for made in ("new file at the top", "new file in a base folder", "new folder"):
        assert attempts[made] == "ok", made
    assert attempts["rewrite a tree file"] == "ok"
    refused = "EROFS" if strategy == "farm" else "EACCES"  # read-only, or root's base files
    assert attempts["write a base file"] == refused
    assert fingerprint(base) == before


def test_the_overlay_in_a_user_namespace_as_a_worker_without_root_has_it(
    base: Path, place: Path
) -> None:
    for path in [base, *base.rglob("*")]:  # the worker's user owns the task folder
        os.chown(path, NOBODY, NOBODY, follow_symlinks=False)
    os.chown(place, NOBODY, NOBODY)
    before = fingerprint(base)
    seen = in_namespace(lambda: built_and_removed(base, place), unprivileged=True)
    assert seen["strategy"] == "overlay" and seen["protected"]
    assert seen["seen"] == expected_view()
    assert seen["attempts"]["write a base file"] == "ok"  # copied up
    assert seen["attempts"]["new file in a base folder"] == "ok"
    assert fingerprint(base) == before


def test_a_tree_file_under_a_link_of_the_base_is_refused(base: Path, place: Path) -> None:
    (base / "linked").symlink_to(base / "src")
    before = fingerprint(base)

    def check() -> str:
        with pytest.raises(ValueError) as caught:
            materialise({"linked/evil.py": "x"}, Base.scan(base), place / "c", strategy="farm")
        return str(caught.value)

    assert in_namespace(check) == (
        "linked/evil.py cannot be written: linked is not a folder (Not a directory)"
    )
    assert fingerprint(base) == before


def test_without_a_base_the_tree_is_its_files(place: Path) -> None:
    tree = materialise({"program.py": "x = 1\n", "lib/y.py": "y = 2\n"}, None, place / "c")
    assert (tree.root / "program.py").read_text() == "x = 1\n"
    assert (tree.root / "lib" / "y.py").read_text() == "y = 2\n" and tree.mounts == ()
    tree.remove()
    assert not (place / "c").exists()


def test_base_scan_lists_folders_and_entries_without_following_links(base: Path) -> None:
    scanned = Base.scan(base)
    assert scanned.folders == ("docs", "empty", "src", "src/pkg")
    assert sorted(scanned.entries) == sorted([*BASE, "image.bin", "src/pkg/alias.py"])
    assert stat.S_ISLNK(scanned.entries["src/pkg/alias.py"])
    assert scanned.mode("run.sh") == 0o755 and scanned.mode("new.py") == 0o644
