import ast
import threading

import pytest

from hone import syntax


def test_parse_is_ast_parse() -> None:
    source = "def f(x):\n    return [y * 2 for y in x if y]\n"
    assert ast.dump(syntax.parse(source)) == ast.dump(ast.parse(source))
    with pytest.raises(SyntaxError):
        syntax.parse("def f(:\n")


def test_the_spurious_error_of_a_parse_in_another_thread_is_parsed_again(monkeypatch) -> None:
    calls = []
    real = ast.parse

    def flaky(source: str, filename: str = "<unknown>") -> ast.Module:
        calls.append(source)
        if len(calls) == 1:  # what CPython 3.11 raises when another thread parsed meanwhile
            raise SystemError("AST constructor recursion depth mismatch (before=177, after=231)")
        return real(source, filename)

    monkeypatch.setattr(ast, "parse", flaky)
    assert isinstance(syntax.parse("x = 1\n").body[0], ast.Assign)
    assert len(calls) == 2


def test_another_system_error_and_a_lasting_one_are_raised(monkeypatch) -> None:
    def broken(source: str, filename: str = "<unknown>") -> ast.Module:
        raise SystemError(message)

    monkeypatch.setattr(ast, "parse", broken)
    message = "something else"
    with pytest.raises(SystemError, match="something else"):
        syntax.parse("x = 1\n")
    message = "AST constructor recursion depth mismatch (before=1, after=2)"
    with pytest.raises(SystemError, match="mismatch"):
        syntax.parse("x = 1\n")


def test_threads_parsing_at_once_all_get_their_module() -> None:
    source = "\n".join(
        f"def f{i}(a):\n    return [[a] * {i} for _ in range({i})]" for i in range(300)
    )
    results: list[int] = []

    def work() -> None:
        for _ in range(20):
            results.append(len(syntax.parse(source).body))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [300] * 80


def test_every_parse_of_hones_goes_through_it() -> None:
    from pathlib import Path

    import hone

    package = Path(hone.__file__).parent
    direct = [
        str(path.relative_to(package))
        for path in package.rglob("*.py")
        if "ast.parse(" in path.read_text(encoding="utf-8") and path.name != "syntax.py"
    ]
    assert direct == []


def test_symbols_gives_the_tables_of_the_source_and_its_syntax_errors() -> None:
    table = syntax.symbols("import numpy as np\n\ndef f():\n    return np.pi + p\n")
    assert {s.get_name() for s in table.get_symbols() if s.is_imported()} == {"np"}
    (function,) = table.get_children()
    free = {s.get_name() for s in function.get_symbols() if s.is_global()}
    assert free == {"np", "p"}
    with pytest.raises(SyntaxError):
        syntax.symbols("def f(:\n")
    package = __import__("pathlib").Path(syntax.__file__).parent
    direct = [p.name for p in package.rglob("*.py") if "symtable.symtable(" in p.read_text()]
    assert direct == ["syntax.py"]
