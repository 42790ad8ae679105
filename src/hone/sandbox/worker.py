"""The evaluation worker: a warm process that forks one child per candidate.

Run as ``python -m hone.sandbox EVALUATOR_PATH PROGRAM_FILENAME SETTINGS_JSON`` by
`hone.executors.local`. It isolates itself (`hone.sandbox.isolation`: namespaces, a private file
system view, subreaper), loads the evaluator once by its contract (`hone.compat.load`), then
answers one JSON request per line on stdin with one JSON reply per line on stdout.

Each candidate is evaluated in a forked child that leads its own session, in a private temporary
directory with its output captured, and reports through a pipe of its own. An untrusted
evaluator (`Loaded.trusted` False) runs confined (limits, its own user id when hone is root) in
that child with the candidate; a trusted one stays unconfined there and the candidate runs in a
confined grandchild (`hone.sandbox.program`). The worker, not the child, enforces the deadline,
and afterwards kills and reaps everything the candidate started.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import select
import shutil
import signal
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

from hone import compat
from hone.compat import Loaded
from hone.evaluation import STATUSES, Evaluation, Status, checked, coerce_result
from hone.exceptions import CandidateError
from hone.sandbox import describe, isolation, write_all
from hone.sandbox.isolation import Limits

_current_child = 0
_uid: int | None = None
_private_tmp = False
_own_pids = False  # this worker is the init of its own PID namespace


def _on_term(signum: int, frame: object) -> None:
    if _current_child:
        _kill_group(_current_child)
        _kill_leftovers()
    os._exit(0)


def main(argv: list[str]) -> int:
    """Serve evaluation requests until stdin closes."""
    evaluator_path, program_filename = argv[0], argv[1]
    settings = json.loads(argv[2]) if len(argv) > 2 else {}
    # Blocked or ignored signals survive exec: a parent that blocked them (a Ray actor's
    # thread does) would turn the CPU limit's SIGXCPU into a SIGKILL at the hard limit.
    signal.pthread_sigmask(signal.SIG_SETMASK, set())
    for number in (signal.SIGXCPU, signal.SIGXFSZ):
        signal.signal(number, signal.SIG_DFL)
    isolation.die_with_parent()
    signal.signal(signal.SIGTERM, _on_term)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the loop's to handle
    isolation.become_subreaper()
    protections = isolation.isolate_worker(
        [*isolation.python_paths(), str(Path(evaluator_path).resolve().parent)],
        int(settings.get("tmp_bytes", 512 << 20)),
        network=bool(settings.get("network", False)),
        read_only=settings.get("read_only", []),
    )
    global _uid, _private_tmp, _own_pids
    _uid, _private_tmp, _own_pids = (
        protections.user_id,
        protections.filesystem,
        protections.processes,
    )
    if protections.filesystem:
        tempfile.tempdir = "/tmp"  # the private one
    limits = Limits(**settings.get("limits", {}))
    channel_out = os.fdopen(os.dup(1), "w", buffering=1)
    # Nothing the evaluator prints at import may corrupt the reply channel.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    try:
        loaded = compat.load(settings.get("contract", "hone"), evaluator_path, settings)
    except BaseException as exc:  # report any import failure, then stop
        detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        _reply(channel_out, {"fatal": f"importing {evaluator_path!r} failed: {detail}"})
        return 1
    if loaded.trusted:
        import hone.sandbox.program  # noqa: F401  (loaded once here, not per candidate)
    _reply(
        channel_out,
        {"ready": True, "pid": os.getpid(), "protections": protections.describe()},
    )
    for line in sys.stdin:
        request = json.loads(line)
        result = _evaluate_one(loaded, request, program_filename, limits)
        _reply(channel_out, {"id": request["id"], **result})
    return 0


def _reply(out: Any, message: dict[str, Any]) -> None:
    out.write(json.dumps(message) + "\n")
    out.flush()


def _evaluate_one(
    loaded: Loaded,
    request: dict[str, Any],
    program_filename: str,
    limits: Limits,
) -> dict[str, Any]:
    # base/ (hone's), base/work/ (the candidate's own) and base/home/ (its HOME: Go's
    # build cache and some libraries need a writable one).
    base = tempfile.mkdtemp(prefix="hone-eval-")
    os.chmod(base, 0o711)
    workdir, home = os.path.join(base, "work"), os.path.join(base, "home")
    os.mkdir(workdir, 0o700)
    os.mkdir(home, 0o700)
    program_path = os.path.join(workdir, program_filename)
    with open(program_path, "w", encoding="utf-8") as f:
        f.write(request["program"])
    if _uid is not None:
        for path in (workdir, home, program_path):
            os.chown(path, _uid, _uid)
    read_fd, write_fd = os.pipe()
    out_read, out_write = os.pipe()  # stdout and stderr: kept up to max_output, never a file
    os.set_blocking(out_read, False)
    output = _Output(out_read, int(request.get("max_output", 64_000)))
    start, started = time.monotonic(), time.time()
    global _current_child
    pid = os.fork()
    if pid == 0:  # the child: never returns
        os.close(read_fd)
        os.close(out_read)
        _child(loaded, program_path, workdir, out_write, write_fd, limits)
    _current_child = pid
    os.close(write_fd)
    os.close(out_write)
    try:
        raw, timed_out = _read_until(read_fd, start + float(request["timeout"]), output)
    finally:
        os.close(read_fd)
        _kill_group(pid)
    _, status, usage = os.wait4(pid, 0)
    _current_child = 0
    _kill_leftovers()
    seconds = time.monotonic() - start
    cpu = usage.ru_utime + usage.ru_stime
    output.drain()
    if _private_tmp:
        isolation.wipe_private_tmp()  # base/ too: it is in the private /tmp
    else:
        shutil.rmtree(base, ignore_errors=True)
    if timed_out:
        evaluation = Evaluation.failed(
            "timeout",
            f"the evaluation did not finish within {request['timeout']:g} s and was killed",
        )
    elif raw:
        try:
            evaluation = Evaluation.from_json(json.loads(raw))
        except ValueError:
            evaluation = Evaluation.failed(
                "invalid-output", "the evaluation's result was unreadable"
            )
    elif os.WIFSIGNALED(status) and (
        os.WTERMSIG(status) == signal.SIGXCPU
        # SIGKILL at the hard CPU limit, a second later, when SIGXCPU was ignored
        or (os.WTERMSIG(status) == signal.SIGKILL and 0 < limits.cpu_seconds <= cpu)
    ):
        evaluation = Evaluation.failed(
            "timeout", f"the evaluation used its {limits.cpu_seconds} s of CPU time and was killed"
        )
    else:
        evaluation = Evaluation.failed("killed", _death_reason(status))
    return {
        "evaluation": {**evaluation.to_json(), "seconds": seconds, "cpu_seconds": cpu},
        "output": output.text(),
        "started": started,
    }


def _child(
    loaded: Loaded,
    program_path: str,
    workdir: str,
    out: int,
    fd: int,
    limits: Limits,
) -> None:
    code = 0
    try:
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        null_in = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null_in, 0)
        os.dup2(out, 1)
        os.dup2(out, 2)
        with contextlib.suppress(OSError):
            os.closerange(3, fd)
        os.closerange(fd + 1, 65536)
        os.environ["HOME"] = os.path.join(os.path.dirname(workdir), "home")
        if loaded.trusted:  # the evaluator stays trusted; the candidate runs in a confined child
            os.setsid()
            isolation.die_with_parent()
        else:
            isolation.confine(limits, _uid)
        os.chdir(workdir)
        try:
            if loaded.trusted:
                from hone.sandbox.program import Program

                with Program(program_path, limits=limits, uid=_uid, keep_fds=(1, 2)) as program:
                    evaluation = coerce_result(loaded.evaluate(program))
            else:
                evaluation = coerce_result(loaded.evaluate(program_path))
        except CandidateError as exc:
            evaluation = Evaluation.failed(_status(exc.status), f"the candidate: {exc.reason}")
        except MemoryError as exc:
            evaluation = Evaluation.failed(
                "memory",
                f"the evaluation ran out of memory (limit {limits.memory_bytes >> 20} MB): "
                + describe(exc),
            )
        except BaseException as exc:
            evaluation = Evaluation.failed("error", describe(exc))
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(BaseException):
                stream.flush()
        payload = checked(evaluation).to_json()
        data = json.dumps(payload, default=_json_default).encode()
        write_all(fd, len(data).to_bytes(8, "big") + data)
    except BaseException:
        code = 70
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(BaseException):
                stream.flush()
        os._exit(code)


def _status(name: str) -> Status:
    return next((s for s in STATUSES if s == name and s != "pending"), "error")


def _json_default(value: object) -> object:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return str(value)


class _Output:
    """The candidate's stdout and stderr, read as they come: the first `cap` bytes kept, the
    rest counted and dropped (so output of any size never fills a disk or blocks the child)."""

    def __init__(self, fd: int, cap: int) -> None:
        self.fd, self.cap = fd, cap
        self.kept = bytearray()
        self.dropped = 0

    def read(self) -> bool:
        """Take what is there; False at end of file."""
        while True:
            try:
                chunk = os.read(self.fd, 1 << 16)
            except BlockingIOError:
                return True
            if not chunk:
                return False
            room = max(self.cap - len(self.kept), 0)
            self.kept += chunk[:room]
            self.dropped += len(chunk) - min(room, len(chunk))

    def drain(self) -> None:
        """Take what is left once the candidate's processes are gone, and close."""
        with contextlib.suppress(OSError):
            self.read()
        os.close(self.fd)

    def text(self) -> str:
        """What was kept, and how much was not."""
        text = self.kept.decode("utf-8", errors="replace")
        if not self.dropped:
            return text
        return text + f"\n({self.dropped:,} more bytes not kept) [output truncated]"


def _read_until(fd: int, deadline: float, output: _Output) -> tuple[bytes, bool]:
    """Read one length-prefixed message, and the output meanwhile; stray children holding
    the pipes cannot stall it."""
    buffer = bytearray()
    watched = [fd, output.fd]
    while True:
        if len(buffer) >= 8 and len(buffer) >= 8 + int.from_bytes(buffer[:8], "big"):
            return bytes(buffer[8 : 8 + int.from_bytes(buffer[:8], "big")]), False
        remaining = deadline - time.monotonic()
        ready, _, _ = select.select(watched, [], [], max(remaining, 0.0))
        if remaining <= 0 and fd not in ready:
            # (past the deadline only a result already there counts: one that came while
            # this worker was stopped, say, is read, not timed out)
            return b"", True
        if output.fd in ready and not output.read():
            watched.remove(output.fd)
        if fd not in ready:
            continue
        chunk = os.read(fd, 65536)
        if not chunk:
            return b"", False
        buffer += chunk


def _kill_leftovers() -> None:
    """Kill whatever the candidate left running (daemons, escaped sessions) and reap it."""
    # Every process the candidate started descends from this subreaper: none of them left,
    # none of the candidate's user left.
    if not isolation.has_children():
        return  # the usual case: the candidate started nothing that outlived it
    if _own_pids:  # the init of a PID namespace: everyone else in it is the candidate's
        isolation.kill_namespace()
        return
    if _uid is not None:
        isolation.kill_user(_uid)
    isolation.kill_descendants()


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def _death_reason(status: int) -> str:
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else str(sig)
        return f"the evaluation process was killed by {name} before returning a result"
    code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else status
    return f"the evaluation process exited with code {code} before returning a result"


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
