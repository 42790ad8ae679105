"""Text embeddings from an OpenAI-compatible `/embeddings` endpoint, for the novelty filter."""

from __future__ import annotations

import os
from typing import Any, Protocol

from hone.exceptions import ConfigError, MissingDependencyError, ModelError


class Embedder(Protocol):
    """Turns texts into vectors."""

    async def embed(self, texts: list[str]) -> list[list[float]]:
        """One vector per text; raise `ModelError` when the backend fails."""
        ...

    async def close(self) -> None:
        """Release the backend's resources."""
        ...


class OpenAIEmbedder:
    """Embeddings through the official `openai` SDK (OpenAI, vLLM, Ollama, llama.cpp, ...)."""

    def __init__(self, model: str, *, base_url: str | None = None, timeout: float = 60.0) -> None:
        try:
            import openai
        except ImportError:
            raise MissingDependencyError("openai") from None
        api_key = os.environ.get("OPENAI_API_KEY")
        if api_key is None and base_url is None:
            raise ConfigError(
                "OPENAI_API_KEY is not set; set it, or set [search] novelty_base_url to a "
                "server that needs no key"
            )
        self.name = f"openai:{model}"
        self.model = model
        self._openai: Any = openai
        self._client = openai.AsyncOpenAI(
            api_key=api_key or "not-needed", base_url=base_url, timeout=timeout, max_retries=2
        )

    async def embed(self, texts: list[str]) -> list[list[float]]:
        """One vector per text, in order."""
        try:
            response = await self._client.embeddings.create(model=self.model, input=texts)
        except self._openai.OpenAIError as exc:
            raise ModelError(f"embeddings from {self.name} failed: {exc}") from None
        rows = sorted(response.data, key=lambda row: row.index)
        if len(rows) != len(texts):
            raise ModelError(f"{self.name} returned {len(rows)} embeddings for {len(texts)} texts")
        return [list(row.embedding) for row in rows]

    async def close(self) -> None:
        """Close the HTTP client."""
        await self._client.close()


def make_embedder(spec: str, base_url: str | None, timeout: float = 60.0) -> Embedder:
    """The embedder a spec such as 'openai:text-embedding-3-small' names."""
    kind, _, model = spec.partition(":")
    if kind != "openai" or not model:
        raise ConfigError(
            f"unknown embedding model {spec!r}; use openai:<model> (any OpenAI-compatible "
            "server, with [search] novelty_base_url)"
        )
    return OpenAIEmbedder(model, base_url=base_url, timeout=timeout)
