import random
from pathlib import Path

import pytest

from hone.edits import (
    Blocks,
    apply_answer,
    apply_tree_answer,
    blocks,
    complete_function,
    read_tree,
    region,
    same_program,
)
from hone.exceptions import TaskError
from hone.tree import Tree, TreeSpec

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


def test_whole_program_without_markers_changes_the_block() -> None:
    new = PARENT.replace("# EVOLVE-BLOCK-START\n", "").replace("# EVOLVE-BLOCK-END\n", "")
    edit = apply_answer(PARENT, f"```python\n{new.replace('x + 1', 'x + 2')}```")
    assert edit.ok and edit.kind == "block"
    assert edit.program == PARENT.replace("x + 1", "x + 2")


def test_whole_program_without_markers_changing_code_after_is_rejected() -> None:
    new = PARENT.replace("# EVOLVE-BLOCK-START\n", "").replace("# EVOLVE-BLOCK-END\n", "")
    edit = apply_answer(PARENT, f"```python\n{new.replace('f(1)', 'f(5)')}```")
    assert not edit.ok and "after the EVOLVE-BLOCK" in edit.reason


# Answers of Qwen2.5-Coder-0.5B to chat prompts on the peers' circle_packing folders
# (benchmarks/peers_real_model.py's proxy log), shortened: the program's shape is theirs.
PACKING = """\
# EVOLVE-BLOCK-START
\"\"\"Constructor-based circle packing for n=26 circles\"\"\"

import numpy as np


def construct_packing():
    centers = np.zeros((26, 2))
    radii = compute_max_radii(centers)
    return centers, radii


def compute_max_radii(centers):
    return np.ones(centers.shape[0]) * 0.01


# EVOLVE-BLOCK-END


# This part remains fixed (not evolved)
def run_packing():
    \"\"\"Run the circle packing constructor for n=26\"\"\"
    centers, radii = construct_packing()
    return centers, radii, np.sum(radii)
"""
FIXED = PACKING[PACKING.index("# EVOLVE-BLOCK-END") :]


def test_a_block_from_its_start_marker_without_an_end_replaces_what_it_defines() -> None:
    """The block from its START line, the END and the rest left out, and the import the
    block needs dropped: the functions it gives replace the block's, its import stays."""
    answer = """### Idea
The proposed solution places larger circles at the center.

### Proposal
```python
# EVOLVE-BLOCK-START
def construct_packing():
    centers = np.full((26, 2), 0.5)
    radii = compute_max_radii(centers)
    return centers, radii


def compute_max_radii(centers):
    return np.ones(centers.shape[0]) * 0.02
```
"""
    edit = apply_answer(PACKING, answer)
    assert edit.ok and edit.kind == "block"
    program = edit.program or ""
    assert "import numpy as np" in program and "np.full((26, 2), 0.5)" in program
    assert "* 0.02" in program and "* 0.01" not in program and program.endswith(FIXED)


def test_a_block_that_gives_one_function_keeps_the_others() -> None:
    answer = """The proposal to change the function to `construct_packing` is as follows:
```python
# EVOLVE-BLOCK-START
\"\"\"Constructor-based circle packing for n=26 circles\"\"\"

import numpy as np


def construct_packing():
    centers = np.full((26, 2), 0.25)
    radii = compute_max_radii(centers)
    return centers, radii
```
"""
    edit = apply_answer(PACKING, answer)
    assert edit.ok and edit.kind == "block"
    program = edit.program or ""
    assert "np.full((26, 2), 0.25)" in program and "def compute_max_radii" in program
    assert program.count("import numpy as np") == 1 and program.endswith(FIXED)


def test_a_program_up_to_the_end_marker_without_the_start_adds_its_imports() -> None:
    """The whole program with its START line dropped (and a comment outside the block): the
    block gets the new code and the new import, the code after it stays the file's."""
    answer = """We can make the `construct_packing` function as follows:

```python
import numpy as np
from scipy.optimize import minimize

def construct_packing():
    centers = minimize(lambda c: 0.0, np.zeros(52)).x.reshape(26, 2)
    radii = compute_max_radii(centers)
    return centers, radii
# EVOLVE-BLOCK-END


def run_packing():
    \"\"\"Run the circle packing constructor for n=26\"\"\"
    centers, radii = construct_packing()
    return centers, radii, np.sum(radii)
```

This change uses `scipy.optimize.minimize`."""
    edit = apply_answer(PACKING, answer)
    assert edit.ok and edit.kind == "block"
    program = edit.program or ""
    assert "import numpy as np\nfrom scipy.optimize import minimize\n" in program
    assert "minimize(lambda" in program and "def compute_max_radii" in program
    assert program.endswith(FIXED)  # its comment as the file has it


def test_a_program_up_to_the_end_marker_that_changes_the_code_after_is_rejected() -> None:
    answer = (
        "```python\ndef construct_packing():\n    return 1, 2\n"
        + FIXED.replace("np.sum(radii)", "2.635")
        + "```"
    )
    edit = apply_answer(PACKING, answer)
    assert not edit.ok and "after the EVOLVE-BLOCK" in edit.reason


def test_a_fence_named_in_a_sentence_opens_no_code_block() -> None:
    """'in one ```python block.' inside a sentence is prose, and the program after it is
    the answer's code."""
    new = PACKING.replace("* 0.01", "* 0.03")
    answer = (
        "### Proposal: The change to program #1, as the complete new program in one ```python "
        "block.\nTo improve program #1, we need a more structured pattern.\n\nHere's the "
        f"complete new program in one ```python block:\n\n```python\n{new}```\n"
    )
    edit = apply_answer(PACKING, answer)
    assert edit.ok and edit.kind == "full" and edit.program == new


def test_a_whole_program_that_drops_comments_after_the_block_keeps_the_files() -> None:
    new = PACKING.replace("* 0.01", "* 0.03").replace(
        "# This part remains fixed (not evolved)\n", ""
    )
    edit = apply_answer(PACKING, f"```python\n{new}```")
    assert edit.ok and edit.program == PACKING.replace("* 0.01", "* 0.03")


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
    assert same_program(a, b)
    assert not same_program(a, "def f(x):\n    return x + 2\n")


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


# -- several EVOLVE blocks in one file ----------------------------------------------------------
def sr(search: str, replace: str) -> str:
    """A SEARCH/REPLACE block alone (the line before it is the path, or nothing)."""
    return f"<<<<<<< SEARCH\n{search}\n=======\n{replace}\n>>>>>>> REPLACE\n"


TWO_BLOCKS = """\
import math

# EVOLVE-BLOCK-START
def f(x):
    return x + 1
# EVOLVE-BLOCK-END


def keep():
    return 0


# EVOLVE-BLOCK-START
def g(x):
    return x - 1
# EVOLVE-BLOCK-END
"""


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


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("# EVOLVE-BLOCK-START", "# EVOLVE-BLOCK-END"),
        ("// EVOLVE-BLOCK-START", "// EVOLVE-BLOCK-END"),
        ("! EVOLVE-BLOCK-START", "! EVOLVE-BLOCK-END"),
        ("-- EVOLVE-BLOCK-START", "-- EVOLVE-BLOCK-END"),
        ("(* EVOLVE-BLOCK-START *)", "(* EVOLVE-BLOCK-END *)"),
        ("% EVOLVE-BLOCK-START", "% EVOLVE-BLOCK-END"),
        (";; EVOLVE-BLOCK-START", ";; EVOLVE-BLOCK-END"),
        ("/* EVOLVE-BLOCK-START */", "/* EVOLVE-BLOCK-END */"),
        ("<!-- EVOLVE-BLOCK-START -->", "<!-- EVOLVE-BLOCK-END -->"),
        ("{- EVOLVE-BLOCK-START -}", "{- EVOLVE-BLOCK-END -}"),
    ],
)
def test_only_the_bodies_of_several_blocks_change_in_every_comment_style(
    start: str, end: str
) -> None:
    text = f"keep 1\n{start}\nchange 1\n{end}\nkeep 2\n{start}\nchange 2\n{end}\nkeep 3\n"
    tree = Tree.one("prog.src", text)
    spec = TreeSpec()
    both = apply_tree_answer(
        tree, "prog.src\n" + sr("change 1", "changed 1") + sr("change 2", "changed 2"), spec
    )
    assert both.ok and both.tree is not None and both.changed == ("prog.src",)
    assert both.tree["prog.src"] == text.replace("change ", "changed ")
    outside = apply_tree_answer(tree, "prog.src\n" + sr("keep 2", "kept 2"), spec)
    assert not outside.ok
    assert outside.reason.startswith("in prog.src, SEARCH block 1 matches code outside")
    whole = text.replace("change 2", "changed 2")
    assert apply_tree_answer(tree, f"```prog.src\n{whole}```\n", spec).tree == {"prog.src": whole}
    moved = apply_tree_answer(tree, f"```prog.src\n{whole.replace('keep 2', 'kept 2')}```\n", spec)
    assert moved.reason == (
        "in prog.src, the answer changes code between the EVOLVE blocks, which must stay as it "
        "is; change only the code between the markers"
    )


# -- answers that name their files ------------------------------------------------------------
A_PY = """\
import math

# EVOLVE-BLOCK-START
def score(x):
    return x + 1
# EVOLVE-BLOCK-END


def main():
    return score(1)
"""
B_PY = TWO_BLOCKS
PARAMS = 'rate = 0.5\nname = "base"\n'
FOLDER = {
    "src/a.py": A_PY,
    "src/b.py": B_PY,
    "config/params.toml": PARAMS,
    "src/heuristics/base.py": "def base():\n    return 0\n",
    "README.md": "# The task\n",
    "tests/test_a.py": "def test_a():\n    pass\n",
}
SPEC_GLOBS = {
    "editable": ("src/*.py", "config/*.toml"),
    "context": ("README.md", "tests/test_*.py"),
    "new_files": ("src/heuristics/*.py",),
}


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A program folder: two Python files with blocks, a configuration, a read-only
    heuristic, context files, a binary file and a link leading outside."""
    base = tmp_path / "program"
    for path, text in FOLDER.items():
        (base / path).parent.mkdir(parents=True, exist_ok=True)
        (base / path).write_text(text)
    (base / "data.bin").write_bytes(b"\0\1\2")
    (tmp_path / "elsewhere").mkdir()
    (base / "src" / "heuristics" / "shared").symlink_to(tmp_path / "elsewhere")
    return base


@pytest.fixture
def spec(folder: Path) -> TreeSpec:
    return TreeSpec(base=folder, **SPEC_GLOBS)  # type: ignore[arg-type]


@pytest.fixture
def parent(spec: TreeSpec) -> Tree:
    return read_tree(spec)


def test_read_tree_takes_the_editable_globs(parent: Tree) -> None:
    assert parent.paths == ("config/params.toml", "src/a.py", "src/b.py")
    assert parent["src/a.py"] == A_PY


def test_one_answer_edits_two_files_with_path_headed_search_replace(
    parent: Tree, spec: TreeSpec
) -> None:
    answer = (
        "Faster scoring, and a higher rate.\n\n"
        "src/a.py\n```python\n"
        + sr("    return x + 1", "    return x * 2")
        + "```\n\n**config/params.toml**\n"
        + sr("rate = 0.5", "rate = 0.75")
        + "\n`src/b.py`:\n"
        + sr("    return x - 1", "    return x - 2")
        + sr("def f(x):", "def f(x, y=0):")  # no path of its own: the last one named
    )
    edit = apply_tree_answer(parent, answer, spec)
    assert edit.ok and edit.kind == "diff", edit.reason
    assert edit.changed == ("config/params.toml", "src/a.py", "src/b.py")
    assert edit.tree == parent.with_files(
        {
            "src/a.py": A_PY.replace("return x + 1", "return x * 2"),
            "config/params.toml": PARAMS.replace("0.5", "0.75"),
            "src/b.py": B_PY.replace("x - 1", "x - 2").replace("f(x)", "f(x, y=0)"),
        }
    )


@pytest.mark.parametrize(
    "header",
    [
        "src/a.py",
        "`src/a.py`",
        "**src/a.py**",
        "src/a.py:",
        "File: src/a.py",
        "path: `src/a.py`",
        "### src/a.py",
        "- src/a.py",
    ],
)
def test_the_path_before_a_search_block_may_be_written_as_people_write_it(
    header: str, parent: Tree, spec: TreeSpec
) -> None:
    edit = apply_tree_answer(parent, f"{header}\n{sr('x + 1', 'x + 3')}", spec)
    assert edit.ok and edit.changed == ("src/a.py",), edit.reason
    fenced = f"{header}\n```python\n{sr('x + 1', 'x + 3')}```\n"
    assert apply_tree_answer(parent, fenced, spec).tree == edit.tree
    info = f"```python src/a.py\n{sr('x + 1', 'x + 3')}```\n"
    assert apply_tree_answer(parent, info, spec).tree == edit.tree


def test_one_answer_as_a_unified_diff_over_two_files(
    parent: Tree, spec: TreeSpec, tmp_path: Path
) -> None:
    wanted = parent.with_files(
        {
            "src/a.py": A_PY.replace("return x + 1", "y = x * x\n    return y + 1"),
            "src/b.py": B_PY.replace("return x - 1", "return abs(x) - 1"),
        }
    )
    patch = wanted.diff(parent)
    assert patch.count("+++ b/") == 2
    edit = apply_tree_answer(parent, f"Two changes.\n\n```diff\n{patch}```\n", spec)
    assert edit.ok and edit.kind == "patch" and edit.tree == wanted, edit.reason
    assert edit.changed == ("src/a.py", "src/b.py")
    plain = apply_tree_answer(parent, patch, spec)  # no fence, as `git diff` prints it
    assert plain.tree == wanted


def test_unified_diffs_as_models_write_them(parent: Tree, spec: TreeSpec) -> None:
    # Line numbers off by some lines, no a/ b/ prefixes, a timestamp, no diff --git line.
    answer = (
        "--- src/b.py\t2024-01-01 00:00:00\n+++ src/b.py\t2024-01-01 00:00:01\n"
        "@@ -40,3 +40,3 @@\n # EVOLVE-BLOCK-START\n def g(x):\n-    return x - 1\n"
        "+    return x - 5\n"
    )
    edit = apply_tree_answer(parent, answer, spec)
    assert edit.ok and edit.tree is not None, edit.reason
    assert edit.tree["src/b.py"] == B_PY.replace("x - 1", "x - 5")
    numberless = answer.replace("@@ -40,3 +40,3 @@", "@@ ... @@")
    assert apply_tree_answer(parent, numberless, spec).tree == edit.tree
    wrong = answer.replace("def g(x):", "def g(y):")
    assert apply_tree_answer(parent, wrong, spec).reason == (
        "in src/b.py, hunk 1 of the diff does not match the file; copy its context and '-' "
        "lines exactly"
    )
    ambiguous = "--- a/src/b.py\n+++ b/src/b.py\n@@ @@\n-# EVOLVE-BLOCK-START\n+#\n"
    assert (
        "matches 2 places and has no line numbers"
        in apply_tree_answer(parent, ambiguous, spec).reason
    )


@pytest.mark.parametrize(
    "answer",
    [
        "Greedy.\n\n```python src/heuristics/greedy.py\ndef greedy():\n    return 1\n```\n",
        "src/heuristics/greedy.py\n```python\ndef greedy():\n    return 1\n```\n",
        "src/heuristics/greedy.py\n<<<<<<< SEARCH\n=======\ndef greedy():\n    return 1\n"
        ">>>>>>> REPLACE\n",
        "--- /dev/null\n+++ b/src/heuristics/greedy.py\n@@ -0,0 +1,2 @@\n+def greedy():\n"
        "+    return 1\n",
    ],
    ids=["fence-info", "path-before-fence", "empty-search", "diff-from-dev-null"],
)
def test_an_answer_adds_an_allowed_new_file(answer: str, parent: Tree, spec: TreeSpec) -> None:
    edit = apply_tree_answer(parent, answer, spec)
    assert edit.ok and edit.changed == ("src/heuristics/greedy.py",), edit.reason
    assert edit.tree == parent.with_files(
        {"src/heuristics/greedy.py": "def greedy():\n    return 1\n"}
    )


def test_an_answer_adds_a_file_and_uses_it(parent: Tree, spec: TreeSpec) -> None:
    answer = (
        "```python src/heuristics/fast.py\ndef fast(x):\n    return x * 3\n```\n\nsrc/a.py\n"
        + sr("def score(x):\n    return x + 1", "def score(x):\n    return fast(x)")
        + "\nsrc/heuristics/fast.py\n"
        + sr("x * 3", "x * 4")  # a file the answer added may be edited further
    )
    edit = apply_tree_answer(parent, answer, spec)
    assert edit.ok and edit.kind == "mixed", edit.reason
    assert edit.tree is not None and edit.tree["src/heuristics/fast.py"].endswith("x * 4\n")
    assert edit.changed == ("src/a.py", "src/heuristics/fast.py")


def test_a_snippet_after_a_path_beside_search_blocks_is_no_whole_file(
    parent: Tree, spec: TreeSpec
) -> None:
    answer = (
        "src/a.py\n```python\ndef score(x):\n    ...\n```\nis what I keep; the change:\n\n"
        "src/b.py\n" + sr("    return x - 1", "    return x - 7")
    )
    edit = apply_tree_answer(parent, answer, spec)
    assert edit.ok and edit.changed == ("src/b.py",), edit.reason


BAD_ANSWERS = {
    "unknown path": (
        "src/c.py\n" + sr("x", "y"),
        "src/c.py is not a file of the program, and new files may only be added as "
        "src/heuristics/*.py (the editable files: config/params.toml, src/a.py, src/b.py)",
    ),
    "outside editable": (
        "tests/test_a.py\n" + sr("    pass", "    assert True"),
        "tests/test_a.py may not be changed: it is context, shown read-only (the editable "
        "files: config/params.toml, src/a.py, src/b.py)",
    ),
    "outside editable, not context": (
        "```src/heuristics/base.py\ndef base():\n    return 1\n```\n",
        "src/heuristics/base.py is a file of the program folder already, and a new file may "
        "not replace it; choose another name",
    ),
    "binary": (
        "```data.bin\ntext\n```\n",
        "data.bin may not be changed: it is not editable (the editable files: "
        "config/params.toml, src/a.py, src/b.py)",
    ),
    "outside a block": (
        "src/a.py\n" + sr("    return score(1)", "    return score(2)"),
        "in src/a.py, SEARCH block 1 matches code outside the EVOLVE-BLOCK, which may not change",
    ),
    "outside a block, whole file": (
        f"```python src/a.py\n{A_PY.replace('score(1)', 'score(2)')}```\n",
        "in src/a.py, the answer changes code after the EVOLVE-BLOCK, which must stay as it is; "
        "change only the code between the markers",
    ),
    "outside a block, diff": (
        "--- a/src/a.py\n+++ b/src/a.py\n@@ -1,2 +1,2 @@\n-import math\n+import os\n \n",
        "in src/a.py, the diff changes code outside the EVOLVE block, which must stay as it is; "
        "change only the code between the markers",
    ),
    "non-unique SEARCH": (
        "config/params.toml\n" + sr("rate", "speed") + "src/b.py\n" + sr("return x", "x"),
        "in src/b.py, SEARCH block 2 matches 2 places; include more lines to make it unique",
    ),
    "zero-match SEARCH": (
        "src/b.py\n" + sr("    return x + 2", "    return 0"),
        "in src/b.py, SEARCH block 1 does not match the file exactly; copy the lines "
        "verbatim, including indentation",
    ),
    "../ escape": (
        "../evil.py\n" + sr("", "import os\n"),
        "the path '../evil.py' leaves the program folder ('..'); stay inside it",
    ),
    "../ escape in a diff": (
        "--- /dev/null\n+++ b/src/heuristics/../../../evil.py\n@@ -0,0 +1 @@\n+x = 1\n",
        "the path 'src/heuristics/../../../evil.py' leaves the program folder ('..'); stay "
        "inside it",
    ),
    "absolute path": (
        "```python /etc/cron.d/evil\nimport os\n```\n",
        "the path '/etc/cron.d/evil' is absolute; name files relative to the program folder",
    ),
    "symlink escape": (
        "```python src/heuristics/shared/evil.py\nx = 1\n```\n",
        "src/heuristics/shared/evil.py goes through the symbolic link src/heuristics/shared, "
        "which leads outside the program folder",
    ),
    "does not parse": (
        "src/b.py\n" + sr("    return x - 1", "    return (x -"),
        "src/b.py does not parse: line 15: '(' was never closed",
    ),
    "a deletion": (
        "--- a/src/b.py\n+++ /dev/null\n@@ -1 +0,0 @@\n-import math\n",
        "the diff deletes src/b.py; a hypothesis may not remove files",
    ),
    "a rename": (
        "--- a/src/b.py\n+++ b/src/heuristics/b.py\n@@ -1 +1 @@\n-import math\n+import os\n",
        "the diff renames src/b.py to src/heuristics/b.py; a hypothesis may not rename files",
    ),
    "creating what exists": (
        "--- /dev/null\n+++ b/src/a.py\n@@ -0,0 +1 @@\n+x = 1\n",
        "the diff creates src/a.py, which exists already; diff against its text",
    ),
    "no path": (
        sr("    return x + 1", "    return x + 2"),
        "SEARCH block 1 names no file; put the file's path on the line before it (the files: "
        "config/params.toml, src/a.py, src/b.py)",
    ),
    "a comment only": (
        "src/a.py\n" + sr("    return x + 1", "    return x + 1  # same"),
        "the answer repeats its parent unchanged",
    ),
}


@pytest.mark.parametrize("case", list(BAD_ANSWERS))
def test_each_bad_edit_fails_with_one_sentence_naming_the_file(
    case: str, parent: Tree, spec: TreeSpec
) -> None:
    answer, sentence = BAD_ANSWERS[case]
    edit = apply_tree_answer(parent, answer, spec)
    assert not edit.ok and edit.tree is None and edit.changed == ()
    assert edit.reason == sentence
    assert "\n" not in edit.reason


def test_an_answer_naming_no_file_says_which_files_there_are(parent: Tree, spec: TreeSpec) -> None:
    edit = apply_tree_answer(parent, "```python\nx = 1\n```\n", spec)
    assert not edit.ok and edit.reason.startswith("the answer names no file")
    assert edit.reason.endswith("(the files: config/params.toml, src/a.py, src/b.py)")


def test_a_link_inside_the_folder_is_named_by_its_real_path(
    folder: Path, parent: Tree, spec: TreeSpec
) -> None:
    (folder / "src" / "alias.py").symlink_to("a.py")
    edit = apply_tree_answer(parent, "src/alias.py\n" + sr("x + 1", "x + 2"), spec)
    assert (
        edit.reason
        == "src/alias.py is a symbolic link (to src/a.py); name the file by its real path"
    )


@pytest.mark.parametrize(
    "answer",
    [
        diff("    return x + 1", "    return x * 2"),
        "```python\ndef f(x):\n    return 3 * x\n```",
        f"Better:\n```python\n{PARENT.replace('x + 1', 'x + 2')}```\n",
        "I think we should try harder.",
        diff("    return f(1)", "    return f(2)"),
        f"```python\n{PARENT}```",
        "Fix:\n" + diff("    return x + 1", "    return x - 1"),
        "numpy.sort\n" + diff("    return x + 1", "    return -x"),
    ],
)
def test_a_one_file_tree_takes_the_answers_a_program_takes(answer: str) -> None:
    tree = Tree.one("program.py", PARENT)
    edit = apply_tree_answer(tree, answer, TreeSpec())
    single = apply_answer(PARENT, answer)
    assert (edit.reason, edit.kind) == (single.reason, single.kind)
    assert edit.tree == (None if single.program is None else {"program.py": single.program})


def test_a_one_file_tree_takes_named_edits_and_diffs_too() -> None:
    tree = Tree.one("program.py", PARENT)
    new = tree.with_files({"program.py": PARENT.replace("x + 1", "x + 5")})
    assert apply_tree_answer(tree, new.diff(tree), TreeSpec()).tree == new
    named = apply_tree_answer(tree, "program.py\n" + sr("x + 1", "x + 5"), TreeSpec())
    assert named.tree == new
    other = apply_tree_answer(tree, "lib/other.py\n" + sr("x + 1", "x + 5"), TreeSpec())
    assert other.reason == (
        "lib/other.py is not a file of the program, and no new files may be added (the "
        "editable files: program.py)"
    )


@pytest.mark.parametrize("seed", range(20))
def test_any_trees_diff_applies_back_to_it(seed: int, parent: Tree, spec: TreeSpec) -> None:
    rng = random.Random(seed)

    def line(old: str) -> str:
        if old.startswith(("def ", "rate", "name")) or rng.random() < 0.5:
            return old
        return f"    v{rng.randint(0, 9)} = {rng.randint(0, 99)}\n" + rng.choice(["", old])

    changes = {}
    for path in rng.sample([p for p in parent.paths if p.endswith(".py")], rng.randint(1, 2)):
        parts = blocks(parent[path])
        changes[path] = parts.join(
            ["".join(map(line, body.splitlines(keepends=True))) for body in parts.bodies]
        )
    if rng.random() < 0.5 or all(changes[p] == parent[p] for p in changes):
        changes["config/params.toml"] = PARAMS.replace("0.5", str(rng.random()))
    if rng.random() < 0.5:
        changes["src/heuristics/h.py"] = f"H = {rng.random()}\n"
    child = parent.with_files(changes)
    edit = apply_tree_answer(parent, child.diff(parent), spec)
    if child.key == parent.key:
        assert edit.reason == "the answer repeats its parent unchanged"
    else:
        assert edit.ok and edit.tree == child, edit.reason


def test_read_tree_by_the_default_rule_takes_the_files_with_blocks(folder: Path) -> None:
    assert read_tree(TreeSpec(base=folder)).paths == ("src/a.py", "src/b.py")
    (folder / "src" / "a.py").write_text("x = 1  # EVOLVE-BLOCK-START is no marker\n")
    assert read_tree(TreeSpec(base=folder)).paths == ("src/b.py",)


def test_read_tree_without_blocks_takes_every_text_file(tmp_path: Path) -> None:
    for path, text in {
        "a.py": "a = 1\n",
        "docs/n.md": "note\n",
        "big.csv": "1,2\n" * 300_000,
    }.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text)
    (tmp_path / "img.png").write_bytes(b"\x89PNG\0\0")
    (tmp_path / "__pycache__").mkdir()
    (tmp_path / "__pycache__" / "a.txt").write_text("cache")
    tree = read_tree(TreeSpec(base=tmp_path))
    assert tree.paths == ("a.py", "docs/n.md")  # the 1.2 MB csv is data; png is binary


@pytest.mark.parametrize(
    ("files", "editable", "sentence"),
    [
        ({"a.py": "x\n"}, ("src/*.rs",), "the editable glob 'src/*.rs' matches no file under"),
        (
            {"a.py": "x\n", "w.bin": "\0"},
            ("*.bin",),
            "the editable glob '*.bin' matches only files that are not UTF-8 text under",
        ),
        ({"w.bin": "\0"}, (), "holds no UTF-8 text file to evolve"),
        ({"a.py": "# EVOLVE-BLOCK-START\nx\n"}, (), "a.py': the EVOLVE-BLOCK-START on line 1"),
    ],
)
def test_read_tree_says_in_one_sentence_why_there_is_nothing_to_evolve(
    tmp_path: Path, files: dict[str, str], editable: tuple[str, ...], sentence: str
) -> None:
    for path, text in files.items():
        (tmp_path / path).write_text(text)
    with pytest.raises(TaskError, match=r"^[^\n]*$") as caught:
        read_tree(TreeSpec(base=tmp_path, editable=editable))
    assert sentence in str(caught.value)
