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
from collections.abc import AsyncIterator, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from hone.exceptions import MissingDependencyError, RunDirError, UserError
from hone.reflection import add_note
from hone.web.data import Cursor, RunReader, to_json
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
            _events(folders),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

    async def hypothesis(request: Request) -> Response:
        try:
            found = reader(run_index(request)).hypothesis(int(request.path_params["id"]))
        except KeyError:
            return JSONResponse({"error": "no such run or hypothesis"}, status_code=404)
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

    return Starlette(
        routes=[
            Route("/", index),
            Route("/api/runs", run_list),
            Route("/api/stream", stream),
            Route("/api/runs/{run:int}/hypotheses/{id:int}", hypothesis),
            Route("/api/runs/{run:int}/notes", note, methods=["POST"]),
            Mount("/static", StaticFiles(directory=str(STATIC)), name="static"),
        ],
        lifespan=lifespan,
    )


async def _events(folders: Sequence[Path]) -> AsyncIterator[str]:
    """One browser's stream: every run's snapshot, then each run's changes as they happen."""
    readers = [RunReader.open(folder) for folder in folders]
    cursors = [Cursor() for _ in folders]
    try:
        for i, (r, cursor) in enumerate(zip(readers, cursors, strict=True)):
            yield _event(i, r.delta(cursor))
        idle = 0.0
        while True:
            await asyncio.sleep(POLL)
            idle += POLL
            for i, (r, cursor) in enumerate(zip(readers, cursors, strict=True)):
                if r.changed(cursor):
                    idle = 0.0
                    yield _event(i, r.delta(cursor))
            if idle >= KEEP_ALIVE:
                idle = 0.0
                yield ": keep-alive\n\n"
    finally:
        for r in readers:
            r.close()


def _event(run: int, delta: dict[str, Any]) -> str:
    return f"data: {to_json({'run': run, **delta})}\n\n"


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
    config = uvicorn.Config(app, log_level="warning", lifespan="on", timeout_graceful_shutdown=1)
    uvicorn.Server(config).run(sockets=[sock])
