import hashlib
import os
import pickle
import shutil
import subprocess
from pathlib import Path

import pytest

from hone.tree import (
    Tree,
    TreeSpec,
    blob_hash,
    files_under,
    link_problem,
    matches,
    normal_path,
    program_key,
    read_text,
    same_program,
)


@pytest.mark.parametrize(
    ("written", "normal"),
    [
        ("a.py", "a.py"),
        ("./src//a.py", "src/a.py"),
        ("src/./pkg/a.py", "src/pkg/a.py"),
        ("  src/a.py ", "src/a.py"),
        ("e\u0301t\u00e9.py", "\u00e9t\u00e9.py"),  # NFD to NFC
        (".github/workflow.yml", ".github/workflow.yml"),
    ],
)
def test_paths_are_normalised(written: str, normal: str) -> None:
    assert normal_path(written) == normal


@pytest.mark.parametrize(
    ("written", "sentence"),
    [
        ("../x.py", "the path '../x.py' leaves the program folder"),
        ("src/../../x.py", "the path 'src/../../x.py' leaves the program folder"),
        ("src/../x.py", "leaves the program folder"),  # even when it would come back
        ("/etc/passwd", "the path '/etc/passwd' is absolute"),
        ("", "an empty path names no file"),
        (".", "names the program folder, not a file"),
        ("src/", "the path 'src/' names a folder, not a file"),
        ("src\\a.py", "holds a backslash"),
        ("a\0.py", "holds a control character"),
        ("a\n.py", "holds a control character"),
    ],
)
def test_bad_paths_are_refused_in_one_sentence(written: str, sentence: str) -> None:
    with pytest.raises(ValueError, match=r"^[^\n]*$") as caught:
        normal_path(written)
    assert sentence in str(caught.value)


def test_a_tree_is_a_sorted_immutable_mapping() -> None:
    tree = Tree({"./src/b.py": "b = 1\n", "a.py": "a = 1\n"})
    assert tree.paths == ("a.py", "src/b.py") and list(tree) == ["a.py", "src/b.py"]
    assert tree["src/b.py"] == "b = 1\n" and tree.get("c.py") is None and len(tree) == 2
    with pytest.raises(AttributeError, match="cannot be changed"):
        tree._files = {}  # type: ignore[misc]
    with pytest.raises(TypeError):
        tree["a.py"] = "x"  # type: ignore[index]
    assert Tree.one("p.py", "x = 1\n") == Tree({"p.py": "x = 1\n"}) == {"p.py": "x = 1\n"}
    assert hash(tree) == hash(Tree(dict(tree)))
    assert pickle.loads(pickle.dumps(tree)) == tree


def test_a_tree_refuses_bad_paths_and_texts() -> None:
    with pytest.raises(ValueError, match="leaves the program folder"):
        Tree({"../a.py": ""})
    with pytest.raises(ValueError, match="name the same file"):
        Tree({"a.py": "1", "./a.py": "2"})
    with pytest.raises(ValueError, match=r"the text of a\.py is not valid Unicode"):
        Tree({"a.py": "\udcff"})
    with pytest.raises(TypeError, match="not a str"):
        Tree({"a.py": b"x"})  # type: ignore[dict-item]


def test_with_files_and_changed() -> None:
    parent = Tree({"a.py": "a = 1\n", "b.py": "b = 1\n"})
    child = parent.with_files({"b.py": "b = 2\n", "./new/c.py": "c = 1\n"})
    assert parent == {"a.py": "a = 1\n", "b.py": "b = 1\n"}  # unchanged
    assert child.paths == ("a.py", "b.py", "new/c.py")
    assert child.changed(parent) == {"b.py": "b = 2\n", "new/c.py": "c = 1\n"}
    assert parent.changed(child) == {"b.py": "b = 1\n"}  # no deletions: only differing texts
    assert parent.with_files({}) is parent
    with pytest.raises(ValueError, match="is absolute"):
        parent.with_files({"/x.py": ""})


def test_digest_is_exact_and_key_ignores_comments_and_layout() -> None:
    tree = Tree({"a.py": "def f(x):\n    return x + 1\n", "b.txt": "keep"})
    layout = Tree({"a.py": 'def f(x):  # one\n    """Doc."""\n    return x+1\n', "b.txt": "keep"})
    other = Tree({"a.py": "def f(x):\n    return x + 2\n", "b.txt": "keep"})
    renamed = Tree({"c.py": tree["a.py"], "b.txt": "keep"})
    assert tree.digest != layout.digest and tree.key == layout.key
    assert tree.key != other.key and tree.key != renamed.key and tree.digest != renamed.digest
    assert Tree({"a.py": "x", "b.txt": "kept"}).key != Tree({"a.py": "x", "b.txt": "keep"}).key
    spaced = Tree({"a.py": "x", "b.txt": "keep  \n\n"})  # not Python: layout is line ends
    assert spaced.key == Tree({"a.py": "x", "b.txt": "keep"}).key
    lines = "".join(f"{p}\0{hashlib.sha256(t.encode()).hexdigest()}\n" for p, t in tree.items())
    assert tree.digest == hashlib.sha256(lines.encode()).hexdigest()
    assert blob_hash("é") == hashlib.sha256("é".encode()).hexdigest()


def test_a_one_file_trees_key_is_the_key_hone_always_stored() -> None:
    code = "def f(x):\n    return x + 1\n"
    stored = hashlib.blake2b(program_key(code).encode(), digest_size=12).hexdigest()
    assert Tree.one("program.py", code).key == stored == Tree.one("other.py", code).key


def test_a_child_tree_keys_and_hashes_only_the_files_it_changed(monkeypatch) -> None:
    import hone.tree

    parent = Tree({f"m{i}.py": f"def f{i}(x):\n    return x + {i}\n" for i in range(5)})
    keyed: list[str] = []
    real = hone.tree.program_key
    monkeypatch.setattr(hone.tree, "program_key", lambda code: keyed.append(code) or real(code))
    before = parent.key
    assert len(keyed) == 5 and parent.hashes()["m0.py"] == blob_hash(parent["m0.py"])
    child = parent.with_files({"m1.py": "def f1(x):\n    return x - 1\n"})
    hashed: list[str] = []
    monkeypatch.setattr(hone.tree, "blob_hash", lambda text: hashed.append(text) or "h" * 64)
    assert child.key != before and keyed[5:] == [child["m1.py"]] and hashed == [child["m1.py"]]
    monkeypatch.undo()
    child = parent.with_files({"m1.py": "def f1(x):\n    return x - 1\n"})  # (true hashes)
    # a tree rebuilt from the same texts, or from a store (hashes given), keys the same
    assert Tree(dict(child)).key == child.key == Tree.hashed(dict(child), child.hashes()).key
    assert Tree.hashed(dict(child), child.hashes()).digest == Tree(dict(child)).digest
    layout = child.with_files({"m1.py": "def f1(x):  # comment\n    return x-1\n"})
    assert layout.key == child.key and layout.digest != child.digest


PARENT = {
    "src/a.py": "import math\n\n\ndef f(x):\n    return x + 1\n",
    "src/deep/b.c": "int b(void) {\n  return 1;\n}\n",
    "no_newline.txt": "first\nlast",
    "crlf.txt": "one\r\ntwo\r\n",
    "tail.py": "".join(f"x{i} = {i}\n" for i in range(40)),
}
CHILDREN = {
    "one line": {"src/a.py": PARENT["src/a.py"].replace("x + 1", "x * 2")},
    "two files": {
        "src/a.py": PARENT["src/a.py"].replace("import math\n", "import math\nimport os\n"),
        "src/deep/b.c": "int b(void) {\n  return 2;\n}\n",
    },
    "no newline at the end": {"no_newline.txt": "first\nlast changed"},
    "newline added": {"no_newline.txt": "first\nlast\n"},
    "newline removed": {"src/a.py": PARENT["src/a.py"].rstrip("\n")},
    "carriage returns": {"crlf.txt": "one\r\nthree\r\n"},
    "far apart": {"tail.py": PARENT["tail.py"].replace("x2 =", "y2 =").replace("x37", "y37")},
    "new file": {"src/new/c.py": "c = 1\n"},
    "new file without newline": {"new.txt": "no end"},
    "emptied": {"src/a.py": ""},
}


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
@pytest.mark.parametrize("case", list(CHILDREN))
def test_diff_is_what_git_apply_takes(case: str, tmp_path: Path) -> None:
    parent = Tree(PARENT)
    child = parent.with_files(CHILDREN[case])
    for path, text in parent.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_bytes(text.encode())
    git = ["git", "-C", str(tmp_path), "-c", "core.autocrlf=false"]
    subprocess.run([*git, "init", "-q"], check=True)
    patch = child.diff(parent)
    assert patch.startswith("diff --git a/") and patch.count("diff --git") == len(CHILDREN[case])
    (tmp_path.parent / "change.patch").write_text(patch)
    applied = subprocess.run(
        [*git, "apply", "--whitespace=nowarn", str(tmp_path.parent / "change.patch")],
        capture_output=True,
        text=True,
    )
    assert applied.returncode == 0, applied.stderr + patch
    for path, text in child.items():
        assert (tmp_path / path).read_bytes() == text.encode(), path
    assert child.diff(child) == ""


@pytest.mark.parametrize(
    ("glob", "path", "matched"),
    [
        ("src/**/*.py", "src/a.py", True),
        ("src/**/*.py", "src/x/y/a.py", True),
        ("src/**/*.py", "src/a.pyc", False),
        ("src/**/*.py", "lib/src/a.py", False),
        ("*.py", "a.py", True),
        ("*.py", "src/a.py", False),  # anchored: one part only
        ("**/*.py", "a.py", True),
        ("**/*.py", "src/x/a.py", True),
        ("**", "anything/at/all.txt", True),
        ("src/", "src/x/a.py", True),
        ("src/", "srcs/a.py", False),
        ("config/*.toml", "config/run.toml", True),
        ("config/*.toml", "config/sub/run.toml", False),
        ("tests/test_*.py", "tests/test_a.py", True),
        ("tests/test_*.py", "tests/helper.py", False),
        ("./README.md", "README.md", True),
        ("README.md", "docs/README.md", False),
        ("*", ".hidden", True),  # as fnmatch: '*' matches a leading dot
        ("a?.py", "ab.py", True),
        ("a?.py", "a/.py", False),
        ("[ab].py", "b.py", True),
        ("[!ab].py", "c.py", True),
        ("[!ab].py", "a.py", False),
        ("[]].py", "].py", True),
        ("[^].py", "^.py", True),  # '^' is a member, as in fnmatch
        ("a[.py", "a[.py", True),  # an unclosed '[' is itself
        ("a+(b).py", "a+(b).py", True),  # regular-expression characters are themselves
        ("src/**/x/*.py", "src/x/a.py", True),
        ("src/**/x/*.py", "src/p/q/x/a.py", True),
    ],
)
def test_globs(glob: str, path: str, matched: bool) -> None:
    assert matches(glob, path) is matched


@pytest.mark.parametrize(
    ("key", "glob", "sentence"),
    [
        ("editable", "/abs/*.py", "editable: the glob '/abs/*.py' is absolute"),
        ("context", "../up.md", "context: the glob '../up.md' leaves the program folder"),
        ("new_files", "", "new_files: an empty glob matches no file"),
    ],
)
def test_tree_spec_refuses_globs_outside_the_folder(key: str, glob: str, sentence: str) -> None:
    with pytest.raises(ValueError, match=r"^[^\n]*$") as caught:
        TreeSpec(**{key: (glob,)})  # type: ignore[arg-type]
    assert sentence in str(caught.value)


def test_tree_spec_says_what_may_be_added_and_what_is_context() -> None:
    spec = TreeSpec(context=("README.md", "tests/test_*.py"), new_files=("src/heuristics/*.py",))
    assert spec.may_add("src/heuristics/greedy.py") and not spec.may_add("src/greedy.py")
    assert spec.is_context("tests/test_a.py") and not spec.is_context("src/a.py")
    assert not TreeSpec().may_add("a.py")


def test_link_problem_refuses_links_leaving_the_folder_and_names_the_file(tmp_path: Path) -> None:
    base, outside = tmp_path / "base", tmp_path / "outside"
    (base / "src").mkdir(parents=True)
    outside.mkdir()
    (base / "src" / "real.py").write_text("x = 1\n")
    (base / "src" / "out").symlink_to(outside)
    (base / "src" / "out.py").symlink_to(outside / "file.py")
    (base / "src" / "alias.py").symlink_to("real.py")
    (base / "src" / "inside").symlink_to(base / "src")
    assert link_problem(base, "src/real.py") is None
    assert link_problem(base, "src/new/deeper.py") is None  # does not exist yet: real folders
    assert link_problem(base, "src/out/evil.py") == (
        "src/out/evil.py goes through the symbolic link src/out, which leads outside the "
        "program folder"
    )
    assert link_problem(base, "src/out.py") == (
        "src/out.py is a symbolic link, which leads outside the program folder"
    )
    assert link_problem(base, "src/alias.py") == (
        "src/alias.py is a symbolic link (to src/real.py); name the file by its real path"
    )
    assert "goes through the symbolic link src/inside (to src)" in str(
        link_problem(base, "src/inside/x.py")
    )
    assert link_problem(base, "src/real.py/x.py") == (
        "src/real.py/x.py cannot be written: src/real.py is a file, not a folder"
    )
    assert link_problem(base, "src") == "src is a folder, not a file"


def test_files_under_skips_links_caches_environments_and_build_outputs(tmp_path: Path) -> None:
    for path in [
        "a.py",
        "src/b.py",
        ".github/ci.yml",
        ".git/config",
        "src/__pycache__/b.cpython-311.pyc",
        ".venv/lib/x.py",
        "env/pyvenv.cfg",
        "env/lib/y.py",
        "node_modules/m/index.js",
        "build/lib/b.py",
        "dist/x.tar.gz",
        "pkg.egg-info/PKG-INFO",
        ".pytest_cache/v/x",
    ]:
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text("x")
    (tmp_path / "link.py").symlink_to(tmp_path / "a.py")
    (tmp_path / "linked").symlink_to(tmp_path / "src")
    assert sorted(files_under(tmp_path)) == [".github/ci.yml", "a.py", "src/b.py"]


def test_read_text_refuses_binary_and_other_encodings(tmp_path: Path) -> None:
    for name, data in [("t", "é\n".encode()), ("nul", b"a\0b"), ("latin", "é".encode("latin-1"))]:
        (tmp_path / name).write_bytes(data)
    assert read_text(tmp_path / "t") == "é\n"
    assert read_text(tmp_path / "nul") is None and read_text(tmp_path / "latin") is None
    assert os.path.exists(tmp_path / "latin")


# -- what the cache and the near-copy check compare: a program up to comments and layout ------
def test_same_program_ignores_comments_docstrings_and_layout() -> None:
    a = 'def f(x):\n    """Doc."""\n    return x+1  # one\n'
    b = "def f(x):\n\n    return x + 1\n"
    assert same_program(a, b)
    assert not same_program(a, "def f(x):\n    return x + 2\n")


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
    from hone.tree import _skeleton

    assert _skeleton.__wrapped__(code) == _reference_skeleton(code)
