"""The boundary: what comes from outside hone (a server's JSON, an SDK's objects, an
evaluator's return value and output, a task file, a command-line value) becomes hone's own
types here, checked once, so that no store write and no page of the dashboard can fail on it.

Text is made valid UTF-8 (`text`), and shown on a terminal with its control characters
neutralised (`printable`); numbers are converted (`is_number`, `as_float`: numpy scalars are
numbers, an int too large for a float is said so); token counts are kept in 0..MAX_TOKENS
(`token_count`); sizes are bounded (`cut`). The limits hone keeps, all of them here:

| what | limit | beyond it |
|---|---|---|
| task instruction | LONG_INSTRUCTION characters | a warning: every prompt carries it whole |
| task instruction | MAX_INSTRUCTION characters | refused when the task is read |
| one model answer | MAX_ANSWER characters | cut, and the cut said, before it is parsed or stored |
| token counts of one call | 0 to MAX_TOKENS | clamped, with a warning once per run |
| an evaluation's metrics | MAX_METRICS, names MAX_NAME characters | the rest dropped, said in its feedback |
| an evaluation's feedback, a failure's reason | MAX_TEXT characters | cut, and the cut said |
| why a model call failed (the server's message) | MAX_ERROR characters | cut on its line, said |

(A candidate's output is bounded where it is read, by `[evaluation] max_output_bytes`; what a
prompt shows of each program's metrics, feedback and failures is `hone.prompts.chat`'s, of the
model's insights `hone.reflection`'s; docs/errors.md lists them all for users.)

This module imports nothing of hone's, so every room can use it.
"""

from __future__ import annotations

import math
import numbers
import re

MAX_INSTRUCTION = 200_000  # characters (about 50,000 tokens, sent in every prompt)
LONG_INSTRUCTION = 50_000  # characters: more than a small model's whole context
MAX_ANSWER = 200_000  # characters of one model answer kept (a 10 MB answer is not)
MAX_TOKENS = 2**53  # a token count above this is no count (and no float holds it exactly)
MAX_METRICS = 1000  # metrics kept per evaluation
MAX_NAME = 200  # characters of a metric's name
MAX_TEXT = 20_000  # characters of an evaluation's feedback, and of a failure's reason
MAX_ERROR = 2_000  # characters of why a model call failed (a server's error body may be MBs)

# C0 controls but tab and newline, DEL, and C1 controls: what a terminal acts on (ESC starts
# colour, cursor and title sequences; CR overwrites a line; BEL rings).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def text(value: object) -> str:
    """`value` as text that encodes as UTF-8: lone surrogates (JSON's "\\ud800", bytes
    decoded with 'surrogateescape') become U+FFFD, as do invalid bytes; other values are
    str()'d."""
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("utf-8", errors="replace")
    if not isinstance(value, str):
        value = str(value)
    if value.isascii():
        return value
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        # through UTF-16, so that a high and a low surrogate next to each other become the
        # character they encode, and each lone one U+FFFD
        return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return value


def printable(value: str) -> str:
    """`value` safe to print on a terminal, and valid text (`text`): each control character
    (ESC, CR, BEL, ...) is shown as its escape, \\x1b, so an evaluator's colour codes read as
    text and cannot move the cursor or retitle the window; tabs and newlines stay."""
    value = text(value).replace("\r\n", "\n")
    if value.isascii() and value.isprintable():
        return value
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", value)


def cut(value: str, limit: int, what: str = "", *, sep: str = "\n") -> str:
    """`value` cut to at most `limit` characters, ending with a note that says so
    (`what`: "answer " gives "[answer truncated: ...]"; `sep` before it: " " keeps one line);
    a shorter one as it is."""
    if len(value) <= limit:
        return value
    note = f"{sep}[{what}truncated: {len(value):,} characters in all]"
    return value[: max(limit - len(note), 0)] + note


def is_number(value: object) -> bool:
    """True for a real number an evaluator may return: int, float, numpy's scalars (and any
    other `numbers.Real`), a 0-dimensional array; not a bool."""
    if isinstance(value, bool) or type(value).__name__ in ("bool", "bool_"):  # numpy's too
        return False
    if isinstance(value, numbers.Real):
        return True
    return getattr(value, "shape", None) == () and hasattr(value, "item") and _plain(value)


def _plain(value: object) -> bool:
    try:
        item = value.item()  # type: ignore[attr-defined]
    except Exception:  # an array-like whose item() fails is no number
        return False
    return isinstance(item, int | float) and not isinstance(item, bool)


def as_float(value: object) -> float:
    """A number (`is_number`) as a Python float; OverflowError, saying so, for an integer
    too large for a float."""
    if hasattr(value, "item") and not isinstance(value, numbers.Real):
        value = value.item()
    try:
        return float(value)  # type: ignore[arg-type]
    except OverflowError:
        digits = len(str(abs(int(value)))) if isinstance(value, numbers.Integral) else 0
        size = f" of {digits:,} digits" if digits else ""
        raise OverflowError(f"an integer{size}, too large for a float") from None


def finite(value: object) -> bool:
    """True for a number (`is_number`) that is finite as a float."""
    try:
        return is_number(value) and math.isfinite(as_float(value))
    except OverflowError:
        return False


def token_count(value: object) -> int | None:
    """A token count a model server reported, kept in 0..MAX_TOKENS (a negative one is 0);
    None when it is no number (the caller estimates one)."""
    if not is_number(value):
        return None
    try:
        number = as_float(value) if not isinstance(value, numbers.Integral) else int(value)
    except OverflowError:
        return MAX_TOKENS
    if isinstance(number, float):
        if math.isnan(number):
            return None
        if math.isinf(number):
            return MAX_TOKENS if number > 0 else 0
    return min(max(int(number), 0), MAX_TOKENS)
