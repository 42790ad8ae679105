"""The local executor: a pool of warm evaluation workers on this machine, driven from asyncio."""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import sys
from dataclasses import asdict, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hone.awake import within
from hone.evaluation import Evaluation
from hone.exceptions import TaskError
from hone.executors import Verified
from hone.objective import Objective
from hone.sandbox import isolation, visible
from hone.sandbox.isolation import Limits, scrubbed_env
from hone.settings import EvaluationConfig

if TYPE_CHECKING:
    from hone.task import Task

# seconds the worker itself may take beyond a candidate's timeout (it enforces that timeout
# with its own clock; this wait only catches a worker that hangs)
_GRACE = 10.0


class _Worker:
    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.next_id = 0

    async def request(self, message: dict[str, Any], deadline: float) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.next_id += 1
        self.proc.stdin.write((json.dumps({"id": self.next_id, **message}) + "\n").encode())
        await self.proc.stdin.drain()
        # hone's own time only: a SIGSTOP of hone while the worker answers is no timeout
        line = await within(self.proc.stdout.readline(), deadline)
        if not line:
            raise ConnectionError("the evaluation worker exited")
        reply: dict[str, Any] = json.loads(line)
        return reply

    async def kill(self) -> None:
        """SIGTERM (the worker kills its candidate's group), then SIGKILL after a grace period."""
        with contextlib.suppress(ProcessLookupError):
            self.proc.terminate()
        try:
            await asyncio.wait_for(self.proc.wait(), 2.0)
        except (TimeoutError, asyncio.CancelledError):
            with contextlib.suppress(ProcessLookupError):
                self.proc.kill()
            with contextlib.suppress(Exception):
                await self.proc.wait()


def usable_cores() -> int:
    """The cores this process (and so each worker it starts) may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


class ProcessPool:
    """Verifies programs with a task's evaluator in warm worker processes.

    Each candidate runs in a fresh forked child, confined as `hone.sandbox.isolation` describes
    (no network, private file system view, limits, its own user id when hone is root), in a
    private temporary directory with a scrubbed environment; at the timeout, and after every
    candidate, everything it started is killed. `protections` says what is in force here.
    """

    def __init__(
        self,
        evaluator: Path,
        program_filename: str,
        config: EvaluationConfig,
        objective: Objective = "maximize",
    ) -> None:
        self._evaluator = evaluator
        self._objective = objective
        self._program_filename = program_filename
        self._config = config
        # (a run's are absolute already: hone.session checked them; here for a pool made alone)
        self._read_only = [visible.resolve(p, evaluator.parent) for p in config.read_only]
        self._idle: asyncio.Queue[_Worker] = asyncio.Queue()
        self._all: list[_Worker] = []
        self._started: asyncio.Task[None] | None = None
        self.protections = ""  # what confines the candidates, as the workers report it

    def start(self) -> None:
        """Begin starting the workers in the background (idempotent)."""
        if self._started is None:
            isolation.sweep_strays()  # candidates a killed hone could not take down
            precompile()
            self._started = asyncio.ensure_future(self._start_all())

    async def ready(self) -> str:
        """Start the workers and wait until they are up; the protections in force."""
        self.start()
        assert self._started is not None
        await asyncio.shield(self._started)
        return self.protections

    async def _start_all(self) -> None:
        workers = await asyncio.gather(
            *(self._spawn() for _ in range(self._config.worker_count)), return_exceptions=True
        )
        errors = [w for w in workers if isinstance(w, BaseException)]
        for worker in workers:
            if isinstance(worker, _Worker):
                self._idle.put_nowait(worker)
        if errors:
            raise errors[0]

    async def _spawn(self) -> _Worker:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "hone.sandbox",
            str(self._evaluator),
            self._program_filename,
            json.dumps(self._settings()),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
            env=scrubbed_env(),
            cwd=str(self._evaluator.parent),
            limit=2**24,
        )
        worker = _Worker(proc)
        self._all.append(worker)
        assert proc.stdout is not None
        hello = await asyncio.wait_for(proc.stdout.readline(), 120)
        message = json.loads(hello) if hello else {"fatal": "the worker exited while starting"}
        if "fatal" in message:
            await worker.kill()
            fatal = str(message["fatal"])
            fix = visible.hint(fatal, self._shown()) or "fix the evaluator and run again"
            raise TaskError(f"{fatal}; {fix}")
        self.protections = str(message.get("protections", ""))
        return worker

    def _settings(self) -> dict[str, Any]:
        c = self._config
        limits = Limits(
            # (by default the timeout's worth on every core the worker may use: a candidate or
            # evaluator with threads may use several, and the wall clock bounds it anyway)
            cpu_seconds=math.ceil(c.cpu_seconds or c.timeout * usable_cores()),
            memory_bytes=c.memory_mb << 20,
            processes=c.max_processes,
            open_files=c.max_open_files,
            file_bytes=c.max_file_mb << 20,
        )
        return {
            "limits": asdict(limits),
            "tmp_bytes": c.tmp_mb << 20,
            "network": c.network,
            "thresholds": list(c.cascade_thresholds),
            "read_only": list(self._read_only),
            "objective": self._objective,
            "contract": c.contract,
            "cascade": c.cascade,
            "stage_timeout": c.stage_timeout,
            "feature_dimensions": list(c.feature_dimensions),
            "timeout": c.timeout,
        }

    async def verify(self, program: str) -> Verified:
        """Evaluate one program; every failure of the candidate comes back as an Evaluation."""
        self.start()
        assert self._started is not None
        if not self._started.done() or self._idle.empty():
            await asyncio.wait([self._started])
            self._started.result()
        worker = await self._idle.get()
        timeout = self._config.timeout
        try:
            reply = await worker.request(
                {
                    "program": program,
                    "timeout": timeout,
                    "max_output": self._config.max_output_bytes,
                },
                timeout + _GRACE,
            )
        except (ConnectionError, TimeoutError, BrokenPipeError, ValueError) as exc:
            await worker.kill()
            self._all.remove(worker)
            self._idle.put_nowait(await self._spawn())
            return Verified(Evaluation.failed("killed", f"the evaluation worker failed ({exc!r})"))
        except BaseException:
            # Cancelled mid-evaluation (Ctrl-C): the worker's state is unknown, replace it.
            await worker.kill()
            self._all.remove(worker)
            raise
        self._idle.put_nowait(worker)
        evaluation = Evaluation.from_json(reply["evaluation"])
        output = reply.get("output", "")
        if not evaluation.ok:
            evaluation = self._hinted(evaluation, output)
        return Verified(evaluation, output, reply.get("started"))

    def _shown(self) -> list[str]:
        """The folders the workers' sandbox binds back: Python's, the task's, the declared."""
        return [*isolation.python_paths(), str(self._evaluator.resolve().parent), *self._read_only]

    def _hinted(self, evaluation: Evaluation, output: str) -> Evaluation:
        """`evaluation` with a sentence added to its reason when it missed a file the sandbox
        hides (hone.sandbox.visible.hint)."""
        sentence = visible.hint(f"{evaluation.reason}\n{output}", self._shown())
        if not sentence:
            return evaluation
        reason = evaluation.reason
        return replace(evaluation, reason=reason + ("\n" if "\n" in reason else "; ") + sentence)

    async def close(self) -> None:
        """Stop every worker."""
        if self._started is not None and not self._started.done():
            self._started.cancel()
            with contextlib.suppress(BaseException):
                await self._started
        for worker in list(self._all):
            if worker.proc.stdin is not None:
                with contextlib.suppress(Exception):
                    worker.proc.stdin.close()
            await worker.kill()
        self._all.clear()


def precompile() -> None:
    """Compile hone's modules to bytecode if they are not (workers run with
    PYTHONDONTWRITEBYTECODE, so that nothing of the task's is written; without this, each
    worker would compile hone's sources anew at every start). Read-only installs stay as
    they are."""
    import importlib.util

    package = Path(__file__).resolve().parent.parent
    source = package / "sandbox" / "worker.py"
    cached = Path(importlib.util.cache_from_source(str(source)))
    with contextlib.suppress(OSError):
        if cached.exists() and cached.stat().st_mtime >= source.stat().st_mtime:
            return
        import compileall

        compileall.compile_dir(str(package), quiet=2)


def make(task: Task) -> ProcessPool:
    """Worker processes on this machine for the task's evaluator."""
    return ProcessPool(task.evaluator, task.program_filename, task.evaluation, task.objective)
