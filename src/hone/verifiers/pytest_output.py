"""What a pytest run printed: its counts, and its first failing tests with their messages.

`read(output)` finds pytest's closing summary line (``1 failed, 4 passed in 0.12s``, with or
without ``-q`` and its ``====`` bars; several runs in one output add up) and the ``FAILED`` /
``ERROR`` lines of its short test summary, and takes the ``E`` lines of the first failure's
section. Output without a summary line (pytest crashed, or never ran) is None: the caller
then falls back on the output's telling part (`hone.verifiers.command.output_excerpt`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SHOWN = 5  # failing tests named in the feedback
DETAIL_LINES = 20  # lines of the first failure's section in the feedback
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_OUTCOMES = r"passed|failed|errors?|skipped|xfailed|xpassed|deselected|warnings?|rerun"
_SUMMARY = re.compile(
    rf"^=*\s*(?P<counts>\d+ (?:{_OUTCOMES})(?:, \d+ (?:{_OUTCOMES}))*|no tests ran)"
    r" in \d+(?:\.\d+)?s\b.*?=*$"
)
_COUNT = re.compile(rf"(\d+) ({_OUTCOMES})")
_FAILED = re.compile(r"^(?:FAILED|ERROR) \S.*$")
_SECTION = re.compile(r"^=+ (?:FAILURES|ERRORS) =+$")
_HEADER = re.compile(r"^_{3,} .+ _{3,}$")
_LOCATION = re.compile(r"^\S+:\d+: \S+")


@dataclass(frozen=True)
class TestRun:
    """The counts of a pytest run and what its failures said."""

    passed: int = 0
    failed: int = 0
    errors: int = 0
    failures: tuple[str, ...] = ()  # its FAILED and ERROR lines: test id - message
    detail: tuple[str, ...] = ()  # the first failure's E lines and where it failed

    @property
    def metrics(self) -> dict[str, float]:
        """The counts as metrics: tests_passed, tests_failed, tests_errors."""
        return {
            "tests_passed": float(self.passed),
            "tests_failed": float(self.failed),
            "tests_errors": float(self.errors),
        }

    @property
    def summary(self) -> str:
        """One line: ``pytest: 1 failed, 4 passed, 0 errors``."""
        return f"pytest: {self.failed} failed, {self.passed} passed, {self.errors} errors"

    @property
    def feedback(self) -> str:
        """The summary, the first failing tests (id and message) and the first one's detail."""
        lines = [self.summary, *self.failures[:SHOWN]]
        if len(self.failures) > SHOWN:
            lines.append(f"(and {len(self.failures) - SHOWN} more)")
        if self.detail:
            lines += ["the first failure:", *(f"  {line}" for line in self.detail)]
        return "\n".join(lines)


def read(output: str) -> TestRun | None:
    """The pytest run(s) in `output`, added up; None when it holds no pytest summary line."""
    lines = [_ANSI.sub("", line).rstrip() for line in output.splitlines()]
    counts = {"passed": 0, "failed": 0, "errors": 0}
    found = False
    for line in lines:
        match = _SUMMARY.match(line.strip())
        if match is None:
            continue
        found = True
        for number, outcome in _COUNT.findall(match["counts"]):
            key = "errors" if outcome.startswith("error") else outcome
            if key in counts:
                counts[key] += int(number)
    if not found:
        return None
    failures = tuple(line for line in lines if _FAILED.match(line))
    return TestRun(**counts, failures=failures, detail=_first_detail(lines))


def _first_detail(lines: list[str]) -> tuple[str, ...]:
    """The E lines of the first section under FAILURES or ERRORS, and its location line."""
    start = next((i for i, line in enumerate(lines) if _SECTION.match(line)), None)
    if start is None:
        return ()
    kept: list[str] = []
    headers = 0
    for line in lines[start + 1 :]:
        if _HEADER.match(line):
            headers += 1
            if headers > 1:
                break
            continue
        if line.startswith("=") and line.endswith("="):
            break
        if line.startswith("E ") or _LOCATION.match(line):
            kept.append(line)
    return tuple(kept[:DETAIL_LINES])


__all__ = ["TestRun", "read"]
