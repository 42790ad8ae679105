"""Programs in any language: build and run commands, metrics as JSON, failures as Evaluations.

Called from a task's ``evaluate(program_path)``, so the commands run inside hone's sandbox
(no network, limits, unprivileged user) with the evaluator::

    from hone.verifiers.command import run_commands

    def evaluate(program_path):
        workdir = Path(program_path).parent
        return run_commands(
            workdir,
            build=["cc", "-O2", "-o", "prog", program_path, "harness.c"],
            run=["./prog"],
        )  # the run prints {"score": ...} as its last line of output

Every command runs without a shell, in its own process group, which is killed at its timeout;
at most `max_output` bytes of each output stream are kept (the beginning and the end). A
failing build, a crash, a non-zero exit, a timeout or output without metrics is a failed
Evaluation whose reason (the compiler's error lines included) goes back to the model.
Use `run` for the pieces and score the output yourself (see ``examples/tsp_c``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import re
import select
import selectors
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from hone import inbound
from hone.evaluation import SCORE_KEYS, Evaluation, Status, coerce_result

MAX_OUTPUT = 1_000_000  # bytes of each output stream kept: the first and the last half
EXCERPT_CHARS = 4000  # characters of a failed command's output in the Evaluation's reason
METRICS_FILE_BYTES = 1_000_000  # largest metrics file read
_ERROR_LINE = re.compile(r"\berror\b", re.IGNORECASE)


@dataclass(frozen=True)
class Ran:
    """What one command did."""

    argv: tuple[str, ...]
    returncode: int | None  # None when it was killed at its timeout
    stdout: str
    stderr: str
    seconds: float
    timeout: float = 0.0

    @property
    def ok(self) -> bool:
        """True when it exited with status 0 in time."""
        return self.returncode == 0

    def failure(self, what: str) -> Evaluation:
        """A failed Evaluation saying why this command failed, with the telling part of its
        output (from the first line that mentions an error, else the last lines)."""
        excerpt = output_excerpt(self.stderr.strip() or self.stdout)
        status: Status = "error"
        if self.returncode is None:
            status, reason = "timeout", f"{what} did not finish within {self.timeout:g} s"
        elif self.returncode == -signal.SIGXCPU:
            status, reason = "timeout", f"{what} used up its CPU time and was killed (SIGXCPU)"
        elif self.returncode < 0:
            reason = f"{what} was killed by {_signal_name(-self.returncode)}"
        else:
            reason = f"{what} exited with status {self.returncode}"
        if excerpt:
            reason += f":\n{excerpt}"
        return Evaluation.failed(status, reason, feedback=excerpt)


def run(
    argv: Sequence[str],
    *,
    cwd: str | Path | None = None,
    timeout: float = 60.0,
    input: str | bytes | None = None,
    env: Mapping[str, str] | None = None,
    max_output: int = MAX_OUTPUT,
) -> Ran:
    """Run one command (no shell) in its own process group, with `input` on stdin; kill the
    group at `timeout` seconds. Never raises for the command's faults: a program that cannot
    be started is exit status 127 with the reason on stderr."""
    if not argv:
        raise ValueError("run needs a command: a non-empty list of arguments")
    argv = tuple(str(a) for a in argv)
    started = time.monotonic()
    try:
        proc = subprocess.Popen(
            argv,
            cwd=cwd,
            stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=dict(env) if env is not None else None,
            start_new_session=True,
        )
    except OSError as exc:
        return Ran(argv, 127, "", f"cannot start {argv[0]!r}: {exc.strerror or exc}", 0.0, timeout)
    data = input.encode() if isinstance(input, str) else input
    out, err = _Capture(max_output), _Capture(max_output)
    deadline = started + timeout
    timed_out = True  # until it is known to have exited in time
    try:
        # Output still open at the deadline is a timeout too (say, a child it left running
        # with its stdout), and the whole group is killed.
        if _communicate(proc, data, out, err, deadline):
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(max(0.0, deadline - time.monotonic()))
                timed_out = False
    finally:
        if timed_out:
            _kill(proc)
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
    code = None if timed_out else proc.returncode
    return Ran(argv, code, out.text(), err.text(), time.monotonic() - started, timeout)


def run_commands(
    workdir: str | Path,
    build: Sequence[str] | None,
    run: Sequence[str],
    *,
    timeout: float = 60.0,
    build_timeout: float | None = None,
    metrics_from: str = "stdout",
    correct_from: str | None = None,
    input: str | bytes | None = None,
    env: Mapping[str, str] | None = None,
) -> Evaluation:
    """Build (unless `build` is None), run, and read the run's results (`read_results`): the
    last line of its stdout that is a JSON object (``metrics_from="stdout"``), or the JSON file
    it wrote (any other value: a path relative to `workdir`), and with `correct_from` a
    correct.json-style file saying whether the program is valid (then the exit status only
    matters when the files are missing). The metrics follow the evaluator contract:
    ``score`` or ``combined_score``, other numbers as metrics, ``feedback``, ``error``.
    Each command gets `timeout` seconds (the build `build_timeout`, if given)."""
    if build:
        built = _run(build, cwd=workdir, timeout=build_timeout or timeout, env=env)
        if not built.ok:
            return built.failure("the build")
    ran = _run(run, cwd=workdir, timeout=timeout, input=input, env=env)
    if ran.returncode is None or (not ran.ok and correct_from is None):
        return ran.failure("the program")
    return read_results(workdir, metrics_from=metrics_from, correct_from=correct_from, ran=ran)


def read_results(
    workdir: str | Path,
    *,
    metrics_from: str = "stdout",
    correct_from: str | None = None,
    default_score: float | None = None,
    ran: Ran | None = None,
) -> Evaluation:
    """The Evaluation a program's results describe: its metrics (the last JSON object line of
    `ran`'s stdout, or the JSON file `metrics_from` under `workdir`) and, with `correct_from`,
    a file ``{"correct": true | false, "error": "..."}`` that alone says whether the program
    failed (ShinkaEvolve's correct.json; its ``error`` is the reason).

    Nested metrics follow ShinkaEvolve's layout: the numbers of ``public`` are metrics and its
    other values feedback, ``private`` is kept from the model, ``text_feedback`` (a string or a
    list of them) is feedback, and any other table of numbers gives metrics named
    ``table.key``. Metrics without a score get `default_score` when it is given (ShinkaEvolve:
    0; a missing metrics file is then empty metrics), else they are invalid output."""
    output = ran.stdout if ran is not None else ""
    if metrics_from == "stdout":
        metrics: object = last_json_object(output)
        where, problem = "the program's metrics", ""
        if metrics is None:
            problem = "the program printed no JSON object line with its metrics"
    else:
        metrics, problem = _read_json(Path(workdir) / metrics_from)
        where = f"the metrics in {metrics_from}"
        problem = f"{metrics_from}: {problem}" if problem else ""
    if problem and default_score is not None and metrics is None:
        metrics, problem = {}, ""
    verdict = _verdict(Path(workdir), correct_from, ran) if correct_from else None
    if problem:
        if verdict is not None:
            return verdict
        return Evaluation.failed(
            "invalid-output", f"{problem}; its output ends:\n{_tail(output, 300) or '(nothing)'}"
        )
    if not isinstance(metrics, dict):
        return Evaluation.failed(
            "invalid-output", f"{where} must be a JSON object, got {type(metrics).__name__}"
        )
    flat = _flattened(metrics, validity_elsewhere=correct_from is not None)
    if default_score is not None and not any(key in flat for key in SCORE_KEYS):
        flat["combined_score"] = default_score
    if verdict is not None:
        numbers = {
            k: inbound.as_float(v)
            for k, v in flat.items()
            if inbound.finite(v) and k not in SCORE_KEYS  # (an int no float holds is not)
        }
        feedback = "\n".join(x for x in (str(flat.get("feedback") or ""), verdict.feedback) if x)
        return dataclasses.replace(verdict, metrics=numbers, feedback=feedback)
    if not flat.get("error") and not any(key in flat for key in SCORE_KEYS):
        return Evaluation.failed(
            "invalid-output",
            f"{where} have no 'score' or 'combined_score' key (keys: {sorted(metrics)})",
        )
    evaluation = coerce_result(flat)
    if not evaluation.ok and evaluation.status == "invalid-output":
        return dataclasses.replace(evaluation, reason=f"{where}: {evaluation.reason}")
    return evaluation


def _verdict(workdir: Path, correct_from: str, ran: Ran | None) -> Evaluation | None:
    """What a correct.json-style file says: None when the program is correct, else the
    failure and its reason."""
    verdict, problem = _read_json(workdir / correct_from)
    excerpt = output_excerpt(ran.stderr.strip() or ran.stdout) if ran is not None else ""
    if problem:
        exited = f" (it exited with status {ran.returncode})" if ran and not ran.ok else ""
        reason = f"{correct_from}: {problem}{exited}" + (f":\n{excerpt}" if excerpt else "")
        return Evaluation.failed("error", reason, feedback=excerpt)
    if not isinstance(verdict, dict) or not isinstance(verdict.get("correct"), bool):
        return Evaluation.failed(
            "invalid-output",
            f'{correct_from} must be a JSON object with "correct": true or false, got '
            f"{_tail(json.dumps(verdict), 200)}",
        )
    if verdict["correct"]:
        return None
    error = verdict.get("error")
    reason = str(error).strip() if error else f"{correct_from} says the program is incorrect"
    return Evaluation.failed("error", reason, feedback=excerpt)


def _flattened(metrics: Mapping[str, object], *, validity_elsewhere: bool) -> dict[str, object]:
    """Metrics in hone's evaluator contract, from ShinkaEvolve's nested layout."""
    flat: dict[str, object] = {}
    notes: list[str] = []
    for key, value in metrics.items():
        if key == "private":
            continue
        if key == "text_feedback":
            items = value if isinstance(value, list) else [value]
            notes += [str(item) for item in items if item]
        elif key == "public" and isinstance(value, dict):
            for name, item in value.items():
                if _is_number(item):
                    flat.setdefault(str(name), item)
                else:
                    notes.append(f"{name}: {item}")
        elif isinstance(value, dict) and key != "components":
            for name, item in value.items():
                if _is_number(item):
                    flat[f"{key}.{name}"] = item
        elif key == "error" and validity_elsewhere:
            if value:  # the correct file says whether it failed; an error here is feedback
                notes.append(f"error: {value}")
        else:
            flat[key] = value
    if notes:
        given = [str(flat["feedback"])] if flat.get("feedback") else []
        flat["feedback"] = "\n".join([*given, *notes])
    return flat


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


_run = run  # `run_commands` has a parameter named `run`


def build_and_run(
    run: Sequence[str],
    *,
    build: Sequence[str] | None = None,
    cwd: str | Path | None = None,
    timeout: float = 60.0,
    metrics_from: str = "stdout",
    input: str | bytes | None = None,
) -> Evaluation:
    """`run_commands` with the run command first and the working directory as `cwd`."""
    return run_commands(
        cwd if cwd is not None else ".",
        build,
        run,
        timeout=timeout,
        metrics_from=metrics_from,
        input=input,
    )


def last_json_object(text: str) -> dict[str, object] | None:
    """The last line of `text` that is a JSON object, parsed (None when there is none)."""
    for line in reversed(text.splitlines()):
        line = line.strip()
        if line.startswith("{") and line.endswith("}"):
            try:
                value = json.loads(line)
            except ValueError:
                continue
            if isinstance(value, dict):
                return value
    return None


def output_excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """The telling part of a failed command's output: from the first line that mentions an
    error (a compiler's first errors), else its end; at most `limit` characters."""
    text = text.strip()
    if len(text) <= limit:
        return text
    match = _ERROR_LINE.search(text)
    if match is None:
        return _tail(text, limit)
    start = text.rfind("\n", 0, match.start()) + 1
    excerpt = text[start : start + limit]
    return excerpt + ("\n…" if start + limit < len(text) else "")


class _Capture:
    """The first and last `limit / 2` bytes of a stream, and how many were dropped between."""

    def __init__(self, limit: int) -> None:
        self.half = max(limit // 2, 1)
        self.head = bytearray()
        self.tail = bytearray()
        self.dropped = 0

    def add(self, chunk: bytes) -> None:
        room = self.half - len(self.head)
        if room > 0:
            self.head += chunk[:room]
            chunk = chunk[room:]
        self.tail += chunk
        extra = len(self.tail) - self.half
        if extra > 0:
            del self.tail[:extra]
            self.dropped += extra

    def text(self) -> str:
        head = self.head.decode(errors="replace")
        tail = self.tail.decode(errors="replace")
        if self.dropped:
            return f"{head}\n[… {self.dropped} bytes of output dropped …]\n{tail}"
        return head + tail


def _communicate(
    proc: subprocess.Popen[bytes], data: bytes | None, out: _Capture, err: _Capture, deadline: float
) -> bool:
    """Feed stdin and read stdout/stderr until both close; False when the deadline came first."""
    assert proc.stdout is not None and proc.stderr is not None
    with selectors.DefaultSelector() as selector:
        selector.register(proc.stdout, selectors.EVENT_READ, out)
        selector.register(proc.stderr, selectors.EVENT_READ, err)
        offset = 0
        if proc.stdin is not None:
            if data:
                os.set_blocking(proc.stdin.fileno(), False)
                selector.register(proc.stdin, selectors.EVENT_WRITE)
            else:
                proc.stdin.close()
        while selector.get_map():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            for key, _ in selector.select(remaining):
                if key.fileobj is proc.stdin:
                    assert proc.stdin is not None and data is not None
                    try:
                        offset += os.write(key.fd, data[offset : offset + select.PIPE_BUF])
                    except BlockingIOError:
                        continue
                    except BrokenPipeError:  # it stopped reading; what it read is what counts
                        offset = len(data)
                    if offset >= len(data):
                        selector.unregister(proc.stdin)
                        proc.stdin.close()
                    continue
                chunk = os.read(key.fd, 65536)
                if chunk:
                    key.data.add(chunk)
                else:
                    selector.unregister(key.fileobj)
    return True


def _kill(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL the process group, and the process itself in case it left the group."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        proc.kill()
    proc.wait()


def _read_json(path: Path) -> tuple[object, str]:
    try:
        with path.open("rb") as f:
            raw = f.read(METRICS_FILE_BYTES + 1)
    except FileNotFoundError:
        return None, "the program did not write it"
    except OSError as exc:
        return None, f"cannot be read ({exc.strerror or exc})"
    if len(raw) > METRICS_FILE_BYTES:
        return None, f"is larger than {METRICS_FILE_BYTES} bytes"
    try:
        return json.loads(raw), ""
    except ValueError as exc:
        return None, f"is not JSON ({exc}): {_tail(raw.decode(errors='replace'), 200)!r}"


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _tail(text: str, limit: int) -> str:
    text = text.strip()
    return text if len(text) <= limit else "…" + text[-limit:]


__all__ = [
    "MAX_OUTPUT",
    "Ran",
    "build_and_run",
    "last_json_object",
    "output_excerpt",
    "read_results",
    "run",
    "run_commands",
]
