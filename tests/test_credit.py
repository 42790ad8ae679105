"""Credit for the gain: each improvement of the best goes to the kind of hypothesis that made
it, in the progress line, `hone show` and the store's order (a scripted run with both kinds)."""

import json
from pathlib import Path

import pytest

from hone.cli import main
from hone.credit import credit, of_bests
from hone.evaluation import Evaluation
from hone.population import Candidate
from hone.store import Store

# f() = 2 with its number in a marked string: tuning's ladder takes it to 8 (-8 → -2), then the
# model's program returns 9.5 (-0.5), which has nothing to tune
PROGRAM = 'def f():\n    return float("2")  # tune\n\n\ndef run():\n    return f()\n'
ANSWER = '```python\ndef f():\n    return float("9.5")\n\n\ndef run():\n    return f()\n```'


def scored(
    number: int, score: float | None, parents: tuple[int, ...] = (), kind: str = ""
) -> Candidate:
    evaluation = Evaluation(score=score) if score is not None else Evaluation.failed("error", "x")
    return Candidate(number, 0, None, evaluation, parent_ids=parents, kind=kind)


def test_each_improvement_is_credited_to_the_kind_that_made_it() -> None:
    history = [
        scored(1, 2.0),
        scored(2, 2.5, (1,)),  # the model: +0.5
        scored(3, 2.25, (2,)),  # worse: no credit
        scored(4, 3.0, (2,), "tune"),  # tuning: +0.5
        scored(5, None, (4,)),
        scored(6, 3.25, (4,)),  # the model: +0.25
    ]
    got = credit(history, "maximize")
    assert (got.start, got.best, got.model, got.tuning) == (2.0, 3.25, 0.75, 0.5)
    assert got.text == "best 3.25: model 0.75, tuning 0.5"
    assert got.gain == "gain from the start 2 → 3.25: model 0.75, tuning 0.5"
    lower = credit([scored(1, 5.0), scored(2, 4.0, (1,), "tune"), scored(3, 4.5, (1,))], "minimize")
    assert (lower.model, lower.tuning) == (0.0, 1.0) and lower.text == "best 4: model 0, tuning 1"
    assert of_bests([scored(1, 2.0), scored(2, 2.5, (1,))]).model == 0.5
    assert credit([scored(1, None), scored(2, 1.0, (1,))], "maximize").text == "best 1"


def test_the_progress_line_and_show_say_how_much_of_the_gain_was_the_models(
    make_task, tmp_path: Path, capsys
) -> None:
    task = make_task(program=PROGRAM, toml="[search]\ntune_trials = 10\nfix_attempts = 0\n")
    answers = tmp_path / "a.jsonl"
    answers.write_text(json.dumps(ANSWER) + "\n")
    run = tmp_path / "r"
    argv = ["run", str(task), "--model", f"scripted:{answers}", "--run-dir", str(run), "--tune"]
    argv += ["--hypotheses", "1", "--max-llm-calls", "1", "--max-evaluations", "10"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    stopped = next(line for line in out.splitlines() if line.startswith("stopped:"))
    assert "· best -0.5: model 1.5, tuning 6 ·" in stopped, stopped
    store = Store.open(run, readonly=True)
    history = store.candidates()
    tuned = max((c for c in history if c.kind == "tune" and c.score is not None), key=_score)
    assert tuned.score == -2.0 and 'float("8")' in (tuned.tree.text if tuned.tree else "")
    assert main(["show", str(run)]) == 0
    shown = capsys.readouterr().out
    assert "gain from the start -8 → -0.5: model 1.5, tuning 6" in shown.splitlines()


def _score(candidate: Candidate) -> float:
    return candidate.score if candidate.score is not None else float("-inf")


@pytest.mark.parametrize("objective", ["maximize", "minimize"])
def test_the_stores_new_bests_in_sql_give_the_same_credit(tmp_path: Path, objective) -> None:
    """`hone show` reads a run's successive bests in SQL (a long run's rows are never all
    read): the same credit as `credit` over every hypothesis."""
    from hone.meta import RunMeta
    from hone.tree import Tree

    store = Store.create(tmp_path / "r", RunMeta(task_name="t"))
    scores = [2.0, 1.0, 3.0, 3.0, None, 2.5, 5.0, 4.0, 0.5, 6.0]
    kinds = ["", "", "tune", "", "", "", "", "tune", "", "tune"]
    parent = None
    for i, (score, kind) in enumerate(zip(scores, kinds, strict=True)):
        made = store.add_candidate(
            round=i, tree=Tree.one("p.py", f"x = {i}\n"), kind=kind,
            parent_ids=() if parent is None else (parent,),
        )  # fmt: skip
        evaluation = (
            Evaluation(score=score) if score is not None else Evaluation.failed("error", "x")
        )
        store.set_evaluation(made, evaluation)
        parent = made.id
    pending = store.add_candidate(round=9, tree=Tree.one("p.py", "y = 1\n"), parent_ids=(1,))
    everything = store.candidates()
    assert pending.id not in {c.id for c in everything}
    assert of_bests(store.bests(objective)) == credit(everything, objective)
    expected = [1, 3, 7, 10] if objective == "maximize" else [1, 2, 9]
    assert [c.id for c in store.bests(objective)] == expected
