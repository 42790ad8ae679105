"""Prices: the built-in table, the user's file over it, local models free, and the cost budget's
need of a price for every model."""

from pathlib import Path

import pytest

from hone.exceptions import ConfigError
from hone.models.prices import Price, Pricing, on_loopback, read_prices, spec_names


def test_built_in_prices_cover_dated_variants_and_the_longest_name_wins() -> None:
    pricing = Pricing()
    assert pricing.price("openai:gpt-4o-mini") == Price(0.15, 0.60, "built-in")
    assert pricing.price("openai:gpt-4o-mini-2024-07-18") == Price(0.15, 0.60, "built-in")
    assert pricing.price("openai:gpt-4o") == Price(2.50, 10.0, "built-in")  # not -mini's
    assert pricing.price("anthropic:claude-sonnet-4-5-20250929") == Price(3.0, 15.0, "built-in")
    assert pricing.price("openai:openai/gpt-4.1-nano") == Price(0.10, 0.40, "built-in")
    assert pricing.price("openai:gpt-4omni") is None  # a prefix alone is not a variant
    assert pricing.cost("openai:gpt-4o-mini", 1_000_000, 500_000) == pytest.approx(0.45)


def test_local_models_are_free_and_say_so() -> None:
    free = Price(0.0, 0.0, "local")
    for name in ("embedded", "embedded:/m.gguf", "scripted:a.jsonl", "function", "replay"):
        assert Pricing().price(name) == free
    assert Pricing.of("", "http://127.0.0.1:8080/v1").price("openai:gpt-4o") == free
    assert Pricing.of("", "https://openrouter.ai/api/v1").price("openai:gpt-4o") != free
    assert on_loopback("http://localhost:11434/v1") and on_loopback("http://[::1]:8000")
    assert not on_loopback("http://10.0.0.5:8000/v1") and not on_loopback(None)


def test_a_prices_file_adds_and_overrides(tmp_path: Path) -> None:
    file = tmp_path / "prices.toml"
    file.write_text(
        '["openai:my-finetune"]\ninput = 0.3\noutput = 1.2\n'
        "[gpt-4o-mini]\ninput = 1\noutput = 2\n"
        '["scripted:a.jsonl"]\ninput = 100\noutput = 200\n'
    )
    pricing = Pricing.of(str(file), None)
    assert pricing.price("openai:my-finetune") == Price(0.3, 1.2, str(file))
    assert pricing.price("openai:gpt-4o-mini-2024-07-18") == Price(1.0, 2.0, str(file))
    assert pricing.price("scripted:a.jsonl") == Price(100.0, 200.0, str(file))  # over "local"
    assert pricing.price("openai:gpt-4o") == Price(2.50, 10.0, "built-in")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[m]\ninput = 1\n", "must be a table with input and output"),
        ('[m]\ninput = 1\noutput = "2"\n', "must be a table with input and output"),
        ("[m]\ninput = -1\noutput = 2\n", "must be a table with input and output"),
        ("m = 3\n", "must be a table with input and output"),
        ("[m\n", "is not valid TOML"),
    ],
)
def test_a_bad_prices_file_is_one_sentence(tmp_path: Path, text: str, message: str) -> None:
    file = tmp_path / "prices.toml"
    file.write_text(text)
    with pytest.raises(ConfigError, match=message) as raised:
        read_prices(file)
    assert "\n" not in str(raised.value)
    with pytest.raises(ConfigError, match="cannot read the prices file"):
        read_prices(tmp_path / "missing.toml")


def test_a_cost_budget_needs_every_model_priced() -> None:
    Pricing().require(spec_names("ensemble:openai:gpt-4o,embedded"))
    with pytest.raises(ConfigError, match="max_cost needs the price of 'openai:mystery'"):
        Pricing().require(spec_names("ensemble:openai:gpt-4o,openai:mystery"))
