"""The cycle: select, prompt, propose, verify, register, repeat until a stop rule fires."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import random
import time
from asyncio import FIRST_COMPLETED
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeAlias

from hone.edits import Edit, program_key
from hone.evaluation import Evaluation
from hone.events import EventHandler, HypothesisEvaluated, NewBest, RoundStarted, StopReason
from hone.exceptions import ModelError
from hone.models.base import Completion, Message, Model, Request
from hone.models.embeddings import Embedder
from hone.novelty import EmbeddingNovelty, NoveltyFilter
from hone.prompts import Prompt, build_prompt, chat, parse_answer
from hone.sandbox import Verifier
from hone.store import Candidate, Store, Usage
from hone.strategies import Strategy
from hone.task import Task

log = logging.getLogger("hone")

Launch: TypeAlias = tuple[Prompt, int, int]  # a hypothesis's prompt, sampling seed and round


@dataclass(frozen=True)
class Answer:
    """A hypothesis between the model's answer and its verification."""

    prompt: Prompt
    request: Request
    round: int
    completion: Completion
    call_id: int
    edit: Edit


@dataclass
class Loop:
    """One run's collaborators and state; `run()` drives the cycle until it stops."""

    task: Task
    model: Model
    verifier: Verifier
    store: Store
    strategy: Strategy
    rng: random.Random
    emit: EventHandler
    clock: Callable[[], float] = time.monotonic
    population: list[Candidate] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    best: Candidate | None = None
    best_round: int = 0
    round: int = 0
    launched: int = 0  # hypotheses started in the current round
    calling: int = 0  # model calls under way
    evaluated: dict[str, Candidate] = field(default_factory=dict)  # by program_key
    memory: str = ""  # insights and the last analysis, for chat prompts
    novelty: NoveltyFilter | EmbeddingNovelty = field(default_factory=NoveltyFilter)
    embedder: Embedder | None = None  # for the novelty filter, when an embedding model is set
    reflected: set[int] = field(default_factory=set)  # rounds analysed

    async def run(self) -> StopReason:
        """Keep a round's worth of hypotheses in flight until a stop rule fires.

        Each hypothesis is one pass through the cycle: select parents and build the prompt
        from everything verified so far (steps 1, 4, 5), ask the model (2), verify (3). A new
        one starts as soon as one finishes, so neither the model nor the workers wait for the
        slowest hypothesis of a round; a round is every `hypotheses_per_round` of them. When a
        stop rule fires no new hypothesis starts and those in flight are finished and stored.
        """
        self._load()
        self._replay_rewards()
        started = self.clock()
        if self.task.search.deterministic:
            return await self._run_rounds(started)
        running: set[asyncio.Task[Candidate]] = set()
        failures = 0  # model errors in a row
        try:
            while True:
                reason = self._stop_reason(started)
                while reason is None and len(running) < self._width():
                    self.calling += 1  # until its model call returns
                    running.add(asyncio.create_task(self._hypothesis(self._next_prompt())))
                    reason = self._stop_reason(started)
                if not running:
                    assert reason is not None  # otherwise a hypothesis would have started
                    return reason
                done, running = await asyncio.wait(
                    running, timeout=self._time_left(started), return_when=FIRST_COMPLETED
                )
                if not done:
                    return "max_seconds"
                self.store.set_meta(rng_state=_state(self.rng))
                for error in [h.exception() for h in done]:  # every one retrieved
                    if error is None:
                        failures = 0
                    elif isinstance(error, ModelError) and failures + 1 < self._width():
                        failures += 1
                        log.warning("a model call failed; the run goes on without it: %s", error)
                    else:
                        raise error  # the model failed a round's worth of calls in a row
        finally:
            for hypothesis in running:
                hypothesis.cancel()
            await asyncio.gather(*running, return_exceptions=True)

    async def _run_rounds(self, started: float) -> StopReason:
        """`run` with a barrier after each round (`[search] deterministic`), so that the same
        seed and the same answers give the same run whatever finishes first (`hone replay`).

        A round's prompts are built in order and the model answers them all at once. The
        answers are taken in launch order as they come in: each is fixed (one call at a time)
        and stored, and its verification starts at once. Registration waits for the whole
        round and goes in order. The price: the model waits for the round's slowest
        evaluation, and fix calls do not overlap.
        """
        failures = 0  # model errors in a row
        while True:
            launches: list[Launch] = []
            reason = self._stop_reason(started)
            while reason is None and (not launches or self.launched < self._width()):
                self.calling += 1
                launches.append(self._next_prompt())
                reason = self._stop_reason(started)
            if not launches:
                assert reason is not None
                return reason
            self.store.set_meta(rng_state=_state(self.rng))
            asks = [asyncio.create_task(self._ask(launch)) for launch in launches]
            checks: list[asyncio.Task[None]] = []
            proposed: list[tuple[int, Prompt]] = []
            committed = 0
            try:
                async with asyncio.timeout(self._time_left(started)):
                    for ask in asks:
                        try:
                            answer = await ask
                        except ModelError as error:
                            if failures + 1 >= self._width():
                                raise  # the model failed a round's worth of calls in a row
                            failures += 1
                            log.warning(
                                "a model call failed; the run goes on without it: %s", error
                            )
                            continue
                        failures = 0
                        answer = await self._fix(answer)
                        candidate_id, program = await self._propose(answer)
                        proposed.append((candidate_id, answer.prompt))
                        if program is not None:
                            checks.append(
                                asyncio.create_task(self._evaluate(candidate_id, program))
                            )
                    await asyncio.gather(*checks)
                    for committed, (candidate_id, prompt) in enumerate(proposed, 1):  # noqa: B007
                        await self._commit(candidate_id, prompt)
            except TimeoutError:
                waiting = {c.id for c in self.store.candidates(pending=True)}
                for candidate_id, _ in proposed[committed:]:  # what was verified in time counts
                    if candidate_id not in waiting:
                        self._register(self.store.candidate(candidate_id))
                return "max_seconds"
            finally:
                for task in (*asks, *checks):
                    task.cancel()
                await asyncio.gather(*asks, *checks, return_exceptions=True)

    async def start(self) -> Candidate:
        """Evaluate the starting program and the task's archive (a new run) or the leftovers
        of an interrupted one, all at once; register them in order; return the first."""
        self._load()
        if not self.population and not self.store.candidates(pending=True):
            for program in (self.task.program, *(code for _, code in self.task.archive)):
                self.store.add_candidate(round=0, code=program)
        pending = self.store.candidates(pending=True)
        await asyncio.gather(*(self._evaluate(c.id, c.code or "") for c in pending))
        for c in pending:
            self._register(self.store.candidate(c.id))
        return self.population[0]

    def _next_prompt(self) -> Launch:
        if self.launched >= self._width():
            self.round, self.launched = self.round + 1, 0
            self.emit(RoundStarted(self.round, self._round_size()))
        self.launched += 1
        selection = self.strategy.select(self.population, self.rng)
        rate = self.task.search.crossover
        cross = rate > 0 and self.rng.random() < rate
        prompt = build_prompt(self.task, selection, self.model.style, self.memory, cross=cross)
        return prompt, self.rng.randrange(2**31), self.round

    async def _hypothesis(self, launch: Launch) -> Candidate:
        """One hypothesis after its prompt: propose (2) and fix, verify (3), register."""
        answer = await self._fix(await self._ask(launch))
        candidate_id, program = await self._propose(answer)
        if program is not None:
            await self._evaluate(candidate_id, program)
        return await self._commit(candidate_id, answer.prompt)

    async def _ask(self, launch: Launch) -> Answer:
        """The model's answer to a prompt, parsed into an edit."""
        prompt, seed, round_ = launch
        request = Request(
            text=prompt.text,
            messages=prompt.messages,
            temperature=self.task.model.temperature,
            max_tokens=self.task.model.max_completion_tokens,
            seed=seed,
            stop=prompt.stop,
        )
        try:
            completion, call_id = await self._call(request, round_)
        finally:
            self.calling -= 1
        return Answer(
            prompt, request, round_, completion, call_id, parse_answer(prompt, completion.text)
        )

    async def _fix(self, answer: Answer) -> Answer:
        """The fix step: an answer that cannot be applied goes back with its error, in the same
        conversation, up to `fix_attempts` times (chat models)."""
        prompt, request = answer.prompt, answer.request
        for _ in range(self.task.search.fix_attempts if prompt.messages else 0):
            if answer.edit.ok or not self._may_call():
                break
            request = dataclasses.replace(
                request,
                messages=(
                    *request.messages,
                    Message("assistant", answer.completion.text),
                    Message("user", fix_request(answer.edit.reason)),
                ),
            )
            self.calling += 1
            try:
                completion, call_id = await self._call(request, answer.round)
            except ModelError as error:  # the answer is kept, unfixed, as a failed hypothesis
                log.warning("a fix call failed; the answer stays as it was: %s", error)
                break
            finally:
                self.calling -= 1
            edit = parse_answer(prompt, completion.text)
            answer = Answer(prompt, request, answer.round, completion, call_id, edit)
        return answer

    async def _propose(self, answer: Answer) -> tuple[int, str | None]:
        """Store the hypothesis; return its id and the program to verify, or None when it has
        already failed (the answer holds no applicable edit, or a near-copy). It is stored
        before the novelty check, which may call an embedding model: a stop during that call
        leaves it pending, and a resumed run verifies it."""
        prompt, edit = answer.prompt, answer.edit
        candidate_id = self.store.add_candidate(
            round=answer.round,
            code=edit.program,
            parent_ids=prompt.parent_ids,
            call_id=answer.call_id,
            evaluation=None if edit.ok else Evaluation.failed("invalid-edit", edit.reason),
            niche=prompt.niche,
        )
        program = edit.program
        if program is None or not edit.ok:
            return candidate_id, None
        # (identical programs are the cache's business, in _evaluate)
        if self.novelty.threshold and program_key(program) not in self.evaluated:
            near = await self.novelty.check(program)
            if near is not None:
                reason = (
                    f"a near-copy of program #{near[0]} (similarity {near[1]:.2f}); "
                    "change more than that"
                )
                self.store.set_evaluation(candidate_id, Evaluation.failed("duplicate", reason))
                return candidate_id, None
        return candidate_id, program

    async def _commit(self, candidate_id: int, prompt: Prompt) -> Candidate:
        """Register a verified hypothesis (step 4), tell the model how it did, and reflect on
        its round once the round is complete."""
        candidate = self._register(self.store.candidate(candidate_id))
        self._rewarded(candidate, prompt)
        await self._reflect(candidate.round)
        return candidate

    def _rewarded(self, candidate: Candidate, prompt: Prompt) -> Candidate:
        """Tell a model that learns from outcomes (an ensemble) how its answer did."""
        reward = getattr(self.model, "reward", None)
        if reward is not None and candidate.call_id is not None:
            model = self.store.call_models(candidate.call_id).get(candidate.call_id, "")
            reward(model, self._improvement(candidate, prompt.parent))
        return candidate

    async def _reflect(self, round_: int) -> None:
        """Once a round's hypotheses are all in, ask the model to analyse it (chat models, when
        `[search] reflection` is on); every `insights_every` rounds, condense the analyses."""
        search = self.task.search
        done = [c for c in self.population if c.round == round_]
        if (
            not search.reflection
            or self.model.style != "chat"
            or round_ in self.reflected
            or len(done) < search.hypotheses_per_round
            or not self._may_call()
        ):
            return
        self.reflected.add(round_)
        best = self.best or done[0]
        messages = chat.reflection(self.task, done, best, self.memory)
        text = await self._note(messages, round_, "reflection")
        if text is None:
            return
        if len(self.reflected) % search.insights_every == 0 and self._may_call():
            analyses = [t for _, t in self.store.notes("reflection")][-search.insights_every :]
            insights = self.store.notes("insights")
            previous = insights[-1][1] if insights else ""
            await self._note(chat.condensation(self.task, analyses, previous), round_, "insights")
        self.memory = self._memory()

    async def _note(self, messages: tuple[Message, ...], round_: int, kind: str) -> str | None:
        request = Request(
            messages=messages,
            temperature=self.task.model.temperature,
            max_tokens=self.task.model.max_completion_tokens,
            seed=self.rng.randrange(2**31),
        )
        self.calling += 1
        try:
            completion, call_id = await self._call(request, round_)
        except ModelError as exc:
            log.warning("the %s call failed; the run goes on without it: %s", kind, exc)
            return None
        finally:
            self.calling -= 1
        text = completion.text.strip()
        if text:
            self.store.add_note(round=round_, kind=kind, text=text, call_id=call_id)
        return text

    def _memory(self) -> str:
        insights = self.store.notes("insights")
        analyses = self.store.notes("reflection")
        parts = []
        if insights:
            parts.append(f"## Insights from earlier rounds\n{insights[-1][1]}")
        if analyses and (not insights or analyses[-1][0] > insights[-1][0]):
            parts.append(f"## Analysis of round {analyses[-1][0]}\n{analyses[-1][1]}")
        return "\n\n".join(parts)

    def _replay_rewards(self) -> None:
        """A resumed run's model learns again what it learnt before the stop."""
        reward = getattr(self.model, "reward", None)
        if reward is None:
            return
        models, by_id = self.store.call_models(), {c.id: c for c in self.population}
        for c in self.population:
            if c.call_id is not None and c.parent_ids:
                value = self._improvement(c, by_id.get(c.parent_ids[0]))
                reward(models.get(c.call_id, ""), value, replayed=True)

    def _improvement(self, candidate: Candidate, parent: Candidate | None) -> float:
        if candidate.score is None or parent is None or parent.score is None:
            return 0.0
        return 1.0 if self.task.better(candidate.score, parent.score) else 0.0

    async def _call(self, request: Request, round_: int) -> tuple[Completion, int]:
        """One model call, stored and counted; a call past its deadline is a ModelError."""
        wall, t0 = time.time(), self.clock()
        try:
            completion = await asyncio.wait_for(
                self.model.generate(request), self.task.model.timeout
            )
        except TimeoutError:
            raise ModelError(
                f"{self.model.name} did not answer within {self.task.model.timeout:g} s; "
                "raise [model] timeout or use a faster model"
            ) from None
        call_id = self.store.add_call(
            round=round_,
            model=completion.model or self.model.name,
            prompt=request.as_text(),
            completion=completion.text,
            prompt_tokens=completion.prompt_tokens,
            completion_tokens=completion.completion_tokens,
            started=wall,
            latency=self.clock() - t0,
            seed=request.seed,
        )
        self.usage = Usage(
            self.usage.calls + 1,
            self.usage.prompt_tokens + completion.prompt_tokens,
            self.usage.completion_tokens + completion.completion_tokens,
        )
        return completion, call_id

    def _may_call(self) -> bool:
        b = self.task.budget
        calls_ok = b.max_llm_calls is None or self.usage.calls + self.calling < b.max_llm_calls
        return calls_ok and (b.max_tokens is None or self.usage.tokens < b.max_tokens)

    async def _verify(self, candidate_id: int, program: str) -> Candidate:
        await self._evaluate(candidate_id, program)
        return self._register(self.store.candidate(candidate_id))

    async def _evaluate(self, candidate_id: int, program: str) -> None:
        """Verify a stored hypothesis and store the outcome (an identical program's, if any)."""
        key = program_key(program)
        earlier = self.evaluated.get(key) if self.task.evaluation.cache else None
        if earlier is not None:  # the same program, up to comments and layout: reuse it
            reused = dataclasses.replace(earlier.evaluation, seconds=0.0, cpu_seconds=0.0)
            self.store.set_evaluation(
                candidate_id, reused, output=earlier.output, cached_from=earlier.id
            )
            return
        asked = time.time()
        verified = await self.verifier.verify(program)
        self.store.set_evaluation(
            candidate_id,
            verified.evaluation,
            output=verified.output,
            started=verified.started or asked,
        )

    def _register(self, candidate: Candidate) -> Candidate:
        self.population.append(candidate)
        self._remember(candidate)
        self.emit(HypothesisEvaluated(candidate, self.usage))
        if candidate.score is not None and self.task.better(candidate.score, self._best_score()):
            self.best, self.best_round = candidate, candidate.round
            self.emit(NewBest(candidate))
        return candidate

    def _remember(self, candidate: Candidate) -> None:
        if candidate.code is None or candidate.evaluation.status in ("killed", "duplicate"):
            return
        self.evaluated.setdefault(program_key(candidate.code), candidate)
        self.novelty.remember(candidate.id, candidate.code)

    def _best_score(self) -> float | None:
        return self.best.score if self.best is not None else None

    def _load(self) -> None:
        self.population = self.store.candidates()
        self.reflected = {r for r, _ in self.store.notes("reflection")}
        self.memory = self._memory()
        self.evaluated = {}
        threshold = self.task.search.novelty
        self.novelty = (
            EmbeddingNovelty(threshold, self.embedder)
            if self.embedder is not None and threshold
            else NoveltyFilter(threshold)
        )
        for c in self.population:
            self._remember(c)
        self.usage = self.store.usage()
        self.round = max(self.store.last_round(), 0)
        self.launched = self._width()  # the next hypothesis opens a new round
        self.best = None
        for c in self.population:
            if c.score is not None and self.task.better(c.score, self._best_score()):
                self.best, self.best_round = c, c.round

    def _width(self) -> int:
        return self.task.search.hypotheses_per_round

    def _round_size(self) -> int:
        size = self._width()
        if self.task.budget.max_llm_calls is not None:
            size = min(size, self.task.budget.max_llm_calls - self.usage.calls - self.calling + 1)
        return max(size, 1)

    def _stop_reason(self, started: float) -> StopReason | None:
        """Why no further hypothesis may start (the round rules apply when one would open)."""
        b = self.task.budget
        opens_round = self.launched >= self._width()
        if self.task.reached(self._best_score()):
            return "target"
        if b.max_llm_calls is not None and self.usage.calls + self.calling >= b.max_llm_calls:
            return "max_llm_calls"
        if b.max_tokens is not None and self.usage.tokens >= b.max_tokens:
            return "max_tokens"
        if b.max_seconds is not None and self.clock() - started >= b.max_seconds:
            return "max_seconds"
        if opens_round and b.max_rounds is not None and self.round >= b.max_rounds:
            return "max_rounds"
        if opens_round and b.patience is not None and self.round - self.best_round >= b.patience:
            return "patience"
        return None

    def _time_left(self, started: float) -> float | None:
        limit = self.task.budget.max_seconds
        return None if limit is None else max(limit - (self.clock() - started), 0.0)


def fix_request(reason: str) -> str:
    """What the model is told when its answer could not be turned into a program."""
    return (
        f"Your answer could not be applied: {reason}. Answer again with the corrected change, "
        "as SEARCH/REPLACE blocks that copy the current program's lines exactly, or as the "
        "whole program in one fenced code block."
    )


def _state(rng: random.Random) -> list[object]:
    version, internal, gauss = rng.getstate()
    return [version, list(internal), gauss]


def restore_state(rng: random.Random, state: list[object]) -> None:
    """Put back a state saved by the loop (so a resumed run draws what it would have)."""
    version, internal, gauss = state
    assert isinstance(internal, list)
    rng.setstate((version, tuple(internal), gauss))
