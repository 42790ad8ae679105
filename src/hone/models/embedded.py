"""GGUF models run in-process by llama.cpp (through `xllamacpp`): the models `packaged` ships by
name (Qwen2.5-Coder-0.5B-Instruct by default), or any GGUF file."""

from __future__ import annotations

import asyncio
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hone.exceptions import ConfigError, MissingDependencyError, ModelError
from hone.models.base import Completion, Request, Style
from hone.models.packaged import DEFAULT, MODELS, model_path

if TYPE_CHECKING:
    from hone.settings import ModelConfig

_SLOTS = 4
_CTX_PER_SLOT = 4096


def threads_to_use() -> int:
    """llama.cpp threads: $HONE_THREADS, else one core fewer than the machine has (at least 1).

    The evaluations need a core too, and llama.cpp's threads wait for each other at every token:
    on 2 busy cores, 2 threads generated 0.45 tokens/s and 1 thread 13.8 (Qwen2.5-Coder-0.5B).
    """
    return int(os.environ.get("HONE_THREADS", "0")) or max(1, (os.cpu_count() or 1) - 1)


def has_chat_template(path: Path) -> bool:
    """True when the GGUF metadata holds a chat template (it sits before the tensors)."""
    with path.open("rb") as f:
        head = f.read(64 * 1024 * 1024)
    return b"tokenizer.chat_template" in head


class EmbeddedModel:
    """A llama.cpp server inside this process; base models are prompted completion-style."""

    def __init__(self, path: str | Path | None = None, *, style: Style | None = None) -> None:
        """`path`: a GGUF file, a name from `packaged.MODELS`, or None for the default."""
        named = MODELS.get(str(path or DEFAULT))
        if named is None and not Path(str(path)).is_file():
            raise ConfigError(
                f"GGUF model file {str(path)!r} does not exist; name a file or one of: "
                + ", ".join(MODELS)
            )
        self._path = model_path(str(path or DEFAULT)) if named else Path(str(path))
        self.name = f"embedded:{path or DEFAULT}"  # runs record which model answered
        if style is None and named is not None:
            style = named.style
        if style is None:
            style = "chat" if has_chat_template(self._path) else "completion"
        self.style: Style = style
        self.grammar = False  # follow a request's grammar ([model] grammar)
        self._server: Any = None
        self._lock = asyncio.Lock()
        self._running: set[threading.Event] = set()  # a stop flag per generation under way

    def _load(self) -> Any:
        try:
            import xllamacpp
        except ImportError:
            raise MissingDependencyError("xllamacpp") from None
        path = self._path
        params = xllamacpp.CommonParams()
        params.model.path = str(path)
        params.verbosity = -1
        params.n_parallel = _SLOTS
        params.n_ctx = _SLOTS * _CTX_PER_SLOT
        threads = threads_to_use()
        params.cpuparams.n_threads = threads
        params.cpuparams_batch.n_threads = threads
        params.hostnames = ["127.0.0.1"]
        try:
            return xllamacpp.Server(params)
        except Exception as exc:
            raise ModelError(f"llama.cpp could not load {str(path)!r}: {exc}") from None

    @property
    def slots(self) -> int:
        """Requests generated at once (continuous batching): more would wait in llama.cpp."""
        return _SLOTS

    async def server(self) -> Any:
        """The running llama.cpp server, loaded on first use."""
        async with self._lock:
            if self._server is None:
                self._server = await asyncio.to_thread(self._load)
        return self._server

    async def generate(self, request: Request) -> Completion:
        """One completion (or chat completion, for models with a chat template)."""
        server = await self.server()
        body: dict[str, Any] = {
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
            "seed": request.seed,
        }
        if request.stop:
            body["stop"] = list(request.stop)
        if request.grammar and self.grammar:
            body["grammar"] = request.grammar
        if self.style == "chat":
            body["messages"] = [
                {"role": m.role, "content": m.content} for m in request.messages
            ] or [{"role": "user", "content": request.text}]
        else:
            body["prompt"] = request.text or request.as_text()
        stop = threading.Event()
        self._running.add(stop)
        try:
            chunks = await asyncio.to_thread(self._stream, server, body, stop)
        except asyncio.CancelledError:
            stop.set()  # llama.cpp stops at its next token: Ctrl-C does not wait for the answer
            raise
        finally:
            self._running.discard(stop)
        return _completion(chunks, self.style)

    def _stream(self, server: Any, body: dict[str, Any], stop: threading.Event) -> list[Any]:
        """The answer's chunks as llama.cpp streams them (in a worker thread), until it ends or
        `stop` is set."""
        chunks: list[Any] = []

        def take(chunk: Any) -> bool:  # True: stop generating
            chunks.append(chunk)
            return stop.is_set()

        handle = (
            server.handle_chat_completions if self.style == "chat" else server.handle_completions
        )
        handle({**body, "stream": True}, take)
        return chunks

    async def close(self) -> None:
        """Stop the generations under way, then the server, and free the model."""
        for stop in list(self._running):
            stop.set()
        server, self._server = self._server, None
        if server is not None:
            await asyncio.to_thread(_drop, server)


def make(argument: str, config: ModelConfig) -> EmbeddedModel:
    """`embedded` (the default model), `embedded:<name>` (see `packaged.MODELS`) or
    `embedded:<file.gguf>`."""
    model = EmbeddedModel(argument or None, style=config.style or None)
    model.grammar = config.grammar
    return model


def _completion(chunks: list[Any], style: Style) -> Completion:
    """The completion that a streamed answer's chunks make: their text, and the token counts
    of the last chunk (its usage, or for chat its timings: prompt tokens evaluated and cached,
    tokens predicted)."""
    text = []
    for chunk in chunks:
        if not isinstance(chunk, dict) or "choices" not in chunk:
            raise ModelError(f"llama.cpp returned an error: {chunk!r}"[:500])
        for choice in chunk["choices"][:1]:
            part = (
                (choice.get("delta") or {}).get("content")
                if style == "chat"
                else choice.get("text")
            )
            text.append(part or "")
    if not chunks:
        raise ModelError("llama.cpp returned no answer")
    last = chunks[-1]
    usage, timings = last.get("usage") or {}, last.get("timings") or {}
    prompt = usage.get("prompt_tokens", timings.get("prompt_n", 0) + timings.get("cache_n", 0))
    answer = usage.get("completion_tokens", timings.get("predicted_n", 0))
    # (the counts as llama.cpp gives them: `Metered` checks them, as every backend's)
    return Completion("".join(text), prompt, answer)


def _drop(server: Any) -> None:
    del server
