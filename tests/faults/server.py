"""An OpenAI-compatible chat server on 127.0.0.1 that misbehaves on purpose, one way per mode.

Run it as ``python -m tests.faults.server MODE [--port N]`` or start `FaultServer` in a test.
Every request is logged with what the server did (`log`), so a test can check that each answer
it gave is in the run's store.
"""

from __future__ import annotations

import argparse
import json
import random
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MODES = (
    "ok",  # a good answer: a new EVOLVE block
    "429",  # every other request: 429 with Retry-After, then the retry is answered
    "500",  # every request: 500
    "reset",  # the connection is closed without a reply
    "stall",  # the request is read, nothing is ever sent back
    "trickle",  # headers, then the body a byte at a time, forever
    "truncated",  # half of a valid JSON answer
    "empty",  # 200 with an empty body
    "prose",  # a valid answer with no code in it
    "oversized",  # a valid answer of several megabytes
    "schema",  # valid JSON without "choices"
    "utf8",  # a body that is not UTF-8
    "mix",  # each request one of the above, drawn with a seeded generator
    "fixable",  # slowish answers, a third without code; an answer to a fix request is good
    "surrogate",  # a good answer whose JSON holds a lone surrogate escape ("\ud800": valid JSON)
    "huge-usage",  # a good answer whose usage says 10**20 prompt tokens
    "negative-usage",  # a good answer whose usage says -10**9 prompt tokens
    "stall-once",  # request number STALLED stalls (nothing sent back); all others: "ok" at once
)
ANSWERED = ("ok", "prose", "oversized", "fixable", "surrogate", "huge-usage", "negative-usage")
_UNMIXED = ("mix", "stall", "trickle", "fixable", "surrogate", "huge-usage", "negative-usage")
_UNMIXED += ("stall-once",)
RETRY_AFTER = 0.3  # seconds, in the 429 replies
STALLED = 5  # the request that "stall-once" never answers


def answer(content: str, usage: tuple[int, int] = (10, 5)) -> bytes:
    """A chat completion with `content` and `usage` (prompt and completion tokens), as JSON
    (a lone surrogate in `content` is written as its escape, as json.dumps does)."""
    body = {
        "id": "chatcmpl-fault",
        "object": "chat.completion",
        "created": 0,
        "model": "fault",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": usage[0], "completion_tokens": usage[1]},
    }
    return json.dumps(body).encode()


def program(seed: int) -> str:
    """A good answer: f() returns a number that depends on the request's seed."""
    return f"```python\ndef f():\n    return {1 + seed % 97 / 10!r}\n```"


@dataclass
class Entry:
    """One request and what the server did with it."""

    mode: str
    seed: int | None
    prompt: str
    at: float


@dataclass
class FaultServer:
    """The server, in a thread of this process (`start`, `stop`) or on its own (`serve`)."""

    mode: str
    port: int = 0
    seed: int = 0
    log: list[Entry] = field(default_factory=list)
    _count: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _httpd: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        """The base URL for `--base-url`."""
        assert self._httpd is not None
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def answered(self) -> list[Entry]:
        """The requests that got a usable answer."""
        return [e for e in self.log if e.mode in ANSWERED]

    def start(self) -> FaultServer:
        """Serve in a daemon thread."""
        self._httpd = _Httpd(("127.0.0.1", self.port), _Handler)
        self._httpd.fault = self
        threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def stop(self) -> None:
        """Stop serving (stalled and trickling replies end with it)."""
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()

    def pick(self) -> str:
        """The mode of the next request."""
        with self._lock:
            self._count += 1
            count = self._count
        if self.mode == "429":
            return "429" if count % 2 else "ok"
        if self.mode == "fixable":
            return "fixable"
        if self.mode == "stall-once":
            return "stall" if count == STALLED else "ok"
        if self.mode == "mix":
            choices = [m for m in MODES if m not in _UNMIXED]
            return random.Random(self.seed * 100_003 + count).choice([*choices, "ok", "ok"])
        return self.mode


class _Httpd(ThreadingHTTPServer):
    daemon_threads = True
    fault: FaultServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that hung up on a stalled reply is what the modes are for


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Httpd

    def do_POST(self) -> None:
        fault = self.server.fault
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
        mode = fault.pick()
        prompt = json.dumps(body.get("messages", body.get("prompt", "")))
        with fault._lock:
            fault.log.append(Entry(mode, body.get("seed"), prompt, time.monotonic()))
        seed = int(body.get("seed") or 0)
        if mode == "fixable":
            time.sleep(random.Random(seed).uniform(0.02, 0.25))
            fixing = "could not be applied" in prompt
            usable = fixing or seed % 3 != 0
            mode = "ok" if usable else "prose"
        if mode in ("ok", "prose", "oversized"):
            text = {
                "ok": program(seed),
                "prose": "I would raise the value a little, but I will not write the code.",
                "oversized": program(seed) + "\n" + "# padding\n" * 600_000,
            }[mode]
            self._send(200, answer(text))
        elif mode == "surrogate":  # in a comment of a good program: the program still runs
            lone = "def f():\n    # a lone surrogate: \ud800\n"
            self._send(200, answer(program(seed).replace("def f():\n", lone)))
        elif mode in ("huge-usage", "negative-usage"):
            prompt_tokens = 10**20 if mode == "huge-usage" else -(10**9)
            self._send(200, answer(program(seed), (prompt_tokens, 5)))
        elif mode == "429":
            self._send(
                429, b'{"error": {"message": "slow down"}}', {"Retry-After": str(RETRY_AFTER)}
            )
        elif mode == "500":
            self._send(500, b'{"error": {"message": "the server fell over"}}')
        elif mode == "reset":
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\0\0\0\0\0\0\0")
            self.connection.close()
            self.close_connection = True
        elif mode == "stall":
            time.sleep(3600)
        elif mode == "trickle":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "100000")
            self.end_headers()
            for _ in range(100000):
                self.wfile.write(b" ")
                self.wfile.flush()
                time.sleep(0.05)
        elif mode == "truncated":
            data = answer(program(seed))
            self._send(200, data[: len(data) // 2])
        elif mode == "empty":
            self._send(200, b"")
        elif mode == "schema":
            self._send(200, b'{"object": "chat.completion", "result": "here"}')
        elif mode == "utf8":
            self._send(200, b'{"choices": [{"message": {"content": "\xff\xfe\xfa"}}]}')

    def _send(self, status: int, data: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def main() -> None:
    """Serve one mode until interrupted."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("mode", choices=MODES)
    parser.add_argument("--port", type=int, default=8089)
    args = parser.parse_args()
    server = FaultServer(args.mode, args.port).start()
    print(f"serving {args.mode!r} at {server.url}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
