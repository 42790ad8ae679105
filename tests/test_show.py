"""`hone show --hypothesis N`, `--failures`, the cost line, `hone note` and `hone report` from
the command line."""

import json
from pathlib import Path

import pytest

from hone.cli import main
from tests.helpers import served_run

PROGRAMS = [2.0, "no code", 5.0, "raise"]


def answers(path: Path) -> Path:
    """Answers: two that score, one without code, one whose program raises."""
    texts = []
    for item in PROGRAMS:
        if item == "no code":
            texts.append("I would rather not.")
        elif item == "raise":
            texts.append("```python\ndef f():\n    raise ValueError('no luck')\n```")
        else:
            texts.append(f"```python\ndef f():\n    return {item!r}\n```")
    path.write_text("".join(json.dumps(t) + "\n" for t in texts))
    return path


@pytest.fixture
def run_dir(make_task, tmp_path: Path, capsys) -> Path:
    """A finished run of four hypotheses with a priced scripted model."""
    prices = tmp_path / "prices.toml"
    prices.write_text('["scripted:a.jsonl"]\ninput = 10\noutput = 20\n')
    task = make_task(toml="[search]\nfix_attempts = 0\n")  # a failed edit stays failed
    argv = ["run", str(task), "--model", f"scripted:{answers(tmp_path / 'a.jsonl')}"]
    argv += ["--run-dir", str(tmp_path / "r"), "--hypotheses", "1", "--max-llm-calls", "4"]
    assert main([*argv, "--prices", str(prices), "--patience", "9"]) == 0
    out = capsys.readouterr().out
    assert "cost $0.0" in out  # the progress line's last state, in the summary
    return tmp_path / "r"


def test_show_prints_the_cost_and_how_each_model_was_priced(run_dir: Path, capsys) -> None:
    assert main(["show", str(run_dir)]) == 0
    out = capsys.readouterr().out
    line = next(line for line in out.splitlines() if line.startswith("cost $"))
    assert "scripted:a.jsonl: 4 calls" in line and "$10 / $20 per M tokens in/out" in line


def test_show_one_hypothesis_with_its_diff_prompt_and_answer(run_dir: Path, capsys) -> None:
    assert main(["show", str(run_dir), "--hypothesis", "4"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("hypothesis #4 · round 3 · score -5 · from #2")
    assert "-    return 2.0\n+    return 5.0\n" in out  # the diff against #2
    assert "prompt ─" in out and "## Task\nMake f() return 10." in out
    assert "answer ─" in out and "```python\ndef f():\n    return 5.0\n```" in out
    assert "scripted:a.jsonl · " in out and "completion tokens" in out


def test_show_an_answer_that_did_not_apply_shows_what_the_model_returned(
    run_dir: Path, capsys
) -> None:
    """#3 is the answer without code: no program, so no diff that deletes the parent."""
    assert main(["show", str(run_dir), "--hypothesis", "3"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("hypothesis #3 · round 2 · invalid-edit · from #2")
    assert "no program: the answer did not apply; what the model returned is below" in out
    returned = out.index("what the model returned ─")
    assert out.index("I would rather not.", returned) < out.index("prompt ─")
    assert "diff against its parent" not in out and "-    return 2.0" not in out


def test_show_a_missing_hypothesis_names_the_ones_there_are(run_dir: Path, capsys) -> None:
    assert main(["show", str(run_dir), "--hypothesis", "40"]) == 2
    err = capsys.readouterr().err
    assert "has no hypothesis #40 (it has #1 to #5)" in err and err.count("\n") == 1


def test_show_failures_lists_each_with_its_reason(run_dir: Path, capsys) -> None:
    assert main(["show", str(run_dir), "--failures"]) == 0
    out = capsys.readouterr().out
    assert "2 of 5 hypotheses failed: " in out
    assert "invalid-edit 1" in out and "error 1" in out
    assert "ValueError: no luck" in out
    assert "one in full: hone show" in out


def test_hone_note_keeps_the_note_for_the_resumed_run(run_dir: Path, capsys) -> None:
    assert main(["note", str(run_dir), "try a hexagonal lattice"]) == 0
    assert "hone resume carries it" in capsys.readouterr().out
    assert main(["note", str(run_dir), " "]) == 2
    assert "the note is empty" in capsys.readouterr().err


def test_hone_report_writes_one_file_with_the_run_inside(run_dir: Path, capsys) -> None:
    out_file = run_dir.parent / "out" / "report.html"
    assert main(["report", str(run_dir), "-o", str(out_file)]) == 0
    assert "report of the run written to" in capsys.readouterr().out
    html = out_file.read_text()
    assert '<script id="hone-data" type="application/json">' in html
    assert 'src="/static' not in html and 'href="/static' not in html  # all of it inline
    data = json.loads(html.split('type="application/json">')[1].split("</script>")[0])
    (run,) = data["runs"]
    assert len(run["snapshot"]["hypotheses"]) == 5 and set(run["details"]) == set("12345")
    assert run["details"]["4"]["call"]["completion"].startswith("```python")


def test_show_a_folder_tasks_hypothesis_diffs_each_file_against_its_parent(
    make_tree_task, tmp_path: Path, capsys
) -> None:
    from tests.conftest import named

    both = named("main.py", "    return scale(1.0)", "    return scale(2.0)") + named(
        "helper.py", "    return y * 2.0", "    return y * 2.5"
    )
    answers = tmp_path / "a.jsonl"
    answers.write_text(json.dumps(both) + "\n")
    argv = ["run", str(make_tree_task()), "--model", f"scripted:{answers}"]
    assert main([*argv, "--run-dir", str(tmp_path / "r"), "--max-llm-calls", "1"]) == 0
    capsys.readouterr()
    assert main(["show", str(tmp_path / "r"), "--hypothesis", "2"]) == 0
    out = capsys.readouterr().out
    diff = out[out.index("diff against its parent ─") : out.index("prompt ─")]
    assert "diff --git a/helper.py b/helper.py\n--- a/helper.py\n+++ b/helper.py\n" in diff
    assert "-    return y * 2.0\n+    return y * 2.5\n" in diff
    assert "diff --git a/main.py b/main.py\n" in diff and "+    return scale(2.0)\n" in diff
    assert "NOTES.md" not in diff  # (the base, the same for every hypothesis)


def test_show_prints_each_model_server_when_there_were_several(tmp_path: Path, capsys) -> None:
    assert main(["show", str(served_run(tmp_path / "s"))]) == 0
    out = capsys.readouterr().out.splitlines()
    at = out.index("model servers:")
    assert out[at + 1 : at + 3] == [
        "  http://10.0.0.1:8000/v1: 2 answered, 0 failed, median latency 1.00 s",
        "  http://10.0.0.2:8000/v1: 2 answered, 1 failed, median latency 0.80 s",
    ]
    assert "openai:m: 5 calls" in "\n".join(out)  # (openai:m: is no emoji in the cost line)


def test_show_works_a_long_run_out_in_sql_and_lists_its_last_rounds(tmp_path: Path, capsys) -> None:
    """`hone show` of a run of many rounds: its counts, best and rounds worked out in SQL
    agree with the hypotheses one by one; it lists the last rounds (saying how many there
    are), each with its best and the best so far over every earlier round."""
    import random

    from hone.cli.show import SHOWN_ROUNDS
    from hone.evaluation import Evaluation
    from hone.meta import RunMeta
    from hone.store import Store
    from hone.tree import Tree

    store = Store.create(tmp_path / "run", RunMeta(task_name="long", objective="minimize"))
    rng, scores = random.Random(3), {}
    for i in range(3 * (SHOWN_ROUNDS + 10)):
        round_ = i // 3
        added = store.add_candidate(round=round_, tree=Tree.one("program.py", f"x = {i}\n"))
        if i % 4 == 3:
            store.set_evaluation(added, Evaluation.failed("timeout", "took too long"))
            continue
        score = rng.uniform(0, 100) - (0 if round_ != 3 else 200)  # (the best, early on)
        store.set_evaluation(added, Evaluation(score=score))
        scores.setdefault(round_, []).append(score)
    store.add_candidate(round=60, tree=Tree.one("program.py", "pending = 1\n"))
    store.close()
    assert main(["show", str(tmp_path / "run")]) == 0
    out = capsys.readouterr().out
    best = min(min(v) for v in scores.values())
    assert f"best score {best:.6g}" in out
    assert f"{3 * (SHOWN_ROUNDS + 10)} hypotheses evaluated, 1 pending" in out
    assert f"(the last {SHOWN_ROUNDS} of {SHOWN_ROUNDS + 10} rounds;" in out
    assert f"failures: timeout {3 * (SHOWN_ROUNDS + 10) // 4}" in out
    last = SHOWN_ROUNDS + 9
    row = next(line for line in out.splitlines() if line.strip("│ ").startswith(f"{last} "))
    cells = [c.strip() for c in row.strip("│").split("│")]
    assert cells[:4] == [str(last), "3", str(len(scores[last])), str(3 - len(scores[last]))]
    assert cells[4] == f"{min(scores[last]):.6g}" and cells[5] == f"{best:.6g}"
    assert not any(line.strip("│ ").startswith("9 ") for line in out.splitlines())
