"""The candidate as seen by a trusted evaluator: functions called across the sandbox.

A task's ``evaluate.py`` may define ``evaluate_program(program)`` instead of
``evaluate(program_path)``. It then runs in a trusted process, and the candidate's code runs in a
separate confined process (its own user, no network, limits): ``program.call("f", *args)``
sends the arguments there as plain data (`hone.sandbox.codec`) and returns what the function
returned, as plain data. The candidate can return wrong values, hang or crash, but it cannot
touch the evaluator's memory, its result or its score: the evaluator checks what comes back.

A folder task's program is a tree of files: ``program.call("module.function", ...)`` imports
``module`` from the tree's root (``solver.solve``, ``pkg.heuristics.score``) in the confined
process and calls its function.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import select
import signal
import sys
import time
from pathlib import Path
from typing import Any

from hone.exceptions import CandidateError
from hone.sandbox import codec, describe, write_all
from hone.sandbox.isolation import Limits, confine


class Program:
    """A candidate program loaded in a confined process, started on the first call."""

    def __init__(self, path: str, *, limits: Limits, uid: int | None, keep_fds: tuple[int, ...]):
        self.path = path
        self._limits = limits
        self._uid = uid
        self._keep_fds = keep_fds  # the candidate's output; everything else is closed in it
        self._pid = 0
        self._to = self._from = -1

    @property
    def source(self) -> str:
        """The program's text (a one-file program's)."""
        return Path(self.path).read_text(encoding="utf-8")

    def call(self, function: str, *args: Any, timeout: float | None = None) -> Any:
        """`function(*args)` in the candidate (a folder program's: "module.function"); raises
        CandidateError when it fails."""
        return self._request({"op": "call", "function": function, "args": list(args)}, timeout)

    def define(self, source: str, *, timeout: float | None = None) -> None:
        """Run evaluator-written helper code in the candidate's namespace (e.g. a harness
        that calls the candidate's function many times); its results are still untrusted."""
        self._request({"op": "define", "source": source}, timeout)

    def close(self) -> None:
        """Stop the candidate's process."""
        if self._pid:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self._pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(self._pid, 0)
            for fd in (self._to, self._from):
                with contextlib.suppress(OSError):
                    os.close(fd)
            self._pid = 0

    def __enter__(self) -> Program:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _request(self, message: dict[str, Any], timeout: float | None) -> Any:
        if not self._pid:
            self._start()
        try:
            codec.send(self._to, message)
        except BrokenPipeError:
            raise CandidateError("killed", self._death()) from None
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = None if deadline is None else max(deadline - time.monotonic(), 0.0)
            ready, _, _ = select.select([self._from], [], [], left)
            if ready:
                break
            if deadline is not None and time.monotonic() >= deadline:
                self.close()
                raise CandidateError("timeout", f"the call did not return within {timeout:g} s")
        try:
            reply = codec.receive(self._from)
        except EOFError:
            raise CandidateError("killed", self._death()) from None
        except codec.CodecError as exc:
            self.close()
            raise CandidateError("invalid-output", f"the candidate's reply: {exc}") from None
        if not isinstance(reply, dict) or not ({"ok", "error"} & set(reply)):
            self.close()
            raise CandidateError("invalid-output", "the candidate's reply is malformed")
        if "error" in reply:
            status = reply.get("status")
            raise CandidateError(
                status if status in ("error", "memory") else "error", str(reply["error"])[:4000]
            )
        return reply["ok"]

    def _death(self) -> str:
        pid, self._pid = self._pid, 0
        try:
            _, status = os.waitpid(pid, 0)
        except ChildProcessError:
            return "the candidate's process ended without answering"
        if os.WIFSIGNALED(status):
            name = signal.Signals(os.WTERMSIG(status)).name
            return f"the candidate's process was killed by {name}"
        return f"the candidate's process exited with code {os.WEXITSTATUS(status)}"

    def _start(self) -> None:
        to_r, to_w = os.pipe()
        from_r, from_w = os.pipe()
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                keep = {to_r, from_w, 0, 1, 2, *self._keep_fds}
                for fd in _open_fds():
                    if fd not in keep:
                        with contextlib.suppress(OSError):
                            os.close(fd)
                confine(self._limits, self._uid)
                os.chdir(self.path if os.path.isdir(self.path) else os.path.dirname(self.path))
                serve(self.path, to_r, from_w, memory_limit=self._limits.memory_bytes)
            except BaseException:
                code = 70
            os._exit(code)
        os.close(to_r)
        os.close(from_w)
        self._pid, self._to, self._from = pid, to_w, from_r


def serve(path: str, requests: int, replies: int, *, memory_limit: int = 0) -> None:
    """The confined side: load the program (a folder's: its root on the import path), then
    answer requests until the channel closes."""
    namespace: dict[str, Any] = {}
    folder = os.path.isdir(path)
    load_error = ""
    if folder:
        sys.path.insert(0, path)
    else:
        try:
            spec = importlib.util.spec_from_file_location("candidate", path)
            assert spec is not None and spec.loader is not None
            module = importlib.util.module_from_spec(spec)
            sys.modules["candidate"] = module
            spec.loader.exec_module(module)
            namespace = module.__dict__
        except BaseException as exc:
            load_error = f"importing the program failed: {describe(exc)}"
    while True:
        try:
            request = codec.receive(requests)
        except EOFError:
            return
        try:
            if load_error:
                raise RuntimeError(load_error)
            if request["op"] == "define":
                exec(compile(request["source"], "<evaluator helper>", "exec"), namespace)
                reply: dict[str, Any] = {"ok": None}
            else:
                function = _function(namespace, request["function"], folder)
                reply = {"ok": function(*request["args"])}
            data = codec.encode(reply)
        except MemoryError as exc:
            limit = f" (limit {memory_limit >> 20} MB)" if memory_limit else ""
            message = f"ran out of memory{limit}: {describe(exc)}"
            data = codec.encode({"error": message, "status": "memory"})
        except BaseException as exc:
            message = str(exc) if isinstance(exc, RuntimeError) and load_error else describe(exc)
            data = codec.encode({"error": message, "status": "error"})
        write_all(replies, data)


def _function(namespace: dict[str, Any], name: str, folder: bool) -> Any:
    """The candidate's function `name` (a folder program's "module.function")."""
    if folder and "." in name:
        module, _, attribute = name.rpartition(".")
        found = getattr(importlib.import_module(module), attribute, None)
    elif folder and name not in namespace:
        raise NameError(
            f"the program is a folder: call its functions as 'module.function', not {name!r}"
        )
    else:
        found = namespace.get(name)
    if not callable(found):
        raise NameError(f"the program defines no function {name!r}")
    return found


def _open_fds() -> list[int]:
    try:
        return [int(fd) for fd in os.listdir("/proc/self/fd")]
    except OSError:
        return list(range(3, 1024))
