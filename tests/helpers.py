"""What many tests share: answers a scripted model gives, a task's settings for a short run, a
clock the test moves, and `hone` started as a real process (``from tests.helpers import ...``)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import sqlite3
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hone.budget import Budget
from hone.task import Task

ROOT = Path(__file__).resolve().parent.parent


def fenced(code: str, language: str = "python") -> str:
    """A chat answer replacing the EVOLVE-BLOCK's contents with `code`."""
    return f"```{language}\n{code.strip()}\n```"


def block(value: float) -> str:
    """A chat answer rewriting the whole EVOLVE-BLOCK (applies to any parent): f() returns
    `value`."""
    return fenced(f"def f():\n    return {value!r}")


def value_of(program: str, function: str = "run") -> float:
    """What `function` of a test's own program returns (run in this process: a verifier
    double)."""
    namespace: dict[str, Any] = {}
    exec(program, namespace)
    return float(namespace[function]())


def task_of(folder: Path, width: int = 1, fix: int | None = None, **budget: float | None) -> Task:
    """The task in `folder` with `width` hypotheses a round (and `fix` fix attempts, when
    given), and a budget of 20 model calls with no patience limit, changed by `budget`."""
    task = Task.from_dir(folder)
    return task.configured(
        budget=Budget(**{"max_llm_calls": 20, "patience": None, **budget}),
        search={"hypotheses_per_round": width, "fix_attempts": fix},
    )


class FakeClock:
    """A clock that stands still until the test moves it (`Session(clock=...)`)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move the clock `seconds` on."""
        self.now += seconds


def hone_command(*args: str) -> list[str]:
    """`python -m hone ARGS` with this checkout's hone (run it with `environment()`)."""
    return [sys.executable, "-m", "hone", *args]


def environment() -> dict[str, str]:
    """The environment of a `hone` process started by a test: this checkout's sources first,
    and loopback servers reached without a proxy."""
    paths = [str(ROOT / "src"), str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(paths), "NO_PROXY": "127.0.0.1"}


def stored(db: Path, query: str, *args: object) -> Any:
    """The first value `query` finds in a run's store, read as a second reader would (None
    while the store or its tables do not exist yet)."""
    if not db.exists():
        return None
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
            row = conn.execute(query, args).fetchone()
    except sqlite3.OperationalError:  # (the schema may not be there yet)
        return None
    return row[0] if row else None


def wait_until(condition: Callable[[], bool], what: str, seconds: float = 120) -> None:
    """Poll `condition` until it holds; fail naming `what` after `seconds` (a deadline for a
    test that went wrong, not a speed target)."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"still waiting for {what} after {seconds:g} s"
        time.sleep(0.02)


async def wait_until_async(condition: Callable[[], bool], what: str, seconds: float = 120) -> None:
    """`wait_until` inside a running event loop."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"still waiting for {what} after {seconds:g} s"
        await asyncio.sleep(0.02)


def processes_with(marker: str) -> list[int]:
    """Pids of the processes whose command line holds `marker` (all PID namespaces: /proc
    here shows the candidates' processes too)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


class Rendezvous:
    """A loopback server where `parties` programs meet: each connects and waits for "go",
    which comes only once all of them are connected at the same time. A program's side:
    `Rendezvous.CLIENT` (it waits 60 s at most, then fails)."""

    CLIENT = (
        "import socket\n"
        "def meet(port):\n"
        "    with socket.create_connection(('127.0.0.1', port), timeout=60) as s:\n"
        "        s.sendall(b'here')\n"
        "        return s.recv(2) == b'go'\n"
    )

    def __init__(self, parties: int = 2) -> None:
        self.parties = parties
        self.server = socket.create_server(("127.0.0.1", 0))
        self.server.settimeout(120)
        self.port = int(self.server.getsockname()[1])
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        waiting: list[socket.socket] = []
        with contextlib.suppress(OSError):
            while len(waiting) < self.parties:
                conn, _ = self.server.accept()
                conn.settimeout(60)
                if conn.recv(4) == b"here":
                    waiting.append(conn)
            for conn in waiting:
                with contextlib.suppress(OSError):
                    conn.sendall(b"go")
        for conn in waiting:
            conn.close()

    def close(self) -> None:
        """Stop listening."""
        self.server.close()
        self.thread.join(5)
