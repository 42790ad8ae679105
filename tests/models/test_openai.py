"""The openai backend against a small HTTP server on loopback: what it sends and how it reads
the answer (the SDK's own `post`, not `chat.completions.create`)."""

import asyncio
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from hone.exceptions import ModelError
from hone.models import Message, Request
from hone.models.openai import OpenAIModel


class _Server(ThreadingHTTPServer):
    answer: Any = None  # what the next POST returns (a dict: JSON, a str: text/plain)
    status = 200
    seen: list[tuple[dict[str, str], bytes]]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.seen.append(({k.lower(): v for k, v in self.headers.items()}, body))
        answer = self.server.answer
        if isinstance(answer, str):
            data, kind = answer.encode(), "text/plain"
        else:
            data, kind = json.dumps(answer).encode(), "application/json"
        self.send_response(self.server.status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass


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


@pytest.fixture
def server() -> Iterator[_Server]:
    httpd = _Server(("127.0.0.1", 0), _Handler)
    httpd.seen = []
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


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
                stop=["a", "b", "c", "d"],
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
    assert json.loads(ours)["stop"] == ["a", "b", "c", "d"]


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
