"""`read_tree`: a program folder's editable files, and why there are none."""

from pathlib import Path

import pytest

from hone.edits import (
    read_tree,
)
from hone.exceptions import TaskError
from hone.tree import Tree, TreeSpec
from tests.edits.conftest import A_PY


def test_read_tree_takes_the_editable_globs(parent: Tree) -> None:
    assert parent.paths == ("config/params.toml", "src/a.py", "src/b.py")
    assert parent["src/a.py"] == A_PY


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
