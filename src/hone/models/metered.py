"""Every model call of a run goes through `Metered`: a deadline, a second request when a call
stalls (`hone.models.hedge`), each request stored as it returns, the usage counted, and the
model's optional capabilities served."""

from __future__ import annotations

import dataclasses
import logging
import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

from hone.exceptions import ModelError, UserError
from hone.models.base import Completion, LearnsFromOutcomes, Model, Request, Resumable, Style
from hone.models.hedge import Attempt, Hedge, Race, race
from hone.models.prices import Pricing
from hone.population import Candidate
from hone.store import Store

log = logging.getLogger("hone")


class Metered:
    """A run's model: calls with a deadline, recorded in the store, counted in `usage`.

    A caller `reserve()`s a call before it builds the request (so the call budget counts it
    from then on) and `call()` releases the reservation when the call returns or fails. The
    backend may be `attach`ed later than the meter is made: a run verifies its starting
    program while the model loads.
    """

    def __init__(
        self,
        store: Store,
        *,
        timeout: float,
        model: Model | None = None,
        clock: Callable[[], float] = time.monotonic,
        pricing: Pricing | None = None,
        hedge: Hedge | None = None,
    ) -> None:
        self._model = model
        self.hedge = hedge  # when a stalled call gets a second request (None: never)
        self._latencies: deque[float] = deque(maxlen=hedge.window if hedge else 1)
        self._running = 0  # requests waiting for an answer now
        self.store = store
        self.timeout = timeout
        self.clock = clock
        self.pricing = pricing or Pricing()
        self.usage = store.usage()
        self.in_flight = 0
        self._answered_by: dict[int, str] = {}
        self._prices: dict[str, object] = dict(store.meta().get("prices") or {})

    def attach(self, model: Model) -> None:
        """Give the meter its backend, once it has loaded."""
        self._model = model

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
            outcome = await race(
                lambda: self._send(request),
                self.timeout,
                # (the latencies of calls answered while this one waits count too)
                delay=lambda: hedge.delay(self._latencies) if hedge is not None else None,
                alone=lambda: self._running == 1,
                clock=self.clock,
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
        completion = winner.task.result()
        call_id = self._record(winner, outcome, request, round_, purpose)
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

    async def _send(self, request: Request) -> Completion:
        self._running += 1
        try:
            return await self.model.generate(request)
        finally:
            self._running -= 1

    def _record(
        self,
        attempt: Attempt,
        outcome: Race,
        request: Request,
        round_: int,
        purpose: dict[str, Any] | None,
        unused: str | None = None,
    ) -> int:
        """Store an answered request (`unused`: why its answer is not used; it was paid) and
        count what it cost; its call id."""
        completion = attempt.task.result()
        model = completion.model or self.model.name
        cost = self._cost(model, completion)
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
        # (an unused answer is paid for, but no call of the budget: nothing was made of it)
        self.usage = paid if unused is None else dataclasses.replace(paid, calls=self.usage.calls)
        return call_id

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
        return error

    def _cost(self, model: str, completion: Completion) -> float | None:
        """What the call cost; the price of each model is kept with the run the first time
        it answers (none: a warning, and its calls count 0)."""
        price = self.pricing.price(model)
        if model not in self._prices:
            self._prices[model] = dataclasses.asdict(price) if price else None
            self.store.set_meta(prices=self._prices)
            if price is None:
                log.warning(
                    "no price is known for %r, so its calls count 0 in the cost; give one in a "
                    "prices file ([model] prices, docs/models.md#costs)",
                    model,
                )
        return price.cost(completion.prompt_tokens, completion.completion_tokens) if price else None

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
    """Whatever a backend raised, as a ModelError naming the model and the cause."""
    if isinstance(exc, ModelError):
        return exc
    if isinstance(exc, TimeoutError):
        return ModelError(
            f"{name} did not answer within {timeout:g} s; raise [model] timeout "
            "(--model-timeout) or use a faster model"
        )
    return ModelError(f"{name} failed: {type(exc).__name__}: {exc}"[:2000])
