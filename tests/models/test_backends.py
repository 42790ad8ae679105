"""Model backends against real servers: the embedded models (the default Qwen2.5-Coder-0.5B,
Gemma 3 270M), and the openai and anthropic SDKs talking to Gemma served on loopback by
llama.cpp's own HTTP server."""

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from hone.exceptions import ConfigError, ModelError
from hone.models import Message, Request, make_model
from hone.models.anthropic import AnthropicModel
from hone.models.embedded import EmbeddedModel
from hone.models.openai import OpenAIModel
from hone.models.packaged import model_path
from hone.settings import ModelConfig

pytestmark = pytest.mark.slow

PROMPT = 'def add(a, b):\n    """Return the sum of a and b."""\n'


@pytest.fixture(scope="module")
def server() -> Iterator[Any]:
    import xllamacpp

    params = xllamacpp.CommonParams()
    params.model.path = str(model_path("gemma-270m"))
    params.verbosity = -1
    params.n_ctx = 2048
    params.n_parallel = 2
    server = xllamacpp.Server(params)
    yield server
    del server


def test_embedded_model_completes_code_and_counts_tokens() -> None:
    async def go() -> Any:
        model = make_model(ModelConfig(spec="embedded"))
        assert isinstance(model, EmbeddedModel) and model.style == "completion"
        assert model.name == "embedded:qwen-coder-0.5b"  # runs record which model answered
        try:
            return await asyncio.gather(
                *(
                    model.generate(Request(text=PROMPT, max_tokens=24, seed=s, stop=("\ndef ",)))
                    for s in (1, 2)
                )
            )
        finally:
            await model.close()

    completions = asyncio.run(go())
    for completion in completions:
        assert completion.text.strip()
        assert 0 < completion.completion_tokens <= 24
        assert completion.prompt_tokens >= 10
        assert "\ndef " not in completion.text


def test_an_embedded_answer_is_streamed_as_it_would_be_whole() -> None:
    """The streamed answer's text and token counts are those llama.cpp gives unstreamed (same
    seed); after a generation's task is cancelled (Ctrl-C) the model answers the next request,
    and no generation is left marked as under way."""

    async def go() -> tuple[Any, ...]:
        model = EmbeddedModel()
        server = await model.server()
        long = Request(text="# An essay on prime numbers\n", max_tokens=2000, seed=1)
        try:
            whole = await asyncio.to_thread(
                server.handle_completions, {"prompt": PROMPT, "max_tokens": 24, "seed": 1}
            )
            streamed = await model.generate(Request(text=PROMPT, max_tokens=24, seed=1))
            task = asyncio.create_task(model.generate(long))
            await asyncio.sleep(2)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            after = await model.generate(Request(text=PROMPT, max_tokens=8, seed=1))
            return whole, streamed, after, model._running
        finally:
            await model.close()

    whole, streamed, after, running = asyncio.run(go())
    assert streamed.text == whole["choices"][0]["text"]
    assert (streamed.prompt_tokens, streamed.completion_tokens) == (
        whole["usage"]["prompt_tokens"],
        whole["usage"]["completion_tokens"],
    )
    assert after.completion_tokens <= 8 and after.text.strip() and not running


def test_a_cancelled_generation_stops_at_its_next_token() -> None:
    """A generation of 2,000 tokens (end of text ignored) whose task is cancelled after 2 s
    returns from llama.cpp with the few tokens it had, instead of running on in its thread
    (which the process waited for at exit: Ctrl-C took minutes)."""
    streamed: list[int] = []

    class Counting(EmbeddedModel):
        def _stream(self, server: Any, body: dict[str, Any], stop: Any) -> list[Any]:
            chunks = super()._stream(server, {**body, "ignore_eos": True}, stop)
            streamed.append(len(chunks))
            return chunks

    async def go() -> None:
        model = Counting()
        await model.server()
        request = Request(text="# An essay on prime numbers\n", max_tokens=2000, seed=1)
        try:
            task = asyncio.create_task(model.generate(request))
            await asyncio.sleep(2)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            for _ in range(600):  # (a guard, not a bound: the thread returns within a token)
                if streamed:
                    break
                await asyncio.sleep(0.1)
        finally:
            await model.close()

    asyncio.run(go())
    assert streamed and 0 < streamed[0] < 1000


def test_embedded_chat_answers_follow_the_grammar_of_the_request() -> None:
    async def go() -> list[str]:
        model = make_model(ModelConfig(spec="embedded:qwen-coder-0.5b", style="chat", grammar=True))
        assert model.style == "chat"
        asked = (Message("user", "Is 7 a prime number? Explain at length."),)
        grammar = 'root ::= "yes" | "no"'
        try:
            return [
                (
                    await model.generate(
                        Request(messages=asked, max_tokens=20, seed=s, grammar=grammar)
                    )
                ).text
                for s in (1, 2)
            ]
        finally:
            await model.close()

    assert set(asyncio.run(go())) <= {"yes", "no"}


def test_openai_backend_against_a_real_server(server: Any) -> None:
    base_url = server.listening_address + "/v1"

    async def go() -> Any:
        model = make_model(ModelConfig(spec="openai:gemma", base_url=base_url))
        assert isinstance(model, OpenAIModel)
        try:
            return await model.generate(
                Request(
                    messages=(Message("user", "Write a Python function that adds two numbers."),),
                    max_tokens=16,
                    seed=3,
                )
            )
        finally:
            await model.close()

    completion = asyncio.run(go())
    assert completion.text
    assert 0 < completion.completion_tokens <= 16 and completion.prompt_tokens > 5


def test_anthropic_backend_against_a_real_server(server: Any) -> None:
    async def go() -> Any:
        model = AnthropicModel("gemma", base_url=server.listening_address)
        try:
            return await model.generate(
                Request(
                    messages=(
                        Message("system", "You write Python."),
                        Message("user", "Add two numbers."),
                    ),
                    max_tokens=16,
                )
            )
        finally:
            await model.close()

    completion = asyncio.run(go())
    assert completion.text
    assert 0 < completion.completion_tokens <= 16


def test_unreachable_server_is_a_clear_model_error() -> None:
    async def go() -> None:
        model = OpenAIModel("x", base_url="http://127.0.0.1:9/v1", timeout=5)
        model._client = model._client.with_options(max_retries=0)
        try:
            await model.generate(Request(text="hi", max_tokens=1))
        finally:
            await model.close()

    with pytest.raises(ModelError, match=r"cannot reach the model server at http://127.0.0.1:9/v1"):
        asyncio.run(go())


def test_model_specs() -> None:
    with pytest.raises(ConfigError, match="unknown model 'gpt'"):
        make_model(ModelConfig(spec="gpt"))
    with pytest.raises(ConfigError, match="needs a name"):
        make_model(ModelConfig(spec="openai:"))
    with pytest.raises(ConfigError, match="OPENAI_API_KEY is not set"):
        make_model(ModelConfig(spec="openai:gpt-4o-mini"))
    with pytest.raises(ConfigError, match="ANTHROPIC_API_KEY is not set"):
        make_model(ModelConfig(spec="anthropic:claude"))
    with pytest.raises(ConfigError, match="does not exist"):
        make_model(ModelConfig(spec="embedded:/nonexistent.gguf"))


def test_embedding_novelty_against_a_real_server() -> None:
    import xllamacpp

    from hone.models.embeddings import OpenAIEmbedder
    from hone.novelty import EmbeddingNovelty

    params = xllamacpp.CommonParams()
    params.model.path = str(model_path("gemma-270m"))
    params.verbosity = -1
    params.n_ctx = 4096
    params.embedding = True
    params.pooling_type = xllamacpp.llama_pooling_type.LLAMA_POOLING_TYPE_MEAN
    server = xllamacpp.Server(params)
    base_url = server.listening_address + "/v1"
    program = "def f(x):\n    total = 0\n    for i in range(x):\n        total += i * i\n    return total\n"
    renamed = program.replace("total", "acc")
    different = "import numpy as np\n\ndef pack(n):\n    xs = np.linspace(0, 1, n)\n    return xs\n"

    async def go() -> tuple[list[list[float]], object, object]:
        embedder = OpenAIEmbedder("gemma", base_url=base_url)
        try:
            vectors = await embedder.embed([program, different])
            novelty = EmbeddingNovelty(0.97, embedder)
            novelty.remember(1, program)
            return vectors, await novelty.check(renamed), await novelty.check(different)
        finally:
            await embedder.close()

    try:
        vectors, near, far = asyncio.run(go())
    finally:
        del server
    assert len(vectors) == 2 and len(vectors[0]) == len(vectors[1]) > 100
    assert near is not None and near[0] == 1 and near[1] > 0.97  # a renamed variable
    assert far is None  # another program
