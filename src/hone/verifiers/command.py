"""Programs in any language: build and run commands, metrics as JSON, failures as Evaluations.

Called from a task's ``evaluate(program_path)``, so the commands run inside hone's sandbox
(no network, limits, unprivileged user) with the evaluator::

    from hone.verifiers.command import build_and_run

    def evaluate(program_path):
        return build_and_run(
            build=["cc", "-O2", "-o", "prog", program_path, "harness.c"],
            run=["./prog"],
        )  # the run prints {"score": ...} as its last line of output

Or use `run` for the pieces and score the output yourself (see ``examples/tsp_c``).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from hone.evaluation import Evaluation, coerce_result

MAX_OUTPUT = 20_000  # characters of a command's output kept in reasons


@dataclass(frozen=True)
class Ran:
    """What one command did."""

    argv: tuple[str, ...]
    returncode: int | None  # None when it was killed at its timeout
    stdout: str
    stderr: str
    seconds: float

    @property
    def ok(self) -> bool:
        """True when it exited with status 0 in time."""
        return self.returncode == 0

    def failure(self, what: str) -> Evaluation:
        """A failed Evaluation saying why this command failed, with its last output lines."""
        if self.returncode is None:
            return Evaluation.failed("timeout", f"{what} did not finish within its time limit")
        if self.returncode < 0:
            name = signal.Signals(-self.returncode).name
            status_text = f"was killed by {name}"
        else:
            status_text = f"exited with status {self.returncode}"
        tail = _tail(self.stderr or self.stdout)
        return Evaluation.failed(
            "error", f"{what} {status_text}" + (f":\n{tail}" if tail else ""), feedback=tail
        )


def run(
    argv: Sequence[str],
    *,
    cwd: str | Path | None = None,
    timeout: float = 60.0,
    input: str | None = None,
    env: Mapping[str, str] | None = None,
) -> Ran:
    """Run one command (no shell) in its own process group; kill the group at `timeout`."""
    import time

    started = time.monotonic()
    try:
        proc = subprocess.Popen(
            list(argv),
            cwd=cwd,
            stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
            env=dict(env) if env is not None else None,
            start_new_session=True,
        )
    except OSError as exc:
        return Ran(tuple(argv), 127, "", f"cannot start {argv[0]!r}: {exc.strerror}", 0.0)
    try:
        out, err = proc.communicate(input, timeout=timeout)
        code: int | None = proc.returncode
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        code = None
    return Ran(tuple(argv), code, out, err, time.monotonic() - started)


def build_and_run(
    run: Sequence[str],
    *,
    build: Sequence[str] | None = None,
    cwd: str | Path | None = None,
    timeout: float = 60.0,
    metrics_from: str = "stdout",
    input: str | None = None,
) -> Evaluation:
    """Build (optional), run, and read the run's metrics: the last JSON-object line of its
    output (``metrics_from="stdout"``) or the JSON file it wrote (any other value, a path
    relative to `cwd`). The metrics follow the evaluator contract (``score`` or
    ``combined_score``, other numbers as metrics, ``feedback``, ``error``)."""
    argv = run
    if build:
        built = _run(build, cwd=cwd, timeout=timeout)
        if not built.ok:
            return built.failure("the build")
    ran = _run(argv, cwd=cwd, timeout=timeout, input=input)
    if not ran.ok:
        return ran.failure("the program")
    if metrics_from == "stdout":
        metrics = last_json_object(ran.stdout)
        where = "its output"
    else:
        path = Path(cwd or ".") / metrics_from
        try:
            metrics = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            metrics = None
            where = f"{metrics_from} ({exc})"
        else:
            where = metrics_from
    if not isinstance(metrics, dict):
        return Evaluation.failed(
            "invalid-output",
            f"no JSON object with the metrics in {where}; last output: {_tail(ran.stdout, 300)!r}",
        )
    return coerce_result(metrics)


_run = run  # `build_and_run` takes a parameter named `run`


def last_json_object(text: str) -> dict[str, object] | None:
    """The last line of `text` that is a JSON object, parsed (None when there is none)."""
    for line in reversed(text.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                value = json.loads(line)
            except ValueError:
                continue
            if isinstance(value, dict):
                return value
    return None


def _tail(text: str, limit: int = MAX_OUTPUT) -> str:
    text = text.strip()
    return text if len(text) <= limit else "…" + text[-limit:]
