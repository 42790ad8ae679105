"""The anthropic backend against a small HTTP server on loopback: what it sends."""

import asyncio
import json

import pytest

from hone.models import Message, Request
from hone.models.anthropic import AnthropicModel
from tests.models.conftest import _Server


def test_sends_the_temperature_system_and_stop_sequences(
    server: _Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    server.answer = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude",
        "content": [{"type": "text", "text": "def add(a, b): return a + b"}],
        "stop_reason": "end_turn",
        "usage": {"input_tokens": 9, "output_tokens": 7},
    }
    request = Request(
        messages=(Message("system", "You write Python."), Message("user", "Add two numbers.")),
        temperature=0.3,
        max_tokens=32,
        stop=("\n\n",),
    )

    async def go() -> object:
        model = AnthropicModel("claude", base_url=f"http://127.0.0.1:{server.server_address[1]}")
        model._client = model._client.with_options(max_retries=0)
        try:
            return await model.generate(request)
        finally:
            await model.close()

    completion = asyncio.run(go())
    body = json.loads(server.seen[0][1])
    assert body["temperature"] == 0.3  # it was never sent
    assert body["system"] == "You write Python."
    assert body["messages"] == [{"role": "user", "content": "Add two numbers."}]
    assert body["stop_sequences"] == ["\n\n"] and body["max_tokens"] == 32
    assert completion.text == "def add(a, b): return a + b"  # type: ignore[attr-defined]
