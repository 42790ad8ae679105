"""Rounds: which round each hypothesis belongs to and, in deterministic mode, the order of its
steps.

A round is every `width` hypotheses started. Pipelined (the default), a new hypothesis starts
as soon as one finishes and its steps wait for nothing but themselves. Deterministic
(``[search] deterministic``), a round starts only once the previous one is registered; its
answers are taken in launch order (so fix calls go one at a time), and its hypotheses are
registered in launch order once all of them are verified. Nothing then depends on which
model call or evaluation finishes first: the same seed and the same answers give the same run.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field


@dataclass(eq=False)
class Slot:
    """One hypothesis's place in its round."""

    round: int
    index: int  # launch order within the round
    peers: list[Slot]  # every slot of the round, this one included
    answered: asyncio.Event = field(default_factory=asyncio.Event)
    verified: asyncio.Event = field(default_factory=asyncio.Event)
    registered: asyncio.Event = field(default_factory=asyncio.Event)

    def close(self) -> None:
        """Mark every step done (the hypothesis ended, or failed early)."""
        for event in (self.answered, self.verified, self.registered):
            event.set()


class Rounds:
    """Hands out slots, a round's worth at a time, and orders steps in deterministic mode."""

    def __init__(self, width: int, *, deterministic: bool, last_round: int) -> None:
        self.width = width
        self.deterministic = deterministic
        self.round = last_round
        self.launched = width  # the next hypothesis opens a new round
        self._peers: list[Slot] = []

    @property
    def opens(self) -> bool:
        """True when the next hypothesis opens a new round."""
        return self.launched >= self.width

    def may_launch(self, running: int) -> bool:
        """True when one more hypothesis may start beside `running` others."""
        if running >= self.width:
            return False
        return not self.deterministic or running == 0 or not self.opens

    def launch(self) -> Slot:
        """The next hypothesis's slot (its index is 0 when it opens a round)."""
        if self.opens:
            self.round, self.launched, self._peers = self.round + 1, 0, []
        slot = Slot(self.round, self.launched, self._peers)
        self._peers.append(slot)
        self.launched += 1
        return slot

    @contextlib.asynccontextmanager
    async def in_order(self, slot: Slot) -> AsyncIterator[None]:
        """Around taking an answer (fixing and storing it): deterministic, in launch order."""
        if self.deterministic and slot.index:
            await slot.peers[slot.index - 1].answered.wait()
        try:
            yield
        finally:
            slot.answered.set()

    @contextlib.asynccontextmanager
    async def registering(self, slot: Slot) -> AsyncIterator[None]:
        """Around registering a verified hypothesis: deterministic, once the whole round is
        verified, in launch order."""
        slot.verified.set()
        if self.deterministic:
            await asyncio.gather(*(peer.verified.wait() for peer in slot.peers))
            if slot.index:
                await slot.peers[slot.index - 1].registered.wait()
        try:
            yield
        finally:
            slot.registered.set()
