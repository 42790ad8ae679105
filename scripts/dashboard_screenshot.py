"""Screenshot of `hone dashboard` for the README: python scripts/dashboard_screenshot.py RUN OUT.png

Starts the dashboard on a free port of 127.0.0.1, opens it in Debian's headless chromium
(through Playwright, with every request off this machine aborted), saves the overview, stops."""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile

from playwright.sync_api import sync_playwright

FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


def main(run: str, out: str) -> None:
    """Save the dashboard of `run` to `out`."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "hone", "dashboard", run, "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        found = re.search(
            r"http://127\.0\.0\.1:\d+/", proc.stdout.readline() if proc.stdout else ""
        )
        if found is None:
            raise SystemExit("the dashboard did not start")
        url = found.group(0)
        with sync_playwright() as p, tempfile.TemporaryDirectory() as profile:
            context = p.chromium.launch_persistent_context(
                profile, executable_path="/usr/bin/chromium", headless=True, args=FLAGS,
                viewport={"width": 1280, "height": 900},
            )  # fmt: skip
            page = context.new_page()
            page.route(
                "**/*", lambda r: r.continue_() if r.request.url.startswith(url) else r.abort()
            )
            page.goto(url)
            page.wait_for_selector("#score-plot svg")
            page.wait_for_timeout(500)
            page.screenshot(path=out, full_page=True)
            context.close()
    finally:
        proc.terminate()
        proc.wait()


if __name__ == "__main__":
    main(*sys.argv[1:3])
