"""Every model call of a run goes through `Metered`: a deadline, a second request when a call
stalls (`hone.models.hedge`), each request stored as it returns, the usage counted, and the
model's optional capabilities served."""

from __future__ import annotations

import dataclasses
import functools
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from hone import inbound
from hone.budget import Budget, may_call
from hone.exceptions import ModelError, UserError
from hone.inbound import MAX_ANSWER, MAX_ERROR
from hone.models.base import (
    Completion,
    LearnsFromOutcomes,
    Model,
    Request,
    Resumable,
    Style,
    estimate_tokens,
)
from hone.models.hedge import Attempt, Hedge, Race, race
from hone.models.pool import Endpoint, Lease, Pool, at_fault
from hone.models.prices import Price, Pricing
from hone.population import Candidate
from hone.store import Store

log = logging.getLogger("hone")


class Metered:
    """A run's model: calls with a deadline, recorded in the store, counted in `usage`.

    A caller `reserve()`s a call before it builds the request (so the call budget counts it
    from then on) and `call()` releases the reservation when the call returns or fails. Each
    request goes to a server of the model's pool (`hone.models.pool`: a single server or a
    model that is no server's is the pool of one), which sends no server more requests at
    once than it takes (`max_in_flight`, or what it serves; the rest wait here). The backend
    may be `attach`ed later than the meter is made: a run verifies its starting program while
    the model loads.
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
        budget: Budget | None = None,
    ) -> None:
        self._model = model
        self._limit = max_in_flight  # [model] max_in_flight of a model that is not a pool
        self.clock = clock
        self._pool = Pool.of(model, max_in_flight, clock) if model is not None else None
        self.hedge = hedge  # when a stalled call gets a second request (None: never)
        # a request sent again at another server is one more: sent when this allows it
        self.budget = budget
        self._latencies: deque[float] = deque(maxlen=hedge.window if hedge else 1)
        self._running = 0  # requests waiting for an answer now
        self.store = store
        self.timeout = timeout
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
        self._pool = Pool.of(model, self._limit, self.clock)

    @property
    def model(self) -> Model:
        """The backend (attached)."""
        if self._model is None:
            raise ModelError("the model is still loading")
        return self._model

    @property
    def pool(self) -> Pool:
        """The backend's servers (attached)."""
        if self._pool is None:
            raise ModelError("the model is still loading")
        return self._pool

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
        its completion and call id. A request that failed through its server's fault is sent
        to another server of the pool while the deadline, the budget and the pool allow (each
        try stored, with its server); a call that stalls may get a second request
        (`hone.models.hedge`), stored too. No answer within the deadline, or none from any
        server tried, is a ModelError (the failure's, or one naming every server tried)."""
        tried: list[Endpoint] = []  # the servers this call's requests went to
        errors: list[ModelError] = []
        spent = 0.0  # seconds of the deadline the earlier tries took
        leases: list[Lease] = []  # this try's: its request's, and its hedge's
        done: list[Lease] = []  # the earlier tries'
        try:
            while True:
                asked = dict(purpose or {}, retry=len(tried)) if tried else purpose
                done += leases
                leases = [await self.pool.acquire(tried)]  # (the deadline starts when sent)
                outcome = await race(
                    self._sender(request, leases),
                    self.timeout - spent,
                    # (the latencies of calls answered while this one waits count too)
                    delay=self._hedge_delay,
                    alone=functools.partial(self._may_hedge, leases),
                    clock=self.clock,
                    wall=self.wall,
                )
                spent += outcome.elapsed
                tried += [lease.endpoint for lease in leases if lease.endpoint not in tried]
                self._judge(outcome, leases)
                for attempt in outcome.attempts:
                    if isinstance(attempt.error, UserError):
                        raise attempt.error  # not the model failing: a replay that diverged, ...
                if outcome.winner is not None:
                    break
                failed = [
                    self._failure(a, _lease(leases, a), outcome, request, round_, asked)
                    for a in outcome.attempts
                ]
                errors += failed
                if not self._may_retry(failed, tried, spent):
                    raise self._gave_up(errors, tried) from None
        finally:
            self.in_flight -= 1
            for held in done + leases:  # (a request cancelled before it was sent)
                self.pool.release(held)
        winner = outcome.winner
        assert winner is not None  # (the loop ends with an answer or raises)
        completion, call_id = self._record(
            winner, _lease(leases, winner), outcome, request, round_, asked
        )
        self._latencies.append((winner.ended or winner.started) - winner.started)
        for attempt in outcome.attempts:
            if attempt is winner:
                continue
            lease = _lease(leases, attempt)
            if attempt.answered:
                why = f"not used: call #{call_id}, the same request, answered first (hedged)"
                self._record(attempt, lease, outcome, request, round_, asked, unused=why)
            elif attempt.cancelled:
                why = f"cancelled: call #{call_id}, the same request, answered first (hedged)"
                self._failure(attempt, lease, outcome, request, round_, asked, why)
            else:
                self._failure(attempt, lease, outcome, request, round_, asked)
        self._answered_by[call_id] = completion.model or self.model.name
        return completion, call_id

    def _hedge_delay(self) -> float | None:
        return self.hedge.delay(self._latencies) if self.hedge is not None else None

    def _sender(self, request: Request, leases: list[Lease]) -> Callable[[], Awaitable[Completion]]:
        """What sends `request`: the first time at the server leased for the call, a second
        time (a hedge) at `_hedge_to`'s, in a slot of its own (`leases` gains it)."""

        sent = 0

        def send() -> Awaitable[Completion]:
            nonlocal sent
            sent += 1
            if sent > len(leases):  # a hedge
                target = self._hedge_to(leases) or leases[0].endpoint
                leases.append(self.pool.lease(target))
            return self._send(leases[sent - 1], request)

        return send

    async def _send(self, lease: Lease, request: Request) -> Completion:
        self._running += 1
        try:
            return await self.pool.send(lease, request)
        finally:
            self._running -= 1

    def _may_hedge(self, leases: list[Lease]) -> bool:
        return self._hedge_to(leases) is not None

    def _hedge_to(self, leases: list[Lease]) -> Endpoint | None:
        """Where a stalled call's next request would go now: a server it has not been sent
        to, with room; else, when it was sent once and is the only request in flight, its own
        server when that has room (a single server's hedge); None: nowhere now."""
        other = self.pool.pick(exclude=[lease.endpoint for lease in leases])
        if other is not None:
            return other
        return self.pool.pick() if self._running == 1 and len(leases) == 1 else None

    def _judge(self, outcome: Race, leases: list[Lease]) -> None:
        """Tell the pool what the requests' own outcomes did not: a request still waiting at
        the deadline, and one beaten by its hedge at another server, stalled there."""
        winner = _lease(leases, outcome.winner) if outcome.winner is not None else None
        for attempt in outcome.attempts:
            lease = _lease(leases, attempt)
            if lease is None or not attempt.cancelled:
                continue
            if outcome.timed_out:
                self.pool.failed(lease, f"no answer within {self.timeout:g} s")
            elif winner is not None and winner.endpoint is not lease.endpoint:
                self.pool.failed(lease, f"stalled: its hedge at {winner.endpoint.url} answered")

    def _may_retry(self, failed: list[ModelError], tried: list[Endpoint], spent: float) -> bool:
        """True when a call whose requests all failed is sent to another server: each failed
        through its server's fault, another server is in service, the deadline has time left
        and the budget allows one more request (the failed ones count as made)."""
        if not all(at_fault(error) for error in failed) or spent >= self.timeout:
            return False
        if not self.pool.usable(exclude=tried):
            return False
        return self.budget is None or may_call(self.budget, self.usage, self.in_flight - 1)

    def _gave_up(self, errors: list[ModelError], tried: list[Endpoint]) -> ModelError:
        """The error a call that got no answer ends with: its failure's; after several servers,
        one naming them, with the last one's reason."""
        if len(tried) < 2:
            return errors[0]
        count = len(self.pool.endpoints)
        servers = "all" if len(tried) == count else f"{len(tried)} of"
        return _model_error(
            ModelError(
                f"{servers} {count} model servers failed this call "
                f"({', '.join(e.url for e in tried)}); the last said: {errors[-1]}"
            ),
            self.model.name,
            self.timeout,
        )

    def _record(
        self,
        attempt: Attempt,
        lease: Lease | None,
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
            endpoint=_url(lease),
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
        lease: Lease | None,
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
            endpoint=_url(lease),
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


def _lease(leases: list[Lease], attempt: Attempt) -> Lease | None:
    """The lease a request of a call was sent with (None: cancelled before it was sent)."""
    return leases[attempt.number - 1] if attempt.number <= len(leases) else None


def _url(lease: Lease | None) -> str | None:
    """The server a request went to, as stored (None: a model that is no server's)."""
    return lease.endpoint.url or None if lease is not None else None


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
    cut = inbound.cut(" ".join(text.split()), MAX_ERROR, sep=" ")
    return ModelError(cut, refused=error.refused)
