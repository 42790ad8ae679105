"""The model protocol: one request in, one completion out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

from hone.settings import Style as Style  # (re-exported: the models' own word for it)

Role = Literal["system", "user", "assistant"]


@dataclass(frozen=True)
class Message:
    """One chat message."""

    role: Role
    content: str


@dataclass(frozen=True)
class Request:
    """What a model is asked: a completion-style `text` or chat `messages`, and how to sample."""

    text: str = ""
    messages: tuple[Message, ...] = ()
    temperature: float = 0.8
    max_tokens: int = 768
    seed: int = 0
    stop: tuple[str, ...] = ()
    grammar: str = ""  # GBNF the answer must follow, for backends that can (embedded); "": none

    def as_text(self) -> str:
        """The prompt as one string (chat messages joined), for the store and for doubles."""
        if self.messages:
            return "\n\n".join(f"[{m.role}]\n{m.content}" for m in self.messages)
        return self.text


@dataclass(frozen=True)
class Completion:
    """A model's answer and what it cost."""

    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    model: str = ""  # which model answered, when a backend has several (an ensemble)


class Model(Protocol):
    """A language model backend.

    Four capabilities are optional, each a protocol of its own that a backend may also
    implement: `LearnsFromOutcomes` (told how each answer did: an ensemble's bandit),
    `Resumable` (told how many calls a resumed run already made: prepared answers),
    `Slotted` (says how many requests it serves at once: a llama.cpp server) and `Probed`
    (asked cheaply whether its server is back: `hone.models.pool`).
    """

    name: str
    style: Style  # how it wants to be prompted

    async def generate(self, request: Request) -> Completion:
        """Answer one request; raise `hone.exceptions.ModelError` when the backend fails."""
        ...

    async def close(self) -> None:
        """Release the backend's resources."""
        ...


@runtime_checkable
class LearnsFromOutcomes(Protocol):
    """A model that is told whether each of its answers improved on its parent."""

    def reward(self, model: str, value: float, *, replayed: bool = False) -> None:
        """Credit a call answered by `model` (its `Completion.model`) with `value`;
        `replayed`: a resumed run tells again what the model learnt before the stop."""
        ...


@runtime_checkable
class Resumable(Protocol):
    """A model whose answers depend on how many calls came before (prepared answers)."""

    def advance(self, calls: int) -> None:
        """Go on as if `calls` calls had been answered already."""
        ...


@runtime_checkable
class Slotted(Protocol):
    """A model that serves a known number of requests at once (more would queue there)."""

    @property
    def slots(self) -> int | None:
        """Requests it generates at once; None when it did not say."""
        ...


@runtime_checkable
class Probed(Protocol):
    """A model whose server can be asked, cheaply and without generating, whether it is up."""

    async def probe(self, timeout: float) -> None:
        """Return once the server answers a cheap request; raise `ModelError` when it cannot
        be reached, fails (5xx) or says nothing within `timeout` seconds."""
        ...


def estimate_tokens(text: str) -> int:
    """A rough token count for backends that report none (about four characters a token)."""
    return max(1, len(text) // 4) if text else 0
