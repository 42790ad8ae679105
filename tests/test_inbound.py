"""The boundary's conversions: text that SQLite and a browser take, text a terminal shows
without obeying it, numbers of any library, token counts in range, cuts that say so."""

from __future__ import annotations

import json
import sqlite3
from fractions import Fraction

import numpy as np
import pytest

from hone import inbound

LONE = "\ud800"  # what JSON's "\ud800" decodes to
ESCAPED = b"caf\xe9 \xff".decode("utf-8", "surrogateescape")  # bytes that are not UTF-8


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (f"a{LONE}b", "a\ufffdb"),
        (ESCAPED, "caf\ufffd \ufffd"),
        ("\ud83d\ude00", "\U0001f600"),  # a high and a low surrogate: the character they encode
        ("plain", "plain"),
        ("déjà vu", "déjà vu"),
        (b"ok \xff", "ok \ufffd"),
        (3, "3"),
    ],
)
def test_text_is_valid_utf8(value: object, expected: str) -> None:
    assert inbound.text(value) == expected


def test_text_is_what_sqlite_refused_before() -> None:
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE t (x TEXT)")
    with pytest.raises(UnicodeEncodeError):
        conn.execute("INSERT INTO t VALUES (?)", (ESCAPED,))
    conn.execute("INSERT INTO t VALUES (?)", (inbound.text(ESCAPED),))
    assert conn.execute("SELECT x FROM t").fetchone()[0] == "caf\ufffd \ufffd"


def test_printable_shows_control_characters_as_escapes() -> None:
    raw = "\x1b[31mred\x1b[0m\x1b]0;title\x07 a\rb\r\nnext\tcol \x9b"
    shown = inbound.printable(raw)
    assert not any(ord(c) < 32 and c not in "\n\t" for c in shown)
    assert "\x9b" not in shown and "\x7f" not in inbound.printable("\x7f")
    assert shown == "\\x1b[31mred\\x1b[0m\\x1b]0;title\\x07 a\\x0db\nnext\tcol \\x9b"
    assert inbound.printable(f"ok{LONE}") == "ok\ufffd"


def test_cut_keeps_the_limit_and_says_so() -> None:
    text = "x" * 1000
    kept = inbound.cut(text, 100, "answer ")
    assert len(kept) <= 100 and kept.endswith("[answer truncated: 1,000 characters in all]")
    assert inbound.cut(kept, 100, "answer ") == kept  # cutting again changes nothing
    assert inbound.cut("short", 100) == "short"


@pytest.mark.parametrize(
    "value", [1, 2.5, np.float32(1.5), np.int64(3), np.float64(2), np.array(4.0), Fraction(1, 2)]
)
def test_numbers_of_any_library_are_numbers(value: object) -> None:
    assert inbound.is_number(value)
    assert type(inbound.as_float(value)) is float


@pytest.mark.parametrize("value", [True, np.bool_(True), "1", None, [1.0], np.array([1.0, 2.0])])
def test_what_is_no_number(value: object) -> None:
    assert not inbound.is_number(value)


def test_an_int_too_large_for_a_float_is_said_so() -> None:
    with pytest.raises(OverflowError, match="an integer of 401 digits, too large for a float"):
        inbound.as_float(10**400)
    assert not inbound.finite(10**400) and not inbound.finite(float("nan"))
    assert inbound.finite(np.float32(2))


@pytest.mark.parametrize(
    ("value", "count"),
    [
        (10**20, inbound.MAX_TOKENS),
        (-(10**9), 0),
        (np.int64(12), 12),
        (12.0, 12),
        (float("inf"), inbound.MAX_TOKENS),
        (float("nan"), None),
        ("12", None),
        (None, None),
        (True, None),
    ],
)
def test_token_counts_are_kept_in_range(value: object, count: int | None) -> None:
    assert inbound.token_count(value) == count


def test_limits_are_stated_once() -> None:
    for name in ("MAX_INSTRUCTION", "LONG_INSTRUCTION", "MAX_ANSWER", "MAX_TOKENS", "MAX_METRICS"):
        assert name in (inbound.__doc__ or "")
    assert inbound.LONG_INSTRUCTION < inbound.MAX_INSTRUCTION
    json.dumps(inbound.MAX_TOKENS)  # a count JSON and SQLite both hold
