"""The memory that runs after each round (ReEvo, ShinkaEvolve): the model analyses the round,
and every few rounds condenses the analyses into lasting insights that chat prompts carry."""

from __future__ import annotations

import logging
import random

from hone.budget import may_call
from hone.exceptions import ModelError
from hone.models.base import Message, Request
from hone.models.metered import Metered
from hone.population import Population
from hone.prompts import chat
from hone.store import Store
from hone.task import Task

log = logging.getLogger("hone")


class Memory:
    """Insights and the last round's analysis, as text for chat prompts (`text`); `after`
    adds to it once a round is complete, when `[search] reflection` is on."""

    def __init__(self, task: Task, store: Store, model: Metered, rng: random.Random) -> None:
        self.task, self.store, self.model, self.rng = task, store, model, rng
        self.reflected = {r for r, _ in store.notes("reflection")}  # rounds analysed
        self.text = self._compose()

    async def after(self, round_: int, population: Population) -> None:
        """Once all of a round's hypotheses are in, ask the model to analyse it (chat models);
        every `insights_every` rounds, condense the analyses."""
        search = self.task.search
        done = population.of_round(round_)
        if (
            not search.reflection
            or self.model.style != "chat"
            or round_ in self.reflected
            or len(done) < search.hypotheses_per_round
            or not self._may_call()
        ):
            return
        self.reflected.add(round_)
        best = population.best or done[0]
        asked = chat.reflection(self.task, done, best, self.text)
        text = await self._note(asked, round_, "reflection")
        if text is None:
            return
        if len(self.reflected) % search.insights_every == 0 and self._may_call():
            analyses = [t for _, t in self.store.notes("reflection")][-search.insights_every :]
            insights = self.store.notes("insights")
            previous = insights[-1][1] if insights else ""
            await self._note(chat.condensation(self.task, analyses, previous), round_, "insights")
        self.text = self._compose()

    def _may_call(self) -> bool:
        return may_call(self.task.budget, self.model.usage, self.model.in_flight)

    async def _note(self, messages: tuple[Message, ...], round_: int, kind: str) -> str | None:
        request = Request(
            messages=messages,
            temperature=self.task.model.temperature,
            max_tokens=self.task.model.max_completion_tokens,
            seed=self.rng.randrange(2**31),
        )
        self.model.reserve()
        self.store.save_random_state(self.rng)  # the seed is drawn: a resumed run draws anew
        try:
            completion, call_id = await self.model.call(request, round_, {"kind": kind})
        except ModelError as exc:
            log.warning("the %s call failed; the run goes on without it: %s", kind, exc)
            return None
        text = completion.text.strip()
        if text:
            self.store.add_note(round=round_, kind=kind, text=text, call_id=call_id)
        return text

    def _compose(self) -> str:
        insights = self.store.notes("insights")
        analyses = self.store.notes("reflection")
        parts = []
        if insights:
            parts.append(f"## Insights from earlier rounds\n{insights[-1][1]}")
        if analyses and (not insights or analyses[-1][0] > insights[-1][0]):
            parts.append(f"## Analysis of round {analyses[-1][0]}\n{analyses[-1][1]}")
        return "\n\n".join(parts)
