"""One program's text: SEARCH/REPLACE blocks, a whole program or block, and each refusal."""

import pytest

from hone.edits import (
    apply_answer,
)
from tests.edits.conftest import PARENT, diff


def test_search_replace_inside_block() -> None:
    edit = apply_answer(PARENT, diff("    return x + 1", "    return x * 2"))
    assert edit.ok and edit.kind == "diff"
    assert "return x * 2" in (edit.program or "")
    assert edit.program == PARENT.replace("return x + 1", "return x * 2")


def test_several_blocks_apply_in_order() -> None:
    answer = diff("def f(x):", "def f(x, y=2):") + diff("    return x + 1", "    return x * y")
    edit = apply_answer(PARENT, answer)
    assert edit.ok
    assert "def f(x, y=2):\n    return x * y" in (edit.program or "")


def test_search_outside_block_is_rejected() -> None:
    edit = apply_answer(PARENT, diff("    return f(1)", "    return f(2)"))
    assert not edit.ok
    assert "outside the EVOLVE-BLOCK" in edit.reason


def test_search_not_found() -> None:
    edit = apply_answer(PARENT, diff("    return x + 3", "    return 0"))
    assert not edit.ok and "does not match" in edit.reason


def test_ambiguous_search() -> None:
    parent = PARENT.replace("    return x + 1", "    y = x + 1\n    y = x + 1\n    return y")
    edit = apply_answer(parent, diff("    y = x + 1", "    y = x"))
    assert not edit.ok and "matches 2 places" in edit.reason


def test_full_program_with_markers() -> None:
    new = PARENT.replace("x + 1", "x + 2")
    edit = apply_answer(PARENT, f"Better:\n```python\n{new}```\n")
    assert edit.ok and edit.kind == "full" and edit.program == new


def test_full_program_changing_code_outside_block_is_rejected() -> None:
    new = PARENT.replace("x + 1", "x + 2").replace("f(1)", "f(5)")
    edit = apply_answer(PARENT, f"```python\n{new}```")
    assert not edit.ok and "after the EVOLVE-BLOCK" in edit.reason


def test_block_contents_only() -> None:
    edit = apply_answer(PARENT, "```python\ndef f(x):\n    return 3 * x\n```")
    assert edit.ok and edit.kind == "block"
    assert edit.program == PARENT.replace("return x + 1", "return 3 * x")


def test_whole_program_without_markers_is_rejected() -> None:
    new = PARENT.replace("# EVOLVE-BLOCK-START\n", "").replace("# EVOLVE-BLOCK-END\n", "")
    edit = apply_answer(PARENT, f"```python\n{new.replace('x + 1', 'x + 2')}```")
    assert not edit.ok and "without the" in edit.reason


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        ("I think we should try harder.", "contains no code"),
        ("", "contains no code"),
        ("```python\ndef f(x:\n    return 1\n```", "does not parse"),
        (f"```python\n{PARENT}```", "repeats its parent unchanged"),
        (diff("", "x = 1"), "is empty"),
    ],
)
def test_malformed_answers_become_reasons(answer: str, reason: str) -> None:
    edit = apply_answer(PARENT, answer)
    assert not edit.ok and reason in edit.reason


def test_program_without_markers_accepts_a_full_rewrite() -> None:
    edit = apply_answer("x = 1\n", "```python\nx = 2\n```")
    assert edit.ok and edit.program == "x = 2\n"


C_PROGRAM = """#include <stdint.h>
// EVOLVE-BLOCK-START
int f(int x) { return x + 1; }
// EVOLVE-BLOCK-END
int main(void) { return f(1); }
"""


def test_programs_in_other_languages_keep_their_block() -> None:
    edit = apply_answer(C_PROGRAM, "```c\nint f(int x) { return x + 2; }\n```")
    assert edit.ok and edit.kind == "block"
    assert edit.program == C_PROGRAM.replace("x + 1", "x + 2")
    outside = "<<<<<<< SEARCH\nint main(void) { return f(1); }\n=======\nint main(void) { return 0; }\n>>>>>>> REPLACE"
    assert not apply_answer(C_PROGRAM, outside).ok
    assert "outside the EVOLVE-BLOCK" in apply_answer(C_PROGRAM, outside).reason
    copy = apply_answer(C_PROGRAM, "```c\nint f(int x) { return x + 1; }\n```")
    assert not copy.ok and "repeats its parent" in copy.reason
