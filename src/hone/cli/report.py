"""`hone report`: a run, or several side by side, as one self-contained HTML file."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_report_command(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`hone report`'s arguments."""
    report = sub.add_parser(
        "report", help="write a run, or several side by side, as one self-contained HTML file"
    )
    report.add_argument(
        "runs", nargs="+", metavar="run_dir", help="run folders, or folders of runs (runs/)"
    )
    report.add_argument(
        "-o",
        "--output",
        help="the HTML file (default: <run_dir>/report.html for one run, ./report.html for "
        "several)",
    )
    report.set_defaults(handler=_report)


def _report(args: argparse.Namespace) -> int:
    from hone.web.report import run_folders, write_report

    runs = run_folders([Path(r) for r in args.runs])
    default = runs[0] / "report.html" if len(runs) == 1 else Path("report.html")
    output = Path(args.output) if args.output else default
    size = write_report(runs, output)
    what = "the run" if len(runs) == 1 else f"{len(runs)} runs"
    print(
        f"report of {what} written to {output} ({size / 1024:.0f} KB); it opens offline in a "
        "browser"
    )
    return 0
