"""`hone serve`: the embedded model over an OpenAI-compatible API on 127.0.0.1."""

from __future__ import annotations

import argparse


def add_serve_command(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`hone serve`'s arguments."""
    serve = sub.add_parser(
        "serve",
        help="serve the embedded model over an OpenAI-compatible API on 127.0.0.1",
        description="Serve a packaged model (or a GGUF file) with llama.cpp's server on "
        "127.0.0.1, for hone run TASK --model openai:local --base-url http://127.0.0.1:PORT/v1 "
        "(hone sends it no more requests at once than it has slots). Ctrl-C stops it.",
    )
    serve.add_argument(
        "--model", help="a packaged model's name (qwen-coder-0.5b, ...) or a GGUF file "
        "(default: the embedded default)",
    )  # fmt: skip
    serve.add_argument("--port", type=int, default=8080, help="port (default 8080)")
    serve.add_argument(
        "--slots", type=int, default=2, help="requests generated at once (default 2)"
    )
    serve.add_argument(
        "--ctx", type=int, default=8192, help="tokens of context over all slots (default 8192)"
    )
    serve.set_defaults(handler=_serve)


def _serve(args: argparse.Namespace) -> int:
    from hone.models import server

    running, serving = server.start(args.model, port=args.port, slots=args.slots, ctx=args.ctx)

    def ready() -> None:
        print(
            f"serving {serving.model} at {serving.url} with {serving.slots} slots (requests "
            f"generated at once; {serving.threads} thread{'s' * (serving.threads > 1)}); use "
            f"it with: hone run TASK --model openai:local --base-url {serving.url} (Ctrl-C stops "
            "it)",
            flush=True,
        )

    try:
        server.wait_for_stop(ready)
    finally:
        del running
    return 0
