"""`hone docs`: the documentation that ships with the package, and `hone --version`."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import hone
from hone import manual
from hone.cli import main
from hone.exceptions import ConfigError

SRC = Path(hone.__file__).parent


def test_every_document_is_shipped_and_listed(capsys) -> None:
    assert manual.names() == [
        "architecture", "errors", "migrating", "mlflow", "models", "performance", "security",
        "tasks",
    ]  # fmt: skip
    assert main(["docs"]) == 0
    out = capsys.readouterr().out
    assert "models        Models" in out and "migrating     Migrating from OpenEvolve" in out
    assert main(["docs", "models"]) == 0
    assert capsys.readouterr().out == manual.page("models.md").read_text(encoding="utf-8")
    with pytest.raises(ConfigError, match="there is no document 'nope'"):
        manual.page("nope")


def test_messages_name_documents_that_exist() -> None:
    """Help texts and errors point to `hone docs NAME`, never to a docs/ folder a wheel lacks."""
    named: set[str] = set()
    for source in SRC.rglob("*.py"):
        if "example_tasks" in source.parts:
            continue
        tree = ast.parse(source.read_text(encoding="utf-8"))
        docstrings = {
            id(node.body[0].value)
            for node in ast.walk(tree)
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
            and node.body
            and isinstance(node.body[0], ast.Expr)
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                if id(node) in docstrings:
                    continue
                assert not re.search(r"docs/\w+\.md", node.value), f"{source}: {node.value!r}"
                named |= set(re.findall(r"hone docs ([a-z]+)", node.value))
    assert named and named <= set(manual.names())


def test_version(capsys) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out == f"hone {hone.__version__}\n"
