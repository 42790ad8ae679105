"""`hone dashboard`: a live web view of runs, on 127.0.0.1."""

from __future__ import annotations

import argparse
import contextlib
from pathlib import Path


def add_dashboard_command(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`hone dashboard`'s arguments."""
    dashboard = sub.add_parser("dashboard", help="a live web view of runs, on 127.0.0.1")
    dashboard.add_argument(
        "runs",
        nargs="*",
        help="run folders, or folders of runs such as runs/ (default: every run in ./runs)",
    )
    dashboard.add_argument("--port", type=int, default=8765, help="port (default 8765; 0: any)")
    dashboard.set_defaults(handler=_dashboard)


def _dashboard(args: argparse.Namespace) -> int:
    from hone.web.app import bind, make_app, serve  # needs hone[dashboard]
    from hone.web.report import run_folders

    runs = run_folders([Path(r) for r in args.runs]) if args.runs else _runs_here()
    app = make_app(runs)
    sock = bind(args.port)
    url = f"http://127.0.0.1:{sock.getsockname()[1]}/"
    print(f"dashboard of {len(runs)} run(s) at {url} (Ctrl-C stops it)", flush=True)
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is how it stops
        serve(app, sock)
    return 0


def _runs_here() -> list[Path]:
    from hone.exceptions import RunDirError

    runs = sorted(p.parent for p in Path("runs").glob("*/hone.db"))
    if not runs:
        raise RunDirError("no runs in ./runs; name the run folders: hone dashboard RUN [RUN ...]")
    return runs
