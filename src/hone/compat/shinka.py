"""ShinkaEvolve's evaluator contract (`[evaluation] contract = "shinka"`): for each candidate,
``python evaluate.py --program_path <program> --results_dir <dir>`` runs as a command in the
candidate's sandbox (in the task folder, read-only, as its working directory), and the files it
writes say how the program did.

* ``correct.json``, ``{"correct": true | false, "error": "..."}``: false (or no file) fails the
  program, with its ``error`` as the reason;
* ``metrics.json``: ``combined_score`` is the score (0 when absent, as in ShinkaEvolve), the
  numbers of ``public`` are metrics shown to the model and its other values feedback,
  ``private`` is kept from the model (it goes to the candidate's stored output), and
  ``text_feedback`` is feedback (`hone.verifiers.command.read_results`).

The exit status of evaluate.py is ignored, as in ShinkaEvolve, except to explain missing
files; its stdout and stderr are the candidate's output.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from hone.compat import Loaded
from hone.evaluation import Evaluation
from hone.verifiers import command

_MARGIN = 2.0  # seconds kept from the candidate's timeout to read the results and report


def load(path: str, settings: Mapping[str, Any]) -> Loaded:
    """The ShinkaEvolve evaluator script at `path`, run per candidate in its sandbox (nothing
    is imported: the script is a command)."""
    return Loaded(evaluator(path, settings))


def evaluator(path: str, settings: Mapping[str, Any]) -> Callable[[str], Evaluation]:
    """The `evaluate(program_path) -> Evaluation` that runs the ShinkaEvolve evaluator script
    at `path` on a candidate, within the worker's `timeout`."""
    script = Path(path).resolve()
    limit = float(settings.get("timeout", 60.0))
    seconds = limit - min(_MARGIN, 0.1 * limit)

    def evaluate(program_path: str) -> Evaluation:
        results = Path(program_path).parent / "results"
        results.mkdir(exist_ok=True)
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONIOENCODING": "utf-8"}
        argv = [sys.executable, str(script), "--program_path", program_path]
        ran = command.run(
            [*argv, "--results_dir", str(results)], cwd=script.parent, timeout=seconds, env=env
        )
        sys.stdout.write(ran.stdout)
        sys.stderr.write(ran.stderr)
        if ran.returncode is None:
            excerpt = command.output_excerpt(ran.stderr.strip() or ran.stdout)
            return Evaluation.failed(
                "timeout",
                f"{script.name} did not finish within {seconds:g} s and was killed",
                feedback=excerpt,
            )
        _show_private(results / "metrics.json")
        return command.read_results(
            results,
            metrics_from="metrics.json",
            correct_from="correct.json",
            default_score=0.0,
            ran=ran,
        )

    return evaluate


def _show_private(path: Path) -> None:
    """Print the metrics' private part into the candidate's stored output (never a prompt)."""
    try:
        private = json.loads(path.read_text(encoding="utf-8")).get("private")
    except (OSError, ValueError, AttributeError):
        return
    if private:
        print(f"private metrics: {json.dumps(private, default=str)}")
