"""A run's collaborators, built once: `hone.run`, `hone.resume` and `hone.replay` all drive
their run through a `Session`."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import dataclasses
import logging
import os
import random
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from hone import snapshot
from hone.budget import Budget, StopReason, Usage, may_call
from hone.events import Event, EventHandler, HypothesisEvaluated, NewBest, RunStarted, Stopped
from hone.exceptions import ConfigError, HoneError, RunDirError, UserError
from hone.executors import Executor, Verified, Verifier, make_executor
from hone.export import MlflowExport
from hone.loop import Loop
from hone.meta import RunMeta, RunStatus
from hone.models import Model, call_hedged, call_timeout, check_spec, make_model
from hone.models.embeddings import Embedder, make_embedder
from hone.models.hedge import Hedge
from hone.models.metered import Metered
from hone.models.prices import Pricing, member_names, spec_names
from hone.novelty import EmbeddingNovelty, NoveltyFilter
from hone.population import Candidate, NearCopies, Population
from hone.prompts import Prompter
from hone.prompts.fix import Fixer
from hone.recovery import waiting
from hone.reflection import Memory
from hone.rounds import Rounds
from hone.sandbox import visible
from hone.settings import EvaluationConfig, ModelConfig, SearchConfig
from hone.store import Store
from hone.strategies import Strategy, make_strategy
from hone.task import Task
from hone.tree import Tree
from hone.trust import Checker, Fresh, Probes, Trust, answer, defined_checks
from hone.tuning import Tuner

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


@dataclass
class Session:
    """One run (new, resumed or replayed) in `store`: `drive()` builds the collaborators,
    verifies the starting programs while the model loads, runs the loop and closes
    everything, whatever happens. Collaborators passed in are used as they are."""

    task: Task
    store: Store
    seed: int
    resumed: bool = False
    model: Model | None = None
    executor: Executor | None = None
    strategy: Strategy | None = None
    embedder: Embedder | None = None
    on_event: EventHandler | None = None
    pricing: Pricing | None = None  # None: the task's [model] prices and base_url
    export: MlflowExport | None = None  # gets every event; closed after the store
    checker: Checker | None = None  # runs the checks of new bests (None: the task's, if any)
    checker_made: bool = False  # the checker is the session's own (closed with it)
    executor_made: bool = False  # the executor is the task's, not one passed in
    clock: Callable[[], float] = time.monotonic  # for budgets and deadlines
    wall: Callable[[], float] = time.time  # for the times stored
    _snapshots: snapshot.Snapshots | None = field(default=None, init=False, repr=False)

    async def drive(self) -> RunResult:
        """Run to a stop rule; the result. The store is closed afterwards."""
        task, store = self.task, self.store
        run_dir = store.path.parent
        try:
            store.lock()
            if self.embedder is None and task.search.novelty_model and task.search.novelty:
                servers = task.model.servers
                base_url = task.search.novelty_base_url or (servers[0].url if servers else None)
                self.embedder = make_embedder(task.search.novelty_model, base_url)
            if self.checker is None:
                self.checker = self._checker()
            if self.executor is None:
                self.executor, self.executor_made = make_executor(task), True
            self.executor.start()  # the workers warm up while the model loads
            # A run whose budget allows no model call (a start-only check, a resume of a spent
            # run) never builds its model: it needs no key, no server, no download.
            calls = may_call(task.budget, store.usage(), 0)
            if self.model is None and calls:
                check_spec(task.model)  # at once: loading may take a while
            self._check_prices(calls)
            # The model is built in a thread (the SDKs are slow to import, the embedded model
            # is slow to load) while the workers start and verify the starting program.
            building = self.model is None and calls
            loading = asyncio.create_task(_build_model(task.model)) if building else None
            name = self.model.name if self.model else task.model.spec
            self._emit(RunStarted(run_dir, task.name, name, self.resumed))
            loop = self._loop()
            try:
                start = await loop.start(await waiting(task, store, loop.population))
            finally:
                if loading is not None:
                    self.model = await loading
                    loop.model.attach(self.model)
            return await self._run(loop, start)
        except (KeyboardInterrupt, asyncio.CancelledError):
            self._ended("interrupted")
            raise
        except Exception as exc:
            self._ended("failed", str(exc))
            raise
        finally:
            await self._close()

    def _ended(self, status: RunStatus, error: str = "") -> None:
        """Record how the run ended (best effort: the store itself may be what failed)."""
        if self.store.locked:  # (a run another process drives is not this one's to mark)
            with contextlib.suppress(HoneError, sqlite3.Error):
                self.store.set_status(status, error=error)
                self.store.set_meta(replay_exact=False)
                if self._snapshots is not None:
                    self._snapshots.write()

    def _loop(self) -> Loop:
        task, store = self.task, self.store
        assert self.executor is not None
        rng = random.Random(self.seed)
        if self.resumed:
            store.restore_random_state(rng)
        timeout = call_timeout(task.model)
        # (a model passed in as an object, a replay's say, is not hedged: it is no server's)
        hedge = Hedge() if self.model is None and call_hedged(task.model) else None
        metered = Metered(
            store,
            timeout=timeout,
            model=self.model,
            clock=self.clock,
            wall=self.wall,
            pricing=self.pricing,
            max_in_flight=task.model.max_in_flight,
            hedge=hedge,
            budget=task.budget,
        )
        search = task.search
        population, strategy = self._population()
        return Loop(
            task=task,
            model=metered,
            fix=Fixer(metered, task.budget, search.fix_attempts),
            verifier=self.executor,
            store=store,
            strategy=strategy,
            prompter=Prompter(task, search.crossover),
            population=population,
            memory=Memory(task, store, metered, rng),
            rounds=Rounds(
                search.hypotheses_per_round,
                deterministic=search.deterministic,
                last_round=max(store.last_round(), 0),
            ),
            rng=rng,
            emit=self._emit,
            tuner=Tuner(task, store, self.seed) if search.tune else None,
            trust=self._trust(),
            clock=self.clock,
            wall=self.wall,
        )

    def _checker(self) -> Checker | None:
        """What runs the checks of new bests: a verifier passed in that can, else a worker
        of the task's evaluator when it defines checks (none for a verifier passed in)."""
        if self.executor is not None:
            given = self.executor
            return given if isinstance(given, Checker) and given.checks else None
        config = self.task.evaluation
        validator = visible.resolve(config.validator, self.task.evaluator.parent)
        checks = defined_checks(
            self.task.evaluator,
            Path(validator) if config.validator else None,
            command=bool(config.validate_command),
        )
        if not checks:
            return None
        from hone.executors.local import make_checker

        self.checker_made = True
        return make_checker(self.task, checks)

    def _trust(self) -> Trust | None:
        config = self.task.evaluation
        probes = Probes(self._fresh(), config.noise, config.score_range, config.perturb)
        if self.checker is None and not probes.any:
            return None
        return Trust(
            self.checker,
            self.store,
            self.task.objective,
            self._emit,
            config.validate_top,
            probes if probes.any else None,
        )

    def _fresh(self) -> Fresh:
        """Where the probes evaluate a program again: a sandbox of its own (`Fresh`), or
        the verifier passed in."""
        if self.executor is None or self.executor_made:
            from hone.executors.local import Fresh as FreshSandbox

            return FreshSandbox(self.task)
        return _Again(self.executor)

    def _population(self) -> tuple[Population, Strategy]:
        """The hypotheses the store holds and the strategy told of each, from the run's
        snapshot and what came after it where it matches the store, else read whole
        (`hone.snapshot.restore`); a placement the store lacks (an older hone's, or one a stop
        cut short) is stored."""
        task, store = self.task, self.store
        strategy = self.strategy or make_strategy(task.search, task.objective)
        if self.resumed and self.strategy is None:
            restored = snapshot.restore(store, task, strategy, self._near_copies())
        else:  # (a strategy passed in keeps its own state: it is told of the run whole)
            restored = snapshot.read_whole(store, task, strategy, self._near_copies())
        store.set_placements(restored.placements)
        population = restored.population
        self._snapshots = snapshot.Snapshots(store, task, population, restored.strategy)
        if restored.from_snapshot:
            self._snapshots.written = len(population)
        return population, restored.strategy

    def _check_prices(self, calls: bool) -> None:
        """Price the run's calls; with a cost budget, every model must have a price, and a
        budget no call can reach is said once (the models cost 0: local, free)."""
        config = self.task.model
        urls = [server.url for server in config.servers]
        self.pricing = self.pricing or Pricing.of(config.prices, urls)
        if self.task.budget.max_cost is not None and calls:
            names = member_names(self.model) if self.model else spec_names(config.spec)
            self.pricing.require(names)
            if all(self.pricing.cost(name, 1_000_000, 1_000_000) == 0 for name in names):
                log.warning(
                    "max_cost (--max-cost) cannot stop this run: %s cost%s nothing (local or "
                    "priced at 0); the call, token and time limits still do",
                    ", ".join(names),
                    "s" if len(names) == 1 else "",
                )

    def _near_copies(self) -> NearCopies:
        threshold = self.task.search.novelty
        if self.embedder is not None and threshold:
            return EmbeddingNovelty(threshold, self.embedder)
        return NoveltyFilter(threshold, codes=self.store.codes)

    async def _run(self, loop: Loop, start: Candidate) -> RunResult:
        task, store = self.task, self.store
        if self.model is not None:  # (not built: no call could be made)
            store.set_meta(model_style=loop.model.style)  # what prompts it got, for replay
        if self.resumed and self.model is not None:
            population = loop.population
            loop.model.resume((c, population.improved(c)) for c in population.members)
        assert self.executor is not None
        protections = self.executor.protections
        if protections:
            store.set_meta(sandbox=protections)
            if "REACHABLE" in protections or "SHARED" in protections:
                log.warning("the sandbox is weaker here: %s (see hone docs security)", protections)
        if not start.evaluation.ok and loop.population.best is None:
            reason = start.evaluation.reason or start.evaluation.status
            if task.budget.max_llm_calls != 0:
                judge = (
                    f"[evaluation] command {task.evaluation.command!r}"
                    if task.evaluation.command
                    else f"the evaluator {str(task.evaluator)!r}"
                )
                raise UserError(
                    f"the starting program {task.program_filename!r} failed to evaluate "
                    f"({start.evaluation.status}: {reason}); fix it or {judge} and run again"
                )
        store.set_status("running")
        if self.resumed:
            store.set_meta(replay_exact=False)  # `hone replay` cannot know where it stopped
        reason = await loop.run()
        if reason == "model_failing" and loop.model_error is not None:
            raise loop.model_error  # the run is saved; `hone resume` goes on
        if loop.trust is not None and reason != "max_seconds":  # (time is up: no more)
            await loop.trust.finish(loop.population, task.evaluation.select)
        store.set_status("stopped", stop_reason=reason)
        if self._snapshots is not None:  # (the next resume reads only what comes after it)
            self._snapshots.write()
        if reason == "max_seconds":  # stopped mid-round: answers without hypotheses
            store.set_meta(replay_exact=False)
        best, usage = loop.population.best, loop.model.usage
        history = tuple(store.candidates())
        if loop.trust is not None:  # the best whose checks passed (or held-out's best)
            best = answer(history, task.objective, task.evaluation.select)
            if best is not None and best.tree is not None:
                write_best(store.path.parent, task, best.tree)
        self._emit(Stopped(reason, best, usage))
        return RunResult(store.path.parent, best, reason, history, usage, protections)

    def _emit(self, event: Event) -> None:
        if isinstance(event, HypothesisEvaluated) and self._snapshots is not None:
            self._snapshots.grew()
        if isinstance(event, NewBest) and event.candidate.tree is not None:
            write_best(self.store.path.parent, self.task, event.candidate.tree)
        if self.export is not None:
            self.export(event)
        if self.on_event is not None:
            self.on_event(event)

    async def _close(self) -> None:
        try:
            if self.executor is not None:
                await self.executor.close()
            if self.checker is not None and self.checker_made:
                await self.checker.close()
        finally:
            try:
                if self.model is not None:
                    await self.model.close()
                if self.embedder is not None:
                    await self.embedder.close()
            finally:
                self.store.close()
                if self.export is not None:  # (it reads the store with a connection of its own)
                    self.export.close()


@dataclass(frozen=True)
class _Again:
    """The probes' second evaluation by a verifier passed in (a test's double)."""

    verifier: Verifier

    async def evaluate(self, program: Tree, eval_seed: int = 0) -> Verified:
        return await self.verifier.verify(program)


async def _build_model(config: ModelConfig) -> Model:
    return await asyncio.to_thread(make_model, config)


def best_file(task: Task) -> str:
    """The name of what in the run directory holds the best program: best.py, best.c... (a
    one-file task's), or the folder best/ (a folder task's tree)."""
    if task.folder:
        return "best"
    return "best" + (Path(task.program_filename).suffix or ".txt")


def write_best(run_dir: Path, task: Task, tree: Tree) -> None:
    """Keep the best program in the run directory (`best_file`): a reader sees the old one or
    the new one whole, never half."""
    target = run_dir / best_file(task)
    if not task.folder:
        write_atomic(target, tree.text)
        return
    fresh = Path(tempfile.mkdtemp(prefix=".best-", dir=run_dir))
    for path, text in tree.items():
        (fresh / path).parent.mkdir(parents=True, exist_ok=True)
        (fresh / path).write_text(text, encoding="utf-8")
    fresh.chmod(0o755)
    if not target.exists():
        os.rename(fresh, target)
    elif _exchange(fresh, target):  # (one step: `best` is the old tree or the new one)
        shutil.rmtree(fresh, ignore_errors=True)
    else:  # a file system without the exchange: a moment without best/
        old = Path(tempfile.mkdtemp(prefix=".best-old-", dir=run_dir))
        os.replace(target, old / "best")
        os.rename(fresh, target)
        shutil.rmtree(old, ignore_errors=True)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step (Linux's renameat2 with RENAME_EXCHANGE); False where the
    system cannot."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_cwd, exchange = -100, 2
    return bool(renameat2(at_cwd, bytes(a), at_cwd, bytes(b), exchange) == 0)


def write_atomic(path: Path, text: str) -> None:
    """Write `text` to `path` so that a reader sees the old file or the new one, never half."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def run_meta(task: Task, seed: int) -> RunMeta:
    """What a new run's store records of its task and settings (resume and replay read it)."""
    return RunMeta(
        task_dir=str(task.root) if task.root else None,
        task_source=task.source.to_json() if task.source else None,
        task_name=task.name,
        program_filename=task.program_filename,
        seed=seed,
        objective=task.objective,
        budget=dataclasses.asdict(task.budget),
        search=dataclasses.asdict(task.search),
        evaluation=dataclasses.asdict(task.evaluation),
        model=dataclasses.asdict(task.model),
    )


def checked_read_only(task: Task, *run_dirs: Path) -> Task:
    """`task` with its `[evaluation] read_only` paths resolved (relative ones against the task
    folder) and checked before anything is made or asked of a model: a path that does not
    exist, or that would show evaluations a secret, a home directory or a run's own folder
    (`run_dirs`, with its store), is a ConfigError (hone.sandbox.visible)."""
    guarded = {d: "the run's own folder" for d in run_dirs}
    paths = visible.checked(task.evaluation.read_only, task.root or Path.cwd(), guarded)
    return task.configured(evaluation={"read_only": paths, "holdout": checked_holdout(task)})


def checked_holdout(task: Task) -> tuple[str, ...]:
    """The task's `[evaluation] holdout` paths, resolved against its folder; one that does
    not exist, that is no place to show evaluations (`visible.refusal`), or that lies in a
    folder task's program folder (each candidate's tree is laid over that folder, where no
    path can be hidden) is a ConfigError."""
    base = task.root or task.evaluator.parent
    paths = tuple(dict.fromkeys(visible.resolve(p, base) for p in task.evaluation.holdout))
    program = os.path.realpath(task.spec.base) if task.folder and task.spec.base else None
    for path in paths:
        reason = visible.refusal(path)
        real = os.path.realpath(path)
        if program is not None and (real == program or real.startswith(program + os.sep)):
            reason = f"lies in the program folder {program!r}, which every candidate sees"
        if reason:
            raise ConfigError(
                f"holdout path {path!r} {reason}; [evaluation] holdout names the held-out "
                "data's files or folders, relative to the task folder"
            )
    return paths


def task_from_meta(meta: RunMeta, task: Task | None = None) -> Task:
    """The task a run was started on, reloaded from its folder (or `task`, for a run
    started from Python without one), with the run's settings."""
    if task is None:
        task_dir = meta.task_dir
        if not task_dir:
            raise RunDirError(
                "this run was started from Python without a task folder; resume it with "
                "hone.resume(run_dir, task=task)"
            )
        from hone.formats import Options, load_task

        try:
            task = load_task(Path(task_dir), Options.from_json(meta.task_source))
        except UserError as exc:
            raise RunDirError(f"cannot reload the run's task from {task_dir!r}: {exc}") from None
    return dataclasses.replace(
        task,
        budget=Budget(**meta.budget),
        search=SearchConfig(**meta.search),
        evaluation=EvaluationConfig.of(meta.evaluation),  # (read_paths, before read_only)
        model=ModelConfig.of(meta.model),
    )
