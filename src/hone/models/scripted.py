"""Models whose answers are prepared in advance: for tests, tutorials and bug reports."""

from __future__ import annotations

import asyncio
import inspect
import json
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from hone.exceptions import ConfigError, ModelError
from hone.models.base import Completion, Request, Style, estimate_tokens

if TYPE_CHECKING:
    from hone.settings import ModelConfig


class ScriptedModel:
    """Answers with the given texts, in order; raises `ModelError` when they run out."""

    def __init__(
        self, answers: Iterable[str], *, style: Style = "chat", name: str = "scripted"
    ) -> None:
        self.answers = list(answers)
        self.style: Style = style
        self.name = name
        self.requests: list[Request] = []
        self.position = 0

    def advance(self, calls: int) -> None:
        """Skip the answers a resumed run already used."""
        self.position = calls

    async def generate(self, request: Request) -> Completion:
        """The next prepared answer."""
        if self.position >= len(self.answers):
            raise ModelError(
                f"the scripted model has no answer left after {len(self.answers)}; "
                "add answers or lower max_llm_calls (--max-llm-calls)"
            )
        text = self.answers[self.position]
        self.position += 1
        self.requests.append(request)
        return Completion(text, estimate_tokens(request.as_text()), estimate_tokens(text))

    async def close(self) -> None:
        """Nothing to release."""

    @classmethod
    def from_jsonl(cls, path: str | Path, *, style: Style = "chat") -> ScriptedModel:
        """Load answers from a JSON-lines file: each line a string or {"completion": str}."""
        file = Path(path)
        if not file.is_file():
            raise ConfigError(f"scripted answers file {str(file)!r} does not exist")
        answers: list[str] = []
        for number, line in enumerate(file.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ConfigError(f"{str(file)!r} line {number} is not JSON: {exc.msg}") from None
            if isinstance(item, dict):
                item = item.get("completion")
            if not isinstance(item, str):
                raise ConfigError(
                    f'{str(file)!r} line {number}: expected a string or {{"completion": string}}'
                )
            answers.append(item)
        return cls(answers, style=style, name=f"scripted:{file.name}")


class FunctionModel:
    """Answers by calling `fn(request)`, which returns a string (or awaits one)."""

    def __init__(
        self,
        fn: Callable[[Request], str | Awaitable[str]],
        *,
        style: Style = "chat",
        name: str = "function",
    ) -> None:
        self.fn = fn
        self.style: Style = style
        self.name = name
        self.requests: list[Request] = []

    async def generate(self, request: Request) -> Completion:
        """Whatever the function answers."""
        self.requests.append(request)
        result = self.fn(request)
        text = await result if inspect.isawaitable(result) else result
        await asyncio.sleep(0)
        return Completion(str(text), estimate_tokens(request.as_text()), estimate_tokens(str(text)))

    async def close(self) -> None:
        """Nothing to release."""


def check(argument: str, config: ModelConfig) -> None:
    """Refuse a missing answers file at once, before a run folder is made."""
    if not Path(argument).is_file():
        raise ConfigError(f"scripted answers file {argument!r} does not exist")


def make(argument: str, config: ModelConfig) -> ScriptedModel:
    """`scripted:<answers.jsonl>`: the answers in the file, in order."""
    return ScriptedModel.from_jsonl(argument)
