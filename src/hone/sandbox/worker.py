"""The evaluation worker: a warm process that forks one child per candidate.

Run as ``python -m hone.sandbox.worker EVALUATOR_PATH PROGRAM_FILENAME`` by `hone.sandbox.pool`.
It imports the (trusted) evaluator once, then answers one JSON request per line on stdin with
one JSON reply per line on stdout. Each candidate is evaluated in a forked child that leads its
own session (so the whole tree can be killed), runs in a private temporary directory with its
output captured to files, and reports through a pipe of its own. The worker, not the child,
enforces the deadline, so a candidate that hangs, forks or ignores signals is still killed.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import math
import os
import resource
import select
import shutil
import signal
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hone.evaluation import Evaluation, coerce_result

_FEEDBACK_CAP = 20_000
_PR_SET_PDEATHSIG = 1
_current_child = 0


def _die_with_parent() -> None:
    """Ask Linux to SIGKILL this process when its parent dies (no orphans after kill -9)."""
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def _on_term(signum: int, frame: object) -> None:
    if _current_child:
        _kill_group(_current_child)
    os._exit(0)


def main(argv: list[str]) -> int:
    """Serve evaluation requests until stdin closes."""
    evaluator_path, program_filename = argv[0], argv[1]
    _die_with_parent()
    signal.signal(signal.SIGTERM, _on_term)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the loop's to handle
    channel_out = os.fdopen(os.dup(1), "w", buffering=1)
    # Nothing the evaluator prints at import may corrupt the reply channel.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    try:
        evaluate = _load_evaluator(evaluator_path)
    except BaseException as exc:  # report any import failure, then stop
        detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        _reply(channel_out, {"fatal": f"importing {evaluator_path!r} failed: {detail}"})
        return 1
    _reply(channel_out, {"ready": True, "pid": os.getpid()})
    for line in sys.stdin:
        request = json.loads(line)
        result = _evaluate_one(evaluate, request, program_filename)
        _reply(channel_out, {"id": request["id"], **result})
    return 0


def _reply(out: Any, message: dict[str, Any]) -> None:
    out.write(json.dumps(message) + "\n")
    out.flush()


def _load_evaluator(path: str) -> Callable[[str], object]:
    sys.path.insert(0, str(Path(path).parent))
    spec = importlib.util.spec_from_file_location("hone_task_evaluator", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path!r}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    evaluate = getattr(module, "evaluate", None)
    if not callable(evaluate):
        raise ImportError("it defines no callable 'evaluate'")
    return evaluate  # type: ignore[no-any-return]


def _evaluate_one(
    evaluate: Callable[[str], object], request: dict[str, Any], program_filename: str
) -> dict[str, Any]:
    workdir = tempfile.mkdtemp(prefix="hone-eval-")
    program_path = os.path.join(workdir, program_filename)
    with open(program_path, "w", encoding="utf-8") as f:
        f.write(request["program"])
    out_path = os.path.join(workdir, ".hone-output")
    read_fd, write_fd = os.pipe()
    start, started = time.monotonic(), time.time()
    global _current_child
    pid = os.fork()
    if pid == 0:  # the child: never returns
        os.close(read_fd)
        _child(evaluate, program_path, workdir, out_path, write_fd)
    _current_child = pid
    os.close(write_fd)
    try:
        raw, timed_out = _read_until(read_fd, start + float(request["timeout"]))
    finally:
        os.close(read_fd)
        _kill_group(pid)
    _, status, usage = os.wait4(pid, 0)
    _current_child = 0
    seconds = time.monotonic() - start
    cpu = usage.ru_utime + usage.ru_stime
    output = _read_capped(out_path, int(request.get("max_output", 64_000)))
    shutil.rmtree(workdir, ignore_errors=True)
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
    else:
        evaluation = Evaluation.failed("killed", _death_reason(status))
    return {
        "evaluation": {**evaluation.to_json(), "seconds": seconds, "cpu_seconds": cpu},
        "output": output,
        "started": started,
    }


def _child(
    evaluate: Callable[[str], object], program_path: str, workdir: str, out_path: str, fd: int
) -> None:
    code = 0
    try:
        os.setsid()
        _die_with_parent()
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        os.chdir(workdir)
        null_in = os.open(os.devnull, os.O_RDONLY)
        out = os.open(out_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(null_in, 0)
        os.dup2(out, 1)
        os.dup2(out, 2)
        with contextlib.suppress(OSError):
            os.closerange(3, fd)
        os.closerange(fd + 1, 65536)
        try:
            evaluation = coerce_result(evaluate(program_path))
        except BaseException as exc:
            evaluation = Evaluation.failed("error", _describe(exc))
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(BaseException):
                stream.flush()
        payload = evaluation.to_json()
        payload["feedback"] = payload["feedback"][:_FEEDBACK_CAP]
        payload["reason"] = payload["reason"][:_FEEDBACK_CAP]
        data = json.dumps(payload, default=_json_default).encode()
        view = memoryview(len(data).to_bytes(8, "big") + data)
        while view:
            view = view[os.write(fd, view) :]
    except BaseException:
        code = 70
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(BaseException):
                stream.flush()
        os._exit(code)


def _json_default(value: object) -> object:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return str(value)


def _describe(exc: BaseException) -> str:
    """The exception and the innermost frames of the candidate's traceback."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename != __file__][-3:]
    where = "; ".join(f"{Path(f.filename).name}:{f.lineno} in {f.name}" for f in frames)
    message = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    return f"{message} (at {where})" if where else message


def _read_until(fd: int, deadline: float) -> tuple[bytes, bool]:
    """Read one length-prefixed message; stray children holding the pipe cannot stall it."""
    buffer = b""
    while True:
        if len(buffer) >= 8 and len(buffer) >= 8 + int.from_bytes(buffer[:8], "big"):
            return buffer[8 : 8 + int.from_bytes(buffer[:8], "big")], False
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return b"", True
        ready, _, _ = select.select([fd], [], [], remaining)
        if not ready:
            continue
        chunk = os.read(fd, 65536)
        if not chunk:
            return b"", False
        buffer += chunk


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


def _read_capped(path: str, cap: int) -> str:
    try:
        with open(path, "rb") as f:
            data = f.read(cap + 1)
    except OSError:
        return ""
    text = data[:cap].decode("utf-8", errors="replace")
    return text + "\n[output truncated]" if len(data) > cap else text


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
