"""Model backends behind one protocol, and `make_model` to pick one from a spec string.

Specs: ``embedded`` (Gemma 3 270M), ``embedded:<path.gguf>``, ``openai:<model>``,
``anthropic:<model>``, ``scripted:<answers.jsonl>``.
"""

from __future__ import annotations

from hone.config import ModelConfig
from hone.exceptions import ConfigError
from hone.models.base import Completion, Message, Model, Request, Style, estimate_tokens

KINDS = ("embedded", "openai", "anthropic", "scripted")


def check_spec(config: ModelConfig) -> None:
    """Raise ConfigError at once for a spec `make_model` would refuse (it is slow to run)."""
    kind, _, arg = config.spec.partition(":")
    if kind not in KINDS:
        raise ConfigError(
            f"unknown model {config.spec!r}; use one of: embedded, embedded:<file.gguf>, "
            "openai:<model>, anthropic:<model>, scripted:<answers.jsonl>"
        )
    if kind in ("openai", "anthropic", "scripted") and not arg:
        raise ConfigError(f"model {config.spec!r} needs a name after the colon, e.g. {kind}:NAME")


def make_model(config: ModelConfig) -> Model:
    """The backend a spec such as 'openai:gpt-4o-mini' names."""
    check_spec(config)
    kind, _, arg = config.spec.partition(":")
    if kind == "embedded":
        from hone.models.embedded import EmbeddedModel

        return EmbeddedModel(arg or None)
    if kind == "openai":
        from hone.models.openai import OpenAIModel

        return OpenAIModel(arg, base_url=config.base_url, timeout=config.timeout)
    if kind == "anthropic":
        from hone.models.anthropic import AnthropicModel

        return AnthropicModel(arg, base_url=config.base_url, timeout=config.timeout)
    from hone.models.scripted import ScriptedModel

    return ScriptedModel.from_jsonl(arg)


__all__ = [
    "KINDS",
    "Completion",
    "Message",
    "Model",
    "Request",
    "Style",
    "check_spec",
    "estimate_tokens",
    "make_model",
]
