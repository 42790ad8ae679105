"""`hone show`: the best program, whole and highlighted."""

import json
from pathlib import Path

from hone.cli import main
from hone.tree import Tree


def test_show_prints_long_lines_of_the_best_program_whole(
    make_task, tmp_path: Path, capsys
) -> None:
    long_value = "2.0" + " + 0.0" * 40  # a line far wider than any terminal
    answers = tmp_path / "a.jsonl"
    answers.write_text(json.dumps(f"```python\ndef f():\n    return {long_value}\n```") + "\n")
    argv = ["run", str(make_task()), "--model", f"scripted:{answers}", "--run-dir"]
    assert main([*argv, str(tmp_path / "r"), "--max-llm-calls", "1", "--patience", "5"]) == 0
    capsys.readouterr()
    assert main(["show", str(tmp_path / "r")]) == 0
    assert f"    return {long_value}\n" in capsys.readouterr().out


def test_show_highlights_the_program_in_its_own_language(
    tmp_path: Path, capsys, monkeypatch
) -> None:
    from rich.console import Console
    from rich.syntax import Syntax

    from hone.evaluation import Evaluation
    from hone.store import Store

    code = "int main(void) {\n    return 0; /* done */\n}\n"
    from hone.meta import RunMeta

    meta = RunMeta("c", program_filename="tsp.c", model={"spec": "embedded"}, status="stopped")
    store = Store.create(tmp_path / "r", meta)
    store.set_evaluation(
        store.add_candidate(round=0, tree=Tree.one("program.py", code)), Evaluation(score=1.0)
    )
    store.close()
    monkeypatch.setenv("FORCE_COLOR", "1")  # a terminal: the program is highlighted
    monkeypatch.setenv("COLUMNS", "100")
    assert main(["show", str(tmp_path / "r")]) == 0
    shown = capsys.readouterr().out

    def rendered(lexer: str) -> str:
        console = Console(force_terminal=True, width=100, highlight=False, soft_wrap=True)
        with console.capture() as capture:
            console.print(Syntax(code, lexer, line_numbers=False, word_wrap=True))
        return capture.get()

    assert rendered("c") != rendered("python")
    assert rendered("c") in shown  # not highlighted as Python
