"""The Ray executor: evaluations spread over a Ray cluster, `RayPool`, like the local pool.

Each Ray actor (one CPU) runs hone's own sandboxed pool with one worker on its node, so a
candidate is confined there exactly as it is locally (docs/security.md). When the pool starts
Ray (or joins a cluster) itself, the task folder is shipped to every node as the job's working
directory (``runtime_env``), so evaluators find their data files next to them; when Ray was
initialised already, the nodes must see the task folder at the same path. Every node needs
hone and the task's Python packages installed. Ray is optional (``pip install 'hone[ray]'``) and imported only here.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hone.exceptions import ConfigError, MissingDependencyError
from hone.executors import Verified
from hone.executors.local import ProcessPool
from hone.objective import Objective
from hone.sandbox import visible
from hone.settings import EvaluationConfig
from hone.tree import Tree

if TYPE_CHECKING:
    from hone.task import Task

log = logging.getLogger("hone")
_START_SECONDS = 300.0  # for every actor to start its worker (a node may install the task)


class _Node:
    """A Ray actor: one sandboxed evaluation worker on its node."""

    def __init__(
        self,
        evaluator: str,
        program_filename: str,
        config: dict[str, Any],
        objective: Objective,
        base: str | None = None,
    ) -> None:
        settings = EvaluationConfig(**{**config, "workers": 1, "executor": "local"})
        folder = Path(base).resolve() if base is not None else None
        self.pool = ProcessPool(
            Path(evaluator).resolve(), program_filename, settings, objective, folder
        )

    async def ready(self) -> str:
        return await self.pool.ready()

    async def verify(self, program: Tree | str) -> Verified:
        return await self.pool.verify(program)

    async def close(self) -> None:
        await self.pool.close()


class RayPool:
    """Verifies programs on a Ray cluster, one actor per evaluation slot.

    `address` "" starts a Ray instance on this machine (and stops it at `close`); "auto" or
    "ray://host:10001" joins a running cluster. `config.workers` actors (0: one per CPU of the
    cluster) each hold one sandboxed worker.
    """

    def __init__(
        self,
        task_root: Path,
        evaluator: Path,
        program_filename: str,
        config: EvaluationConfig,
        objective: Objective = "maximize",
        *,
        address: str = "",
        base: Path | None = None,
    ) -> None:
        for path, what in ((evaluator, "evaluator"), (base, "program folder")):
            if path is not None and not path.resolve().is_relative_to(task_root.resolve()):
                raise ConfigError(
                    f"with the ray executor the {what} {str(path)!r} must be inside the "
                    f"task folder {str(task_root)!r}, which is shipped to the nodes"
                )
        self._task_root = task_root.resolve()
        self._evaluator = str(evaluator.resolve().relative_to(self._task_root))
        self._base = str(base.resolve().relative_to(self._task_root)) if base else None
        self._program_filename = program_filename
        self._config = config
        self._objective: Objective = objective
        self._address = address
        self._idle: asyncio.Queue[Any] = asyncio.Queue()
        self._actors: list[Any] = []
        self._started: asyncio.Task[None] | None = None
        self._owns_ray = False
        self.protections = ""

    def start(self) -> None:
        """Begin connecting and starting the actors in the background (idempotent)."""
        if self._started is None:
            self._started = asyncio.ensure_future(self._start_all())

    def _unshipped(self) -> list[str]:
        """The held-out data in the task folder ([evaluation] holdout), which the nodes never
        get: their workers could not hide it at the path Ray puts the folder (the checks of
        new bests, which read it, run on this machine)."""
        inside = []
        for path in self._config.holdout:
            found = Path(visible.resolve(path, self._task_root)).resolve()
            if found.is_relative_to(self._task_root):
                inside.append("/" + found.relative_to(self._task_root).as_posix())
        return inside

    async def _start_all(self) -> None:
        ray = _ray()
        evaluator = str(self._task_root / self._evaluator)  # a file system shared with the nodes
        base = str(self._task_root / self._base) if self._base is not None else None
        if not ray.is_initialized():
            self._owns_ray = not self._address
            try:
                await asyncio.to_thread(
                    ray.init,
                    address=self._address or None,
                    runtime_env={
                        "working_dir": str(self._task_root),
                        "excludes": self._unshipped(),
                    },
                    include_dashboard=False,
                    log_to_driver=False,
                    logging_level=logging.ERROR,
                )
            except (ConnectionError, ValueError, RuntimeError) as exc:
                where = f"the Ray cluster at {self._address!r}" if self._address else "Ray here"
                raise ConfigError(
                    f"cannot start or reach {where} ({exc}); check --ray-address "
                    "(a ray:// address needs pip install 'ray[client]')"
                ) from None
            evaluator, base = self._evaluator, self._base  # in the folder Ray ships to each node
        cpus = max(int(ray.cluster_resources().get("CPU", 1)), 1)
        count = self._config.workers or cpus
        if count > cpus:  # an actor that cannot be placed would wait forever
            log.warning("the Ray cluster has %d CPUs: %d actors, not %d", cpus, cpus, count)
            count = cpus
        node = ray.remote(num_cpus=1)(_Node)
        config = dataclasses.asdict(self._config)
        self._actors = [
            node.remote(evaluator, self._program_filename, config, self._objective, base)
            for _ in range(count)
        ]
        try:
            protections = await asyncio.wait_for(
                asyncio.gather(*(a.ready.remote() for a in self._actors)), _START_SECONDS
            )
        except TimeoutError:
            raise ConfigError(
                f"the Ray actors did not start within {_START_SECONDS:g} s; check that the "
                "cluster's nodes have hone installed and free CPUs"
            ) from None
        self.protections = str(protections[0]) + f"; on Ray, {count} actors"
        for actor in self._actors:
            self._idle.put_nowait(actor)

    async def ready(self) -> str:
        """Connect and start every actor; the protections in force on the nodes."""
        self.start()
        assert self._started is not None
        await asyncio.shield(self._started)
        return self.protections

    async def verify(self, program: Tree | str) -> Verified:
        """Evaluate one program (a tree, or a one-file task's text) on the next free actor."""
        await self.ready()
        actor = await self._idle.get()
        try:
            verified: Verified = await actor.verify.remote(program)
        finally:
            self._idle.put_nowait(actor)
        return verified

    async def close(self) -> None:
        """Stop the actors (and the Ray instance this pool started). Never raises."""
        if self._started is None:
            return  # nothing was started
        if not self._started.done():
            self._started.cancel()
        # A cancelled start may still be inside ray.init (in a thread): let it finish, so that
        # a Ray instance this pool started is shut down below.
        with contextlib.suppress(BaseException):
            await asyncio.wait_for(asyncio.shield(self._started), 30)
        try:
            ray = _ray()
        except MissingDependencyError:
            return
        for actor in self._actors:
            with contextlib.suppress(Exception):  # an actor that is gone or stuck: killed below
                await asyncio.wait_for(actor.close.remote(), 15)
            with contextlib.suppress(Exception):
                ray.kill(actor)
        self._actors.clear()
        if self._owns_ray and ray.is_initialized():
            with contextlib.suppress(Exception):
                await asyncio.to_thread(ray.shutdown)


def make(task: Task) -> RayPool:
    """Actors on the Ray cluster `[evaluation] ray_address` names (or a Ray started here)."""
    return RayPool(
        task.root or task.evaluator.parent,
        task.evaluator,
        task.program_filename,
        task.evaluation,
        task.objective,
        address=task.evaluation.ray_address,
        base=task.spec.base,
    )


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise MissingDependencyError("ray", "ray") from None
    return ray
