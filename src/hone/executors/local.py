"""The local executor: a pool of warm evaluation workers on this machine, driven from asyncio."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import os
import sys
from collections import deque
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hone.awake import within
from hone.compat import Entry
from hone.evaluation import Evaluation
from hone.exceptions import TaskError
from hone.executors import Verified
from hone.objective import Objective
from hone.sandbox import isolation, visible
from hone.sandbox.isolation import Limits, scrubbed_env
from hone.settings import EvaluationConfig
from hone.tree import Tree

if TYPE_CHECKING:
    from hone.task import Task

log = logging.getLogger("hone")
# seconds the worker itself may take beyond a candidate's timeout (it enforces that timeout
# with its own clock; this wait only catches a worker that hangs)
_GRACE = 10.0


@dataclass(eq=False)
class _Job:
    """One evaluation asked of the pool: its request, the worker it went to, its reply."""

    message: dict[str, Any]
    sent: asyncio.Future[_Worker] = field(default_factory=lambda: _future())
    reply: asyncio.Future[dict[str, Any]] = field(default_factory=lambda: _future())


def _future() -> asyncio.Future[Any]:
    return asyncio.get_running_loop().create_future()


def _answered(job: _Job) -> bool:
    """True when `job`'s worker replied (whatever its asker's wait said)."""
    reply = job.reply
    return reply.done() and not reply.cancelled() and reply.exception() is None


class _Worker:
    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.next_id = 0
        self.job: _Job | None = None  # the evaluation it is doing
        self.queued: _Job | None = None  # the next, written to it already (see `queue`)
        self.reader: asyncio.Task[None] | None = None
        self.exited = False

    def send(self, job: _Job) -> None:
        """Write `job`'s request (the pipe takes it at once; the worker reads it when free)."""
        assert self.proc.stdin is not None
        if self.exited:  # (while it waited for work: its asker replaces it)
            job.sent.set_result(self)
            job.reply.set_exception(ConnectionError("the evaluation worker exited"))
            return
        self._write(job)
        self.job = job
        job.sent.set_result(self)

    def queue(self, job: _Job) -> bool:
        """Write `job`'s request now, while the worker is busy: it starts it as soon as it has
        replied, without a turn of hone's event loop in between (with many hypotheses in
        flight on a busy machine, that turn kept each worker idle for tens of milliseconds
        an evaluation). `job` counts as sent only once it starts (`start`), so its wait for
        the reply starts then too. False when the worker is gone."""
        if self.exited:
            return False
        self._write(job)
        self.queued = job
        return True

    def start(self) -> bool:
        """The queued evaluation becomes the one the worker is doing (False: none queued)."""
        job, self.queued = self.queued, None
        if job is None:
            return False
        self.job = job
        if not job.sent.done():  # (one its asker gave up runs unasked: it was written)
            job.sent.set_result(self)
        return True

    def _write(self, job: _Job) -> None:
        assert self.proc.stdin is not None
        self.next_id += 1
        self.proc.stdin.write((json.dumps({"id": self.next_id, **job.message}) + "\n").encode())

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
    A folder task's trees are laid over its program folder, `base` (seen read-only): a
    request carries only the files that differ from the starting tree, `start`.
    """

    def __init__(
        self,
        evaluator: Path,
        program_filename: str,
        config: EvaluationConfig,
        objective: Objective = "maximize",
        base: Path | None = None,
        start: Tree | None = None,
        *,
        checks: tuple[Entry, ...] = (),
        eval_seed: int = 0,
    ) -> None:
        self._evaluator = evaluator
        # a folder task's starting tree: its files are base's own, so a request leaves
        # them out (None: every request carries the whole tree)
        self._start = start if base is not None else None
        # the checks of new bests this pool runs (hone.trust), with the held-out data shown;
        # none: a search's pool, which hides it
        self.checks = checks
        self._eval_seed = eval_seed  # HONE_EVAL_SEED, with [evaluation] perturb
        self._objective = objective
        self._program_filename = program_filename
        self._base = base.resolve() if base is not None else None
        self._config = config
        # (a run's are absolute already: hone.session checked them; here for a pool made alone)
        self._read_only = [visible.resolve(p, evaluator.parent) for p in config.read_only]
        self._holdout = [visible.resolve(p, evaluator.parent) for p in config.holdout]
        self._idle: deque[_Worker] = deque()
        self._waiting: deque[_Job] = deque()  # asked, no worker free yet
        self._all: list[_Worker] = []
        self._started: asyncio.Task[None] | None = None
        self._closing = False
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
                self._free(worker)
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
            env=self._env(),
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
            fix = (
                message.get("fix")
                or visible.hint(fatal, self._shown())
                or "fix the evaluator and run again"
            )
            raise TaskError(f"{fatal}; {fix}")
        self.protections = str(message.get("protections", ""))
        worker.reader = asyncio.ensure_future(self._read(worker))
        return worker

    async def _read(self, worker: _Worker) -> None:
        """Take each reply of `worker` as it comes and hand the worker its next evaluation in
        the same step: a worker never waits for the event loop to get round to the evaluation
        waiting for it (with many hypotheses in flight, several turns of a busy loop)."""
        assert worker.proc.stdout is not None
        while True:
            try:
                line = await worker.proc.stdout.readline()
            except (ValueError, ConnectionError) as exc:  # (a reply over the limit)
                line, error = b"", exc
            else:
                error = ConnectionError("the evaluation worker exited")
            job, worker.job = worker.job, None
            if not line:
                worker.exited = True
                if job is not None and not job.reply.done():
                    job.reply.set_exception(error)
                self._requeue(worker)
                return
            if job is not None and not job.reply.done():
                try:
                    job.reply.set_result(json.loads(line))
                except ValueError as exc:  # its state unknown: its asker replaces it
                    job.reply.set_exception(exc)
                    self._requeue(worker)
                    return
            if worker in self._all:
                self._free(worker)

    def _free(self, worker: _Worker) -> None:
        """`worker` starts the evaluation queued to it, or takes the next waiting, or waits
        for one; while more wait than the other workers will take, the one after is queued to
        it (`_Worker.queue`)."""
        if not worker.start():
            job = self._next_waiting()
            if job is None:
                self._idle.append(worker)
                return
            worker.send(job)
        # (with fewer waiting, a worker that ends sooner than this one, which has just begun,
        # would take it: queued here it would wait longer and leave that worker idle)
        others = sum(w is not worker and w.job is not None and w.queued is None for w in self._all)
        after = self._next_waiting() if len(self._waiting) > others else None
        if after is not None and not worker.queue(after):
            self._waiting.appendleft(after)

    def _next_waiting(self) -> _Job | None:
        while self._waiting:
            job = self._waiting.popleft()
            if not job.sent.done():  # (not given up by its asker)
                return job
        return None

    def _requeue(self, worker: _Worker) -> None:
        """The evaluation queued to a worker that is gone goes back to the front of the line,
        to an idle worker if there is one: not lost, and answered once (a worker whose reply
        was unreadable may have begun it, but it is killed and its answer never read)."""
        job, worker.queued = worker.queued, None
        if job is None or job.sent.done():
            return
        self._waiting.appendleft(job)
        if self._idle and not self._closing:
            self._free(self._idle.popleft())

    def _env(self) -> dict[str, str]:
        env = scrubbed_env()
        if self._config.perturb:  # the instance seed (the perturbation probe's differs)
            env["HONE_EVAL_SEED"] = str(self._eval_seed)
        return env

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
            "read_only": [*self._read_only, *(self._holdout if self.checks else ())],
            "hidden": [] if self.checks else list(self._holdout),
            "checks": bool(self.checks),
            "validator": (
                visible.resolve(c.validator, self._evaluator.parent) if c.validator else ""
            ),
            "objective": self._objective,
            "contract": c.contract,
            "command": c.command,
            "validate_command": c.validate_command if self.checks else None,
            "cascade": c.cascade,
            "stage_timeout": c.stage_timeout,
            "feature_dimensions": list(c.feature_dimensions),
            "timeout": c.timeout,
            "base": str(self._base) if self._base is not None else None,
        }

    async def verify(self, program: Tree | str, entry: Entry = "evaluate") -> Verified:
        """Evaluate one program (a tree, or a one-file task's text), or run one of the
        evaluator's checks on it (`entry`, a pool made with `checks`); every failure of the
        candidate comes back as an Evaluation."""
        if isinstance(program, str):
            program = Tree.one(self._program_filename, program)
        self.start()
        assert self._started is not None
        if not self._started.done() or not self._idle:
            await asyncio.wait([self._started])
            self._started.result()
        timeout = self._config.timeout
        job = _Job(
            {
                "files": request_files(program, self._start),
                "entry": entry,
                "timeout": timeout,
                "max_output": self._config.max_output_bytes,
            }
        )
        if self._idle:
            self._idle.popleft().send(job)
        else:
            self._waiting.append(job)
        try:
            worker = await job.sent
        except BaseException:
            job.sent.cancel()  # (cancelled while waiting: no worker takes it)
            raise
        try:
            # hone's own time only: a SIGSTOP of hone while the worker answers is no timeout
            reply = await within(asyncio.shield(job.reply), timeout + _GRACE)
        except (ConnectionError, TimeoutError, BrokenPipeError, ValueError) as exc:
            if not _answered(job):
                job.reply.cancel()  # (what the killed worker leaves is nobody's)
                await self._replace(worker)
                return Verified(
                    Evaluation.failed("killed", f"the evaluation worker failed ({exc!r})")
                )
            reply = job.reply.result()  # (it came as the wait ran out: the worker is free)
        except BaseException:
            # Cancelled mid-evaluation (Ctrl-C): the worker's state is unknown, replace it.
            if not _answered(job):
                job.reply.cancel()
                self._remove(worker)
                await worker.kill()
            raise
        evaluation = Evaluation.from_json(reply["evaluation"])
        output = reply.get("output", "")
        if not evaluation.ok:
            evaluation = self._hinted(evaluation, output)
        return Verified(evaluation, output, reply.get("started"))

    def _shown(self) -> list[str]:
        """The folders the workers' sandbox binds back: Python's, the task's, the program
        folder, the declared."""
        base = [str(self._base)] if self._base is not None else []
        return [
            *isolation.python_paths(),
            str(self._evaluator.resolve().parent),
            *base,
            *self._read_only,
        ]

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
        self._closing = True
        if self._started is not None and not self._started.done():
            self._started.cancel()
            with contextlib.suppress(BaseException):
                await self._started
        for worker in list(self._all):
            if worker.proc.stdin is not None:
                with contextlib.suppress(Exception):
                    worker.proc.stdin.close()
            self._remove(worker)
            await worker.kill()
        self._all.clear()

    async def _replace(self, worker: _Worker) -> None:
        """Kill a worker that failed and start another in its place."""
        self._remove(worker)
        await worker.kill()
        self._free(await self._spawn())

    def _remove(self, worker: _Worker) -> None:
        """`worker` takes no more evaluations; the one it was doing fails."""
        if worker in self._all:
            self._all.remove(worker)
        with contextlib.suppress(ValueError):
            self._idle.remove(worker)
        if worker.reader is not None:
            worker.reader.cancel()
        job, worker.job = worker.job, None
        if job is not None and not job.reply.done():
            job.reply.set_exception(ConnectionError("the evaluation worker was stopped"))
        self._requeue(worker)


def request_files(tree: Tree, start: Tree | None) -> dict[str, str]:
    """The files a request carries for `tree`: a folder task's, those that differ from the
    starting tree `start` (the rest are the program folder's own, which the worker lays the
    tree over); a one-file task's, its file."""
    if start is None:
        return dict(tree)
    return {
        path: text
        for path, text in tree.items()
        if start.get(path) is not text
        and (path not in start or tree.blob_hash(path) != start.blob_hash(path))
    }


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
    if task.evaluation.resources:
        log.warning(
            "[evaluation] resources are what each evaluation asks of a Ray node; the local "
            "executor ignores them (workers sets how many evaluations run at once here)"
        )
    return ProcessPool(
        task.evaluator,
        task.program_filename,
        task.evaluation,
        task.objective,
        task.spec.base,
        task.tree if task.folder else None,
    )


class Fresh:
    """Evaluates a program in a sandbox of its own: a worker started for it, which never ran
    another candidate, and stopped afterwards (the exploit probes of `hone.trust`)."""

    def __init__(self, task: Task) -> None:
        self._task = task

    async def evaluate(self, program: Tree, eval_seed: int = 0) -> Verified:
        """`program`'s evaluation there, with `eval_seed` as HONE_EVAL_SEED ([evaluation]
        perturb)."""
        pool = _one_worker(self._task, eval_seed=eval_seed)
        try:
            return await pool.verify(program)
        finally:
            await pool.close()


def make_checker(task: Task, checks: tuple[Entry, ...]) -> ProcessPool:
    """One worker process on this machine for the checks of new bests (`hone.trust`), which
    sees the held-out data."""
    return _one_worker(task, checks=checks)


def _one_worker(task: Task, **options: Any) -> ProcessPool:
    """A pool of one worker for `task`'s evaluator and program (`options`: ProcessPool's)."""
    start = task.tree if task.folder else None
    config = task.evaluation.merged(workers=1)
    return ProcessPool(
        task.evaluator, task.program_filename, config, task.objective, task.spec.base, start,
        **options,
    )  # fmt: skip
