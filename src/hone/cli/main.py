"""`hone`: the argument parser (each command's arguments are its module's), the dispatch to
the command's handler, and each error as one sentence."""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
import threading
from collections.abc import Iterator, Sequence

from hone.cli import dashboard, docs, examples, export, note, replay, report, run, serve, show
from hone.exceptions import ModelError, UserError
from hone.inbound import printable


def entrypoint() -> None:
    """Console-script entry point."""
    sys.exit(main())


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    _log_to_stderr()
    try:
        with _signals_stop_like_ctrl_c():
            result: int = args.handler(args)
        return result
    except UserError as exc:
        print(f"hone: error: {printable(str(exc))}", file=sys.stderr)
        return 2
    except ModelError as exc:  # (a server's message may hold anything: printed as text)
        again = f"; the run is saved: continue it with hone resume {args._run_dir}"
        print(
            f"hone: model error: {printable(str(exc))}"
            + (again if getattr(args, "_run_dir", None) else ""),
            file=sys.stderr,
        )
        return 1


def _parser() -> argparse.ArgumentParser:
    from hone import __version__

    parser = argparse.ArgumentParser(
        prog="hone",
        description="Self-improving language-model loops against a verifier. Start with: "
        "hone examples; hone run circle_packing; hone docs.",
    )
    parser.add_argument("--version", action="version", version=f"hone {__version__}")
    sub = parser.add_subparsers(dest="command")
    run.add_run_command(sub)
    run.add_resume_command(sub)
    show.add_show_command(sub)
    export.add_export_command(sub)
    note.add_note_command(sub)
    dashboard.add_dashboard_command(sub)
    report.add_report_command(sub)
    replay.add_replay_command(sub)
    examples.add_examples_command(sub)
    serve.add_serve_command(sub)
    docs.add_docs_command(sub)
    return parser


def _log_to_stderr() -> None:
    """hone's warnings as one line each, `hone: warning: ...`, and what is worth knowing once
    (`hone: assembled ...`, the first run with a packaged model) as `hone: ...`."""
    log = logging.getLogger("hone")
    if not log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(_OneLine())
        log.addHandler(handler)
        log.setLevel(logging.WARNING)
        logging.getLogger("hone.models.packaged").setLevel(logging.INFO)


class _OneLine(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        level = "" if record.levelno <= logging.INFO else f"{record.levelname.lower()}: "
        return printable(f"hone: {level}{record.getMessage()}")


@contextlib.contextmanager
def _signals_stop_like_ctrl_c() -> Iterator[None]:
    """SIGTERM and SIGHUP stop a run as Ctrl-C does: status recorded, one line, resumable.
    SIGINT gets Python's own handler even when hone started with it ignored (a background job
    of a script, a parent that ignores it): otherwise `kill -INT` and `kill -TERM` were ignored
    and the run went on to its end."""
    import os
    import signal

    def interrupt(signum: int, frame: object) -> None:
        os.kill(os.getpid(), signal.SIGINT)  # what asyncio turns into a clean cancellation

    if threading.current_thread() is not threading.main_thread():
        yield  # (main() called from a thread: signals are the main thread's to handle)
        return
    previous = {s: signal.signal(s, interrupt) for s in (signal.SIGTERM, signal.SIGHUP)}
    previous[signal.SIGINT] = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
