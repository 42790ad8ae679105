"""Every model call of a run goes through `Metered`: a deadline, the call stored as it returns,
the usage counted, and the model's optional capabilities served."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import Callable, Iterable
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
        clock: Callable[[], float] = time.monotonic,
        pricing: Pricing | None = None,
        max_in_flight: int = 0,
    ) -> None:
        self._model = model
        self._limit = max_in_flight  # [model] max_in_flight (0: none of its own)
        self.max_in_flight: int | None = None
        self._slots: asyncio.Semaphore | None = None
        if model is not None:
            self._gate(model)
        self.store = store
        self.timeout = timeout
        self.clock = clock
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
        ModelError, and the failed call is stored with its reason."""
        wall, t0 = time.time(), self.clock()
        try:
            async with self._slots or contextlib.nullcontext():  # sent once the server has room
                wall, t0 = time.time(), self.clock()  # (the deadline starts when it is sent)
                completion = await asyncio.wait_for(self.model.generate(request), self.timeout)
        except UserError:
            raise  # not the model failing: a mistake to report (a replay that diverged, ...)
        except Exception as exc:
            error = _model_error(exc, self.model.name, self.timeout)
            self.store.add_call(
                round=round_,
                model=self.model.name,
                prompt=request.as_text(),
                completion="",
                prompt_tokens=0,
                completion_tokens=0,
                started=wall,
                latency=self.clock() - t0,
                error=str(error),
                seed=request.seed,
                purpose=purpose,
            )
            self.usage = self.usage.failing()  # a request made: max_llm_calls counts it
            raise error from None
        finally:
            self.in_flight -= 1
        # The answer is paid for: it is made hone's own (nothing of it can fail a write) and
        # stored before anything else is done with it; its price is looked up without a write.
        completion = self._received(completion, request)
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
            started=wall,
            latency=self.clock() - t0,
            seed=request.seed,
            purpose=purpose,
            cost=cost,
        )
        self._answered_by[call_id] = model
        self.usage = self.usage.plus(
            completion.prompt_tokens, completion.completion_tokens, cost or 0.0
        )
        self._keep_price(model, price)
        return completion, call_id

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
