"""`hone.run` and `hone.resume`: set up a run's collaborators, drive the loop, return a result."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hone.config import Budget, EvaluationConfig, ModelConfig, SearchConfig
from hone.events import EventHandler, RunStarted, Stopped, StopReason
from hone.exceptions import ModelError, RunDirError, UserError
from hone.loop import Loop, restore_state
from hone.models import Completion, Model, Request, Style, check_spec, make_model
from hone.models.embeddings import Embedder, make_embedder
from hone.sandbox import Verifier, make_verifier
from hone.store import Candidate, Store, Usage
from hone.strategies import Strategy, make_strategy
from hone.task import Task

log = logging.getLogger("hone")


@dataclass(frozen=True)
class RunResult:
    """What a run found: the best candidate, why it stopped, and every hypothesis in order."""

    run_dir: Path
    best: Candidate | None
    stop_reason: StopReason
    history: tuple[Candidate, ...]
    usage: Usage
    sandbox: str = ""  # the protections the candidates ran under (docs/security.md)

    @property
    def best_score(self) -> float | None:
        """The best candidate's score (None when nothing scored)."""
        return self.best.score if self.best is not None else None


def run(
    task: Task,
    *,
    model: str | Model | None = None,
    run_dir: str | Path | None = None,
    seed: int = 0,
    budget: Budget | None = None,
    on_event: EventHandler | None = None,
    verifier: Verifier | None = None,
    strategy: Strategy | None = None,
    base_url: str | None = None,
    embedder: Embedder | None = None,
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
        )
    )


async def run_async(
    task: Task,
    *,
    model: str | Model | None = None,
    run_dir: str | Path | None = None,
    seed: int = 0,
    budget: Budget | None = None,
    on_event: EventHandler | None = None,
    verifier: Verifier | None = None,
    strategy: Strategy | None = None,
    base_url: str | None = None,
    embedder: Embedder | None = None,
) -> RunResult:
    """Start a new run in `run_dir` (default: runs/<task>-<time>). `embedder` overrides the
    embedding model `[search] novelty_model` names, for the novelty filter."""
    if budget is not None:
        task = dataclasses.replace(task, budget=budget)
    if isinstance(model, str) or base_url is not None:
        spec = model if isinstance(model, str) else task.model.spec
        task = dataclasses.replace(
            task,
            model=dataclasses.replace(
                task.model, spec=spec, base_url=base_url or task.model.base_url
            ),
        )
    directory = Path(run_dir) if run_dir is not None else default_run_dir(task)
    store = Store.create(directory, _meta(task, seed))
    return await _drive(
        task,
        store,
        model if not isinstance(model, str) else None,
        seed,
        on_event,
        verifier,
        strategy,
        resumed=False,
        embedder=embedder,
    )


def resume(
    run_dir: str | Path,
    *,
    budget: dict[str, Any] | None = None,
    model: Model | None = None,
    on_event: EventHandler | None = None,
    verifier: Verifier | None = None,
) -> RunResult:
    """Continue a stopped or killed run where it was, with optional budget overrides."""
    return asyncio.run(
        resume_async(run_dir, budget=budget, model=model, on_event=on_event, verifier=verifier)
    )


async def resume_async(
    run_dir: str | Path,
    *,
    budget: dict[str, Any] | None = None,
    model: Model | None = None,
    on_event: EventHandler | None = None,
    verifier: Verifier | None = None,
) -> RunResult:
    """Async form of `resume`."""
    store = Store.open(Path(run_dir))
    try:
        meta = store.meta()
        task = _task_from_meta(meta)
        if budget:
            task = dataclasses.replace(task, budget=task.budget.merged(**budget))
        store.set_meta(budget=dataclasses.asdict(task.budget))
    except BaseException:
        store.close()
        raise
    return await _drive(
        task, store, model, int(meta["seed"]), on_event, verifier, None, resumed=True
    )


async def _drive(
    task: Task,
    store: Store,
    model: Model | None,
    seed: int,
    on_event: EventHandler | None,
    verifier: Verifier | None,
    strategy: Strategy | None,
    *,
    resumed: bool,
    embedder: Embedder | None = None,
) -> RunResult:
    emit: EventHandler = on_event or (lambda event: None)
    run_dir = store.path.parent
    pool: Verifier | None = None
    backend: Model | None = model
    try:
        store.lock()
        if embedder is None and task.search.novelty_model and task.search.novelty:
            embedder = make_embedder(
                task.search.novelty_model, task.search.novelty_base_url or task.model.base_url
            )
        pool = verifier or make_verifier(task)
        warm_up = getattr(pool, "start", None)
        if warm_up is not None:
            warm_up()  # the workers warm up while the model loads
        rng = random.Random(seed)
        state = store.meta().get("rng_state")
        if resumed and state:
            restore_state(rng, state)
        # The model is built in a thread (the SDKs are slow to import, the embedded model is
        # slow to load) while the workers start and evaluate the starting program.
        if backend is None:
            check_spec(task.model)
        loading = None if backend is not None else asyncio.create_task(_build_model(task))
        emit(RunStarted(run_dir, task.name, backend.name if backend else task.model.spec, resumed))
        loop = Loop(
            task=task,
            model=backend or _Loading(task.model.spec),
            verifier=pool,
            store=store,
            strategy=strategy or make_strategy(task.search, task.objective),
            rng=rng,
            emit=lambda event: _on_event(event, run_dir, best_file(task), emit),
            embedder=embedder,
        )
        try:
            start = await loop.start()
        finally:
            if loading is not None:
                backend = loop.model = await loading
        assert backend is not None
        store.set_meta(model_style=backend.style)  # what prompts it got, for `hone replay`
        if resumed and hasattr(backend, "advance"):
            backend.advance(store.usage().calls)  # a replayed sequence goes on where it stopped
        protections = getattr(pool, "protections", "")
        if protections:
            store.set_meta(sandbox=protections)
            if "REACHABLE" in protections or "SHARED" in protections:
                log.warning("the sandbox is weaker here: %s (see docs/security.md)", protections)
        if not start.evaluation.ok and loop.best is None:
            reason = start.evaluation.reason or start.evaluation.status
            if task.budget.max_llm_calls != 0:
                raise UserError(
                    f"the starting program {task.program_filename!r} failed to evaluate "
                    f"({start.evaluation.status}: {reason}); fix it or the evaluator "
                    f"{str(task.evaluator)!r} and run again"
                )
        store.set_meta(status="running")
        if resumed:
            store.set_meta(replay_exact=False)  # `hone replay` cannot know where it stopped
        try:
            reason = await loop.run()
        except (KeyboardInterrupt, asyncio.CancelledError):
            store.set_meta(status="interrupted", replay_exact=False)
            raise
        store.set_meta(status="stopped", stop_reason=reason)
        if reason == "max_seconds":  # stopped mid-round: answers without hypotheses
            store.set_meta(replay_exact=False)
        emit(Stopped(reason, loop.best, loop.usage))
        return RunResult(
            run_dir,
            loop.best,
            reason,
            tuple(store.candidates()),
            loop.usage,
            str(store.meta().get("sandbox", "")),
        )
    finally:
        try:
            if pool is not None:
                await pool.close()
        finally:
            try:
                if backend is not None:
                    await backend.close()
                if embedder is not None:
                    await embedder.close()
            finally:
                store.close()


class _Loading:
    """Stands in for the model while it loads; the loop calls no model before `run()`."""

    style: Style = "chat"

    def __init__(self, name: str) -> None:
        self.name = name

    async def generate(self, request: Request) -> Completion:
        raise ModelError(f"the model {self.name} is still loading")

    async def close(self) -> None:
        """Nothing to release."""


async def _build_model(task: Task) -> Model:
    return await asyncio.to_thread(make_model, task.model)


def _on_event(event: object, run_dir: Path, best_file: str, emit: EventHandler) -> None:
    from hone.events import NewBest

    if isinstance(event, NewBest) and event.candidate.code is not None:
        _write_atomic(run_dir / best_file, event.candidate.code)
    emit(event)  # type: ignore[arg-type]


def best_file(task: Task) -> str:
    """The name of the file in the run directory that holds the best program: best.py, best.c..."""
    return "best" + (Path(task.program_filename).suffix or ".txt")


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def default_run_dir(task: Task) -> Path:
    """runs/<task>-<YYYYmmdd-HHMMSS> under the current directory, made unique."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    base = Path("runs") / f"{task.name}-{stamp}"
    path, n = base, 1
    while path.exists():
        n += 1
        path = base.with_name(f"{base.name}-{n}")
    return path


def _meta(task: Task, seed: int) -> dict[str, Any]:
    return {
        "task_dir": str(task.root) if task.root else None,
        "task_name": task.name,
        "seed": seed,
        "objective": task.objective,
        "budget": dataclasses.asdict(task.budget),
        "search": dataclasses.asdict(task.search),
        "evaluation": dataclasses.asdict(task.evaluation),
        "model": dataclasses.asdict(task.model),
        "status": "created",
    }


def _task_from_meta(meta: dict[str, Any]) -> Task:
    task_dir = meta.get("task_dir")
    if not task_dir:
        raise RunDirError(
            "this run was started from Python without a task folder; resume it with hone.resume_async(..., task=...)"
        )
    try:
        task = Task.from_dir(task_dir)
    except UserError as exc:
        raise RunDirError(f"cannot reload the run's task from {task_dir!r}: {exc}") from None
    return dataclasses.replace(
        task,
        budget=Budget(**meta["budget"]),
        search=SearchConfig(**meta["search"]),
        evaluation=EvaluationConfig(**meta["evaluation"]),
        model=ModelConfig(**meta["model"]),
    )
