"""Model backends behind one protocol, and `make_model` to pick one from a spec string.

A spec is ``<kind>`` or ``<kind>:<argument>``; `BACKENDS` lists the kinds (the CLI's help and
every error message come from it). Adding a backend: a module with a factory
``make(argument, config) -> Model``, one line in `BACKENDS` and its kind in
`hone.settings.BackendKind`; optionally ``check(argument, config)``, which refuses at once
(before a run folder is made) what `make` would refuse.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, replace
from typing import cast

from hone.exceptions import ConfigError
from hone.models.base import Completion, Message, Model, Request, Style, estimate_tokens
from hone.settings import BackendKind, ModelConfig


@dataclass(frozen=True)
class Backend:
    """A kind of model spec: where its factory lives and how it is written."""

    module: str  # holds make(argument: str, config: ModelConfig) -> Model
    usage: str  # how the spec is written, for help and errors
    needs_argument: bool = True
    timeout: float = 300.0  # seconds a call may take, unless [model] timeout says otherwise
    hedged: bool = False  # a stalled call gets a second request (a server's backends)


BACKENDS: dict[BackendKind, Backend] = {
    # the embedded model's 4 slots generate together on the same cores, so a call takes up to
    # 4 times as long as alone: measured, Qwen2.5-Coder-1.5B on 2 cores passed 300 s a call
    "embedded": Backend("hone.models.embedded", "embedded, embedded:<file.gguf>", False, 1200.0),
    "openai": Backend("hone.models.openai", "openai:<model>", hedged=True),
    "anthropic": Backend("hone.models.anthropic", "anthropic:<model>", hedged=True),
    "scripted": Backend("hone.models.scripted", "scripted:<answers.jsonl>"),
    "ensemble": Backend("hone.models.ensemble", "ensemble:<spec>,<spec>,..."),
}
KINDS = tuple(BACKENDS)


def spec_usage() -> str:
    """Every way to write a model spec, for help texts and errors."""
    return ", ".join(b.usage for b in BACKENDS.values())


def check_spec(config: ModelConfig) -> None:
    """Raise ConfigError at once for a spec `make_model` would refuse (it is slow to run)."""
    kind, _, arg = config.spec.partition(":")
    backend = _backend(kind)
    if backend is None:
        raise ConfigError(
            f"unknown model {config.spec!r}; use one of: {spec_usage()} (model, --model)"
        )
    if backend.needs_argument and not arg:
        raise ConfigError(f"model {config.spec!r} needs a name after the colon, e.g. {kind}:NAME")
    if kind == "ensemble":
        members = ensemble_members(arg)
        if len(members) < 2:
            raise ConfigError(
                f"model {config.spec!r}: an ensemble lists two or more models, e.g. "
                "ensemble:openai:gpt-4o,openai:gpt-4o-mini"
            )
        for member in members:
            check_spec(replace(config, spec=member))
        return
    check = getattr(importlib.import_module(backend.module), "check", None)
    if check is not None:  # (a backend module imports its SDK only when it makes a model)
        check(arg, config)


def call_timeout(config: ModelConfig) -> float:
    """Seconds a model call may take: `[model] timeout`, else the backend's default (an
    ensemble's: the longest of its members')."""
    if config.timeout is not None:
        return config.timeout
    kind, _, arg = config.spec.partition(":")
    if kind == "ensemble":
        return max(call_timeout(replace(config, spec=m)) for m in ensemble_members(arg))
    backend = _backend(kind)  # (a model object passed from Python may carry any spec)
    return backend.timeout if backend is not None else Backend.timeout


def call_hedged(config: ModelConfig) -> bool:
    """True when a stalled call of the spec's backend gets a second request
    (`hone.models.hedge`): a server's, not the embedded model's (an ensemble: all members')."""
    kind, _, arg = config.spec.partition(":")
    if kind == "ensemble":
        return all(call_hedged(replace(config, spec=m)) for m in ensemble_members(arg))
    backend = _backend(kind)
    return backend is not None and backend.hedged


def ensemble_members(argument: str) -> list[str]:
    """The member specs of ``ensemble:<spec>,<spec>,...``."""
    return [m.strip() for m in argument.split(",") if m.strip()]


def make_model(config: ModelConfig) -> Model:
    """The backend a spec such as 'openai:gpt-4o-mini' names."""
    check_spec(config)
    kind, _, arg = config.spec.partition(":")
    backend = _backend(kind)
    assert backend is not None  # (checked above)
    model: Model = importlib.import_module(backend.module).make(arg, config)
    return model


def _backend(kind: str) -> Backend | None:
    """The backend of a spec's kind; None for a kind that is not a `BackendKind`."""
    return BACKENDS.get(cast(BackendKind, kind))


__all__ = [
    "BACKENDS",
    "KINDS",
    "Completion",
    "Message",
    "Model",
    "Request",
    "Style",
    "call_hedged",
    "call_timeout",
    "check_spec",
    "estimate_tokens",
    "make_model",
    "spec_usage",
]
