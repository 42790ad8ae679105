"""The cycle: select, prompt, propose, verify, register, repeat until a stop rule fires.

Every decision is a collaborator's: the strategy picks what goes back to the model, the
prompter words it, the metered model answers, the verifier scores, the population remembers,
the memory reflects, the rounds pace, and the budget's rules say when to stop.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

from hone import budget
from hone.budget import StopReason
from hone.edits import Edit
from hone.evaluation import Evaluation
from hone.events import EventHandler, HypothesisEvaluated, NewBest, RoundStarted
from hone.exceptions import ModelError
from hone.executors import Verifier
from hone.hypothesis import Answer, Launch
from hone.models.metered import Metered
from hone.population import Added, Candidate, Population
from hone.prompts import Prompt, Prompter, chat, parse_answer
from hone.reflection import Memory
from hone.rounds import Rounds
from hone.store import Store
from hone.strategies import Strategy
from hone.task import Task
from hone.tuning import Tuner

log = logging.getLogger("hone")


@dataclass
class Loop:
    """One run's collaborators; `start()` verifies the starting programs, `run()` drives the
    cycle until it stops."""

    task: Task
    model: Metered
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
    clock: Callable[[], float] = time.monotonic
    failures: int = 0  # model calls failed in a row

    async def start(self) -> Candidate:
        """Verify the starting program and the task's archive (a new run) or what a stopped
        run left: pending hypotheses, and answers stored without their hypothesis (made into
        theirs now, never asked again); all at once; register them in order; the first."""
        waiting = self.store.candidates(pending=True)
        if not self.population.members and not waiting:
            programs = (self.task.program, *(code for _, code in self.task.archive))
            waiting = [self.store.add_candidate(round=0, code=p) for p in programs]
        for row in self.store.unclaimed_answers():
            purpose = json.loads(row["purpose"])
            prompt = Prompt.answered(purpose, [self.population.get(i) for i in purpose["parents"]])
            edit = parse_answer(prompt, row["completion"])
            waiting.append(await self._propose(prompt, edit, row["round"], row["id"]))
        verified = [self._verify(c) for c in waiting if c.evaluation.status == "pending"]
        done = {c.id: c for c in await asyncio.gather(*verified)}
        for candidate in waiting:
            self._add(done.get(candidate.id, candidate))
        await self._tune()
        return self.population.members[0]

    async def run(self) -> StopReason:
        """Keep a round's worth of hypotheses in flight until a stop rule fires.

        Each hypothesis is one pass through the cycle: select parents and build the prompt
        from everything verified so far (steps 1, 4, 5), ask the model (2), verify (3),
        register. A new one starts as soon as one finishes (pipelined) or once the round is
        registered (deterministic). When a stop rule fires no new hypothesis starts and
        those in flight are finished and stored.
        """
        started = self.clock()
        running: set[asyncio.Task[None]] = set()
        try:
            while True:
                reason = self._stop_reason(started)
                while reason is None and self.rounds.may_launch(len(running)):
                    running.add(asyncio.create_task(self._hypothesis(self._launch())))
                    reason = self._stop_reason(started)
                self.store.save_random_state(self.rng)
                if not running:
                    assert reason is not None  # otherwise a hypothesis would have started
                    return reason
                left = budget.time_left(self.task.budget, self.clock() - started)
                done, running = await asyncio.wait(
                    running, timeout=left, return_when=asyncio.FIRST_COMPLETED
                )
                if not done:
                    self._add_verified()
                    return "max_seconds"
                failed = [e for h in done if (e := h.exception()) is not None]
                if failed:  # a round's worth of model failures stops the run, once the
                    # calls in flight are answered and stored (each may be paid for)
                    await asyncio.gather(*running, return_exceptions=True)
                    running = set()
                    raise failed[0]
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
                self.failures = 0
                answer = await self._fix(answer)
                prompt, round_ = launch.prompt, launch.slot.round
                candidate = await self._propose(prompt, answer.edit, round_, answer.call_id)
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

    async def _fix(self, answer: Answer) -> Answer:
        """The fix step: an answer that cannot be applied goes back with its error, in the same
        conversation, up to `fix_attempts` times (chat models)."""
        for _ in range(self.task.search.fix_attempts if answer.request.messages else 0):
            if answer.edit.ok or not self._may_call():
                break
            messages = chat.fix(answer.request.messages, answer.completion.text, answer.edit.reason)
            request = dataclasses.replace(answer.request, messages=messages)
            self.model.reserve()
            purpose = answer.launch.prompt.purpose(fix_of=answer.call_id)
            try:
                completion, call_id = await self.model.call(
                    request, answer.launch.slot.round, purpose
                )
            except ModelError as error:  # the answer is kept, unfixed, as a failed hypothesis
                log.warning("a fix call failed; the answer stays as it was: %s", error)
                break
            edit = parse_answer(answer.launch.prompt, completion.text)
            answer = Answer(answer.launch, request, completion, call_id, edit)
        return answer

    async def _propose(self, prompt: Prompt, edit: Edit, round_: int, call_id: int) -> Candidate:
        """Store the hypothesis before anything depends on it (a stop during the near-copy
        check, which may call an embedding model, leaves it pending for resume); it has
        failed already when the answer holds no applicable edit or a near-copy."""
        candidate = self.store.add_candidate(
            round=round_,
            code=edit.program,
            parent_ids=prompt.parent_ids,
            call_id=call_id,
            evaluation=None if edit.ok else Evaluation.failed("invalid-edit", edit.reason),
            niche=prompt.niche,
        )
        near = await self.population.near_copy(edit.program) if edit.program else None
        if near is None:
            return candidate
        why = f"a near-copy of program #{near[0]} (similarity {near[1]:.2f}); change more than that"
        return self.store.set_evaluation(candidate, Evaluation.failed("duplicate", why))

    async def _verify(self, candidate: Candidate) -> Candidate:
        """Step 3: verify a stored hypothesis and store the outcome (that of an identical
        program verified before, when there is one)."""
        program = candidate.code or ""
        earlier = self.population.cached(program) if self.task.evaluation.cache else None
        if earlier is not None:  # the same program, up to comments and layout: reuse it
            reused = dataclasses.replace(earlier.evaluation, seconds=0.0, cpu_seconds=0.0)
            return self.store.set_evaluation(
                candidate, reused, output=earlier.output, cached_from=earlier.id
            )
        asked, done = time.time(), await self.verifier.verify(program)
        started = done.started or asked
        return self.store.set_evaluation(
            candidate, done.evaluation, output=done.output, started=started
        )

    async def _register(self, candidate: Candidate) -> None:
        """Steps 4 and 5: the outcome joins the population, the model is credited, the memory
        reflects on a complete round, and a promising program may be tuned."""
        added = self._add(candidate)
        self.model.credit(candidate, added.improved_parent)
        await self.memory.after(candidate.round, self.population)
        await self._tune()

    async def _tune(self) -> None:  # trials are verified and registered as hypotheses are
        if self.tuner is not None:
            await self.tuner.after(self.population, self._verify, self._add)

    def _add(self, candidate: Candidate) -> Added:
        """The hypothesis joins the population; the strategy is told, and where it placed it
        is stored."""
        added = self.population.add(candidate)
        placement = self.strategy.tell(added, self.population)
        self.store.set_placements([(candidate.id, placement.as_json())])
        self.emit(HypothesisEvaluated(candidate, self.model.usage))
        if added.new_best:
            self.emit(NewBest(candidate))
        return added

    def _add_verified(self) -> None:
        """What was verified before time ran out counts, registered or not (in id order)."""
        for candidate in self.store.candidates():
            if candidate.id not in self.population:
                self._add(candidate)

    def _model_failed(self, error: ModelError) -> None:
        self.failures += 1
        if budget.model_failing(self.failures, self.rounds.width):
            raise error
        log.warning("a model call failed; the run goes on without it: %s", error)

    def _may_call(self) -> bool:
        return budget.may_call(self.task.budget, self.model.usage, self.model.in_flight)

    def _stop_reason(self, started: float) -> StopReason | None:
        rounds, population = self.rounds, self.population
        progress = budget.Progress(
            self.model.usage, self.model.in_flight, self.clock() - started, rounds.round,
            population.best_round, population.best_score, rounds.opens,
        )  # fmt: skip
        return budget.stop_reason(self.task.budget, self.task.objective, progress)
