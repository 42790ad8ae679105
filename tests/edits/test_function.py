"""Completion-style edits: a completed function put in its place."""

import pytest

from hone.edits import (
    complete_function,
)
from tests.edits.conftest import PARENT


def test_complete_function_splices_body_and_stops_at_next_definition() -> None:
    completion = "    return x * 10\n\n\ndef f_v2(x):\n    return 0\n"
    edit = complete_function(PARENT, "f", "def f_v1(x):\n", completion)
    assert edit.ok and edit.kind == "function"
    assert "def f(x):\n    return x * 10\n" in (edit.program or "")
    assert "f_v" not in (edit.program or "")
    assert edit.program is not None and edit.program.endswith("return f(1)\n")


def test_complete_function_renames_recursive_calls() -> None:
    edit = complete_function(PARENT, "f", "def f_v1(x):\n", "    return f_v0(x - 1) if x else 0\n")
    assert edit.ok and "return f(x - 1) if x else 0" in (edit.program or "")


@pytest.mark.parametrize(
    ("completion", "reason"),
    [
        ("", "no function body"),
        ("    return (\n", "does not parse"),
        ("    return x + 1\n", "unchanged"),
    ],
)
def test_complete_function_failures(completion: str, reason: str) -> None:
    edit = complete_function(PARENT, "f", "def f_v1(x):\n", completion)
    assert not edit.ok and reason in edit.reason
