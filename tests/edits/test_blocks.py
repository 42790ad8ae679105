"""EVOLVE blocks: one or several a file, in every comment style, and what is no marker."""

import pytest

from hone.edits import (
    Blocks,
    apply_answer,
    blocks,
    region,
)
from tests.edits.conftest import PARENT, TWO_BLOCKS, diff


def test_region_splits_around_markers() -> None:
    parts = region(PARENT)
    assert parts.body == "def f(x):\n    return x + 1\n"
    assert parts.prefix.endswith("# EVOLVE-BLOCK-START\n")
    assert parts.suffix.startswith("# EVOLVE-BLOCK-END")
    assert parts.join(parts.body) == PARENT


def test_region_rejects_unbalanced_markers() -> None:
    with pytest.raises(ValueError, match="one"):
        region("# EVOLVE-BLOCK-START\nx = 1\n")


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("! EVOLVE-BLOCK-START", "! EVOLVE-BLOCK-END"),  # Fortran
        ("-- EVOLVE-BLOCK-START", "-- EVOLVE-BLOCK-END"),  # Lua, Haskell, SQL
        ("(* EVOLVE-BLOCK-START *)", "(* EVOLVE-BLOCK-END *)"),  # OCaml, Wolfram
        ("% EVOLVE-BLOCK-START", "% EVOLVE-BLOCK-END"),  # Matlab, LaTeX
        (";; EVOLVE-BLOCK-START", ";; EVOLVE-BLOCK-END"),  # Lisp
        ("/* EVOLVE-BLOCK-START */", "/* EVOLVE-BLOCK-END */"),  # C
        ("<!-- EVOLVE-BLOCK-START -->", "<!-- EVOLVE-BLOCK-END -->"),  # Markdown
        ("  # EVOLVE-BLOCK-START: the part to change", "  # EVOLVE-BLOCK-END"),  # R, indented
    ],
)
def test_markers_in_every_common_comment_style(start: str, end: str) -> None:
    program = f"keep 1\n{start}\nchange 1\n{end}\nkeep 2\n"
    parts = region(program)
    assert (parts.prefix, parts.body, parts.suffix) == (
        f"keep 1\n{start}\n",
        "change 1\n",
        f"{end}\nkeep 2\n",
    )
    outside = apply_answer(program, diff("keep 2", "keep 3"))
    assert not outside.ok and "outside the EVOLVE-BLOCK" in outside.reason
    assert apply_answer(program, diff("change 1", "change 2")).program == program.replace(
        "change 1", "change 2"
    )


@pytest.mark.parametrize(
    "line", ["x = 1  # EVOLVE-BLOCK-START", "(* EVOLVE-BLOCK-START", "#EVOLVE-BLOCK-STARTED"]
)
def test_marker_lookalikes_are_not_markers(line: str) -> None:
    assert not region(f"{line}\nx = 2\n").marked


def test_blocks_split_a_file_with_several_blocks() -> None:
    parts = blocks(TWO_BLOCKS)
    assert parts.bodies == ("def f(x):\n    return x + 1\n", "def g(x):\n    return x - 1\n")
    assert len(parts.fixed) == 3 and parts.fixed[1].startswith("# EVOLVE-BLOCK-END\n")
    assert "def keep" in parts.fixed[1] and parts.fixed[2] == "# EVOLVE-BLOCK-END\n"
    assert parts.join(parts.bodies) == TWO_BLOCKS and parts.marked
    assert blocks("x = 1\n") == Blocks(("", ""), ("x = 1\n",)) and not blocks("x = 1\n").marked


@pytest.mark.parametrize(
    ("text", "sentence"),
    [
        ("# EVOLVE-BLOCK-END\nx\n", "line 1 is an EVOLVE-BLOCK-END where an EVOLVE-BLOCK-START"),
        (
            "# EVOLVE-BLOCK-START\n# EVOLVE-BLOCK-START\nx\n# EVOLVE-BLOCK-END\n",
            "line 2 is an EVOLVE-BLOCK-START where an EVOLVE-BLOCK-END",
        ),
        ("# EVOLVE-BLOCK-START\nx\n", "the EVOLVE-BLOCK-START on line 1 has no EVOLVE-BLOCK-END"),
    ],
)
def test_blocks_refuse_malformed_markers(text: str, sentence: str) -> None:
    with pytest.raises(ValueError, match=r"^[^\n]*$") as caught:
        blocks(text)
    assert sentence in str(caught.value)
