"""A logging proxy on 127.0.0.1 in front of an OpenAI-compatible server, for the peer benchmark.

Every request is forwarded as it is; each chat or text completion is recorded (one JSON line per
call, in the order the calls arrived): its number, when it was sent and answered, the server's
``usage`` (prompt and completion tokens) and ``timings`` (llama.cpp: prompt and generation
milliseconds, so the rest of the latency is time spent waiting for a slot), how many calls were
in flight when it arrived, and the answer's text (which the benchmark matches against the
programs each framework stored). A run's calls beyond its budget are not forwarded: they get an
empty answer at once, marked ``refused``, so that no framework receives more model answers than
another, whatever it does on an error (ShinkaEvolve retries even a 400 twenty times).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

_HOP = {"host", "content-length", "connection", "keep-alive", "transfer-encoding", "upgrade"}
_COMPLETIONS = ("/chat/completions", "/completions")


class Recorder:
    """The current run's call log and budget (one run at a time)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.log: Path | None = None
        self.budget = 0
        self.arrived = 0  # calls forwarded in this run
        self.refused = 0
        self.in_flight = 0

    def begin(self, log: Path, budget: int) -> None:
        """Start recording a run's calls into `log`, forwarding at most `budget` of them."""
        with self.lock:
            self.log, self.budget = log, budget
            self.arrived = self.refused = 0

    def end(self) -> None:
        """Stop recording (calls still arriving are forwarded and not logged)."""
        with self.lock:
            self.log = None

    def admit(self) -> tuple[int | None, int]:
        """The call's number, or None when the run's budget is spent; and the calls in flight."""
        with self.lock:
            if self.log is not None and self.arrived >= self.budget:
                self.refused += 1
                return None, self.in_flight
            self.arrived += 1
            self.in_flight += 1
            return self.arrived, self.in_flight - 1

    def done(self) -> None:
        with self.lock:
            self.in_flight -= 1

    def write(self, record: dict[str, Any]) -> None:
        with self.lock:
            if self.log is not None:
                with self.log.open("a", encoding="utf-8") as f:
                    f.write(json.dumps(record) + "\n")


def _usage(body: bytes) -> dict[str, Any]:
    """Tokens, timings and answer text of a completion's JSON (what is there)."""
    try:
        data = json.loads(body)
    except ValueError:
        return {"answer": None}
    if not isinstance(data, dict):
        return {"answer": None}
    usage = data.get("usage") or {}
    timings = data.get("timings") or {}
    choice = (data.get("choices") or [{}])[0]
    message = choice.get("message") or {}
    return {
        "prompt_tokens": usage.get("prompt_tokens"),
        "completion_tokens": usage.get("completion_tokens"),
        "prompt_ms": timings.get("prompt_ms"),
        "predicted_ms": timings.get("predicted_ms"),
        "cached_tokens": timings.get("cache_n"),
        "finish_reason": choice.get("finish_reason"),
        "answer": message.get("content") if message else choice.get("text"),
    }


def _refusal(request: dict[str, Any]) -> bytes:
    """An empty completion, as the server would send it (no tokens spent): a chat answer's
    `message` and a text completion's `text`, for either endpoint."""
    return json.dumps(
        {
            "id": "refused",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": request.get("model", ""),
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": ""},
                    "text": "",
                    "finish_reason": "length",
                }
            ],
            "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
        }
    ).encode()


class LoggingProxy:
    """The proxy: `start()` serves on 127.0.0.1 (a free port) and returns its base URL."""

    def __init__(self, upstream: str, timeout: float = 3600.0) -> None:
        parts = urlsplit(upstream)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.timeout = timeout
        self.recorder = Recorder()
        self._server: ThreadingHTTPServer | None = None
        self._open: set[http.client.HTTPConnection] = set()  # requests at the server now

    def start(self) -> str:
        """Serve in a daemon thread; the base URL (``http://127.0.0.1:PORT``)."""
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # quiet: the JSON lines are the log
                pass

            def do_GET(self) -> None:
                proxy.forward(self, b"")

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                proxy.forward(self, self.rfile.read(length))

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def stop(self) -> None:
        """Stop serving, and hang up on the server's requests in flight (llama.cpp then stops
        generating them, so that the server can stop)."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        with self.recorder.lock:
            for connection in list(self._open):
                if connection.sock is not None:
                    with contextlib.suppress(OSError):
                        connection.sock.shutdown(socket.SHUT_RDWR)

    def forward(self, handler: BaseHTTPRequestHandler, body: bytes) -> None:
        """Send the request on, answer with the server's answer, record a completion call."""
        is_call = handler.command == "POST" and handler.path.rstrip("/").endswith(_COMPLETIONS)
        request: dict[str, Any] = {}
        if is_call:
            try:
                request = json.loads(body)
            except ValueError:
                request = {}
        number, in_flight = self.recorder.admit() if is_call else (None, 0)
        began = time.time()
        if is_call and number is None:
            self._reply(handler, 200, {"Content-Type": "application/json"}, _refusal(request))
            self.recorder.write({"refused": True, "sent": began, "in_flight": in_flight})
            return
        status, headers, answer, error = 502, {}, b"", None
        try:
            connection = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            with self.recorder.lock:
                self._open.add(connection)
            try:
                sent = {k: v for k, v in handler.headers.items() if k.lower() not in _HOP}
                connection.request(handler.command, handler.path, body=body or None, headers=sent)
                response = connection.getresponse()
                status, answer = response.status, response.read()
                headers = {k: v for k, v in response.getheaders() if k.lower() not in _HOP}
            finally:
                with self.recorder.lock:
                    self._open.discard(connection)
                connection.close()
        except OSError as exc:
            error = f"{type(exc).__name__}: {exc}"
            answer = json.dumps({"error": {"message": f"proxy: {error}"}}).encode()
            headers = {"Content-Type": "application/json"}
        finally:
            if is_call:
                self.recorder.done()
        answered = time.time()
        delivered = self._reply(handler, status, headers, answer)
        if not is_call:
            return
        messages = request.get("messages") or []
        self.recorder.write(
            {
                "call": number,
                "sent": began,
                "answered": answered,
                "latency": round(answered - began, 3),
                "status": status,
                "error": error,
                "delivered": delivered,
                "in_flight": in_flight,
                "temperature": request.get("temperature"),
                "max_tokens": request.get("max_tokens", request.get("max_completion_tokens")),
                "seed": request.get("seed"),
                "prompt_chars": sum(len(str(m.get("content", ""))) for m in messages)
                or len(str(request.get("prompt", ""))),
                **(_usage(answer) if status == 200 else {"answer": None}),
            }
        )

    @staticmethod
    def _reply(
        handler: BaseHTTPRequestHandler, status: int, headers: dict[str, str], body: bytes
    ) -> bool:
        """Send the answer; False when the client had gone (it timed out and hung up)."""
        try:
            handler.send_response(status)
            for key, value in headers.items():
                handler.send_header(key, value)
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            handler.wfile.write(body)
            handler.wfile.flush()
        except OSError:
            return False
        return True
