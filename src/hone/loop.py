"""The cycle: select, prompt, propose, verify, register, repeat until a stop rule fires.

Every decision is a collaborator's: the strategy picks what goes back to the model, the
prompter words it, the metered model answers, the fixer sends back what cannot be applied,
the verifier scores, the population remembers, the memory reflects, the rounds pace, and the
budget's rules say when to stop.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from hone import budget
from hone.budget import StopReason
from hone.events import EventHandler, HypothesisEvaluated, NewBest, RoundStarted
from hone.exceptions import ModelError
from hone.executors import Verifier
from hone.hypothesis import Answer, Launch, propose
from hone.models.metered import Metered
from hone.population import Added, Candidate, Population
from hone.prompts import Prompter, parse_answer
from hone.reflection import Memory
from hone.rounds import Rounds
from hone.store import Store
from hone.strategies import Strategy
from hone.task import Task
from hone.trust import Trust
from hone.tuning import Tuner

log = logging.getLogger("hone")


@dataclass
class Loop:
    """One run's collaborators; `run()` drives the cycle until it stops, once `start()` has
    verified what the run starts from."""

    task: Task
    model: Metered
    fix: Callable[[Answer], Awaitable[Answer]]  # the fix step (`hone.prompts.fix.Fixer`)
    verifier: Verifier
    store: Store
    strategy: Strategy
    prompter: Prompter
    population: Population
    memory: Memory
    rounds: Rounds
    rng: random.Random
    emit: EventHandler
    tuner: Tuner | None = None  # parameter tuning of promising programs ([search] tune)
    trust: Trust | None = None  # the checks of each new best (held-out, strict re-checks)
    clock: Callable[[], float] = time.monotonic  # for the time budget
    wall: Callable[[], float] = time.time  # for the times stored
    failures: int = 0  # model calls failed in a row
    model_error: ModelError | None = None  # the last one
    unchecked: list[Candidate] = field(default_factory=list)  # new bests the checks await

    async def run(self) -> StopReason:
        """Keep a round's worth of hypotheses in flight until a stop rule fires.

        Each hypothesis is one pass through the cycle: select parents and build the prompt
        from everything verified so far (steps 1, 4, 5), ask the model (2), verify (3),
        register. A new one starts as soon as one finishes (pipelined) or once the round is
        registered (deterministic). When a stop rule fires no new hypothesis starts and
        those in flight are finished and stored, unless the rule abandons them (time is up):
        then what was verified counts.
        """
        started = self.clock()
        running: set[asyncio.Task[None]] = set()
        try:
            while True:
                reason = self._stop_reason(started, running)
                while reason is None and self.rounds.may_launch(len(running)):
                    running.add(asyncio.create_task(self._hypothesis(self._launch())))
                    reason = self._stop_reason(started, running)
                self.store.save_random_state(self.rng)
                if reason is not None and (not running or budget.abandons(reason)):
                    if running:
                        self._add_verified()
                    return reason
                left = budget.time_left(self.task.budget, self.clock() - started)
                done, running = await asyncio.wait(
                    running, timeout=left, return_when=asyncio.FIRST_COMPLETED
                )
                for hypothesis in done:
                    if (error := hypothesis.exception()) is not None:  # not the model's: the run
                        # ends once the calls in flight are answered and stored (each is paid)
                        await asyncio.gather(*running, return_exceptions=True)
                        running = set()
                        raise error
        finally:
            for hypothesis in running:
                hypothesis.cancel()
            await asyncio.gather(*running, return_exceptions=True)

    def _launch(self) -> Launch:
        """Steps 1 and 4: the strategy picks what goes back to the model, in a prompt."""
        self.model.reserve()  # counted against the call budget from now on
        slot = self.rounds.launch()
        if slot.index == 0:
            usage, in_flight = self.model.usage, self.model.in_flight
            size = budget.round_size(self.task.budget, self.rounds.width, usage, in_flight)
            self.emit(RoundStarted(slot.round, size))
        selection = self.strategy.select(self.population, self.rng).whole(self.population.full)
        selection = dataclasses.replace(selection, copies=self.population.copies)
        prompt = self.prompter.prompt(selection, self.model.style, self.memory.text, self.rng)
        return Launch(prompt, self.rng.randrange(2**31), slot)

    async def _hypothesis(self, launch: Launch) -> None:
        """One hypothesis after its prompt: answered (2), fixed, stored, verified (3), registered."""
        try:
            try:
                answer: Answer | ModelError = await self._ask(launch)
            except ModelError as error:
                answer = error
            async with self.rounds.in_order(launch.slot):
                if isinstance(answer, ModelError):
                    return self._model_failed(answer)
                self._model_answered()
                answer = await self.fix(answer)
                candidate = await propose(
                    self.store, self.population, launch.prompt, answer.edit,
                    launch.slot.round, answer.call_id,
                )  # fmt: skip
            if candidate.evaluation.status == "pending":
                candidate = await self._verify(candidate)
            async with self.rounds.registering(launch.slot):
                await self._register(candidate)
        finally:
            launch.slot.close()

    async def _ask(self, launch: Launch) -> Answer:
        """The model's answer to a prompt, parsed into an edit."""
        request = launch.prompt.request(self.task.model, launch.seed)
        purpose = launch.prompt.purpose()
        completion, call_id = await self.model.call(request, launch.slot.round, purpose)
        edit = parse_answer(launch.prompt, completion.text)
        return Answer(launch, request, completion, call_id, edit)

    async def _verify(self, candidate: Candidate) -> Candidate:
        """Step 3: verify a stored hypothesis and store the outcome (that of an identical
        program verified before, when there is one)."""
        program = candidate.tree
        assert program is not None  # (pending hypotheses have one)
        earlier = self.population.cached(program) if self.task.evaluation.cache else None
        if earlier is not None:  # the same program, up to comments and layout: reuse it
            reused = dataclasses.replace(earlier.evaluation, seconds=0.0, cpu_seconds=0.0)
            return self.store.set_evaluation(
                candidate, reused, output=earlier.output, cached_from=earlier.id
            )
        asked, done = self.wall(), await self.verifier.verify(program)
        started = done.started or asked
        return self.store.set_evaluation(
            candidate, done.evaluation, output=done.output, started=started, attempts=done.attempts
        )

    async def _register(self, candidate: Candidate) -> None:
        """Steps 4 and 5: the outcome joins the population, the model is credited, the memory
        reflects on a complete round, and a promising program may be tuned."""
        added = self._add(candidate)
        await self._check()
        self.model.credit(candidate, added.improved_parent)
        await self.memory.after(candidate.round, self.population)
        await self._tune()

    async def start(self, waiting: list[Candidate]) -> Candidate:
        """Before the cycle: verify what the run starts from (`hone.recovery.waiting`), all at
        once; register it in order; the first hypothesis."""
        verified = [self._verify(c) for c in waiting if c.evaluation.status == "pending"]
        done = {c.id: c for c in await asyncio.gather(*verified)}
        for candidate in waiting:
            self._add(done.get(candidate.id, candidate))
        await self._check()
        await self._tune()
        return self.population.members[0]

    async def _tune(self) -> None:  # trials are verified and registered as hypotheses are
        if self.tuner is not None:
            await self.tuner.after(self.population, self._verify, self._add)
            await self._check()

    async def _check(self) -> None:
        """A new best is reported once its checks pass (`hone.trust`): held-out validation,
        the strict re-check."""
        while self.unchecked and self.trust is not None:
            checked = await self.trust.new_best(self.unchecked.pop(0))
            if checked.verified is not False:
                self.emit(NewBest(checked))

    def _add(self, candidate: Candidate) -> Added:
        """The hypothesis joins the population; the strategy is told, and where it placed it
        is stored."""
        added = self.population.add(candidate)
        placement = self.strategy.tell(added, self.population)
        self.store.set_placements([(candidate.id, placement.as_json())])
        self.emit(HypothesisEvaluated(candidate, self.model.usage))
        if added.new_best and self.trust is not None:
            self.unchecked.append(candidate)
        elif added.new_best:
            self.emit(NewBest(candidate))
        return added

    def _add_verified(self) -> None:
        """What was verified before the run stopped counts, registered or not (in id order)."""
        for candidate in self.store.candidates_by_id(sorted(self.store.unplaced())):
            if candidate.id not in self.population:
                self._add(candidate)

    def _model_failed(self, error: ModelError) -> None:
        if self._failing:
            return  # (the run is stopping with the error that made it stop)
        self.failures, self.model_error = self.failures + 1, error
        if not self._failing:
            log.warning("a model call failed; the run goes on without it: %s", error)

    def _model_answered(self) -> None:
        if not self._failing:  # (a run stopping because the model failed stops still)
            self.failures = 0

    @property
    def _failing(self) -> bool:
        return budget.model_failing(self.failures, self.rounds.width)

    def _stop_reason(self, started: float, running: set[asyncio.Task[None]]) -> StopReason | None:
        rounds, population, model = self.rounds, self.population, self.model
        progress = budget.Progress(
            model.usage, model.in_flight, self.clock() - started, rounds.round,
            population.best_round, population.best_score, rounds.opens,
            self.failures, rounds.width, len(running),
        )  # fmt: skip
        return budget.stop_reason(self.task.budget, self.task.objective, progress)
