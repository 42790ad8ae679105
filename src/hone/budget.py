"""When a run stops: the budget, the usage it is measured against, and the stop rules as pure
functions of the two."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, fields
from typing import Any, Literal, cast

from hone.exceptions import ConfigError
from hone.objective import Objective, reaches
from hone.settings import Table

StopReason = Literal[
    "target",
    "patience",
    "max_rounds",
    "max_llm_calls",
    "max_tokens",
    "max_seconds",
    "max_cost",
    "model_failing",  # a round's worth of model calls failed in a row (the run fails)
    "interrupted",
]


@dataclass(frozen=True)
class Budget(Table):
    """When to stop. `None` means no limit of that kind."""

    max_rounds: int | None = None
    max_llm_calls: int | None = 20
    max_tokens: int | None = None
    max_seconds: float | None = None
    max_cost: float | None = None  # USD, at the prices of docs/models.md#costs
    patience: int | None = 10  # rounds without improvement; 0 or "off": no limit
    target: float | None = None  # stop once the best score reaches it
    max_evaluations: int | None = None  # parameter-tuning trials ([search] tune), in all

    def __post_init__(self) -> None:
        patience = cast(object, self.patience)
        if patience == "off" or (type(patience) is int and patience == 0):
            object.__setattr__(self, "patience", None)  # no limit
        super().__post_init__()
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "target":
                if value is not None and not math.isfinite(value):
                    raise ConfigError(f"target must be a finite number, got {value!r}")
                continue
            if value is not None and value < 0:
                raise ConfigError(f"{f.name} must be at least 0, got {value!r}")

    def merged(self, **overrides: Any) -> Budget:
        """A copy with every override that is not None applied."""
        return self._merged(overrides)


@dataclass(frozen=True)
class Usage:
    """Model usage so far."""

    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float = 0.0  # USD (calls of models without a known price count 0)
    failed: int = 0  # calls that failed (a timeout, an error): requests made all the same

    @property
    def tokens(self) -> int:
        """Prompt plus completion tokens."""
        return self.prompt_tokens + self.completion_tokens

    @property
    def requests(self) -> int:
        """Calls made, answered or failed: what `max_llm_calls` counts."""
        return self.calls + self.failed

    def failing(self) -> Usage:
        """The usage after one more call that failed."""
        return dataclasses.replace(self, failed=self.failed + 1)

    def plus(self, prompt_tokens: int, completion_tokens: int, cost: float = 0.0) -> Usage:
        """The usage after one more call."""
        return Usage(
            self.calls + 1,
            self.prompt_tokens + prompt_tokens,
            self.completion_tokens + completion_tokens,
            self.cost + cost,
            self.failed,
        )


@dataclass(frozen=True)
class Progress:
    """Where a run is, as far as the stop rules care."""

    usage: Usage
    in_flight: int  # model calls started and not answered yet (counted against max_llm_calls)
    elapsed: float  # seconds since this invocation started
    round: int
    best_round: int  # the round of the best score so far
    best: float | None
    opens_round: bool  # the next hypothesis would open a new round
    failures: int = 0  # model calls failed in a row
    width: int = 1  # hypotheses per round
    running: int = 0  # hypotheses in flight


def stop_reason(budget: Budget, objective: Objective, now: Progress) -> StopReason | None:
    """Why no further hypothesis may start, or None (the round rules apply when one would
    open a new round). A failing model comes first (the run fails once the hypotheses in
    flight are stored: their calls are paid for), and so does time while hypotheses are in
    flight (it does not wait for them: `abandons`)."""
    if model_failing(now.failures, now.width):
        return "model_failing"
    time_up = budget.max_seconds is not None and now.elapsed >= budget.max_seconds
    if time_up and now.running:
        return "max_seconds"
    if (
        budget.target is not None
        and now.best is not None
        and reaches(objective, now.best, budget.target)
    ):
        return "target"
    calls = budget.max_llm_calls
    if calls is not None and now.usage.requests + now.in_flight >= calls:
        return "max_llm_calls"
    if budget.max_tokens is not None and now.usage.tokens >= budget.max_tokens:
        return "max_tokens"
    if time_up:
        return "max_seconds"
    if budget.max_cost is not None and now.usage.cost >= budget.max_cost:
        return "max_cost"
    if now.opens_round and budget.max_rounds is not None and now.round >= budget.max_rounds:
        return "max_rounds"
    if (
        now.opens_round
        and budget.patience is not None
        and now.round - now.best_round >= budget.patience
    ):
        return "patience"
    return None


def abandons(reason: StopReason) -> bool:
    """True when the hypotheses in flight are not waited for: time is up."""
    return reason == "max_seconds"


def may_call(budget: Budget, usage: Usage, in_flight: int) -> bool:
    """True when the budget allows one more model call."""
    calls = budget.max_llm_calls
    if calls is not None and usage.requests + in_flight >= calls:
        return False
    if budget.max_cost is not None and usage.cost >= budget.max_cost:
        return False
    return budget.max_tokens is None or usage.tokens < budget.max_tokens


def round_size(budget: Budget, width: int, usage: Usage, in_flight: int) -> int:
    """How many hypotheses a round that opens now will have (the call budget may cut it)."""
    size = width
    if budget.max_llm_calls is not None:
        size = min(size, budget.max_llm_calls - usage.requests - in_flight + 1)
    return max(size, 1)


def time_left(budget: Budget, elapsed: float) -> float | None:
    """Seconds until the time budget is spent (None: no limit)."""
    if budget.max_seconds is None:
        return None
    return max(budget.max_seconds - elapsed, 0.0)


def model_failing(failures_in_a_row: int, width: int) -> bool:
    """True when the model has failed a round's worth of calls in a row: the run stops (and
    fails: `hone resume` goes on once the model answers again)."""
    return failures_in_a_row >= width
