"""Confinement of candidate processes on Linux: namespaces, an unprivileged user, limits.

Two steps, both best effort, each reporting what it put in force (`Protections`):

* `isolate_worker` runs once in an evaluation worker, before it loads the evaluator: a network
  namespace with no interfaces up (no network at all), a private IPC namespace, and a private
  mount namespace in which ``/tmp``, ``/var/tmp`` and ``/dev/shm`` are fresh size-limited tmpfs
  mounts and the home directories (``/root``, ``/home``) are hidden, with only the directories
  Python, hone and the task need bound back read-only at their usual paths. It needs root or
  unprivileged user namespaces; without them the worker runs unisolated and says so.
* `confine` runs in each candidate's forked child before any candidate code: its own session,
  resource limits (CPU, address space, processes, open files, file size, no core dumps), no
  new privileges, and — when hone runs as root — an unprivileged user id of its own, so the
  candidate cannot read or signal anything of hone's or the user's.
"""

from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import errno
import os
import resource
import signal
import stat
import sys
import time
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from pathlib import Path

_CLONE_NEWNS = 0x00020000
_CLONE_NEWIPC = 0x08000000
_CLONE_NEWUSER = 0x10000000
_CLONE_NEWNET = 0x40000000
_CLONE_NEWPID = 0x20000000
_MS_RDONLY = 1
_MS_NOSUID = 2
_MS_NODEV = 4
_MS_REMOUNT = 32
_MS_BIND = 4096
_MS_MOVE = 8192
_MS_REC = 16384
_MS_PRIVATE = 1 << 18
_PR_SET_PDEATHSIG = 1
_PR_SET_CHILD_SUBREAPER = 36
_PR_SET_NO_NEW_PRIVS = 38
_MNT_DETACH = 2
_DIRECTORY = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC

HIDDEN_ROOTS = ("/root", "/home")
# Variables a candidate may see; everything else of the parent (API keys above all) is dropped.
_ENV_ALLOW = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR")
_THREAD_CAPS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS")
PRIVATE_TMP = ("/tmp", "/var/tmp", "/dev/shm")

# The directories bound back read-only under PRIVATE_TMP, as (st_dev, st_ino) of each mount's
# root: the wipe leaves them (and the directories leading to them) and never enters them.
_kept_mounts: set[tuple[int, int]] = set()

_libc = ctypes.CDLL(None, use_errno=True)


@dataclass(frozen=True)
class Limits:
    """Per-candidate resource limits (0 means no limit of that kind)."""

    cpu_seconds: int = 0
    memory_bytes: int = 0
    processes: int = 0
    open_files: int = 0
    file_bytes: int = 0


@dataclass(frozen=True)
class Protections:
    """What confines the candidates of one worker."""

    network: bool = False  # no network reachable (own network namespace)
    filesystem: bool = False  # private /tmp, homes hidden, task and Python read-only
    user_id: int | None = None  # the unprivileged user candidates run as, when hone is root
    reason: str = ""  # why something is missing
    processes: bool = False  # own PID namespace: every candidate process dies with the worker

    def describe(self) -> str:
        """One line for people: what is in force and what is not."""
        parts = [
            "no network" if self.network else "NETWORK REACHABLE",
            "private file system" if self.filesystem else "FILE SYSTEM SHARED",
            f"runs as uid {self.user_id}" if self.user_id is not None else "runs as hone's user",
            "dies with hone" if self.processes else "MAY OUTLIVE HONE",
        ]
        text = ", ".join(parts)
        return f"{text} ({self.reason})" if self.reason else text


def scrubbed_env() -> dict[str, str]:
    """The environment workers and candidates run with: an allow-list, never the user's
    secrets."""
    env = {k: os.environ[k] for k in _ENV_ALLOW if k in os.environ}
    env.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
    env.update({k: "1" for k in _THREAD_CAPS})
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["PYTHONPATH"] = str(Path(__file__).resolve().parent.parent.parent)  # hone's own
    env["HOME"] = "/nonexistent"
    return env


def die_with_parent() -> None:
    """Ask Linux to SIGKILL this process when its parent dies (no orphans after kill -9)."""
    _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def become_subreaper() -> None:
    """Adopt every orphaned descendant, so candidates that daemonise can still be killed."""
    _libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


SANDBOX_UIDS = range(0x100000, 0x100000 + (1 << 22))  # 0x100000 + a worker's pid


def sandbox_uid() -> int | None:
    """The user id this worker's candidates run as: one of their own, when hone is root."""
    if os.geteuid() != 0:
        return None
    return SANDBOX_UIDS[os.getpid()]  # unique among running workers (pids < 2**22), no one's


def sweep_strays() -> int:
    """Kill processes of sandbox users whose worker is gone (left by a hone that could not
    take them down with it); how many users were swept. Only root has sandbox users."""
    if os.geteuid() != 0:
        return 0
    strays: set[int] = set()
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                uid = entry.stat().st_uid
            except OSError:
                continue
            if uid in SANDBOX_UIDS and not os.path.exists(f"/proc/{uid - SANDBOX_UIDS.start}"):
                strays.add(uid)
    for uid in strays:
        kill_user(uid)
    return len(strays)


def isolate_worker(
    keep: Iterable[str], tmp_bytes: int, *, network: bool = False, read_only: Iterable[str] = ()
) -> Protections:
    """Give this process (and every child it forks later) private namespaces, best effort.

    `keep` are directories that must stay readable at their paths (Python, hone, the task);
    `read_only` are files and folders the task declared (`hone.sandbox.visible`), readable and
    never writable at their paths, wherever they are; `network=True` leaves the network as it is.
    """
    flags = _CLONE_NEWNS | _CLONE_NEWIPC | (0 if network else _CLONE_NEWNET)
    uid, gid = os.geteuid(), os.getegid()
    try:
        if uid == 0:
            _unshare(flags)
        else:
            _unshare(flags | _CLONE_NEWUSER)
            _write("/proc/self/setgroups", "deny")
            _write("/proc/self/uid_map", f"{uid} {uid} 1")
            _write("/proc/self/gid_map", f"{gid} {gid} 1")
    except OSError as exc:
        protections = Protections(reason=f"namespaces unavailable: {exc.strerror or exc}")
    else:
        try:
            _private_filesystem(
                sorted({str(Path(p).resolve()) for p in keep}),
                sorted({os.path.normpath(p) for p in read_only if os.path.exists(p)}),
                tmp_bytes,
            )
        except OSError as exc:
            protections = Protections(
                network=not network,
                user_id=sandbox_uid(),
                reason=f"mounts unavailable: {exc.strerror or exc}",
            )
        else:
            protections = Protections(network=not network, filesystem=True, user_id=sandbox_uid())
    return dataclasses.replace(protections, processes=_own_pid_namespace())


def _own_pid_namespace() -> bool:
    """Go on in a PID namespace of its own, as its init: a forked child carries on as the
    worker (PID 1 there), and this process only passes signals and its exit status on. When
    the child dies (its parent died: hone was killed), the kernel kills every process in
    the namespace, whatever the candidates did to escape. False when unavailable."""
    try:
        _unshare(_CLONE_NEWPID)
    except OSError:
        return False
    child = os.fork()
    if child == 0:
        die_with_parent()
        return True
    devnull = os.open(os.devnull, os.O_RDWR)  # the channel is the child's alone: EOF on exit
    for fd in (0, 1):
        os.dup2(devnull, fd)

    def forward(signum: int, frame: object) -> None:
        os.kill(child, signal.SIGKILL)  # the namespace goes with its init

    signal.signal(signal.SIGTERM, forward)
    while True:
        try:
            _, status = os.waitpid(child, 0)
        except InterruptedError:
            continue
        except ChildProcessError:
            os._exit(1)
        os._exit(os.waitstatus_to_exitcode(status) & 0xFF)


def kill_namespace(grace: float = 10.0) -> None:
    """From the init of a PID namespace: SIGKILL every other process in it, and reap them."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(-1, signal.SIGKILL)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            time.sleep(0.002)


def confine(limits: Limits, uid: int | None) -> None:
    """Confine the calling (forked, not yet running candidate code) process for good."""
    os.setsid()
    die_with_parent()
    if limits.cpu_seconds:  # SIGXCPU at the limit; SIGKILL a second later if it is ignored
        _lower(resource.RLIMIT_CPU, limits.cpu_seconds, headroom=1)
    for name, value in (
        ("RLIMIT_AS", limits.memory_bytes),
        ("RLIMIT_NOFILE", limits.open_files),
        ("RLIMIT_FSIZE", limits.file_bytes),
    ):
        if value:
            _lower(getattr(resource, name), value)
    _lower(resource.RLIMIT_CORE, 0)
    if limits.processes:
        # Counted per user: a user of its own starts from zero, hone's user from its count.
        base = 0 if uid is not None else _processes_of(os.getuid())
        _lower(resource.RLIMIT_NPROC, base + limits.processes)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # an oversized write fails, not kills
    if uid is not None:
        os.setgroups([])
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)
    _libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)


def kill_user(uid: int) -> None:
    """SIGKILL every process of `uid` (from a short-lived helper that becomes that user)."""
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            os.setresuid(uid, uid, uid)
            for _ in range(1000):  # a fork bomb may race the first sweeps
                os.kill(-1, signal.SIGKILL)
        except ProcessLookupError:
            pass  # nothing (left) to kill
        except BaseException:
            code = 1
        os._exit(code)
    os.waitpid(pid, 0)


def kill_descendants(grace: float = 10.0) -> None:
    """SIGKILL the children this process adopted as subreaper, and wait until they are gone.

    A killed process may take a moment to exit (freeing a large memory, say); this waits up
    to `grace` seconds for every one of them to be reaped.
    """
    deadline = time.monotonic() + grace
    while True:
        reap()
        children = _children()
        if not children or time.monotonic() > deadline:
            return
        for child in children:
            for kill in (os.killpg, os.kill):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    kill(child, signal.SIGKILL)
        time.sleep(0.002)


def wipe_private_tmp() -> None:
    """Empty the private temporary directories, so nothing passes to the next candidate.

    What is bound back under them (Python, hone, the task, when they live under /tmp) stays and
    is never entered, so a wipe costs what the candidate left, wherever those live.
    """
    for root in PRIVATE_TMP:
        with contextlib.suppress(OSError):
            _empty(root, _kept_mounts)


def _empty(path: str, keep: Collection[tuple[int, int]]) -> None:
    """Remove everything under `path` on its file system but `keep` and the directories to it.

    `keep` holds the (st_dev, st_ino) of directories to leave whole. Nothing is followed: a
    symbolic link is removed, and a directory on another device (a mount) is never entered: it
    is kept, or else detached and what it covered removed. One directory is open at a time
    (the walk goes back up by ".."; no candidate process is left to move anything meanwhile),
    so neither the depth nor PATH_MAX stops it.

    A candidate cannot hide what it left: all it creates is on the tmpfs (a hard link cannot
    cross file systems), and only a mount is on another device. Run as a user of its own
    (hone is root), a candidate holds no capability and cannot mount in the worker's mount
    namespace (one in a user namespace of its own mounts in a namespace of its own, gone with
    its processes). Without root, candidates keep the worker's capabilities in its user
    namespace and can mount: such a mount is not one of the kept ones, so it is detached, never
    entered (that could delete what it shows of the world outside).
    """
    fd = os.open(path, _DIRECTORY)
    try:
        top = os.fstat(fd)
        if (top.st_dev, top.st_ino) in keep:
            return
        # One list per directory from `path` down to the one `fd` is open on: the names still
        # to handle; the directory being emptied stays last in its parent's list until done.
        pending = [_listing(fd)]
        while True:
            names = pending[-1]
            if names:
                child = _remove_or_open(names[-1], fd, top.st_dev, keep)
                if child is None:
                    names.pop()
                else:
                    os.close(fd)
                    fd = child
                    pending.append(_listing(fd))
                continue
            pending.pop()
            if not pending:
                return
            parent = os.open("..", _DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = parent
            with contextlib.suppress(OSError):  # not empty: it leads to a kept directory
                os.rmdir(pending[-1].pop()[0], dir_fd=fd)
    finally:
        os.close(fd)


def _listing(fd: int) -> list[tuple[str, bool]]:
    """The names in the directory open on `fd`, each with whether it is a directory."""
    try:
        with os.scandir(fd) as entries:
            return [(e.name, e.is_dir(follow_symlinks=False)) for e in entries]
    except OSError:
        return []


def _remove_or_open(
    entry: tuple[str, bool], fd: int, device: int, keep: Collection[tuple[int, int]]
) -> int | None:
    """Remove a file or link; open a directory of `device` to empty (None: leave it be)."""
    name, is_dir = entry
    try:
        while not is_dir:
            try:
                os.unlink(name, dir_fd=fd)
                return None
            except OSError as exc:  # busy: a file mounted over (a declared one, or a candidate's)
                if exc.errno != errno.EBUSY or _kept(name, fd, keep) or not _detach(name, fd):
                    return None
        st = os.stat(name, dir_fd=fd, follow_symlinks=False)
        while st.st_dev != device:  # a mount
            if (st.st_dev, st.st_ino) in keep or not _detach(name, fd):
                return None
            st = os.stat(name, dir_fd=fd, follow_symlinks=False)
        if (st.st_dev, st.st_ino) in keep:
            return None
        if st.st_mode & stat.S_IRWXU != stat.S_IRWXU:  # to list it and remove from it
            os.chmod(name, stat.S_IRWXU, dir_fd=fd)
        return os.open(name, _DIRECTORY, dir_fd=fd)
    except OSError:
        return None


def _kept(name: str, dir_fd: int, keep: Collection[tuple[int, int]]) -> bool:
    """True when the file `name` is one bound back to keep (a declared read-only file)."""
    try:
        st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except OSError:
        return False
    return (st.st_dev, st.st_ino) in keep


def _detach(name: str, dir_fd: int) -> bool:
    """Lazily unmount what is mounted on `name` (True when something was)."""
    try:
        target = os.open(name, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=dir_fd)
    except OSError:
        return False
    try:
        return bool(_libc.umount2(f"/proc/self/fd/{target}".encode(), _MNT_DETACH) == 0)
    finally:
        os.close(target)


def reap() -> None:
    """Collect every exited child without blocking."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def has_children() -> bool:
    """True when a child (or an adopted orphan) of this process still exists, exited or not."""
    try:  # one system call, and nothing is reaped (WNOWAIT)
        os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    except ChildProcessError:
        return False
    return True


def _children() -> list[int]:
    pids: list[int] = []
    for task in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{task}/children", "rb") as f:
                pids.extend(int(p) for p in f.read().split())
        except OSError:
            continue
    return pids


def _processes_of(uid: int) -> int:
    count = 0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                count += entry.stat().st_uid == uid
            except OSError:
                continue
    return count


def _lower(which: int, value: int, headroom: int = 0) -> None:
    """Soft limit `value`, hard limit `value + headroom`, never above the current hard one."""
    _soft, hard = resource.getrlimit(which)
    wanted = value + headroom
    new_hard = wanted if hard == resource.RLIM_INFINITY else min(hard, wanted)
    resource.setrlimit(which, (min(value, new_hard), new_hard))


def _private_filesystem(keep: list[str], read_only: list[str], tmp_bytes: int) -> None:
    _mount(None, "/", None, _MS_REC | _MS_PRIVATE)
    hidden = [h for h in HIDDEN_ROOTS if os.path.isdir(h)]
    covered = [*hidden, *PRIVATE_TMP]
    saved = [p for p in keep if os.path.isdir(p) and _under(p, covered)]
    saved += [p for p in read_only if _under(p, covered)]
    saved = [p for p in saved if not any(p != q and _under(p, [q]) for q in saved)]
    # Park what to keep on a scratch tmpfs, cover the roots it lives under, then move it back.
    # Each is opened first: what lies under the scratch's own root is reached through its
    # descriptor once the scratch covers it.
    handles = [os.open(p, os.O_PATH | os.O_CLOEXEC) for p in saved]
    folders = [os.path.isdir(p) for p in saved]
    scratch = "/dev/shm" if os.path.isdir("/dev/shm") else "/tmp"
    _mount("tmpfs", scratch, "tmpfs", _MS_NOSUID | _MS_NODEV, "size=1m,mode=700")
    parked = []
    for i, (handle, folder) in enumerate(zip(handles, folders, strict=True)):
        spot = os.path.join(scratch, str(i))
        _mount_point(spot, folder)
        _mount(f"/proc/self/fd/{handle}", spot, None, _MS_BIND | _MS_REC)
        os.close(handle)
        parked.append(spot)
    for root in [*hidden, *(p for p in PRIVATE_TMP if p != scratch and os.path.isdir(p))]:
        options = "size=1m,mode=755" if root in hidden else f"size={tmp_bytes},mode=1777"
        _mount("tmpfs", root, "tmpfs", _MS_NOSUID | _MS_NODEV, options)
    for spot, path, folder in zip(parked, saved, folders, strict=True):
        _mount_point(path, folder)
        _mount(spot, path, None, _MS_MOVE)
        _mount(None, path, None, _MS_REMOUNT | _MS_BIND | _MS_RDONLY | _MS_NOSUID | _MS_NODEV)
    # A declared path elsewhere is visible already: bound onto itself, it becomes read-only
    # (a candidate of hone's own user, or any one of a world-writable folder, could write it).
    for path in read_only:
        if not _under(path, covered):
            bind_read_only(path, path)
    if scratch in PRIVATE_TMP:  # the scratch mount becomes the private one
        _mount("tmpfs", scratch, "tmpfs", _MS_NOSUID | _MS_NODEV, f"size={tmp_bytes},mode=1777")
    for path in saved:
        if _under(path, PRIVATE_TMP):
            with contextlib.suppress(OSError):
                st = os.lstat(path)
                _kept_mounts.add((st.st_dev, st.st_ino))


def _mount_point(path: str, folder: bool) -> None:
    """Make `path` something to mount on: a directory (`folder`), or an empty file."""
    if folder:
        os.makedirs(path, mode=0o755, exist_ok=True)
    elif not os.path.exists(path):
        os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY | os.O_CLOEXEC, 0o644))


def bind_read_only(source: str, target: str) -> None:
    """Show the folder (or file) `source` at `target` too, read-only there (in this mount
    namespace)."""
    _mount(source, target, None, _MS_BIND | _MS_REC)
    try:
        _mount(None, target, None, _MS_REMOUNT | _MS_BIND | _MS_RDONLY | _MS_NOSUID | _MS_NODEV)
    except OSError:
        unmount(target)
        raise


def mount_overlay(lower: str, upper: str, work: str, target: str) -> None:
    """Mount at `target` the folder `lower` as seen through `upper`: every write lands in
    `upper` (copied up), never in `lower`. `work` is overlayfs's scratch, on `upper`'s file
    system. In a user namespace, Linux 5.11 or later."""
    # The lower folder by a descriptor: its path may hold the ',' and ':' the options split at.
    fd = os.open(lower, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        options = f"lowerdir=/proc/self/fd/{fd},upperdir={upper},workdir={work}"
        try:
            _mount("overlay", target, "overlay", _MS_NOSUID | _MS_NODEV, options)
        except OSError as exc:
            if exc.errno not in (errno.EINVAL, errno.EPERM):
                raise
            # Not root in the first user namespace: overlayfs's own metadata in user.* xattrs.
            _mount("overlay", target, "overlay", _MS_NOSUID | _MS_NODEV, options + ",userxattr")
    finally:
        os.close(fd)


def unmount(target: str) -> None:
    """Detach what is mounted at `target` (lazily: still-open files keep it alive)."""
    if _libc.umount2(target.encode(), _MNT_DETACH) != 0:
        code = ctypes.get_errno()
        raise OSError(code, f"unmount {target}: {os.strerror(code)}")


def _under(path: str, roots: Iterable[str]) -> bool:
    return any(path == r or path.startswith(r.rstrip("/") + "/") for r in roots)


def _unshare(flags: int) -> None:
    if _libc.unshare(flags) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, os.strerror(errno))


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str = "") -> None:
    result = _libc.mount(
        source.encode() if source else None,
        target.encode(),
        fstype.encode() if fstype else None,
        ctypes.c_ulong(flags),
        data.encode() if data else None,
    )
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"mount {target}: {os.strerror(errno)}")


def _write(path: str, text: str) -> None:
    with open(path, "w") as f:
        f.write(text)


def python_paths() -> list[str]:
    """Directories the interpreter and its imports live in."""
    paths = [sys.prefix, sys.base_prefix, sys.exec_prefix, os.path.dirname(sys.executable)]
    paths += [p for p in sys.path if p and os.path.isdir(p)]
    return paths
