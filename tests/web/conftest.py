"""A real headless browser (Playwright driving Debian's chromium) and real `hone` processes for
the dashboard and report tests."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import environment, hone_command

CHROMIUM = "/usr/bin/chromium"  # Debian's (.ci/run installs it); never a downloaded build
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


def imported_after(modules: str, packages: tuple[str, ...]) -> list[str]:
    """Which of `packages` a fresh Python process has imported after `import MODULES`."""
    found = f"sorted(m for m in sys.modules if m.split('.')[0] in {packages!r})"
    probe = f"import json, sys, {modules}; print(json.dumps({found}))"
    out = subprocess.run(
        [sys.executable, "-c", probe], env=environment(), capture_output=True, text=True, check=True
    ).stdout
    return list(json.loads(out))


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """A headless chromium with a fresh profile, for the module's tests."""
    if not Path(CHROMIUM).exists() and not os.environ.get("CI"):
        pytest.skip("needs Debian's chromium: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),
            executable_path=CHROMIUM,
            headless=True,
            args=FLAGS,
            viewport={"width": 1280, "height": 900},
        )
        yield context
        context.close()


class Page:
    """A browser tab that records the page's script errors (a test fails on any)."""

    def __init__(self, context: object) -> None:
        self.page = context.new_page()  # type: ignore[attr-defined]
        self.errors: list[str] = []
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))

    def close(self) -> None:
        """Close the tab; AssertionError if the page's script failed."""
        self.page.close()
        assert not self.errors, self.errors


@pytest.fixture
def tab(browser: object) -> Iterator[object]:
    """A new tab; its script must not fail."""
    page = Page(browser)
    yield page.page
    page.close()


def start_dashboard(*runs: Path) -> tuple[subprocess.Popen[str], str]:
    """`hone dashboard RUNS --port 0` as a process of its own; it and its URL."""
    proc = subprocess.Popen(
        hone_command("dashboard", *map(str, runs), "--port", "0"),
        env=environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    first: list[str] = []
    reader = threading.Thread(target=lambda: first.append(proc.stdout.readline()))  # type: ignore[union-attr]
    reader.start()
    reader.join(30)
    found = re.search(r"http://127\.0\.0\.1:\d+/", first[0] if first else "")
    if found is None:
        proc.kill()
        raise AssertionError(f"the dashboard did not start: {first} {proc.stderr.read()}")  # type: ignore[union-attr]
    return proc, found.group(0)


def stop(proc: subprocess.Popen[str]) -> None:
    """End a process a test started, and wait for it."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
