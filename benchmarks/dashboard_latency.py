"""Dashboard latency: seconds from a hypothesis's outcome in the store to its dot on the page.

    python benchmarks/dashboard_latency.py [--outcomes 8]

A scripted run (evaluations of 0.15 s, one worker) goes on in a `hone run` process while
`hone dashboard` follows it in headless chromium (Debian's, as tests/web uses); for each of
the next `--outcomes` outcomes stored, the time until the page shows it. About 20 s. Prints
each latency and ``target dashboard_latency: MAX s (goal 2.0 s) met|missed``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.conftest import EVALUATOR, PROGRAM
from tests.helpers import environment, hone_command, stored, wait_until
from tests.web.conftest import CHROMIUM, FLAGS, start_dashboard, stop

GOAL = 2.0  # seconds
OUTCOMES = "SELECT COUNT(*) FROM candidates WHERE status != 'pending'"


def task_folder(where: Path) -> Path:
    """f() should return 10; each evaluation takes 0.15 s."""
    where.mkdir()
    (where / "task.toml").write_text('instruction = "Make f() return 10."\n')
    (where / "initial.py").write_text(PROGRAM)
    slow = "import time\n" + EVALUATOR.replace(
        "    value = module.run()\n", "    time.sleep(0.15)\n    value = module.run()\n"
    )
    (where / "evaluate.py").write_text(slow)
    return where


def measure(where: Path, count: int) -> list[float]:
    """Latencies of the next `count` outcomes of a run that the dashboard follows."""
    from playwright.sync_api import sync_playwright

    answers = where / "answers.jsonl"
    texts = [f"```python\ndef f():\n    return {1.0 + i * 0.05!r}\n```" for i in range(400)]
    answers.write_text("".join(json.dumps(t) + "\n" for t in texts))
    run_dir, db = where / "run", where / "run" / "hone.db"
    argv = ["run", str(task_folder(where / "task")), "--model", f"scripted:{answers}"]
    argv += ["--run-dir", str(run_dir), "--hypotheses", "2", "--workers", "1"]
    argv += ["--max-llm-calls", "400", "--patience", "999"]
    run = subprocess.Popen(hone_command(*argv), env=environment(), stdout=subprocess.DEVNULL)
    dashboard = None
    try:
        wait_until(lambda: (stored(db, OUTCOMES) or 0) >= 2, "two outcomes")
        dashboard, url = start_dashboard(run_dir)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=FLAGS
            )
            page = browser.new_page()
            page.goto(url)
            page.wait_for_selector("#score-plot svg")
            latencies = []
            for _ in range(count):
                before = stored(db, OUTCOMES)
                while stored(db, OUTCOMES) == before:
                    time.sleep(0.005)
                committed, target = time.monotonic(), stored(db, OUTCOMES)
                page.wait_for_function(
                    f"document.querySelectorAll('#score-plot .hyp').length >= {target}",
                    timeout=60_000,
                )
                latencies.append(time.monotonic() - committed)
            browser.close()
        return latencies
    finally:
        stop(run)
        if dashboard is not None:
            stop(dashboard)


def main() -> None:
    """Measure and print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--outcomes", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hone-dashboard-") as where:
        latencies = measure(Path(where), args.outcomes)
    print("store to page, s:", ", ".join(f"{s:.2f}" for s in latencies))
    worst = max(latencies)
    verdict = "met" if worst <= GOAL else "missed"
    print(f"target dashboard_latency: {worst:.2f} s (goal {GOAL:g} s) {verdict}")


if __name__ == "__main__":
    main()
