"""Every model call of a run goes through `Metered`: a deadline, a second request when a call
stalls (`hone.models.hedge`), each request stored as it returns, the usage counted, and the
model's optional capabilities served."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from hone import inbound
from hone.exceptions import ModelError, UserError
from hone.inbound import MAX_ANSWER, MAX_ERROR
from hone.models.base import (
    Completion,
    LearnsFromOutcomes,
    Model,
    Request,
    Resumable,
    Slotted,
    Style,
    estimate_tokens,
)
from hone.models.hedge import Attempt, Hedge, Race, race
from hone.models.prices import Price, Pricing
from hone.population import Candidate
from hone.store import Store

log = logging.getLogger("hone")


class Metered:
    """A run's model: calls with a deadline, recorded in the store, counted in `usage`.

    A caller `reserve()`s a call before it builds the request (so the call budget counts it
    from then on) and `call()` releases the reservation when the call returns or fails; it
    sends no more requests at once than `max_in_flight` (the rest wait here). The
    backend may be `attach`ed later than the meter is made: a run verifies its starting
    program while the model loads.
    """

    def __init__(
        self,
        store: Store,
        *,
        timeout: float,
        model: Model | None = None,
        clock: Callable[[], float] = time.monotonic,  # for latencies
        wall: Callable[[], float] = time.time,  # for the times stored
        pricing: Pricing | None = None,
        max_in_flight: int = 0,
        hedge: Hedge | None = None,
    ) -> None:
        self._model = model
        self._limit = max_in_flight  # [model] max_in_flight (0: none of its own)
        self.max_in_flight: int | None = None
        self._slots: asyncio.Semaphore | None = None
        if model is not None:
            self._gate(model)
        self.hedge = hedge  # when a stalled call gets a second request (None: never)
        self._latencies: deque[float] = deque(maxlen=hedge.window if hedge else 1)
        self._running = 0  # requests waiting for an answer now
        self.store = store
        self.timeout = timeout
        self.clock = clock
        self.wall = wall
        self.pricing = pricing or Pricing()
        self.usage = store.usage()
        self.in_flight = 0
        self._answered_by: dict[int, str] = {}
        self._prices: dict[str, object] = dict(store.meta().prices)
        self._warned_tokens = False  # a token count was clamped, and said so

    def attach(self, model: Model) -> None:
        """Give the meter its backend, once it has loaded."""
        self._model = model
        self._gate(model)

    def _gate(self, model: Model) -> None:
        """At most `max_in_flight` requests at the backend at once: the setting, or what the
        backend serves at once, whichever is fewer (neither: no limit)."""
        served = model.slots if isinstance(model, Slotted) else None
        limits = [n for n in (self._limit, served) if n]
        self.max_in_flight = min(limits) if limits else None
        self._slots = asyncio.Semaphore(self.max_in_flight) if self.max_in_flight else None

    @property
    def model(self) -> Model:
        """The backend (attached)."""
        if self._model is None:
            raise ModelError("the model is still loading")
        return self._model

    @property
    def name(self) -> str:
        """The backend's name."""
        return self.model.name

    @property
    def style(self) -> Style:
        """How the backend wants to be prompted."""
        return self.model.style

    def reserve(self) -> None:
        """Count a call that is about to be made against the budget."""
        self.in_flight += 1

    async def call(
        self, request: Request, round_: int, purpose: dict[str, Any] | None = None
    ) -> tuple[Completion, int]:
        """One reserved model call, stored as it returns (with `purpose`, what it was for);
        its completion and call id. Any failure, and no answer within the deadline, is a
        ModelError, and the failed call is stored with its reason. A call that stalls may get a
        second request (`hone.models.hedge`); each request is stored."""
        hedge = self.hedge
        try:
            async with self._slots or contextlib.nullcontext():  # sent once the server has room
                outcome = await race(  # (the deadline starts when it is sent)
                    self._sender(request),
                    self.timeout,
                    # (the latencies of calls answered while this one waits count too)
                    delay=lambda: hedge.delay(self._latencies) if hedge is not None else None,
                    alone=self._quiet,
                    clock=self.clock,
                    wall=self.wall,
                )
        finally:
            self.in_flight -= 1
        for attempt in outcome.attempts:
            if isinstance(attempt.error, UserError):
                raise attempt.error  # not the model failing: a replay that diverged, ...
        winner = outcome.winner
        if winner is None:
            errors = [self._failure(a, outcome, request, round_, purpose) for a in outcome.attempts]
            raise errors[0] from None
        completion, call_id = self._record(winner, outcome, request, round_, purpose)
        self._latencies.append((winner.ended or winner.started) - winner.started)
        for attempt in outcome.attempts:
            if attempt is winner:
                continue
            if attempt.answered:
                why = f"not used: call #{call_id}, the same request, answered first (hedged)"
                self._record(attempt, outcome, request, round_, purpose, unused=why)
            elif attempt.cancelled:
                why = f"cancelled: call #{call_id}, the same request, answered first (hedged)"
                self._failure(attempt, outcome, request, round_, purpose, why)
            else:
                self._failure(attempt, outcome, request, round_, purpose)
        self._answered_by[call_id] = completion.model or self.model.name
        return completion, call_id

    def _sender(self, request: Request) -> Callable[[], Awaitable[Completion]]:
        """What sends `request`: the first time in the slot the call holds, a second time (a
        hedge) in a slot of its own."""
        sent = 0

        async def send() -> Completion:
            nonlocal sent
            sent += 1
            gate = self._slots if sent > 1 else None
            async with gate or contextlib.nullcontext():
                self._running += 1
                try:
                    return await self.model.generate(request)
                finally:
                    self._running -= 1

        return send

    def _quiet(self) -> bool:
        """True when one request alone is in flight and the backend has room for another."""
        return self._running == 1 and not (self._slots is not None and self._slots.locked())

    def _record(
        self,
        attempt: Attempt,
        outcome: Race,
        request: Request,
        round_: int,
        purpose: dict[str, Any] | None,
        unused: str | None = None,
    ) -> tuple[Completion, int]:
        """Store an answered request (`unused`: why its answer is not used; it was paid) and
        count what it cost; the answer as kept, and its call id. The answer is paid for: it is
        made hone's own (nothing of it can fail a write) and stored before anything else is
        done with it; its price is looked up without a write."""
        completion = self._received(attempt.task.result(), request)
        model = completion.model or self.model.name
        price = self.pricing.price(model)
        cost = price.cost(completion.prompt_tokens, completion.completion_tokens) if price else None
        call_id = self.store.add_call(
            round=round_,
            model=model,
            prompt=request.as_text(),
            completion=completion.text,
            prompt_tokens=completion.prompt_tokens,
            completion_tokens=completion.completion_tokens,
            started=attempt.wall,
            latency=(attempt.ended or attempt.started) - attempt.started,
            error=unused,
            seed=request.seed,
            purpose=_marked(purpose, attempt, outcome),
            cost=cost,
        )
        paid = self.usage.plus(completion.prompt_tokens, completion.completion_tokens, cost or 0.0)
        if unused is not None:  # paid, and a request made, but no answer used: a failed call
            paid = dataclasses.replace(paid, calls=self.usage.calls, failed=self.usage.failed + 1)
        self.usage = paid
        self._keep_price(model, price)
        return completion, call_id

    def _failure(
        self,
        attempt: Attempt,
        outcome: Race,
        request: Request,
        round_: int,
        purpose: dict[str, Any] | None,
        reason: str = "",
    ) -> ModelError:
        """Store a request that got no answer, with why; the error."""
        if reason:
            error = ModelError(reason)
        elif isinstance(attempt.error, Exception):
            error = _model_error(attempt.error, self.model.name, self.timeout)
        else:  # still waiting at the deadline
            error = _model_error(TimeoutError(), self.model.name, self.timeout)
        self.store.add_call(
            round=round_,
            model=self.model.name,
            prompt=request.as_text(),
            completion="",
            prompt_tokens=0,
            completion_tokens=0,
            started=attempt.wall,
            latency=(attempt.ended or attempt.started) - attempt.started,
            error=str(error),
            seed=request.seed,
            purpose=_marked(purpose, attempt, outcome),
        )
        self.usage = self.usage.failing()  # a request made: max_llm_calls counts it
        return error

    def _received(self, completion: object, request: Request) -> Completion:
        """A backend's answer as hone keeps it (`hone.inbound`): its text valid UTF-8 and cut
        at MAX_ANSWER characters, its token counts in 0..MAX_TOKENS (estimated when it gave
        none), with a warning the first time a count had to be changed."""
        text = inbound.text(getattr(completion, "text", "") or "")
        text = inbound.cut(text, MAX_ANSWER, "answer ")
        model = inbound.text(getattr(completion, "model", "") or "")
        counts = []
        for given, of in (
            (getattr(completion, "prompt_tokens", None), request.as_text()),
            (getattr(completion, "completion_tokens", None), text),
        ):
            count = inbound.token_count(given)
            if count is None:
                count = estimate_tokens(of)
            elif count != given and not self._warned_tokens:
                self._warned_tokens = True
                log.warning(
                    "%s reported %s tokens for a call; counted as %d (hone keeps a count "
                    "between 0 and 2**53)",
                    model or self.model.name,
                    inbound.printable(inbound.text(repr(given))[:100]),
                    count,
                )
            counts.append(count)
        return Completion(text, counts[0], counts[1], model)

    def _keep_price(self, model: str, price: Price | None) -> None:
        """Keep the price of each model with the run the first time it answers (none: a
        warning, and its calls count 0)."""
        if model in self._prices:
            return
        self._prices[model] = dataclasses.asdict(price) if price else None
        self.store.set_meta(prices=self._prices)
        if price is None:
            log.warning(
                "no price is known for %r, so its calls count 0 in the cost; give one in a "
                "prices file ([model] prices, --prices; hone docs models)",
                model,
            )

    def credit(self, candidate: Candidate, improved: bool) -> None:
        """Tell a model that learns from outcomes how the answer behind `candidate` did."""
        if isinstance(self.model, LearnsFromOutcomes) and candidate.call_id is not None:
            model = self._answered_by.get(candidate.call_id, "")
            self.model.reward(model, 1.0 if improved else 0.0)

    def resume(self, history: Iterable[tuple[Candidate, bool]]) -> None:
        """A resumed run's model goes on where it stopped: what it learnt from each earlier
        hypothesis (with whether it improved) is told again, and a model of prepared answers
        skips those already used."""
        self._answered_by.update(self.store.call_models())
        if isinstance(self.model, LearnsFromOutcomes):
            for candidate, improved in history:
                if candidate.call_id is not None and candidate.parent_ids:
                    model = self._answered_by.get(candidate.call_id, "")
                    self.model.reward(model, 1.0 if improved else 0.0, replayed=True)
        if isinstance(self.model, Resumable):
            self.model.advance(self.usage.calls)


def _marked(
    purpose: dict[str, Any] | None, attempt: Attempt, outcome: Race
) -> dict[str, Any] | None:
    """The purpose of a hedged call's request, saying which request it was (1 or 2)."""
    if not outcome.hedged:
        return purpose
    return {**(purpose or {}), "hedge": attempt.number}


def _model_error(exc: Exception, name: str, timeout: float) -> ModelError:
    """Whatever a backend raised, as a ModelError naming the model and the cause, in one line
    of at most MAX_ERROR characters (a server may send megabytes of error)."""
    if isinstance(exc, ModelError):
        error = exc
    elif isinstance(exc, TimeoutError):
        error = ModelError(
            f"{name} did not answer within {timeout:g} s; raise [model] timeout "
            "(--model-timeout) or use a faster model"
        )
    else:
        error = ModelError(f"{name} failed: {type(exc).__name__}: {exc}")
    text = inbound.text(str(error))
    if len(text) <= MAX_ERROR and text == str(error):
        return error
    return ModelError(inbound.cut(" ".join(text.split()), MAX_ERROR, sep=" "))
