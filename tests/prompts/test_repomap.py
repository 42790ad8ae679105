"""A folder task's repository map: each file's path, size and top-level names, the editable
ones first when the budget is short."""

from __future__ import annotations

from pathlib import Path

import pytest

from hone.prompts.repomap import defined_names, repository_map
from hone.tree import Tree, TreeSpec


@pytest.mark.parametrize(
    ("path", "text", "names"),
    [
        ("a.py", "import os\nX = 1\nY: int = 2\n\n\nasync def f():\n    z = 3\n\n\nclass C:\n    def m(self): ...\n", ("X", "Y", "f", "C")),
        ("broken.py", "def f(:\n", ()),
        ("a.c", "#include <x.h>\n#define N 10\nstatic int add(int a, int b)\n{\n    if (a) return g(a);\n}\nstruct point {\n    int x;\n};\nint main(void) {\n    return 0;\n}\n", ("N", "add", "point", "main")),
        ("k.cu", "__global__ void step(float *x) {\n}\n", ("step",)),
        ("a.ts", "export function f() {}\nexport default class K {}\nconst z = 1;\n", ("f", "K", "z")),
        ("a.go", "package m\n\nfunc (s *S) Run() {}\ntype S struct{}\nfunc main() {}\n", ("Run", "S", "main")),
        ("a.rs", "pub fn go() {}\nstruct P;\npub(crate) enum E {}\n", ("go", "P", "E")),
        ("ranges.toml", "[friction]\nlow = 0.1\n[[bins]]\n", ("friction", "bins")),
        ("README.md", "# Title\ndef f(): not code\n", ()),
    ],
)  # fmt: skip
def test_the_names_a_file_defines(path: str, text: str, names: tuple[str, ...]) -> None:
    assert defined_names(path, text) == names


def folder(root: Path, files: dict[str, str | bytes]) -> Path:
    for name, content in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            (root / name).write_bytes(content)
        else:
            (root / name).write_text(content, encoding="utf-8")
    return root


def test_every_file_with_its_size_role_and_names(tmp_path: Path) -> None:
    base = folder(
        tmp_path,
        {
            "solver.py": "def solve():\n    return 1\n",
            "config.toml": "[search]\nwidth = 2\n",
            "README.md": "read me\n",
            "data/table.bin": b"\0" * 2048,
            ".git/HEAD": "ref\n",  # (never listed: version control)
        },
    )
    spec = TreeSpec(base=base, editable=("solver.py",), context=("README.md",))
    tree = Tree({"solver.py": "def solve():\n    return 2\n", "extra/h.py": "def h(): ...\n"})
    assert repository_map(spec, tree) == (
        "## The repository: 5 files, 2.1 KB (* editable: shown in full below; the rest "
        "read-only)\n"
        "  README.md (8 B, context)\n"
        "  config.toml (19 B): search\n"
        "  data/table.bin (2.0 KB, binary)\n"
        "* extra/h.py (13 B): h\n"  # (a file a hypothesis added: the tree's)
        "* solver.py (26 B): solve\n"
    )
    assert repository_map(TreeSpec(), tree) == ""  # (a one-file task: no map)


def test_a_short_budget_keeps_the_editable_files_and_counts_the_rest(tmp_path: Path) -> None:
    names = "".join(f"def helper_{i}():\n    pass\n" for i in range(30))
    files: dict[str, str | bytes] = {f"lib/m{i:03}.py": names for i in range(200)}
    base = folder(tmp_path, {**files, "zz_main.py": "def main():\n    pass\n"})
    spec = TreeSpec(base=base, editable=("zz_main.py",))
    tree = Tree({"zz_main.py": "def main():\n    return 1\n"})
    text = repository_map(spec, tree, budget=2000)
    assert len(text) <= 2000
    lines = text.splitlines()
    assert lines[-2] == "* zz_main.py (25 B): main"  # (the editable file, though last)
    assert "helper_0" not in text  # over the budget: the others lose their names first
    assert lines[1] == "  lib/m000.py (770 B)"
    more = [line for line in lines if "more read-only files" in line]
    listed = sum(line.startswith("  lib/") for line in lines)
    assert more == [f"  … and {200 - listed} more read-only files (" + more[0].split("(")[1]]
    assert 0 < listed < 200
    full = repository_map(spec, tree, budget=1_000_000)
    assert "  lib/m000.py (770 B): helper_0, helper_1, " in full and ", … +18" in full


def test_a_large_python_file_is_read_line_by_line_with_the_same_names() -> None:
    from hone.prompts import repomap

    text = "import os\nX = 1\nY: int = 2\n\n\nasync def f():\n    z = 3\n\n\nclass C:\n    w = 4\n"
    padded = text + "\n" * repomap.AST_CHARS  # (beyond the size ast reads)
    assert defined_names("a.py", padded) == defined_names("a.py", text) == ("X", "Y", "f", "C")
