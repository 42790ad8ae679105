"""`[evaluation] command`: a shell command scores each candidate, in place of evaluate.py.

The command (``python -m pytest -q -x && python bench.py``) runs with ``/bin/sh -c`` inside the
candidate's sandbox, in its tree's root (a folder task's; a one-file task's private folder,
which holds its file), with ``python`` and ``python3`` the interpreter hone runs on, and in its
environment ``HONE_PROGRAM`` (the program: the tree's root, or the file) and ``HONE_TASK`` (the
task folder, readable). Its results follow `hone.verifiers.command`'s rules: a non-zero exit
status or a timeout fails the candidate with the telling part of its output, else the last JSON
object line of its stdout holds the metrics (``score`` or ``combined_score``, other numbers,
``feedback``, ``error``). When the output holds a pytest run (`hone.verifiers.pytest_output`),
its counts are metrics (``tests_passed``, ``tests_failed``, ``tests_errors``) and its first
failing tests, with their messages, the feedback.

``[evaluation] validate_command`` is the task's held-out validation (`hone.trust`): its
``validate``, run by the same rules, only by the worker of the checks of new bests, which alone
sees the held-out data (``[evaluation] holdout``).
"""

from __future__ import annotations

import dataclasses
import os
import shlex
import shutil
import sys
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from hone.compat import Loaded
from hone.evaluation import Evaluation
from hone.verifiers import command as commands
from hone.verifiers import pytest_output

_MARGIN = 2.0  # seconds kept from the candidate's timeout to read the results and report
SHELL = "/bin/sh"


def load(path: str, settings: Mapping[str, Any]) -> Loaded:
    """The evaluator that runs the settings' ``command``, and, in the checks' worker
    (``checks``), the ``validate`` that runs its ``validate_command``; `path` is the task's
    task.toml, whose folder is ``HONE_TASK``."""
    limit = float(settings.get("timeout", 60.0))
    folder, seconds = Path(path).resolve().parent, limit - min(_MARGIN, 0.1 * limit)
    validate = settings.get("validate_command") if settings.get("checks") else None
    return Loaded(
        evaluator(str(settings["command"]), folder, seconds),
        checks={"validate": evaluator(str(validate), folder, seconds)} if validate else {},
    )


def evaluator(line: str, task_folder: Path, seconds: float) -> Callable[[str], Evaluation]:
    """The `evaluate(program_path) -> Evaluation` that runs the command `line` on a candidate,
    killing it after `seconds`."""

    def evaluate(program_path: str) -> Evaluation:
        root = program_path if os.path.isdir(program_path) else os.path.dirname(program_path)
        python = _python_folder()
        env = {
            **os.environ,
            "PATH": f"{python}:{os.environ.get('PATH', '/usr/bin:/bin')}",
            "HONE_PROGRAM": program_path,
            "HONE_TASK": str(task_folder),
            "PYTHONUNBUFFERED": "1",
            # (pytest cuts each failure's message at the terminal's width, 80 without one)
            "COLUMNS": "200",
        }
        try:
            ran = commands.run([SHELL, "-c", line], cwd=root, timeout=seconds, env=env)
        finally:
            shutil.rmtree(python, ignore_errors=True)
        sys.stdout.write(ran.stdout)  # the candidate's output, as a person sees it
        sys.stderr.write(ran.stderr)
        return judged(ran, root)

    return evaluate


def judged(ran: commands.Ran, root: str) -> Evaluation:
    """The Evaluation of a finished command: the command verifier's rules, with a pytest run's
    counts as metrics and its failures as the feedback."""
    tests = pytest_output.read(f"{ran.stdout}\n{ran.stderr}")
    if not ran.ok:
        failed = ran.failure("the command")
        if tests is None:
            return failed
        head = failed.reason.split("\n", 1)[0].rstrip(":")
        return dataclasses.replace(
            failed,
            reason=f"{head}; {tests.feedback}",
            feedback=tests.feedback,
            metrics=tests.metrics,
        )
    evaluation = commands.read_results(root, ran=ran)
    if tests is None:
        return evaluation
    # (a command that goes on after failing tests, `pytest; python score.py`, is scored as it
    # says, and the failures are still the feedback)
    told = tests.feedback if tests.failed or tests.errors else tests.summary
    feedback = "\n".join(x for x in (evaluation.feedback, told) if x)
    return dataclasses.replace(
        evaluation, metrics={**tests.metrics, **evaluation.metrics}, feedback=feedback
    )


def _python_folder() -> str:
    """A folder whose ``python`` and ``python3`` run this interpreter (its virtual environment
    included: a link to it elsewhere would lose the environment), made for one command in the
    temporary folder (the candidate's private one in the sandbox) and removed after it."""
    folder = tempfile.mkdtemp(prefix="hone-python-")
    for name in ("python", "python3"):
        script = os.path.join(folder, name)
        with open(script, "w", encoding="utf-8") as f:
            f.write(f'#!{SHELL}\nexec {shlex.quote(sys.executable)} "$@"\n')
        os.chmod(script, 0o755)
    return folder
