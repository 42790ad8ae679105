"""OpenAI-compatible chat servers (OpenAI, vLLM, Ollama, llama.cpp, OpenRouter) via the SDK."""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from hone.exceptions import ConfigError, MissingDependencyError, ModelError
from hone.models.base import Completion, Model, Request, Style, estimate_tokens
from hone.models.pool import RETRIES, probe_get, served

if TYPE_CHECKING:
    from hone.settings import ModelConfig

log = logging.getLogger("hone")
_OPENAI_STOP_LIMIT = 4  # api.openai.com refuses more stop sequences; other servers take more
# (the Python parameter and the option, as this error reaches both)
_KEY_HINT = "give base_url (--base-url, [model] base_url)"
_REFUSED = (400, 413, 422)  # the request itself is refused: another server would refuse it too


class OpenAIModel:
    """Chat completions through the official `openai` SDK (`style` "completion": text
    completions, `/completions`, as llama.cpp and vLLM serve them)."""

    def __init__(
        self,
        model: str,
        *,
        base_url: str | None = None,
        timeout: float | None = None,
        client: Any = None,
        retries: int = RETRIES,
        style: Style = "chat",
    ) -> None:
        self.name = f"openai:{model}"
        self.style: Style = style
        self.model = model
        self.base_url = base_url
        self.slots: int | None = None  # requests the server serves at once, when it says
        self.retries = retries
        if client is None:
            client = sdk_client(base_url, timeout, _KEY_HINT, retries)
            _warm_up()
        self._client = client

    async def generate(self, request: Request) -> Completion:
        """One chat completion (or text completion, in the completion style)."""
        import openai

        # The body `chat.completions.create` (`completions.create`) would send, byte for byte,
        # posted through the SDK's own `post`: that skips create()'s type-driven transform of
        # the parameters and the building of the response model (plain strings and numbers
        # need neither; the two were 1 ms of the 2.4 ms of CPU a call took in the SDK), and
        # keeps the SDK's auth, headers, retries, timeouts and errors.
        body: dict[str, Any] = {"model": self.model}
        if self.style == "completion":
            body["prompt"] = request.text or request.as_text()
        else:
            body["messages"] = [
                {"role": m.role, "content": m.content} for m in request.messages
            ] or [{"role": "user", "content": request.text}]
        body |= {"max_tokens": request.max_tokens, "seed": request.seed}
        if request.stop:
            body["stop"] = self._stops(request.stop)
        body["temperature"] = request.temperature
        where = self.base_url or "api.openai.com"
        try:
            data = await self._client.post(
                "/completions" if self.style == "completion" else "/chat/completions",
                body=body,
                cast_to=object,  # the decoded JSON, as is
                options={"security": {"bearer_auth": True}},
            )
        except openai.APITimeoutError:
            raise ModelError(f"the model server at {where} did not answer in time") from None
        except openai.APIConnectionError as exc:
            cause = exc.__cause__
            if cause is None or type(cause).__name__ in ("ConnectError", "ConnectTimeout"):
                raise ModelError(
                    f"cannot reach the model server at {where} ({exc}); is it running?"
                ) from None
            again = ", also when tried again" if self.retries else ""
            raise ModelError(
                f"the connection to the model server at {where} broke before it answered "
                f"({type(cause).__name__}: {cause}){again}"
            ) from None
        except ValueError as exc:  # the body is not JSON (or not UTF-8): json's errors
            raise ModelError(
                f"{self.name} at {where} answered with something that is not JSON "
                f"({type(exc).__name__}: {exc})"
            ) from None
        except openai.APIStatusError as exc:
            raise ModelError(
                f"{self.name} at {where} answered {exc.status_code}: {exc.message}",
                refused=exc.status_code in _REFUSED,
            ) from None
        except openai.OpenAIError as exc:
            raise ModelError(f"{self.name} failed: {exc}") from None
        return _completion(self.name, data, request)

    async def probe(self, timeout: float) -> None:
        """Return once the server answers GET /models (`hone.models.pool`); a ModelError when
        it is still down."""
        import openai

        where = self.base_url or "api.openai.com"
        await probe_get(self._client, "/models", openai, where, timeout)

    def _stops(self, stop: tuple[str, ...]) -> list[str]:
        if self.base_url is None and len(stop) > _OPENAI_STOP_LIMIT:
            log.warning(
                "api.openai.com takes at most %d stop sequences; not sent: %r",
                _OPENAI_STOP_LIMIT,
                stop[_OPENAI_STOP_LIMIT:],
            )
            return list(stop[:_OPENAI_STOP_LIMIT])
        return list(stop)

    async def close(self) -> None:
        """Close the HTTP client."""
        await self._client.close()


def check(argument: str, config: ModelConfig) -> None:
    """Refuse now, before a run folder is made, what `make` would refuse after: no key and no
    server of one's own."""
    if os.environ.get("OPENAI_API_KEY") is None and not config.servers:
        raise ConfigError(_no_key(_KEY_HINT))


def make(argument: str, config: ModelConfig) -> Model:
    """`openai:<model>`, at `config.base_url` when set (any OpenAI-compatible server), or at
    each of `config.base_urls`, one pool (`hone.models.pool`). Prompted in `config.style`, else
    in the style of the packaged model the server says it serves (`hone serve`'s, prompted as
    the embedded model is), else in chat."""
    # (no timeout here: a run's deadline per call is `Metered`'s, from [model] timeout)
    if config.base_urls:
        urls = [server.url for server in config.servers]
        with ThreadPoolExecutor(len(urls)) as threads:  # (a server that hangs: 5 s, once)
            props = dict(zip(urls, threads.map(server_props, urls), strict=True))

        def member(url: str, retries: int) -> OpenAIModel:
            style = config.style or served_style(props[url])
            model = OpenAIModel(argument, base_url=url, retries=retries, style=style)
            model.slots = slots_of(props[url])
            return model

        return served(config.servers, member)
    if config.base_url is None:
        return OpenAIModel(argument, style=config.style or "chat")
    found = server_props(config.base_url)
    model = OpenAIModel(
        argument, base_url=config.base_url, style=config.style or served_style(found)
    )
    model.slots = slots_of(found)
    return model


def server_props(base_url: str) -> dict[str, Any] | None:
    """What the server at `base_url` says of itself at llama.cpp's `GET /props` (None: not
    llama.cpp, or not answering yet). Asked through the SDK's client, with a short deadline."""
    try:
        import openai
    except ImportError:
        raise MissingDependencyError("openai") from None
    root = base_url.rstrip("/")
    root = root.removesuffix("/v1")
    client = openai.OpenAI(
        api_key=os.environ.get("OPENAI_API_KEY") or "not-needed",
        base_url=base_url,
        max_retries=0,
        timeout=5.0,
    )
    try:
        data = client.get(f"{root}/props", cast_to=object)
    except (openai.OpenAIError, ValueError):
        return None
    finally:
        client.close()
    return data if isinstance(data, dict) else None


def slots_of(props: dict[str, Any] | None) -> int | None:
    """How many requests a server generates at once, when it says: llama.cpp's `total_slots`
    in its `/props` (None: not said; vLLM's `/v1/models` says only each model's length, and
    hosted APIs nothing)."""
    slots = props.get("total_slots") if props is not None else None
    return slots if type(slots) is int and slots > 0 else None


def served_style(props: dict[str, Any] | None) -> Style:
    """The prompt style of the packaged model a llama.cpp server serves (its `/props`
    `model_path` is the file `hone serve` assembled: the code models complete best-shot
    prompts, docs/models.md), else chat."""
    from hone.models.packaged import MODELS

    path = props.get("model_path") if props is not None else None
    name = str(path).replace("\\", "/").rsplit("/", 1)[-1] if isinstance(path, str) else ""
    styles = {m.file: m.style for m in MODELS.values() if m.file}
    return styles.get(name) or "chat"


def sdk_client(
    base_url: str | None, timeout: float | None, key_hint: str, retries: int = RETRIES
) -> Any:
    """An `openai.AsyncOpenAI` client, keyed by OPENAI_API_KEY; without a key, only for a
    `base_url` (`key_hint` says how to give one: "give base_url (...)", ...); it tries a
    request `retries` times more when it could not connect or got a 408, 429 or 5xx."""
    try:
        import openai
    except ImportError:
        raise MissingDependencyError("openai") from None
    api_key = os.environ.get("OPENAI_API_KEY")
    if api_key is None and base_url is None:
        raise ConfigError(_no_key(key_hint))
    return openai.AsyncOpenAI(
        api_key=api_key or "not-needed",
        base_url=base_url,
        max_retries=retries,
        timeout=openai.NOT_GIVEN if timeout is None else timeout,
    )


def _no_key(key_hint: str) -> str:
    return f"OPENAI_API_KEY is not set; set it, or {key_hint} for a server that needs no key"


def _completion(name: str, data: object, request: Request) -> Completion:
    """The text and token counts of a chat (or text) completion's JSON."""
    choices = data.get("choices") if isinstance(data, dict) else None
    if not isinstance(choices, list) or not choices:
        raise ModelError(f"{name} returned no choices")
    first = choices[0] if isinstance(choices[0], dict) else {}
    message = first.get("message")
    # (a text completion's answer is the choice's `text`)
    content = message.get("content") if isinstance(message, dict) else first.get("text")
    if isinstance(content, list):  # content parts, as some compatible servers answer
        parts = [p.get("text") for p in content if isinstance(p, dict)]
        content = "".join(t for t in parts if isinstance(t, str))
    text = content if isinstance(content, str) else ""  # (made valid text by `Metered`)
    usage = data.get("usage") if isinstance(data, dict) else None
    if not isinstance(usage, dict):
        usage = {}
    prompt_tokens = usage.get("prompt_tokens")
    completion_tokens = usage.get("completion_tokens")
    return Completion(
        text,
        prompt_tokens if isinstance(prompt_tokens, int) else estimate_tokens(request.as_text()),
        completion_tokens if isinstance(completion_tokens, int) else estimate_tokens(text),
    )


def _warm_up() -> None:
    """Do now (while the model is built off the event loop) what the SDK's HTTP stack would
    do on the first call: import anyio's asyncio backend (with its socket and stream modules)."""
    with contextlib.suppress(ImportError):  # an SDK that no longer uses anyio: nothing to do
        importlib.import_module("anyio._backends._asyncio")
