"""Answers that name their files, applied to a tree: every form, and each refusal in one
sentence naming the file."""

import random
from pathlib import Path

import pytest

from hone.edits import (
    apply_answer,
    apply_tree_answer,
    blocks,
)
from hone.tree import Tree, TreeSpec
from tests.edits.conftest import (
    A_PY,
    B_PY,
    PARAMS,
    PARENT,
    diff,
    sr,
)


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
