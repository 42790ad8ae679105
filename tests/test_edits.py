import pytest

from hone.edits import apply_answer, complete_function, program_key, region

PARENT = """\
import math

# EVOLVE-BLOCK-START
def f(x):
    return x + 1
# EVOLVE-BLOCK-END


def main():
    return f(1)
"""


def diff(search: str, replace: str) -> str:
    return f"Reasoning first.\n<<<<<<< SEARCH\n{search}\n=======\n{replace}\n>>>>>>> REPLACE\n"


def test_region_splits_around_markers() -> None:
    parts = region(PARENT)
    assert parts.body == "def f(x):\n    return x + 1\n"
    assert parts.prefix.endswith("# EVOLVE-BLOCK-START\n")
    assert parts.suffix.startswith("# EVOLVE-BLOCK-END")
    assert parts.join(parts.body) == PARENT


def test_region_rejects_unbalanced_markers() -> None:
    with pytest.raises(ValueError, match="one"):
        region("# EVOLVE-BLOCK-START\nx = 1\n")


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


def test_same_program_ignores_comments_docstrings_and_layout() -> None:
    a = 'def f(x):\n    """Doc."""\n    return x+1  # one\n'
    b = "def f(x):\n\n    return x + 1\n"
    assert program_key(a) == program_key(b)
    assert program_key(a) != program_key("def f(x):\n    return x + 2\n")


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


def _reference_skeleton(code: str) -> str:
    """The skeleton as first written: ast.walk drops the docstrings, then ast.dump."""
    import ast

    tree = ast.parse(code)
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (
            isinstance(body, list)
            and body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)
        ):
            node.body = body[1:] or [ast.Pass()]
    return ast.dump(tree)


SKELETON_CASES = [
    '"""Module doc."""\nimport math\n',
    '"""Only a docstring."""\n',
    "",
    'class A:\n    """Doc."""\n\n    def f(self, x: int = 1, *a, k=None, **kw) -> int:\n'
    '        """Doc."""\n        "second string stays"\n        return x\n',
    'def f():\n    """Only."""\n',
    'if x:\n    "a string first in an if"\n    y = 1\nelse:\n    "not a body"\n',
    "for i in range(3):\n    'loop'\nelse:\n    pass\nwhile False:\n    'w'\n",
    "try:\n    'try'\nexcept ValueError as e:\n    'handler'\nfinally:\n    'fin'\n",
    "with open(p) as f, g() as h:\n    'with'\n",
    "async def g():\n    'doc'\n    async for x in y:\n        await z\n    async with a:\n        pass\n",
    "match p:\n    case [1, 2, *rest] if rest:\n        'case'\n    case {'k': v, **kw}:\n        pass\n"
    "    case Point(x=0) | None:\n        pass\n",
    "f = lambda x, /, y=2: (x if y else 'lambda body is not a list')\n",
    "x = f'{a!r:>{w}} {b}'\ny: list[int] = [1, 2.0, 3j, b'b', None, True, ...]\n",
    "del a[1:2, ::3]\nglobal g\nassert x, 'm'\nraise E from None\nimport a.b as c\n"
    "from . import d\n",
    "x = 1  # type: int\nwhile (n := n - 1):\n    yield from g()\n",
    "@dec(1)\nclass B(A, metaclass=M):\n    x = {k: v for k, v in d.items() if v}\n",
]


@pytest.mark.parametrize("code", SKELETON_CASES)
def test_skeleton_is_the_dump_without_docstrings(code: str) -> None:
    from hone.edits import _skeleton

    assert _skeleton.__wrapped__(code) == _reference_skeleton(code)


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
