"""Several models behind one, chosen per call by a UCB bandit on the improvements each made.

ShinkaEvolve's LLM ensemble: each call goes to the model with the highest upper confidence
bound ``mean reward - cost_weight * cost + exploration * sqrt(2 ln N / n)``, where the reward of
a call is 1 when the program it produced scored better than its parent, else 0, and ``cost`` is
the model's relative price (0 by default). Every model is tried once before the bound decides.
The loop reports rewards through `reward()`; a resumed run replays them from its store.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from hone.exceptions import ConfigError
from hone.models.base import Completion, Model, Request, Style

if TYPE_CHECKING:
    from hone.settings import ModelConfig


class Ensemble:
    """A model made of models, one chosen per call by UCB1."""

    def __init__(
        self,
        models: Sequence[Model],
        *,
        costs: Sequence[float] | None = None,
        cost_weight: float = 0.0,
        exploration: float = 1.0,
    ) -> None:
        if len(models) < 2:
            raise ConfigError("an ensemble needs at least two models")
        styles = {m.style for m in models}
        if len(styles) != 1:
            raise ConfigError(
                "the models of an ensemble must take the same kind of prompt (all chat or all "
                f"completion); got {sorted(styles)}"
            )
        names = [m.name for m in models]
        if len(set(names)) != len(names):
            raise ConfigError(f"the models of an ensemble must differ; got {names}")
        self.models = list(models)
        self.style: Style = self.models[0].style
        self.name = "ensemble:" + ",".join(names)
        self.costs = list(costs) if costs is not None else [0.0] * len(models)
        self.cost_weight = cost_weight
        self.exploration = exploration
        self.pulls = [0] * len(models)
        self.rewards = [0.0] * len(models)

    def choose(self) -> int:
        """The index of the model the next call goes to."""
        for arm, pulls in enumerate(self.pulls):
            if pulls == 0:
                return arm
        total = sum(self.pulls)

        def bound(arm: int) -> float:
            mean = self.rewards[arm] / self.pulls[arm]
            bonus = self.exploration * math.sqrt(2 * math.log(total) / self.pulls[arm])
            return mean - self.cost_weight * self.costs[arm] + bonus

        return max(range(len(self.models)), key=lambda arm: (bound(arm), -arm))

    async def generate(self, request: Request) -> Completion:
        """Ask the chosen model; the completion names which one answered."""
        arm = self.choose()
        self.pulls[arm] += 1  # counted now, so calls in flight spread over the models
        completion = await self.models[arm].generate(request)
        return Completion(
            completion.text,
            completion.prompt_tokens,
            completion.completion_tokens,
            model=self.models[arm].name,
        )

    def reward(self, model: str, value: float, *, replayed: bool = False) -> None:
        """Credit a call of `model` with `value` (1: it improved on its parent)."""
        names = [m.name for m in self.models]
        if model not in names:
            return
        arm = names.index(model)
        if replayed:
            self.pulls[arm] += 1
        self.rewards[arm] += value

    async def close(self) -> None:
        """Close every model."""
        for model in self.models:
            await model.close()


def make(argument: str, config: ModelConfig) -> Ensemble:
    """`ensemble:<spec>,<spec>,...`: each member built from its own spec."""
    from hone.models import ensemble_members, make_model

    return Ensemble([make_model(replace(config, spec=m)) for m in ensemble_members(argument)])
