"""What a model call costs: USD per million prompt and completion tokens, from a built-in table of
common hosted models that a TOML file of the user's extends or overrides; models that run here
(embedded, scripted, a server on loopback) cost nothing.

A prices file maps model names to prices (``[model] prices = "prices.toml"`` or ``--prices``)::

    ["openai:my-finetune"]          # the full name, as hone shows it
    input = 0.30                     # USD per million prompt tokens
    output = 1.20                    # USD per million completion tokens

    [gpt-4o-mini]                    # or the name after the backend's colon
    input = 0.15
    output = 0.60

A name also prices its dated variants (``gpt-4o-mini`` prices ``gpt-4o-mini-2024-07-18``); the
longest matching name wins, the user's before the built-in ones.
"""

from __future__ import annotations

import ipaddress
import math
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeGuard
from urllib.parse import urlparse

from hone.exceptions import ConfigError

# USD per million (prompt, completion) tokens, from the providers' price pages (2025).
BUILT_IN: dict[str, tuple[float, float]] = {
    "gpt-5": (1.25, 10.0),
    "gpt-5-mini": (0.25, 2.0),
    "gpt-5-nano": (0.05, 0.40),
    "gpt-4.1": (2.0, 8.0),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1-nano": (0.10, 0.40),
    "gpt-4o": (2.50, 10.0),
    "gpt-4o-mini": (0.15, 0.60),
    "o3": (2.0, 8.0),
    "o3-mini": (1.10, 4.40),
    "o4-mini": (1.10, 4.40),
    "claude-opus-4": (15.0, 75.0),
    "claude-opus-4-1": (15.0, 75.0),
    "claude-sonnet-4": (3.0, 15.0),
    "claude-sonnet-4-5": (3.0, 15.0),
    "claude-3-7-sonnet": (3.0, 15.0),
    "claude-haiku-4-5": (1.0, 5.0),
    "claude-3-5-haiku": (0.80, 4.0),
    "gemini-2.5-pro": (1.25, 10.0),
    "gemini-2.5-flash": (0.30, 2.50),
    "deepseek-chat": (0.27, 1.10),
    "deepseek-reasoner": (0.55, 2.19),
}
HOSTED = ("openai", "anthropic")  # backends that may bill; every other kind runs here
LOCAL = "local"


@dataclass(frozen=True)
class Price:
    """USD per million prompt (`input`) and completion (`output`) tokens, and where it is from
    ("built-in", a prices file, or "local": a model that runs here and costs nothing)."""

    input: float
    output: float
    source: str

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        """The cost in USD of one call with these token counts."""
        return (prompt_tokens * self.input + completion_tokens * self.output) / 1e6


@dataclass(frozen=True)
class Pricing:
    """The prices a run's calls are charged at: the user's, then local models, then built-in."""

    user: Mapping[str, Price] = field(default_factory=dict)
    local_server: bool = False  # the model's servers are on this machine: no bill
    source: str = ""  # the prices file, for messages

    @classmethod
    def of(cls, prices: str, servers: str | Sequence[str] | None) -> Pricing:
        """The pricing of a run whose `[model]` names the prices file `prices` ('' for none)
        and its servers (a URL or several; local when every one is on this machine)."""
        urls = [servers] if isinstance(servers, str) else list(servers or ())
        local = bool(urls) and all(on_loopback(url) for url in urls)
        return cls(read_prices(Path(prices)) if prices else {}, local, prices)

    def price(self, model: str) -> Price | None:
        """The price of a call answered by `model` (a name such as 'openai:gpt-4o-mini'), or
        None when hone knows none."""
        kind, _, bare = model.partition(":")
        found = _lookup(self.user, (model, bare, bare.rsplit("/", 1)[-1]))
        if found is not None:
            return found
        if kind not in HOSTED or not bare or self.local_server:
            return Price(0.0, 0.0, LOCAL)
        built_in = {name: Price(i, o, "built-in") for name, (i, o) in BUILT_IN.items()}
        return _lookup(built_in, (bare, bare.rsplit("/", 1)[-1]))

    def cost(self, model: str, prompt_tokens: int, completion_tokens: int) -> float | None:
        """The cost in USD of one call, or None when the model's price is unknown."""
        price = self.price(model)
        return None if price is None else price.cost(prompt_tokens, completion_tokens)

    def require(self, models: Iterable[str]) -> None:
        """Raise ConfigError for the first model without a price (a cost budget needs them)."""
        for model in models:
            if self.price(model) is None:
                raise ConfigError(
                    f"max_cost needs the price of {model!r}, which hone does not know; give it "
                    'in a prices file (e.g. [model] prices = "prices.toml" or --prices FILE, '
                    "see hone docs models)"
                )


def read_prices(path: Path) -> dict[str, Price]:
    """The prices a TOML file gives: a table per model name with `input` and `output`."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read the prices file {str(path)!r}: {exc.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"the prices file {str(path)!r} is not valid TOML: {exc}") from None
    prices = {}
    for name, entry in data.items():
        values = entry if isinstance(entry, dict) else {}
        given, taken = values.get("input"), values.get("output")
        if set(values) != {"input", "output"} or not (_number(given) and _number(taken)):
            raise ConfigError(
                f"the prices file {str(path)!r}: {name!r} must be a table with input and output, "
                "each USD per million tokens (e.g. input = 0.15, output = 0.60)"
            )
        prices[name] = Price(float(given), float(taken), str(path))
    return prices


def _number(value: object) -> TypeGuard[float]:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value >= 0
    )


def _lookup(table: Mapping[str, Price], names: Iterable[str]) -> Price | None:
    """The entry of the longest table name that is one of `names` or a prefix of one ending
    where a dated or tagged variant's suffix starts."""
    best: tuple[int, Price] | None = None
    for name in names:
        if not name:
            continue
        for key, price in table.items():
            matches = name == key or (name.startswith(key) and name[len(key)] in "-@:")
            if matches and (best is None or len(key) > best[0]):
                best = (len(key), price)
    return best[1] if best else None


def on_loopback(base_url: str | None) -> bool:
    """True when a server URL points at this machine (localhost, 127.0.0.0/8, ::1)."""
    if not base_url:
        return False
    host = urlparse(base_url if "//" in base_url else f"//{base_url}").hostname or ""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def spec_names(spec: str) -> list[str]:
    """The names the calls of a model spec are recorded under (an ensemble's members)."""
    kind, _, argument = spec.partition(":")
    if kind == "ensemble":
        return [m.strip() for m in argument.split(",") if m.strip()]
    return [spec]


def member_names(model: object) -> list[str]:
    """The names a model's calls are recorded under: an ensemble's members, else its own."""
    members = getattr(model, "models", None)
    if isinstance(members, list) and members:
        return [str(getattr(m, "name", "")) for m in members]
    return [str(getattr(model, "name", ""))]
