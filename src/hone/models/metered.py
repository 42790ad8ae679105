"""Every model call of a run goes through `Metered`: a deadline, the call stored as it returns,
the usage counted, and the model's optional capabilities served."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

from hone.exceptions import ModelError, UserError
from hone.models.base import Completion, LearnsFromOutcomes, Model, Request, Resumable, Style
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
        clock: Callable[[], float] = time.monotonic,  # for latencies
        wall: Callable[[], float] = time.time,  # for the times stored
        pricing: Pricing | None = None,
    ) -> None:
        self._model = model
        self.store = store
        self.timeout = timeout
        self.clock = clock
        self.wall = wall
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
        ModelError, and the failed call is stored with its reason."""
        wall, t0 = self.wall(), self.clock()
        try:
            async with asyncio.timeout(self.timeout):  # (3.11's wait_for could lose a cancel)
                completion = await self.model.generate(request)
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
            raise error from None
        finally:
            self.in_flight -= 1
        model = completion.model or self.model.name
        cost = self._cost(model, completion)
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
        return completion, call_id

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
