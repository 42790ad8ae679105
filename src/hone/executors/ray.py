"""The Ray executor: evaluations spread over a Ray cluster, `RayPool`, like the local pool.

Each Ray actor (an evaluation slot, with the `[evaluation] resources` it asks of its node) runs
hone's own sandboxed pool with one worker on its node, so a candidate is confined there exactly
as it is locally (docs/security.md). When the pool starts Ray (or joins a cluster) itself, the
task folder is shipped to every node as the job's working directory (``runtime_env``: uploaded
once per run, fetched once per node), so evaluators find their data files next to them; when
Ray was initialised already, the nodes must see the task folder at the same path. Every node
needs hone and the task's Python packages installed.

Nodes may come and go while a run goes: an evaluation whose actor dies with its node (or stops
answering within the evaluation's timeout and a margin) is tried again on another node, at most
`[evaluation] retries` times, each try recorded with its node (`Attempt`), and the lost actor is
started again wherever Ray finds room, now or once a node joins. Ray is optional
(``pip install 'hone[ray]'``) and imported only here.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hone.evaluation import Evaluation
from hone.exceptions import ConfigError, MissingDependencyError
from hone.executors import Attempt, Verified
from hone.executors.local import ProcessPool, request_files
from hone.objective import Objective
from hone.sandbox import visible
from hone.settings import EvaluationConfig
from hone.tree import Tree

if TYPE_CHECKING:
    from hone.task import Task

log = logging.getLogger("hone")
_START_SECONDS = 300.0  # for every actor to start its worker (a node may install the task)
# seconds an evaluation may take beyond its timeout before its node counts as hung: more than
# the local pool's own grace for a hung worker (hone.executors.local._GRACE) and a restart of it
_MARGIN = 30.0
_RESTARTS = 3  # tries to start a lost actor again before its slot is given up


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

    async def ready(self) -> tuple[str, str, str]:
        """The protections in force here, this node's id and its IP address."""
        ray = _ray()
        protections = await self.pool.ready()
        node = ray.get_runtime_context().get_node_id()
        return protections, node, ray.util.get_node_ip_address()

    async def verify(self, program: Tree | str) -> Verified:
        return await self.pool.verify(program)

    async def close(self) -> None:
        await self.pool.close()


@dataclass(eq=False)
class _Actor:
    """The driver's side of one `_Node` actor: its handle, and its node once it is up."""

    handle: Any
    node: str = ""
    host: str = ""
    protections: str = ""


class RayPool:
    """Verifies programs on a Ray cluster, one actor per evaluation slot.

    `address` "" starts a Ray instance on this machine, listening on 127.0.0.1 only; "auto" or
    "ray://host:10001" joins a running cluster at its own address (either way the pool lets go
    of Ray at `close`). `config.workers` actors (0: as many as the cluster's nodes have room
    for, by `config.resources`) each hold one sandboxed worker.
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
        start: Tree | None = None,
    ) -> None:
        # a folder task's starting tree: an actor is sent only the files that differ from it
        # (the node has the rest in the program folder it was shipped)
        self._start = start if base is not None else None
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
        self._request = {"CPU": 1.0, **config.resource_request}  # what one actor asks of a node
        self._idle: list[_Actor] = []
        self._freed = asyncio.Event()  # set when an actor becomes idle or a slot is given up
        self._actors: list[_Actor] = []  # up or starting
        self._restarts: set[asyncio.Task[None]] = set()
        self._make: Any = None  # starts one actor: () -> its handle
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
            self._owns_ray = True
            try:
                await asyncio.to_thread(
                    ray.init if self._address else functools.partial(_init_on_loopback, ray),
                    # ("local", not None: None would join whatever cluster `ray start` or a
                    # test's cluster last recorded on this machine)
                    address=self._address or "local",
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
        nodes = await asyncio.to_thread(ray.nodes)
        room = sum(_room(node["Resources"], self._request) for node in nodes if node["Alive"])
        if room == 0:
            raise ConfigError(
                f"no node of the Ray cluster has the resources one evaluation asks for "
                f"({_shown(self._request)}); change [evaluation] resources or --resources"
            )
        count = self._config.workers or room
        if count > room:  # an actor that cannot be placed would wait forever
            log.warning(
                "the Ray cluster has room for %d evaluations of %s: %d actors, not %d",
                room, _shown(self._request), room, count,
            )  # fmt: skip
            count = room
        self._make = self._maker(ray, evaluator, base)
        self._actors = [_Actor(self._make()) for _ in range(count)]
        try:
            await asyncio.wait_for(
                asyncio.gather(*(self._up(a) for a in self._actors)), _START_SECONDS
            )
        except TimeoutError:
            raise ConfigError(
                f"the Ray actors did not start within {_START_SECONDS:g} s; check that the "
                f"cluster's nodes have hone installed and room for {_shown(self._request)}"
            ) from None
        except _lost_errors() as exc:
            raise ConfigError(
                f"a Ray actor died as it started ({type(exc).__name__}); check the cluster's "
                "nodes and run again"
            ) from None
        kinds = dict.fromkeys(a.protections for a in self._actors)  # (nodes may differ)
        hosts = len({a.node for a in self._actors})
        self.protections = " | ".join(kinds) + f"; on Ray, {count} actors on {hosts} nodes"
        for actor in self._actors:
            self._give(actor)

    def _maker(self, ray: Any, evaluator: str, base: str | None) -> Any:
        """A function that starts one `_Node` actor asking for this pool's resources."""
        request = dict(self._request)
        options: dict[str, Any] = {
            "num_cpus": request.pop("CPU"),
            "num_gpus": request.pop("GPU", 0.0),
            "max_restarts": 0,  # hone starts a lost actor again, and tries its evaluation elsewhere
            "max_task_retries": 0,
        }
        if "memory" in request:
            options["memory"] = int(request.pop("memory"))
        if request:
            options["resources"] = request
        node = ray.remote(_Node).options(**options)
        config = dataclasses.asdict(self._config)
        return lambda: node.remote(evaluator, self._program_filename, config, self._objective, base)

    async def _up(self, actor: _Actor) -> None:
        """Wait until an actor's worker is up; note its node."""
        actor.protections, actor.node, actor.host = await actor.handle.ready.remote()

    async def ready(self) -> str:
        """Connect and start every actor; the protections in force on the nodes."""
        self.start()
        assert self._started is not None
        await asyncio.shield(self._started)
        return self.protections

    async def verify(self, program: Tree | str) -> Verified:
        """Evaluate one program (a tree, or a one-file task's text) on the next free actor
        (one on a node not tried yet, where there is one); an evaluation lost with its node is
        tried again, `retries` times."""
        await self.ready()
        if isinstance(program, Tree) and self._start is not None:
            program = Tree(request_files(program, self._start))
        attempts: list[Attempt] = []
        lost: tuple[type[BaseException], ...] = (TimeoutError, *_lost_errors())
        while True:
            actor = await self._take(avoid={a.node for a in attempts})
            try:
                verified: Verified = await asyncio.wait_for(
                    actor.handle.verify.remote(program), self._config.timeout + _MARGIN
                )
            except lost as exc:
                why = "no answer in time" if isinstance(exc, TimeoutError) else type(exc).__name__
                attempts.append(Attempt(actor.node, actor.host, "lost", why))
                log.warning(
                    "an evaluation was lost with its Ray node %s (%s…: %s); tried again: %s",
                    actor.host, actor.node[:8], why, len(attempts) <= self._config.retries,
                )  # fmt: skip
                self._restart(actor)
                if len(attempts) > self._config.retries:
                    reason = f"lost with its Ray node {len(attempts)} times (retries = "
                    reason += f"{self._config.retries}); the last: {actor.host} {actor.node}, {why}"
                    return Verified(Evaluation.failed("killed", reason), attempts=tuple(attempts))
                continue
            except BaseException:
                self._give(actor)  # (cancelled: the actor finishes it, then takes the next)
                raise
            self._give(actor)
            attempts.append(Attempt(actor.node, actor.host, verified.evaluation.status))
            return dataclasses.replace(verified, attempts=tuple(attempts))

    async def _take(self, avoid: set[str]) -> _Actor:
        """The next idle actor on a node outside `avoid` (the nodes an evaluation was lost on:
        their other actors are likely gone too), waiting for one while any actor may be
        elsewhere (a restarted one's node is not known until it is up); one inside `avoid`
        only when no actor is anywhere else."""
        while True:
            actor = next((a for a in self._idle if a.node not in avoid), None)
            if actor is None and self._idle and all(a.node in avoid for a in self._actors):
                actor = self._idle[0]
            if actor is not None:
                self._idle.remove(actor)
                return actor
            if not self._actors:
                raise ConfigError(
                    "every Ray actor was lost and none could be started again; check the "
                    "cluster's nodes, then continue with hone resume"
                )
            self._freed.clear()
            await self._freed.wait()

    def _give(self, actor: _Actor) -> None:
        if actor in self._actors:
            self._idle.append(actor)
            self._freed.set()

    def _restart(self, lost: _Actor) -> None:
        """Kill a lost actor and start another in its slot, in the background."""
        with contextlib.suppress(Exception):
            _ray().kill(lost.handle, no_restart=True)
        index = self._actors.index(lost)
        replacement = _Actor(self._make())
        self._actors[index] = replacement
        task = asyncio.ensure_future(self._bring_up(replacement))
        self._restarts.add(task)
        task.add_done_callback(self._restarts.discard)

    async def _bring_up(self, actor: _Actor) -> None:
        """Wait for a new actor (Ray places it where there is room, now or once a node joins
        within `_START_SECONDS`); a few tries, then its slot is given up (so that a run whose
        nodes are all gone ends, rather than waiting for ever)."""
        for tries in range(1, _RESTARTS + 1):
            try:
                await asyncio.wait_for(self._up(actor), _START_SECONDS)
            except Exception as exc:  # (in the background: said, never raised)
                log.warning("a Ray actor did not start again (%s)", type(exc).__name__)
                with contextlib.suppress(Exception):
                    _ray().kill(actor.handle, no_restart=True)
                if tries == _RESTARTS:
                    break
                fresh = _Actor(self._make())
                self._actors[self._actors.index(actor)] = fresh
                actor = fresh
            else:
                self._give(actor)
                return
        log.warning("a Ray evaluation slot is given up: its actor did not start %d times", tries)
        self._actors.remove(actor)
        self._freed.set()  # (a verify waiting for an actor sees whether any is left)

    async def close(self) -> None:
        """Stop the actors (and let go of the Ray this pool started or joined). Never raises."""
        if self._started is None:
            return  # nothing was started
        if not self._started.done():
            self._started.cancel()
        # A cancelled start may still be inside ray.init (in a thread): let it finish, so that
        # a Ray instance this pool started is shut down below.
        with contextlib.suppress(BaseException):
            await asyncio.wait_for(asyncio.shield(self._started), 30)
        for task in list(self._restarts):
            task.cancel()
        await asyncio.gather(*self._restarts, return_exceptions=True)
        try:
            ray = _ray()
        except MissingDependencyError:
            return
        for actor in self._actors:
            if actor.node:  # (one never placed has no worker to stop)
                with contextlib.suppress(Exception):  # gone or stuck: killed below
                    await asyncio.wait_for(actor.handle.close.remote(), 15)
            with contextlib.suppress(Exception):
                ray.kill(actor.handle)
        self._actors.clear()
        self._idle.clear()
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
        start=task.tree if task.folder else None,
    )


def _init_on_loopback(ray: Any, **options: Any) -> None:
    """Start a Ray instance on this machine that listens on 127.0.0.1 only.

    Ray otherwise binds its GCS, raylet and workers to the machine's interface address, and
    `ray.init(_node_ip_address="127.0.0.1")` does not help (Ray turns a loopback address back
    into the interface's). What decides is `RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0`, which Ray
    reads once, as it is imported: so hone sets the constant it becomes for the driver, and the
    variable for the processes Ray starts, only while Ray starts, then puts both back. A
    program that goes on to join a cluster of several machines in the same process needs them
    as they were (a driver that believes it is on 127.0.0.1 cannot be reached from another
    machine); once started, this Ray keeps its address whatever they say.
    """
    from ray._private import ray_constants

    variable = ray_constants.ENABLE_RAY_CLUSTERS_ENV_VAR
    before = ray_constants.ENABLE_RAY_CLUSTER, os.environ.get(variable)
    ray_constants.ENABLE_RAY_CLUSTER = False
    os.environ[variable] = "0"
    try:
        ray.init(**options)
    finally:
        ray_constants.ENABLE_RAY_CLUSTER = before[0]
        if before[1] is None:
            os.environ.pop(variable, None)
        else:
            os.environ[variable] = before[1]
    hosts = {node["NodeManagerAddress"] for node in ray.nodes()}
    if hosts != {"127.0.0.1"}:  # (a Ray that reads its setting elsewhere: never listen outside)
        ray.shutdown()
        raise RuntimeError(f"Ray {ray.__version__} listened on {sorted(hosts)}, not 127.0.0.1")


def _room(resources: dict[str, float], request: dict[str, float]) -> int:
    """How many actors asking `request` a node with `resources` holds (asking for nothing:
    one per CPU)."""
    asked = {k: v for k, v in request.items() if v > 0} or {"CPU": 1.0}
    return min(int(resources.get(k, 0.0) / v + 1e-9) for k, v in asked.items())


def _shown(request: dict[str, float]) -> str:
    """'CPU=1, GPU=0.25, memory=2 GiB' (a request as a person reads it)."""
    parts = []
    for name, amount in request.items():
        if name == "memory":
            parts.append(f"memory={amount / 2**30:g} GiB")
        else:
            parts.append(f"{name}={amount:g}")
    return ", ".join(parts)


def _lost_errors() -> tuple[type[BaseException], ...]:
    """Ray's errors that say an actor or its node is gone (not that the evaluation failed)."""
    from ray import exceptions

    return (
        exceptions.RayActorError,  # died, or unreachable (ActorUnavailableError)
        exceptions.WorkerCrashedError,
        exceptions.NodeDiedError,
        exceptions.ObjectLostError,
    )


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise MissingDependencyError("ray", "ray") from None
    return ray
