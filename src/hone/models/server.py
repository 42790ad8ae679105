"""`hone serve`: a packaged model (or any GGUF file) behind llama.cpp's OpenAI-compatible
server, on 127.0.0.1, for `--model openai:local --base-url http://127.0.0.1:PORT/v1`.

The server reports its slots (`GET /props` → `total_slots`), and hone sends no more requests
at once than that (docs/models.md, "How many requests at once").
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hone.exceptions import ConfigError, MissingDependencyError, ModelError
from hone.models.embedded import threads_to_use
from hone.models.packaged import DEFAULT, MODELS, model_path


@dataclass(frozen=True)
class Serving:
    """What a started server serves, and where."""

    model: str  # the GGUF file
    url: str  # the OpenAI-compatible API's base URL (…/v1)
    slots: int  # requests it generates at once
    threads: int


def start(
    model: str | None = None, *, port: int = 8080, slots: int = 2, ctx: int = 8192
) -> tuple[Any, Serving]:
    """Start llama.cpp's server for a packaged model's name or a GGUF file (default: the
    embedded default); the server object (dropping it stops it) and what it serves."""
    if slots < 1 or ctx < 256 * slots:
        raise ConfigError(
            f"the server needs at least 1 slot and 256 tokens of context per slot; got "
            f"{slots} slots and {ctx} tokens"
        )
    name = model or DEFAULT
    if name in MODELS:
        path = model_path(name)
    elif Path(name).is_file():
        path = Path(name)
    else:
        raise ConfigError(
            f"{name!r} is neither a packaged model ({', '.join(MODELS)}) nor a GGUF file"
        )
    try:
        import xllamacpp
    except ImportError:
        raise MissingDependencyError("xllamacpp") from None
    params = xllamacpp.CommonParams()
    params.model.path = str(path)
    params.hostnames = ["127.0.0.1"]  # loopback only: the server has no authentication
    params.port = port
    params.n_ctx = ctx
    params.n_parallel = slots
    threads = threads_to_use()
    params.cpuparams.n_threads = threads
    params.cpuparams_batch.n_threads = threads
    params.verbosity = -1
    try:
        server = xllamacpp.Server(params)
    except Exception as exc:
        raise ModelError(f"llama.cpp could not serve {str(path)!r} on port {port}: {exc}") from None
    address = str(server.listening_address).rstrip("/")
    return server, Serving(str(path), f"{address}/v1", slots, threads)


def wait_for_stop(on_ready: Callable[[], None]) -> None:
    """Return on Ctrl-C or SIGTERM (the caller then drops the server, which stops it)."""
    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        on_ready()
        with contextlib.suppress(KeyboardInterrupt):
            stop.wait()
    finally:
        signal.signal(signal.SIGTERM, previous)
