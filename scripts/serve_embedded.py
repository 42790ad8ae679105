"""Serve the embedded model (or any GGUF file) over an OpenAI-compatible API on loopback.

    python scripts/serve_embedded.py [--gguf FILE] [--port 8080]
    hone run TASK --model openai:local --base-url http://127.0.0.1:8080/v1

For trying the `openai:` backend, and chat-style prompts, offline: llama.cpp's server from the
`xllamacpp` wheel, with the default embedded model (Qwen2.5-Coder-0.5B-Instruct, from its PyPI
packages) unless `--gguf` names a packaged model (`gemma-270m`, `qwen-coder-1.5b`, ...) or a file.
Ctrl-C stops it.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import threading


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--gguf", help="a GGUF file or a packaged model's name (default: the embedded default)"
    )
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--ctx", type=int, default=8192, help="context size over all slots")
    parser.add_argument("--parallel", type=int, default=2, help="requests served at once")
    args = parser.parse_args()

    import xllamacpp

    from hone.models.packaged import DEFAULT, MODELS, model_path

    name = args.gguf or DEFAULT
    params = xllamacpp.CommonParams()
    params.model.path = str(model_path(name)) if name in MODELS else name
    params.port = args.port
    params.n_ctx = args.ctx
    params.n_parallel = args.parallel
    params.verbosity = -1
    server = xllamacpp.Server(params)
    print(
        f"serving {params.model.path} at {server.listening_address}/v1 (Ctrl-C stops)", flush=True
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with contextlib.suppress(KeyboardInterrupt):
        stop.wait()
    del server
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
