"""A small recording HTTP server on loopback for the backends' wire tests."""

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


class _Server(ThreadingHTTPServer):
    answer: Any = None  # what the next POST returns (a dict: JSON, a str: text/plain)
    status = 200
    seen: list[tuple[dict[str, str], bytes]]
    paths: list[str]  # of the POSTs, in order
    props: Any = None  # what GET /props returns (None: 404, as a server that is not llama.cpp)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.seen.append(({k.lower(): v for k, v in self.headers.items()}, body))
        self.server.paths.append(self.path)
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

    def do_GET(self) -> None:
        props = self.server.props if self.path.rstrip("/").endswith("/props") else None
        data = json.dumps(props).encode()
        self.send_response(404 if props is None else 200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def server() -> Iterator[_Server]:
    httpd = _Server(("127.0.0.1", 0), _Handler)
    httpd.seen = []
    httpd.paths = []
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()
