"""The wipe of a worker's private /tmp: what a candidate left goes, what is bound back stays.

Python, hone or the task may live under /tmp (a venv on a CI runner, a task in a temporary
folder); the worker then binds them back read-only inside its private /tmp. The wipe after each
candidate must remove everything the candidate left there and never enter those mounts.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from hone.executors import Verified
from hone.executors.local import ProcessPool
from hone.sandbox import isolation
from hone.settings import EvaluationConfig

FILES = 3000  # in the task folder, under /tmp

# What is left under the private temporary directories, walked without entering a mount:
# "left" are the entries that lead to no mount, "mounts" the directories on another device.
LOOK_AROUND = """\
def look_around(skip=()):
    left, mounts = [], []
    for root in ("/tmp", "/var/tmp", "/dev/shm"):
        device = os.lstat(root).st_dev
        for top, dirs, files in os.walk(root):
            for name in list(dirs):
                path = os.path.join(top, name)
                if os.lstat(path).st_dev != device:
                    mounts.append(path)
                if os.lstat(path).st_dev != device or path in skip:
                    dirs.remove(name)
            left += [os.path.join(top, n) for n in dirs + files]
    left = [p for p in left if not any(m.startswith(p + "/") for m in mounts)]
    return {"left": sorted(left), "mounts": sorted(mounts)}
"""

# Counts the deletions this worker tried that failed on a read-only file system: the wipe's,
# were it to enter the task folder bound back read-only. Installed when the worker loads it.
EVALUATOR = """\
import errno
import importlib.util
import os

READ_ONLY_TRIES = [0]


def _watched(delete):
    def watched(*args, **kwargs):
        try:
            return delete(*args, **kwargs)
        except OSError as exc:
            READ_ONLY_TRIES[0] += exc.errno == errno.EROFS
            raise

    return watched


os.unlink, os.rmdir = _watched(os.unlink), _watched(os.rmdir)


def evaluate(program_path):
    spec = importlib.util.spec_from_file_location("candidate", program_path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return {"score": 1.0, **module.result(), "read_only_tries": float(READ_ONLY_TRIES[0])}
"""

LEAVE = """\
import os


def result():
    os.makedirs("/tmp/left-dir/sub")
    open("/tmp/left-dir/sub/file", "w").write("x")
    open("/tmp/left-file", "w").write("x")
    os.symlink(DATA, "/tmp/left-link")
    os.mkdir("/tmp/left-locked")
    open("/tmp/left-locked/file", "w").write("x")
    os.chmod("/tmp/left-locked", 0)
    for root in ("/var/tmp", "/dev/shm"):
        open(root + "/left-file", "w").write("x")
    open("left-in-workdir", "w").write("x")
    return {"uid": float(os.getuid())}
"""

LOOK = (
    """\
import json
import os


"""
    + LOOK_AROUND
    + """

def result():
    print(json.dumps(look_around(skip=[os.path.dirname(os.getcwd())])))  # not its own
    return {"data_files": float(len(os.listdir(DATA)))}
"""
)


@pytest.fixture
def under_tmp() -> Iterator[Path]:
    """A folder right under /tmp, whatever TMPDIR says."""
    path = Path(tempfile.mkdtemp(prefix="hone-test-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_a_task_under_tmp_stays_and_the_next_candidate_finds_tmp_empty(under_tmp: Path) -> None:
    """A task folder under /tmp is kept and never entered; all a candidate left is gone."""
    task = under_tmp / "task"
    data = task / "data"
    data.mkdir(parents=True)
    for i in range(FILES):
        (data / f"{i}.txt").write_text(str(i))
    (task / "evaluate.py").write_text(EVALUATOR)

    async def go() -> tuple[list[Verified], str]:
        pool = ProcessPool(task / "evaluate.py", "program.py", EvaluationConfig(workers=1))
        try:
            first = await pool.verify(LEAVE.replace("DATA", repr(str(data))))
            return [
                first,
                await pool.verify(LOOK.replace("DATA", repr(str(data)))),
            ], pool.protections
        finally:
            await pool.close()

    (left, look), protections = asyncio.run(go())
    if "private file system" not in protections:
        pytest.skip(f"no private file system here ({protections})")
    assert left.evaluation.ok, left.evaluation.reason
    assert look.evaluation.ok, look.evaluation.reason
    if os.geteuid() == 0:
        assert left.evaluation.metrics["uid"] != 0  # the leftovers are the sandbox user's
    seen = json.loads(look.output)
    assert seen["left"] == []
    assert str(task) in seen["mounts"]
    assert look.evaluation.metrics["data_files"] == FILES
    # The wipe never tried to delete in the read-only task folder.
    assert look.evaluation.metrics["read_only_tries"] == 0
    assert len(list(data.iterdir())) == FILES


# Runs in a process of its own: isolates itself as a worker does, with a folder under /tmp bound
# back, then plays a candidate that holds the namespace's capabilities (as candidates do when
# hone is not root), leaves files and mounts behind, and wipes.
WIPE_IN_A_WORKER = (
    """\
import json, os, sys
from hone.sandbox import isolation

"""
    + LOOK_AROUND
    + """
kept = sys.argv[1]
protections = isolation.isolate_worker([*isolation.python_paths(), kept], 16 << 20)
if not protections.filesystem:
    print(json.dumps({"skip": protections.describe()}))
    sys.exit(0)
# Writable again: were the wipe to enter the folder, its files would go.
isolation._mount(None, kept, None, isolation._MS_REMOUNT | isolation._MS_BIND)
os.makedirs("/tmp/dir/sub")
open("/tmp/dir/sub/file", "w").write("x")
os.symlink(kept, "/tmp/link")
os.mkdir("/tmp/locked")
open("/tmp/locked/file", "w").write("x")
os.chmod("/tmp/locked", 0)
open(os.path.join(os.path.dirname(kept), "beside"), "w").write("x")
for root in ("/var/tmp", "/dev/shm"):
    open(root + "/file", "w").write("x")
fd = os.open("/tmp", os.O_RDONLY)
for _ in range(30):  # deeper than PATH_MAX
    os.mkdir("d" * 200, dir_fd=fd)
    fd = os.open("d" * 200, os.O_RDONLY, dir_fd=fd)
os.close(os.open("file", os.O_CREAT | os.O_WRONLY, dir_fd=fd))
os.mkdir("/tmp/stash")  # a tmpfs of the candidate's, holding a file
isolation._mount("tmpfs", "/tmp/stash", "tmpfs", 0, "size=1m")
open("/tmp/stash/file", "w").write("x")
os.mkdir("/tmp/bound")  # part of the kept folder, bound elsewhere
isolation._mount(os.path.join(kept, "data"), "/tmp/bound", None, isolation._MS_BIND)
isolation.wipe_private_tmp()
print(json.dumps(look_around()))
"""
)


def test_the_wipe_keeps_mounts_bound_back_and_detaches_others(under_tmp: Path) -> None:
    """Nothing under /tmp survives but the mounts bound back, which the wipe never enters."""
    kept = under_tmp / "kept"
    (kept / "data").mkdir(parents=True)
    for i in range(100):
        (kept / "data" / f"{i}.txt").write_text(str(i))
    env = {**os.environ, "PYTHONPATH": str(Path(isolation.__file__).parents[2])}
    done = subprocess.run(
        [sys.executable, "-c", WIPE_IN_A_WORKER, str(kept)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    report = json.loads(done.stdout)
    if "skip" in report:
        pytest.skip(f"no private file system here ({report['skip']})")
    assert len(list((kept / "data").iterdir())) == 100  # not entered, here or at /tmp/bound
    assert report["left"] == []
    assert str(kept) in report["mounts"]
    assert not {"/tmp/stash", "/tmp/bound"} & set(report["mounts"])  # detached


def test_the_wipe_removes_deep_locked_and_linked_entries(tmp_path: Path) -> None:
    """Paths longer than PATH_MAX, directories without permissions, links: all go."""
    root, outside = tmp_path / "root", tmp_path / "outside"
    (outside / "keep").mkdir(parents=True)
    (root / "locked" / "sub").mkdir(parents=True)
    (root / "locked" / "sub" / "file").write_text("x")
    (root / "locked" / "sub").chmod(0)
    (root / "locked").chmod(0o100)  # search only: neither listed nor changed
    (root / "link").symlink_to(outside)
    fd = os.open(root, os.O_RDONLY)
    for _ in range(30):
        os.mkdir("d" * 200, dir_fd=fd)
        fd, parent = os.open("d" * 200, os.O_RDONLY, dir_fd=fd), fd
        os.close(parent)
    os.close(os.open("file", os.O_CREAT | os.O_WRONLY, dir_fd=fd))
    os.close(fd)
    isolation._empty(str(root), set())
    assert list(root.iterdir()) == []
    assert (outside / "keep").is_dir()


def test_the_wipe_does_not_enter_a_kept_directory(tmp_path: Path) -> None:
    """A directory named in `keep` stays whole, and so do the directories leading to it."""
    root = tmp_path / "root"
    kept = root / "a" / "b" / "kept"
    kept.mkdir(parents=True)
    (kept / "file").write_text("x")
    (root / "a" / "beside").write_text("x")
    (root / "other").mkdir()
    st = kept.lstat()
    isolation._empty(str(root), {(st.st_dev, st.st_ino)})
    assert sorted(p.relative_to(root).as_posix() for p in root.rglob("*")) == [
        "a",
        "a/b",
        "a/b/kept",
        "a/b/kept/file",
    ]


@pytest.mark.skipif(not os.path.isdir("/run/lock"), reason="no /run/lock here")
def test_what_a_candidate_leaves_in_the_world_writable_run_lock_is_its_own(
    tmp_path: Path,
) -> None:
    """/run/lock (/var/lock) is writable by every user: private to the worker and emptied
    like /tmp, so no candidate finds what another left (held-out data carried out of a
    validation, say), and nothing lands on the machine's own."""
    evaluator = tmp_path / "evaluate.py"
    evaluator.write_text(
        "import os\n\n\ndef evaluate(program_path):\n"
        "    found = os.path.exists('/var/lock/hone-left')\n"
        "    open('/var/lock/hone-left', 'w').write('x')\n"
        "    return 1.0 if found else 0.0\n"
    )

    async def go() -> list[float | None]:
        pool = ProcessPool(evaluator, "initial.py", EvaluationConfig(workers=1))
        try:
            return [(await pool.verify("x = 1\n")).evaluation.score for _ in range(2)]
        finally:
            await pool.close()

    assert asyncio.run(go()) == [0.0, 0.0]
    assert not os.path.exists("/run/lock/hone-left")
