"""`hone.run` and `hone.resume`: a run from Python, new or continued."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import shutil
import time
from pathlib import Path
from typing import Any

from hone.budget import Budget, Usage, may_call
from hone.events import EventHandler
from hone.exceptions import StorageError, UserError
from hone.executors import Executor
from hone.export import MlflowExport
from hone.fingerprint import check, fingerprint
from hone.formats import checked_instruction
from hone.models import Model, check_spec
from hone.models.embeddings import Embedder
from hone.session import RunResult, Session, checked_read_only, run_meta, task_from_meta
from hone.store import DB_NAME, Store, opened
from hone.strategies import Strategy
from hone.task import Task

log = logging.getLogger("hone")


def run(
    task: Task,
    *,
    model: str | Model | None = None,
    run_dir: str | Path | None = None,
    seed: int | None = None,
    budget: Budget | None = None,
    on_event: EventHandler | None = None,
    verifier: Executor | None = None,
    strategy: Strategy | None = None,
    base_url: str | None = None,
    embedder: Embedder | None = None,
    mlflow: str | None = None,
) -> RunResult:
    """Run the cycle on `task` and return the result (blocks; see `run_async`)."""
    return asyncio.run(
        run_async(
            task,
            model=model,
            run_dir=run_dir,
            seed=seed,
            budget=budget,
            on_event=on_event,
            verifier=verifier,
            strategy=strategy,
            base_url=base_url,
            embedder=embedder,
            mlflow=mlflow,
        )
    )


async def run_async(
    task: Task,
    *,
    model: str | Model | None = None,
    run_dir: str | Path | None = None,
    seed: int | None = None,
    budget: Budget | None = None,
    on_event: EventHandler | None = None,
    verifier: Executor | None = None,
    strategy: Strategy | None = None,
    base_url: str | None = None,
    embedder: Embedder | None = None,
    mlflow: str | None = None,
) -> RunResult:
    """Start a new run in `run_dir` (default: runs/<task>-<time>), with `seed` (default: the
    task's, else 0). `model` is a spec string
    (with `base_url` for a server) or a `Model`; `verifier` replaces the task's executor and
    `embedder` the embedding model `[search] novelty_model` names; `mlflow`, a tracking URI,
    exports each hypothesis's score and the run's usage there (`hone.export`)."""
    export = MlflowExport(mlflow) if mlflow else None  # a missing package: before any folder
    if seed is None:  # the task's own (an OpenEvolve config's random_seed), else 0
        seed = task.seed or 0
    if task.root is None:  # made in Python: its instruction was not read from a file
        instruction, warning = checked_instruction(task.instruction, "the task's instruction")
        if warning:
            log.warning("%s", warning)
        task = dataclasses.replace(task, instruction=instruction)
    spec = model if isinstance(model, str) else None
    task = task.configured(model={"spec": spec, "base_url": base_url})
    if budget is not None:
        task = task.configured(budget=budget)
    backend = model if not isinstance(model, str) else None
    if backend is None and may_call(task.budget, Usage(), 0):
        check_spec(task.model)  # a bad spec or a missing key: before any folder is made
    made = run_dir is None or not Path(run_dir).exists()
    directory = Path(run_dir) if run_dir is not None else default_run_dir(task)
    try:
        task = checked_read_only(task, directory)
        meta = dataclasses.replace(run_meta(task, seed), task_fingerprint=fingerprint(task))
        store = Store.create(directory, meta)
    except UserError:
        if made:  # (the folder default_run_dir claimed, empty)
            with contextlib.suppress(OSError):
                directory.rmdir()
        raise
    session = Session(
        task, store, seed, False, backend, verifier, strategy, embedder, on_event, export=export
    )
    try:
        return await session.drive()
    except UserError as exc:  # (a full disk is the store's to say: it advises resuming)
        if not isinstance(exc, StorageError) and _discard_unused(directory, whole=made):
            exc.args = (f"{exc} (nothing was kept: the run folder {str(directory)!r} is removed)",)
        raise


def resume(
    run_dir: str | Path,
    *,
    budget: Budget | dict[str, Any] | None = None,
    model: str | Model | None = None,
    base_url: str | None = None,
    on_event: EventHandler | None = None,
    verifier: Executor | None = None,
    task: Task | None = None,
    settings: dict[str, dict[str, Any]] | None = None,
    mlflow: str | None = None,
    accept_changed_task: bool = False,
) -> RunResult:
    """Continue a stopped or killed run where it was, with a `budget` (a `Budget` replaces the
    run's; a dict such as {"max_llm_calls": 40} changes only its keys; the limits count the
    whole run, earlier calls included); `model`
    and `base_url` for a model or server other than the run's (its server moved, say),
    `settings` for other overrides ({"model": {"timeout": 60}}), `task` for a run started
    from Python without a task folder, `mlflow` to export to MLflow (to the MLflow run it
    exported to before, when that is in the same store and experiment). A task whose files
    changed since the run started is refused (TaskChangedError) unless `accept_changed_task`,
    which records the change and where it happened (`hone.fingerprint`)."""
    return asyncio.run(
        resume_async(
            run_dir,
            budget=budget,
            model=model,
            base_url=base_url,
            on_event=on_event,
            verifier=verifier,
            task=task,
            settings=settings,
            mlflow=mlflow,
            accept_changed_task=accept_changed_task,
        )
    )


async def resume_async(
    run_dir: str | Path,
    *,
    budget: Budget | dict[str, Any] | None = None,
    model: str | Model | None = None,
    base_url: str | None = None,
    on_event: EventHandler | None = None,
    verifier: Executor | None = None,
    task: Task | None = None,
    settings: dict[str, dict[str, Any]] | None = None,
    mlflow: str | None = None,
    accept_changed_task: bool = False,
) -> RunResult:
    """Async form of `resume`."""
    export = MlflowExport(mlflow) if mlflow else None
    store = Store.open(Path(run_dir))
    try:
        store.lock()  # before anything is written: a refused resume changes nothing
        meta = store.meta()
        spec = model if isinstance(model, str) else None
        tables: dict[str, Any] = dict(settings or {})
        if isinstance(budget, Budget):  # a whole table: every limit as it says
            tables["budget"] = budget
        else:
            tables["budget"] = {**tables.get("budget", {}), **(budget or {})}
        tables["model"] = {**tables.get("model", {}), "spec": spec, "base_url": base_url}
        resumed = task_from_meta(meta, task).configured(**tables)
        resumed = checked_read_only(resumed, Path(run_dir))  # (what the run was started with)
        check(store, resumed, accept=accept_changed_task)  # before anything else is written
        recorded = run_meta(resumed, 0)
        store.set_meta(budget=recorded.budget, model=recorded.model)
    except BaseException:
        store.close()
        raise
    backend = model if not isinstance(model, str) else None
    seed = meta.seed
    session = Session(
        resumed, store, seed, True, backend, verifier, None, None, on_event, export=export
    )
    return await session.drive()


def default_run_dir(task: Task) -> Path:
    """A new folder runs/<task>-<YYYYmmdd-HHMMSS> under the current directory, claimed by
    creating it (-2, -3, ... when another run took the name, also in the same second)."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    base = Path("runs") / f"{task.name}-{stamp}"
    base.parent.mkdir(parents=True, exist_ok=True)
    path, n = base, 1
    while True:
        try:
            path.mkdir()  # exclusive: of two runs that pick one name, one gets it
            return path
        except FileExistsError:
            n += 1
            path = base.with_name(f"{base.name}-{n}")


def _discard_unused(run_dir: Path, *, whole: bool) -> bool:
    """Remove a new run that failed before any model call (there is nothing to continue):
    the folder when this run made it, else the run's files in it; True when removed."""
    try:
        with opened(run_dir) as store:
            if store.usage().calls or store.failed_calls():
                return False
    except UserError:
        return False
    if whole:
        shutil.rmtree(run_dir, ignore_errors=True)
    else:
        for name in (DB_NAME, f"{DB_NAME}-wal", f"{DB_NAME}-shm", ".lock"):
            with contextlib.suppress(OSError):
                (run_dir / name).unlink()
    return True
