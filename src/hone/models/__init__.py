"""Model backends behind one protocol, and `make_model` to pick one from a spec string.

Specs: ``embedded`` (Gemma 3 270M), ``embedded:<path.gguf>``, ``openai:<model>``,
``anthropic:<model>``, ``scripted:<answers.jsonl>``, and ``ensemble:<spec>,<spec>,...`` (a bandit
chooses among them per call).
"""

from __future__ import annotations

from dataclasses import replace

from hone.config import ModelConfig
from hone.exceptions import ConfigError
from hone.models.base import Completion, Message, Model, Request, Style, estimate_tokens

KINDS = ("embedded", "openai", "anthropic", "scripted", "ensemble")


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
    if kind == "ensemble":
        members = [m.strip() for m in arg.split(",") if m.strip()]
        if len(members) < 2:
            raise ConfigError(
                f"model {config.spec!r}: an ensemble lists two or more models, e.g. "
                "ensemble:openai:gpt-4o,openai:gpt-4o-mini"
            )
        for member in members:
            check_spec(replace(config, spec=member))


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
    if kind == "ensemble":
        from hone.models.ensemble import Ensemble

        members = [m.strip() for m in arg.split(",") if m.strip()]
        return Ensemble([make_model(replace(config, spec=m)) for m in members])
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
