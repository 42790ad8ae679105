"""Anthropic's models through the official `anthropic` SDK."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from hone.exceptions import ConfigError, MissingDependencyError, ModelError
from hone.models.base import Completion, Model, Request, Style
from hone.models.pool import RETRIES, probe_get, served

if TYPE_CHECKING:
    from hone.settings import ModelConfig


_NO_KEY = (
    "ANTHROPIC_API_KEY is not set; set it, or give base_url (--base-url, [model] base_url) for "
    "a compatible server that needs no key"
)


class AnthropicModel:
    """Messages API calls; the system message goes in `system`."""

    style: Style = "chat"

    def __init__(
        self,
        model: str,
        *,
        base_url: str | None = None,
        timeout: float | None = None,
        client: Any = None,
        retries: int = RETRIES,
    ) -> None:
        self.name = f"anthropic:{model}"
        self.model = model
        self.base_url = base_url
        if client is None:
            try:
                import anthropic
            except ImportError:
                raise MissingDependencyError("anthropic") from None
            api_key = os.environ.get("ANTHROPIC_API_KEY")
            if api_key is None and base_url is None:
                raise ConfigError(_NO_KEY)
            client = anthropic.AsyncAnthropic(
                api_key=api_key or "not-needed",
                base_url=base_url,
                max_retries=retries,
                timeout=anthropic.NOT_GIVEN if timeout is None else timeout,
            )
        self._client = client

    async def generate(self, request: Request) -> Completion:
        """One Messages API call."""
        import anthropic

        system = "\n\n".join(m.content for m in request.messages if m.role == "system")
        messages = [
            {"role": m.role, "content": m.content} for m in request.messages if m.role != "system"
        ] or [{"role": "user", "content": request.text}]
        kwargs: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "max_tokens": request.max_tokens,
            # (SDK 1.x has no `temperature` argument; the API still takes it in the body)
            "extra_body": {"temperature": request.temperature},
        }
        if system:
            kwargs["system"] = system
        if request.stop:
            kwargs["stop_sequences"] = list(request.stop)
        where = self.base_url or "api.anthropic.com"
        try:
            response = await self._client.messages.create(**kwargs)
        except anthropic.APIConnectionError as exc:
            raise ModelError(
                f"cannot reach the model server at {where} ({exc}); is it running?"
            ) from None
        except anthropic.APIStatusError as exc:
            raise ModelError(
                f"{self.name} at {where} answered {exc.status_code}: {exc.message}",
                refused=exc.status_code in (400, 413, 422),  # (another server would too)
            ) from None
        except anthropic.AnthropicError as exc:
            raise ModelError(f"{self.name} failed: {exc}") from None
        text = "".join(getattr(block, "text", "") for block in response.content)
        return Completion(text, response.usage.input_tokens, response.usage.output_tokens)

    async def probe(self, timeout: float) -> None:
        """Return once the server answers GET /v1/models (`hone.models.pool`); a ModelError
        when it is still down."""
        import anthropic

        where = self.base_url or "api.anthropic.com"
        await probe_get(self._client, "/v1/models", anthropic, where, timeout)

    async def close(self) -> None:
        """Close the HTTP client."""
        await self._client.close()


def check(argument: str, config: ModelConfig) -> None:
    """Refuse now, before a run folder is made, a run with no key and no server of its own."""
    if os.environ.get("ANTHROPIC_API_KEY") is None and not config.servers:
        raise ConfigError(_NO_KEY)


def make(argument: str, config: ModelConfig) -> Model:
    """`anthropic:<model>`, at `config.base_url` when set, or at each of `config.base_urls`,
    one pool (`hone.models.pool`)."""
    if config.base_urls:

        def member(url: str, retries: int) -> AnthropicModel:
            return AnthropicModel(argument, base_url=url, retries=retries)

        return served(config.servers, member)
    return AnthropicModel(argument, base_url=config.base_url)  # the deadline is Metered's
