"""What many tests share: answers a scripted model gives, a task's settings for a short run, a
clock the test moves, and `hone` started as a real process (``from tests.helpers import ...``)."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
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
from hone.exceptions import HoneError
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


def sent_prompts(db: Path, after: int = 0) -> list[str]:
    """The prompts of a run's answered model calls after call `after`, as they were sent (the
    store keeps them packed), read as a second reader would ([] while there is no store)."""
    return [call["prompt"] for call in stored_calls(db) if call["id"] > after and not call["error"]]


def stored_calls(db: Path) -> list[dict[str, Any]]:
    """Every model call a run stored (failed ones too), in order, with its prompt and answer
    as they were (the store keeps them packed), read as a second reader would ([] while
    there is no store)."""
    from hone.store import opened

    if not db.exists():
        return []
    try:
        with opened(db.parent) as store:
            return list(store.calls(failed=True))
    except (sqlite3.OperationalError, HoneError):  # (the schema may not be there yet)
        return []


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


def ray_processes(folder: str) -> list[int]:
    """Ids of the Ray processes (but this one) whose temporary folder is `folder`: those that
    name it in their command line, and those whose environment does and whose command line
    is Ray's (an actor's is only its title, "ray::_Node")."""
    path, value = f"{folder}/".encode(), f"={folder}\0".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            with contextlib.suppress(OSError):
                command = (entry / "cmdline").read_bytes()
                if path in command or (
                    b"ray" in command and value in (entry / "environ").read_bytes()
                ):
                    found.append(int(entry.name))
    return found


def listening(pids: list[int]) -> dict[int, list[str]]:
    """The TCP addresses each of `pids` listens on, by process ('127.0.0.1:6379', '::')."""
    sockets: dict[str, int] = {}  # inode -> pid
    for pid in pids:
        with contextlib.suppress(OSError):
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                with contextlib.suppress(OSError):
                    target = os.readlink(fd)
                    if target.startswith("socket:["):
                        sockets[target[8:-1]] = pid
    found: dict[int, list[str]] = {}
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == "0A" and inode in sockets:  # 0A: LISTEN
                found.setdefault(sockets[inode], []).append(_address(local))
    return found


def is_loopback(address: str) -> bool:
    """True for an address only this machine reaches (127.0.0.0/8, ::1, ::ffff:127.x)."""
    ip = ipaddress.ip_address(address.rsplit(":", 1)[0].strip("[]"))
    mapped = getattr(ip, "ipv4_mapped", None)
    return ip.is_loopback or (mapped is not None and mapped.is_loopback)


def _address(hexed: str) -> str:
    """'0100007F:1F90' (as /proc/net/tcp writes it: each 32-bit word in host order) as
    '127.0.0.1:8080'."""
    host, port = hexed.split(":")
    raw = bytes.fromhex(host)
    words = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    ip = ipaddress.ip_address(words)
    return f"{ip}:{int(port, 16)}" if ip.version == 4 else f"[{ip}]:{int(port, 16)}"


SERVED = [  # (server, latency, error) of the model calls `served_run` stores
    ("http://10.0.0.1:8000/v1", 0.5, None),
    ("http://10.0.0.1:8000/v1", 1.5, None),
    ("http://10.0.0.2:8000/v1", 0.2, "cannot reach the model server at http://10.0.0.2:8000/v1"),
    ("http://10.0.0.2:8000/v1", 0.7, None),
    ("http://10.0.0.2:8000/v1", 0.9, None),
]


def served_run(run_dir: Path) -> Path:
    """A run's store of a scored starting program and the model calls of `SERVED`, each at
    its server (as a pool stores them)."""
    from hone.evaluation import Evaluation
    from hone.meta import RunMeta
    from hone.store import Store
    from hone.tree import Tree

    store = Store.create(run_dir, RunMeta(task_name="t", model={"spec": "openai:m"}))
    start = store.add_candidate(round=0, tree=Tree.one("program.py", "x = 1\n"))
    store.set_evaluation(start, Evaluation(score=1.0))
    for endpoint, latency, error in SERVED:
        store.add_call(
            round=1, model="openai:m", prompt="p", completion="c", prompt_tokens=1,
            completion_tokens=1, started=0.0, latency=latency, error=error, endpoint=endpoint,
        )  # fmt: skip
    store.close()
    return run_dir


def before_views(db: sqlite3.Connection) -> None:
    """Make a store as a hone before the totals and the views' indexes wrote it (an
    older hone's columns can then be dropped from it, as still older ones lacked them)."""
    for table in ("call_totals", "status_counts"):
        db.execute(f"DROP TABLE {table}")
    for kind in ("call_totals", "status_counts"):  # (their triggers are on the tables they add up)
        for trigger in ("add", "change", "remove"):
            db.execute(f"DROP TRIGGER IF EXISTS {kind}_{trigger}")
    for index in ("candidates_round", "candidates_ok", "candidates_tried", "llm_calls_latency"):
        db.execute(f"DROP INDEX {index}")
