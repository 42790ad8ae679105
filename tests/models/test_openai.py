"""The openai backend against a small HTTP server on loopback: what it sends and how it reads
the answer (the SDK's own `post`, not `chat.completions.create`)."""

import asyncio
import json
from typing import Any

import pytest

from hone.exceptions import ModelError
from hone.models import Message, Request
from hone.models.openai import OpenAIModel
from tests.models.conftest import _Server


def _chat(content: Any, usage: Any = None) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 0,
        "model": "m",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
        ],
    }
    if usage is not None:
        answer["usage"] = usage
    return answer


def _generate(server: _Server, request: Request, **kwargs: Any) -> Any:
    async def go() -> Any:
        url = f"http://127.0.0.1:{server.server_address[1]}/v1"
        model = OpenAIModel("m", base_url=url, timeout=10)
        model._client = model._client.with_options(max_retries=0)
        try:
            return await model.generate(request)
        finally:
            await model.close()

    return asyncio.run(go())


REQUEST = Request(
    messages=(Message("system", "You write Python, ü."), Message("user", "Add two numbers.")),
    temperature=0.5,
    max_tokens=64,
    seed=7,
    stop=("a", "b", "c", "d", "e"),
)


def test_sends_what_chat_completions_create_sends(
    server: _Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    server.answer = _chat(
        "def add(a, b):\n    return a + b\n", {"prompt_tokens": 11, "completion_tokens": 5}
    )
    completion = _generate(server, REQUEST)
    assert completion.text == "def add(a, b):\n    return a + b\n"
    assert (completion.prompt_tokens, completion.completion_tokens) == (11, 5)

    async def create() -> None:  # the same call through the SDK's typed method
        import openai

        url = f"http://127.0.0.1:{server.server_address[1]}/v1"
        client = openai.AsyncOpenAI(api_key="not-needed", base_url=url, max_retries=0)
        try:
            await client.chat.completions.create(
                model="m",
                messages=[
                    {"role": "system", "content": "You write Python, ü."},
                    {"role": "user", "content": "Add two numbers."},
                ],
                temperature=0.5,
                max_tokens=64,
                seed=7,
                stop=["a", "b", "c", "d", "e"],  # a server of its own takes more than 4
            )
        finally:
            await client.close()

    asyncio.run(create())
    (ours_headers, ours), (sdk_headers, sdk) = server.seen
    assert ours == sdk  # byte for byte
    assert server.seen[0][0]["authorization"] == "Bearer not-needed"
    skip = {"x-stainless-retry-count", "x-stainless-read-timeout"}
    assert {k: v for k, v in ours_headers.items() if k not in skip} == {
        k: v for k, v in sdk_headers.items() if k not in skip
    }
    assert json.loads(ours)["stop"] == ["a", "b", "c", "d", "e"]  # none dropped


def test_only_api_openai_com_gets_four_stop_sequences_and_a_warning(
    server: _Server, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import openai

    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    server.answer = _chat("x")
    url = f"http://127.0.0.1:{server.server_address[1]}/v1"

    async def go() -> None:  # base_url None: the backend takes it for api.openai.com
        client = openai.AsyncOpenAI(api_key="k", base_url=url, max_retries=0)
        model = OpenAIModel("m", client=client)
        try:
            await model.generate(REQUEST)
        finally:
            await model.close()

    with caplog.at_level("WARNING", logger="hone"):
        asyncio.run(go())
    assert json.loads(server.seen[0][1])["stop"] == ["a", "b", "c", "d"]
    assert "at most 4 stop sequences; not sent: ('e',)" in caplog.text


def test_reads_answers_without_content_or_usage(
    server: _Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    server.answer = _chat(None)
    completion = _generate(server, Request(text="hello there", max_tokens=4))
    assert completion.text == ""
    assert completion.prompt_tokens > 0 and completion.completion_tokens == 0
    assert json.loads(server.seen[0][1])["messages"] == [{"role": "user", "content": "hello there"}]


@pytest.mark.parametrize(
    "answer",
    [{**_chat("x"), "choices": []}, {"object": "chat.completion"}, "not json", [1, 2]],
)
def test_an_answer_without_choices_is_a_model_error(
    server: _Server, monkeypatch: pytest.MonkeyPatch, answer: Any
) -> None:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    server.answer = answer
    with pytest.raises(ModelError, match="openai:m returned no choices"):
        _generate(server, REQUEST)


def test_an_error_status_is_a_model_error(server: _Server, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    server.answer, server.status = {"error": {"message": "no such model"}}, 404
    with pytest.raises(ModelError, match=r"openai:m at http://127.0.0.1:\d+/v1 answered 404"):
        _generate(server, REQUEST)


def test_the_completion_style_sends_what_completions_create_sends(
    server: _Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A best-shot prompt goes to /completions as `completions.create` sends it, and the
    answer is the choice's `text`."""
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    server.answer = {
        "object": "text_completion",
        "choices": [{"index": 0, "text": "    return a + b\n", "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 9, "completion_tokens": 6},
    }
    request = Request(text="def add_v1(a, b):\n", max_tokens=64, seed=7, stop=("\ndef",))
    url = f"http://127.0.0.1:{server.server_address[1]}/v1"

    async def go() -> Any:
        model = OpenAIModel("m", base_url=url, timeout=10, style="completion")
        try:
            return await model.generate(request)
        finally:
            await model.close()

    completion = asyncio.run(go())
    assert (completion.text, completion.prompt_tokens, completion.completion_tokens) == (
        "    return a + b\n",
        9,
        6,
    )

    async def create() -> None:
        import openai

        client = openai.AsyncOpenAI(api_key="not-needed", base_url=url, max_retries=0)
        try:
            await client.completions.create(
                model="m",
                prompt="def add_v1(a, b):\n",
                max_tokens=64,
                seed=7,
                stop=["\ndef"],
                temperature=0.8,
            )
        finally:
            await client.close()

    asyncio.run(create())
    assert server.paths == ["/v1/completions", "/v1/completions"]
    assert json.loads(server.seen[0][1]) == json.loads(server.seen[1][1])


@pytest.mark.parametrize(
    ("props", "style", "expected"),
    [
        (
            {"total_slots": 2, "model_path": "/c/hone/qwen2.5-coder-0.5b-instruct.gguf"},
            "",
            "completion",
        ),
        ({"total_slots": 2, "model_path": "/models/other-7b-instruct.gguf"}, "", "chat"),
        (None, "", "chat"),  # not llama.cpp
        ({"total_slots": 2, "model_path": "/c/qwen2.5-coder-0.5b-instruct.gguf"}, "chat", "chat"),
    ],
)
def test_a_served_packaged_model_is_prompted_as_the_embedded_one(
    server: _Server, monkeypatch: pytest.MonkeyPatch, props: Any, style: str, expected: str
) -> None:
    """`hone serve`'s packaged code model (named by the server's /props) gets best-shot
    prompts, as it does embedded; any other model chat; `[model] style` wins."""
    from hone.models.openai import make
    from hone.settings import ModelConfig

    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    server.props = props
    url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    model = make("local", ModelConfig(spec="openai:local", base_url=url, style=style))
    assert model.style == expected
    assert getattr(model, "slots", None) == (2 if props else None)
