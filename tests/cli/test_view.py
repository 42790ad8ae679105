"""What a run prints as it stops: the calls by what they were for, the bests' credit."""

import json
from pathlib import Path

from hone.cli import main
from tests.cli.conftest import write_answers
from tests.conftest import EVALUATOR


def test_fix_calls_are_counted_in_the_summary(make_task, tmp_path: Path, capsys) -> None:
    """Each unusable answer goes back once (fix_attempts = 1): 4 calls make 2 hypotheses."""
    texts = ["no code here", "```python\ndef f():\n    return 4.0\n```"] * 2
    answers = tmp_path / "a.jsonl"
    answers.write_text("".join(json.dumps(t) + "\n" for t in texts))
    argv = ["run", str(make_task()), "--model", f"scripted:{answers}", "--hypotheses", "1"]
    assert main([*argv, "--max-llm-calls", "4", "--run-dir", str(tmp_path / "r")]) == 0
    out = capsys.readouterr().out
    assert "stopped: model-call budget spent · round 2 · 4 calls (2 hypotheses, 2 fix calls)" in out


def test_the_stop_line_and_show_credit_the_same_bests_when_one_failed_a_check(
    make_task, tmp_path: Path, capsys
) -> None:
    """f() = 10 scores best but fails its strict check, so it is no answer and no new best:
    the stop line credits the gain up to the answer (-3), as hone show does (both from
    `Store.bests`), not up to the failed 0."""
    evaluator = EVALUATOR + (
        "\n\ndef verify_strict(program_path):\n    spec = importlib.util.spec_from_file_location("
        "'candidate', program_path)\n    module = importlib.util.module_from_spec(spec)\n"
        "    spec.loader.exec_module(module)\n    value = module.run()\n"
        "    return value != 10.0, f'f() = {value} is exactly the bar'\n"
    )
    answers = write_answers(tmp_path / "a.jsonl", [7.0, 10.0], whole=True)
    argv = ["run", str(make_task(evaluator=evaluator)), "--model", f"scripted:{answers}"]
    argv += ["--hypotheses", "1", "--max-llm-calls", "2", "--run-dir", str(tmp_path / "r")]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "#3 not verified (verify_strict): f() = 10.0 is exactly the bar" in out
    stopped = next(line for line in out.splitlines() if line.startswith("stopped:"))
    assert "· best -3: model 6, tuning 0 ·" in stopped, stopped
    assert main(["show", str(tmp_path / "r")]) == 0
    shown = capsys.readouterr().out
    assert "best score -3 (#2, round 1)" in shown
    assert "gain from the start -9 → -3: model 6, tuning 0" in shown.splitlines()


def test_resume_ends_with_the_whole_runs_figures(make_task, tmp_path: Path, capsys) -> None:
    answers = write_answers(tmp_path / "a.jsonl", [2.0, 3.0], whole=True)
    argv = ["run", str(make_task()), "--model", f"scripted:{answers}", "--hypotheses", "1"]
    assert main([*argv, "--max-llm-calls", "2", "--run-dir", str(tmp_path / "r")]) == 0
    first = capsys.readouterr().out
    assert (
        "stopped: model-call budget spent · round 2 · 2 calls · best -7: model 2, tuning 0 · tokens"
        in first
    )
    tokens = first.split(" · tokens ")[1].split(" ")[0]
    assert main(["resume", str(tmp_path / "r")]) == 0  # the budget is spent already
    out = capsys.readouterr().out
    assert (
        f"stopped: model-call budget spent · round 2 · 2 calls · best -7: model 2, tuning 0 · tokens {tokens}"
        in out
    )
    assert (
        f"max_llm_calls counts the whole run, its 2 calls so far included: hone resume {tmp_path / 'r'} --max-llm-calls 12 makes 10 more"
        in out
    )
    assert "best score -7 (#3, round 2)" in out
