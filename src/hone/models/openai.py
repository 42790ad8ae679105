"""OpenAI-compatible chat servers (OpenAI, vLLM, Ollama, llama.cpp, OpenRouter) via the SDK."""

from __future__ import annotations

import os
from typing import Any

from hone.exceptions import ConfigError, MissingDependencyError, ModelError
from hone.models.base import Completion, Request, Style, estimate_tokens


class OpenAIModel:
    """Chat completions through the official `openai` SDK."""

    style: Style = "chat"

    def __init__(
        self, model: str, *, base_url: str | None = None, timeout: float = 300.0, client: Any = None
    ) -> None:
        self.name = f"openai:{model}"
        self.model = model
        self.base_url = base_url
        if client is None:
            try:
                import openai
            except ImportError:
                raise MissingDependencyError("openai") from None
            api_key = os.environ.get("OPENAI_API_KEY")
            if api_key is None and base_url is None:
                raise ConfigError(
                    "OPENAI_API_KEY is not set; set it, or pass --base-url for a server that "
                    "needs no key"
                )
            client = openai.AsyncOpenAI(
                api_key=api_key or "not-needed", base_url=base_url, timeout=timeout, max_retries=2
            )
            _warm_up(client)
        self._client = client

    async def generate(self, request: Request) -> Completion:
        """One chat completion."""
        import openai

        messages = [{"role": m.role, "content": m.content} for m in request.messages] or [
            {"role": "user", "content": request.text}
        ]
        kwargs: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "temperature": request.temperature,
            "max_tokens": request.max_tokens,
            "seed": request.seed,
        }
        if request.stop:
            kwargs["stop"] = list(request.stop)[:4]
        where = self.base_url or "api.openai.com"
        try:
            response = await self._client.chat.completions.create(**kwargs)
        except openai.APIConnectionError as exc:
            raise ModelError(
                f"cannot reach the model server at {where} ({exc}); is it running?"
            ) from None
        except openai.APIStatusError as exc:
            raise ModelError(
                f"{self.name} at {where} answered {exc.status_code}: {exc.message}"
            ) from None
        except openai.OpenAIError as exc:
            raise ModelError(f"{self.name} failed: {exc}") from None
        if not response.choices:
            raise ModelError(f"{self.name} returned no choices")
        text = response.choices[0].message.content or ""
        usage = response.usage
        return Completion(
            text,
            usage.prompt_tokens if usage else estimate_tokens(request.as_text()),
            usage.completion_tokens if usage else estimate_tokens(text),
        )

    async def close(self) -> None:
        """Close the HTTP client."""
        await self._client.close()


def _warm_up(client: Any) -> None:
    """Do now (while the model is built off the event loop) what the SDK would do lazily on
    the first call: import the chat resources and build the response model's validator."""
    from openai.types.chat import ChatCompletion

    _ = client.chat.completions
    ChatCompletion.model_validate(
        {
            "id": "warm-up",
            "object": "chat.completion",
            "created": 0,
            "model": "warm-up",
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "stop",
                    "message": {"role": "assistant", "content": ""},
                }
            ],
        }
    )
