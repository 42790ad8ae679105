"""The memory that runs after each round (ReEvo, ShinkaEvolve): the model analyses the round,
and every few rounds condenses the analyses into lasting insights that chat prompts carry; and
the notes a person adds to a run (`hone note`, the dashboard), which every following prompt
carries."""

from __future__ import annotations

import logging
import random
from pathlib import Path

from hone import inbound
from hone.budget import may_call
from hone.exceptions import ConfigError, ModelError
from hone.meta import RunStatus
from hone.models.base import Message, Request
from hone.models.metered import Metered
from hone.population import TUNE, Population
from hone.prompts import CallKind, chat
from hone.store import Store
from hone.task import Task

log = logging.getLogger("hone")
PERSON = "person"  # the kind of a person's note in the store
MAX_NOTE = 2000  # characters in one person's note
MEMORY_SHOWN = 4000  # characters of the insights and of the last analysis a prompt carries


class Memory:
    """Insights, the last round's analysis and a person's notes, as text for prompts (`text`);
    `after` adds to it once a round is complete, when `[search] reflection` is on."""

    def __init__(self, task: Task, store: Store, model: Metered, rng: random.Random) -> None:
        self.task, self.store, self.model, self.rng = task, store, model, rng
        self.reflected = {r for r, _ in store.notes("reflection")}  # rounds analysed
        self.composed = self._compose()
        self.person: list[str] = []  # a person's notes, oldest first
        self._last_note = 0  # the id of the last person's note read
        self.tuning: list[str] = []  # what parameter tuning found, oldest first
        self._last_tuning = 0

    @property
    def text(self) -> str:
        """What the next prompt carries. A person's notes are looked up in the store each time
        (one indexed query): another process adds them while the run goes on."""
        new = self.store.notes_after(PERSON, self._last_note)
        if new:
            self._last_note = new[-1][0]
            self.person += [text for _, text in new]
        if self.task.search.tune:
            tuned = self.store.notes_after(TUNE, self._last_tuning)
            if tuned:
                self._last_tuning = tuned[-1][0]
                self.tuning += [text for _, text in tuned]
        parts = (self.composed, chat.tuning_notes(self.tuning), chat.person_notes(self.person))
        return "\n\n".join(p for p in parts if p)

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
        best = population.full(population.best or done[0])
        asked = chat.reflection(self.task, done, best, self.text)
        text = await self._note(asked, round_, "reflection")
        if text is None:
            return
        if len(self.reflected) % search.insights_every == 0 and self._may_call():
            analyses = [t for _, t in self.store.notes("reflection")][-search.insights_every :]
            insights = self.store.notes("insights")
            previous = insights[-1][1] if insights else ""
            await self._note(chat.condensation(self.task, analyses, previous), round_, "insights")
        self.composed = self._compose()

    def _may_call(self) -> bool:
        return may_call(self.task.budget, self.model.usage, self.model.in_flight)

    async def _note(self, messages: tuple[Message, ...], round_: int, kind: CallKind) -> str | None:
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
        if insights:  # (a model's text: cut, so that one long answer does not fill every prompt)
            parts.append(f"## Insights from earlier rounds\n{_shown(insights[-1][1])}")
        if analyses and (not insights or analyses[-1][0] > insights[-1][0]):
            parts.append(f"## Analysis of round {analyses[-1][0]}\n{_shown(analyses[-1][1])}")
        return "\n\n".join(parts)


def _shown(text: str) -> str:
    return inbound.cut(text, MEMORY_SHOWN)


def add_note(run_dir: str | Path, text: str) -> tuple[int, RunStatus]:
    """Keep a person's note with a run, for the following prompts of the run (running, or
    when it is resumed); the note's id and the run's status."""
    text = text.strip()
    if not text:
        raise ConfigError(
            'the note is empty; write what to try, e.g. hone note RUN "try a lattice"'
        )
    if len(text) > MAX_NOTE:
        raise ConfigError(
            f"the note has {len(text)} characters; keep it under {MAX_NOTE}, a prompt carries it whole"
        )
    store = Store.open(Path(run_dir))
    try:
        note = store.add_note(round=max(store.last_round(), 0), kind=PERSON, text=text)
        store.set_meta(replay_exact=False)  # the prompts after it depend on when it came
        return note, store.meta().status
    finally:
        store.close()
