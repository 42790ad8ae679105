"""Text embeddings from an OpenAI-compatible `/embeddings` endpoint, for the novelty filter."""

from __future__ import annotations

from typing import Protocol

from hone.exceptions import ConfigError, ModelError


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
        from hone.models.openai import sdk_client

        self.name = f"openai:{model}"
        self.model = model
        self._client = sdk_client(base_url, timeout, "set [search] novelty_base_url")

    async def embed(self, texts: list[str]) -> list[list[float]]:
        """One vector per text, in order."""
        import openai

        try:
            response = await self._client.embeddings.create(model=self.model, input=texts)
        except openai.OpenAIError as exc:
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
