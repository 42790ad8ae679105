"""`hone serve` and the embedded-server recipe: llama.cpp's server on loopback says its slots,
and a run against it (`--model openai:local --base-url ...`) never has more requests in flight
than the server has slots (a proxy in between counts them)."""

from __future__ import annotations

import http.client
import json
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from hone.cli import main
from tests.helpers import environment, hone_command

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Proxy(ThreadingHTTPServer):
    """Forwards every request to the server at `upstream`, counting the POSTs in flight."""

    daemon_threads = True

    def __init__(self, upstream: int) -> None:
        super().__init__(("127.0.0.1", 0), _Forward)
        self.upstream = upstream
        self.lock = threading.Lock()
        self.now = self.most = self.posts = 0
        self.paths: list[str] = []


class _Forward(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Proxy

    def _forward(self, method: str) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        proxy = self.server
        with proxy.lock:
            proxy.paths.append(f"{method} {self.path}")
            if method == "POST":
                proxy.posts += 1
                proxy.now += 1
                proxy.most = max(proxy.most, proxy.now)
        try:
            upstream = http.client.HTTPConnection("127.0.0.1", proxy.upstream, timeout=600)
            headers = {"Content-Type": "application/json"} if body else {}
            upstream.request(method, self.path, body=body or None, headers=headers)
            reply = upstream.getresponse()
            data = reply.read()
        finally:
            if method == "POST":
                with proxy.lock:
                    proxy.now -= 1
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.getheader("Content-Type") or "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self._forward("GET")

    def do_POST(self) -> None:
        self._forward("POST")

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[int, str]]:
    """`hone serve` with Gemma 3 270M and 2 slots, as a user starts it; its port and line."""
    port = free_port()
    env = environment()
    command = hone_command("serve", "--model", "gemma-270m", "--slots", "2")
    process = subprocess.Popen(
        [*command, "--port", str(port), "--ctx", "4096"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    try:
        yield port, line
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0


def test_hone_serve_says_its_slots_and_the_server_reports_them(served) -> None:
    port, line = served
    url = f"http://127.0.0.1:{port}/v1"
    assert line.startswith("serving ") and "gemma" in line.lower()
    assert f"at {url} with 2 slots" in line
    assert f"hone run TASK --model openai:local --base-url {url}" in line
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("GET", "/props")
    assert json.loads(connection.getresponse().read())["total_slots"] == 2

    from hone.models.openai import server_props, slots_of

    assert slots_of(server_props(url)) == 2
    assert slots_of(server_props(f"http://127.0.0.1:{free_port()}/v1")) is None  # nothing there


def test_a_run_never_sends_more_requests_than_the_server_has_slots(
    served, make_task, tmp_path: Path, capsys
) -> None:
    port, _ = served
    proxy = Proxy(port)
    threading.Thread(target=proxy.serve_forever, args=(0.05,), daemon=True).start()
    try:
        task = make_task("[model]\nmax_completion_tokens = 24\n[search]\nfix_attempts = 0\n")
        url = f"http://127.0.0.1:{proxy.server_address[1]}/v1"
        argv = ["run", str(task), "--model", "openai:local", "--base-url", url]
        argv += ["--hypotheses", "4", "--max-llm-calls", "6", "--run-dir", str(tmp_path / "r")]
        began = time.monotonic()
        code = main(argv)
        took = time.monotonic() - began
    finally:
        proxy.shutdown()
        proxy.server_close()
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "GET /props" in proxy.paths  # hone asked the server how many it serves
    assert proxy.posts == 6  # --max-llm-calls 6: six requests, no more
    assert proxy.most == 2, (proxy.most, took)  # four hypotheses a round, two slots: two at once
