"""`hone dashboard`: a Starlette app on 127.0.0.1 that follows runs as they go.

Each browser gets one server-sent-event stream for all the runs it shows: a snapshot, then
what changed. The server looks for changes with SQLite's `data_version` (a counter read from
memory, changed only by other connections' commits) every `POLL` seconds on a read-only
connection of its own, so a run being watched does no extra work. The page's assets ship in
the package (`static/`); nothing is fetched from the network.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import socket
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from hone.exceptions import MissingDependencyError, RunDirError, UserError
from hone.reflection import add_note
from hone.store import DB_NAME, readonly_connection
from hone.web.data import PAGE, Cursor, RunReader, packed, to_json
from hone.web.report import labels

POLL = 0.2  # seconds between looks for changes in a run's store
KEEP_ALIVE = 15.0  # seconds between comments on an idle stream
STATIC = resources.files("hone.web") / "static"

try:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
    from starlette.routing import Mount, Route
    from starlette.staticfiles import StaticFiles
except ImportError:  # pragma: no cover - the extra is not installed
    raise MissingDependencyError("starlette", "dashboard") from None


def make_app(runs: Sequence[Path]) -> Starlette:
    """The dashboard of `runs` (each a run folder; RunDirError for one that is not)."""
    folders = [Path(r) for r in runs]
    for folder in folders:
        RunReader.open(folder).close()  # a bad folder is an error now, not in the browser
    names = labels(folders)
    readers: dict[int, RunReader] = {}

    def reader(index: int) -> RunReader:
        if index not in readers:
            readers[index] = RunReader.open(folders[index])
        return readers[index]

    def run_index(request: Request) -> int:
        index = int(request.path_params["run"])
        if not 0 <= index < len(folders):
            raise KeyError(index)
        return index

    async def index(request: Request) -> Response:
        return HTMLResponse((STATIC / "index.html").read_text(encoding="utf-8"))

    async def run_list(request: Request) -> Response:
        return JSONResponse(
            [
                {"index": i, "label": names[i], "path": str(folder)}
                for i, folder in enumerate(folders)
            ]
        )

    async def stream(request: Request) -> Response:
        return StreamingResponse(
            _events(folders, lambda: bool(app.state.closing)),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

    async def hypothesis(request: Request) -> Response:
        try:
            found = reader(run_index(request)).hypothesis(int(request.path_params["id"]))
        except KeyError:
            return JSONResponse({"error": "no such run or hypothesis"}, status_code=404)
        except (RunDirError, sqlite3.Error) as exc:  # deleted, replaced, damaged since
            why = f"the run's store cannot be read any more ({exc})"
            return JSONResponse({"error": why}, status_code=410)
        return Response(to_json(found), media_type="application/json")

    async def page(request: Request) -> Response:
        query = request.query_params
        try:
            found = reader(run_index(request)).page(
                int(query.get("offset", 0)),
                int(query.get("limit", PAGE)),
                query.get("status", ""),
                int(query.get("since", 0)),
            )
        except (KeyError, ValueError):
            return JSONResponse({"error": "no such run, or not a number"}, status_code=404)
        except (RunDirError, sqlite3.Error) as exc:  # deleted, replaced, damaged since
            why = f"the run's store cannot be read any more ({exc})"
            return JSONResponse({"error": why}, status_code=410)
        return Response(to_json(found), media_type="application/json")

    async def note(request: Request) -> Response:
        try:
            body = await request.json()
            text = body.get("text") if isinstance(body, dict) else None
            if not isinstance(text, str):
                return JSONResponse({"error": 'send {"text": "..."}'}, status_code=400)
            number, status = add_note(folders[run_index(request)], text)
        except (KeyError, ValueError):
            return JSONResponse({"error": "no such run, or not JSON"}, status_code=400)
        except UserError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse({"id": number, "status": status})

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        for r in readers.values():
            r.close()

    app = Starlette(
        routes=[
            Route("/", index),
            Route("/api/runs", run_list),
            Route("/api/stream", stream),
            Route("/api/runs/{run:int}/hypotheses/{id:int}", hypothesis),
            Route("/api/runs/{run:int}/page", page),
            Route("/api/runs/{run:int}/notes", note, methods=["POST"]),
            Mount("/static", StaticFiles(directory=str(STATIC)), name="static"),
        ],
        lifespan=lifespan,
    )
    app.state.closing = False  # set as the server stops: the streams end, none is cut
    return app


async def _events(
    folders: Sequence[Path], closing: Callable[[], bool] = lambda: False
) -> AsyncIterator[str]:
    """One browser's stream: every run's snapshot, then each run's changes as they happen; a
    run whose store went away or changed identity is said so, once, and no longer followed.
    It ends when `closing()` (the server stops)."""
    followed = [Follower(folder) for folder in folders]
    try:
        for i, run in enumerate(followed):
            yield _event(i, run.first())
        idle = 0.0
        while not closing():
            await asyncio.sleep(POLL)
            idle += POLL
            for i, run in enumerate(followed):
                delta = run.next()
                if delta is not None:
                    idle = 0.0
                    yield _event(i, delta)
            if idle >= KEEP_ALIVE:
                idle = 0.0
                yield ": keep-alive\n\n"
    finally:
        for run in followed:
            run.close()


class Follower:
    """One run's store followed for one stream: its changes, and whether it is still the store
    the stream began with (the same file, the same run, readable)."""

    def __init__(self, folder: Path) -> None:
        self.db = folder / DB_NAME
        self.reader: RunReader | None = None
        self.cursor = Cursor()
        self.identity: tuple[int, int] | None = None  # the file's device and inode
        self.written: tuple[int, int] | None = None  # its modification time and size
        self.created: object = None  # the run's creation time, as its meta says
        self.gone = ""  # why it is no longer followed

    def first(self) -> dict[str, Any]:
        """The run's snapshot, or why there is none."""
        try:
            info = self.db.stat()
        except FileNotFoundError:
            return self._lost(_deleted(self.db))
        except OSError as exc:
            return self._lost(_unreadable(self.db, exc))
        try:
            self.reader = RunReader(self.db.parent, _connect(self.db))
            self.identity = (info.st_dev, info.st_ino)
            self.written = (info.st_mtime_ns, info.st_size)
            delta = self.reader.delta(self.cursor)
        except (OSError, sqlite3.Error) as exc:
            return self._lost(_unreadable(self.db, exc))
        self.created = (delta.get("meta") or {}).get("created")
        return delta

    def next(self) -> dict[str, Any] | None:
        """What changed since the last look (None: nothing), or why the run is lost."""
        if self.reader is None:
            return None  # lost already: said once
        why = self._moved()
        if why:
            return self._lost(why)
        try:
            if not self.reader.changed(self.cursor):
                return None
            delta = self.reader.delta(self.cursor)
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                return None  # a writer holds it for now: look again next time
            return self._lost(_unreadable(self.db, exc))
        except sqlite3.DatabaseError as exc:
            return self._lost(_unreadable(self.db, exc))
        created = (delta.get("meta") or {}).get("created")
        if created != self.created:  # overwritten in place by another run's store
            return self._lost(_replaced(self.db))
        return delta

    def _moved(self) -> str:
        """Why the file at the path is not the one being read (empty: it is)."""
        try:
            info = self.db.stat()
        except FileNotFoundError:
            return _deleted(self.db)
        except OSError as exc:
            return _unreadable(self.db, exc)
        if (info.st_dev, info.st_ino) != self.identity:
            return _replaced(self.db)
        if (info.st_mtime_ns, info.st_size) != self.written:
            # Written to: a checkpoint of the run, or bytes from elsewhere that the open
            # connection may not notice (WAL readers watch the WAL, not the file). A fresh
            # connection says which.
            self.written = (info.st_mtime_ns, info.st_size)
            try:
                fresh = _connect(self.db)
                try:
                    created = RunReader(self.db.parent, fresh).meta().created
                finally:
                    fresh.close()
            except (OSError, sqlite3.Error) as exc:
                return _unreadable(self.db, exc)
            if created != self.created:
                return _replaced(self.db)
        return ""

    def _lost(self, why: str) -> dict[str, Any]:
        self.gone = why
        self.close()
        return {"gone": why}

    def close(self) -> None:
        """Stop reading the store."""
        if self.reader is not None:
            with contextlib.suppress(sqlite3.Error):
                self.reader.close()
            self.reader = None


def _connect(db: Path) -> sqlite3.Connection:
    """A read-only connection to a run's store; sqlite3.Error when it is not one."""
    conn = readonly_connection(db)
    try:
        conn.execute("SELECT COUNT(*) FROM meta").fetchone()
    except sqlite3.Error:
        conn.close()
        raise
    return conn


def _replaced(db: Path) -> str:
    """What now lies at `db`, once it is not the store a stream began with."""
    try:
        conn = _connect(db)
        try:
            meta = RunReader(db.parent, conn).meta()
        finally:
            conn.close()
    except (OSError, sqlite3.Error):
        return (
            f"this run's store {str(db)!r} was replaced by a file that is not a readable hone "
            "store; what is shown was read before"
        )
    started = meta.created
    when = time.strftime(" started %Y-%m-%d %H:%M:%S", time.localtime(started)) if started else ""
    return (
        f"this run's store {str(db)!r} was replaced by another run's (task "
        f"{meta.task_name!r}{when}); what is shown was read before: reload the page "
        "to see the other run"
    )


def _deleted(db: Path) -> str:
    return f"this run's store {str(db)!r} was deleted; what is shown was read before"


def _unreadable(db: Path, exc: BaseException) -> str:
    return (
        f"this run's store {str(db)!r} cannot be read any more ({exc}): damaged or gone; what is "
        "shown was read before"
    )


def _event(run: int, delta: dict[str, Any]) -> str:
    return f"data: {to_json({'run': run, **packed(delta)})}\n\n"


def bind(port: int, host: str = "127.0.0.1") -> socket.socket:
    """A listening socket on this machine only; a port in use is a user error."""
    if not 0 <= port <= 65535:
        raise RunDirError(f"port {port} is no TCP port; pass one from 1 to 65535, or 0 for any")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise RunDirError(
                f"port {port} is in use; pass another with --port, or --port 0 for any free one"
            ) from None
        raise
    sock.listen(128)
    return sock


def serve(app: Starlette, sock: socket.socket) -> None:
    """Serve `app` on `sock` until interrupted."""
    try:
        import uvicorn
    except ImportError:
        raise MissingDependencyError("uvicorn", "dashboard") from None

    class Server(uvicorn.Server):
        def handle_exit(self, sig: int, frame: Any) -> None:
            app.state.closing = True  # the open streams end within a poll, not cut with a traceback
            super().handle_exit(sig, frame)

    config = uvicorn.Config(app, log_level="warning", lifespan="on", timeout_graceful_shutdown=1)
    Server(config).run(sockets=[sock])
