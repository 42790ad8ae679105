"""Parameter tuning: which constants are tuned, how trials are stored and budgeted, and what
the prompts are told (scripted models, in-process verifier: no workers)."""

from __future__ import annotations

import re
import sqlite3
from collections import Counter
from pathlib import Path

import pytest

import hone
from hone.budget import Budget
from hone.exceptions import ConfigError
from hone.store import Store
from hone.task import Task
from hone.testing import FunctionVerifier, ScriptedModel
from hone.tree import Tree
from hone.tuning import constants, literal, substitute
from tests.helpers import value_of

PROGRAM = '''"""Docstring 2.5 is not a constant."""
import math

# EVOLVE-BLOCK-START
def f():
    """Return 1.5 times something."""  # neither is 9.5 in a comment
    return 1.5 * 2.0 + 0 * 3 + 0.0
# EVOLVE-BLOCK-END


def run():
    return f() * 1.25
'''


def score(program: str) -> float:
    """Best at f() = 5."""
    return -abs(value_of(program, "f") - 5.0)


def make(tmp_path: Path, program: str = PROGRAM, **search: object) -> Task:
    root = tmp_path / "task"
    root.mkdir(exist_ok=True)
    (root / "task.toml").write_text('instruction = "Make f() return 5."\n')
    (root / "initial.py").write_text(program)
    (root / "evaluate.py").write_text("def evaluate(path):\n    return 0.0\n")
    return Task.from_dir(root).configured(search={"tune": True, **search})


def test_only_float_literals_of_the_block_outside_strings_and_comments() -> None:
    found = constants(PROGRAM)
    assert [c.value for c in found] == [1.5, 2.0]  # not 2.5, 9.5, 1.25, the ints or 0.0
    assert [PROGRAM[c.start : c.end] for c in found] == ["1.5", "2.0"]
    assert found[0].bounds(0.1) == pytest.approx((1.35, 1.65))
    negative = constants("x = -0.5\n")
    assert negative[0].bounds(0.5) == pytest.approx((0.25, 0.75))  # the minus sign stays


def test_substitute_writes_float_literals() -> None:
    found = constants(PROGRAM)
    program = substitute(PROGRAM, found, [2.0, 3.0])
    assert "return 2.0 * 3.0 + 0 * 3 + 0.0" in program
    assert value_of(program, "f") == 6.0
    assert literal(3.0) == "3.0" and literal(1e-7) == "1e-07" and literal(0.123456789) == "0.123457"


def test_tuning_only_improves_the_start_without_model_calls(tmp_path: Path) -> None:
    task = make(tmp_path, tune_trials=30, tune_spread=0.5).configured(
        budget=Budget(max_llm_calls=0, patience=None, max_evaluations=30)
    )
    model = ScriptedModel([])
    verifier = FunctionVerifier(score)
    result = hone.run(task, model=model, verifier=verifier, run_dir=tmp_path / "run", seed=0)
    assert model.requests == [] and result.usage.calls == 0
    trials = [c for c in result.history if c.kind == "tune"]
    assert len(trials) == 30 and len(verifier.programs) == 31  # the start, then the trials
    assert all(c.parent_ids == (1,) and c.call_id is None for c in trials)
    assert result.best_score is not None and result.best_score > -1.0  # from f() = 3
    assert result.best is not None and result.best.kind == "tune"
    with sqlite3.connect(tmp_path / "run" / "hone.db") as db:
        kinds = db.execute("SELECT kind, COUNT(*) FROM candidates GROUP BY kind").fetchall()
    assert dict(kinds) == {"": 1, "tune": 30}
    notes = Store.open(tmp_path / "run", readonly=True).notes("tune")
    assert len(notes) == 1 and notes[0][1].startswith("Parameter tuning of program #1 (30 trials")
    assert f"program #{result.best.id} scores" in notes[0][1] and "1.5 → " in notes[0][1]


def test_the_evaluation_budget_caps_trials_across_stages(tmp_path: Path) -> None:
    # Each answer is a new best with fresh constants: a stage per new best, 8 trials at most.
    answers = [f"```python\ndef f():\n    return {v} * 1.0\n```" for v in (3.5, 4.5)]
    task = make(tmp_path, tune_trials=5, hypotheses_per_round=1).configured(
        budget=Budget(max_llm_calls=2, patience=None, max_evaluations=8)
    )
    result = hone.run(
        task, model=ScriptedModel(answers), verifier=FunctionVerifier(score),
        run_dir=tmp_path / "run", seed=1,
    )  # fmt: skip
    trials = [c for c in result.history if c.kind == "tune"]
    assert len(trials) == 8
    per_parent = Counter(c.parent_ids[0] for c in trials)
    by_id = {c.id: c for c in result.history}
    [(start, first), (other, rest)] = sorted(per_parent.items())
    assert (start, first) == (1, 5)  # the start's stage: all its trials
    assert rest == 3 and by_id[other].call_id is not None  # then a model's program: what is left
    assert result.usage.calls == 2


def test_chat_prompts_show_what_tuning_found(tmp_path: Path) -> None:
    task = make(tmp_path, tune_trials=6, hypotheses_per_round=1).configured(
        budget=Budget(max_llm_calls=1, patience=None, max_evaluations=6)
    )
    model = ScriptedModel(["no code"])
    hone.run(task, model=model, verifier=FunctionVerifier(score), run_dir=tmp_path / "r", seed=0)
    prompt = model.requests[0].messages[1].content
    assert "## What parameter tuning found (an optimiser tried other values of the constants)\n- Parameter tuning of program #1 (6 trials, no model calls)" in prompt  # fmt: skip


def test_tuning_off_changes_nothing(tmp_path: Path) -> None:
    task = make(tmp_path, tune=False).configured(
        budget=Budget(max_llm_calls=0, patience=None, max_evaluations=30)
    )
    result = hone.run(
        task, model=ScriptedModel([]), verifier=FunctionVerifier(score), run_dir=tmp_path / "run"
    )
    assert len(result.history) == 1


def test_a_program_without_constants_is_not_tuned(tmp_path: Path) -> None:
    task = make(
        tmp_path, program="# EVOLVE-BLOCK-START\ndef f():\n    return 3\n# EVOLVE-BLOCK-END\n"
    )
    task = task.configured(budget=Budget(max_llm_calls=0, patience=None))
    result = hone.run(
        task, model=ScriptedModel([]), verifier=FunctionVerifier(score), run_dir=tmp_path / "run"
    )
    assert [c.kind for c in result.history] == [""]


def test_a_runner_up_with_constants_is_tuned_when_the_best_has_none(tmp_path: Path) -> None:
    # The start (f() = 3, score -2) has no constants; the model's program has, and scores
    # worse (f() = 2, score -3), yet tuning it can beat the start (f() = 5 is within reach).
    start = "# EVOLVE-BLOCK-START\ndef f():\n    return 3\n# EVOLVE-BLOCK-END\n"
    answer = "```python\ndef f():\n    return 2.0 * 1.0\n```"
    task = make(tmp_path, program=start, tune_trials=40, tune_spread=0.9).configured(
        budget=Budget(max_llm_calls=1, patience=None, max_evaluations=40)
    )
    result = hone.run(
        task, model=ScriptedModel([answer]), verifier=FunctionVerifier(score),
        run_dir=tmp_path / "run", seed=3,
    )  # fmt: skip
    [proposed] = [c for c in result.history if c.call_id is not None]
    assert proposed.score is not None and proposed.score < result.history[0].score  # type: ignore[operator]
    trials = [c for c in result.history if c.kind == "tune"]
    assert len(trials) == 40 and {c.parent_ids for c in trials} == {(proposed.id,)}
    assert result.best is not None and result.best.kind == "tune"
    assert result.best_score is not None and result.best_score > -2.0  # better than the start


def test_tuning_settings_are_checked() -> None:
    with pytest.raises(ConfigError, match="tune_trials must be at least 1"):
        hone.SearchConfig(tune_trials=0)
    with pytest.raises(ConfigError, match="tune_spread must be between 0 and 1"):
        hone.SearchConfig(tune_spread=1.5)
    with pytest.raises(ConfigError, match="max_evaluations must be at least 0"):
        Budget(max_evaluations=-1)


@pytest.mark.parametrize("off", [0, "off"])
def test_patience_zero_or_off_means_no_limit(off: object) -> None:
    assert Budget(patience=off).patience is None  # type: ignore[arg-type]
    assert Budget().merged(patience=off).patience is None
    with pytest.raises(ConfigError, match="patience must be an integer"):
        Budget(patience="never")  # type: ignore[arg-type]


@pytest.mark.parametrize("seed", [10**6, -5])
def test_any_seed_tunes_and_resumes(tmp_path: Path, seed: int) -> None:
    # Optuna refused seeds outside 0..2**32 - 1: "Seed must be between 0 and 2**32 - 1"
    task = make(tmp_path, tune_trials=4, tune_spread=0.5).configured(
        budget=Budget(max_llm_calls=0, patience=None, max_evaluations=4)
    )
    run_dir = tmp_path / "run"
    result = hone.run(
        task, model=ScriptedModel([]), verifier=FunctionVerifier(score), run_dir=run_dir, seed=seed
    )
    assert [c.kind for c in result.history] == ["", *["tune"] * 4]
    assert Store.open(run_dir, readonly=True).meta().seed == seed
    answer = "```python\ndef f():\n    return 4.5 * 1.0\n```"
    resumed = hone.resume(
        run_dir,
        model=ScriptedModel([answer]),
        verifier=FunctionVerifier(score),
        budget={"max_llm_calls": 1, "max_evaluations": 8},
    )
    [proposed] = [c for c in resumed.history if c.call_id is not None]
    later = [c for c in resumed.history if c.kind == "tune" and c.parent_ids == (proposed.id,)]
    assert len(later) == 4  # the model's program got the trials that were left


def cut_after(run_dir: Path, kept: int) -> list[tuple[int, str, float | None]]:
    """Make a finished tuning stage look as a kill -9 leaves it: its trials after the first
    `kept` gone, its note gone, its record back, the run still "running"; the trials removed."""
    with sqlite3.connect(run_dir / "hone.db") as db:
        trials = db.execute(
            "SELECT id, code, score FROM candidates WHERE kind = 'tune' ORDER BY id"
        ).fetchall()
        db.execute("DELETE FROM candidates WHERE kind = 'tune' AND id > ?", (trials[kept - 1][0],))
        db.execute("DELETE FROM notes WHERE kind = 'tune'")
    store = Store.open(run_dir)
    store.set_meta(status="running", tune_stage={"parent": 1, "trials": len(trials), "batch": 2})
    store.close()
    return [tuple(t) for t in trials]


def test_a_cut_stage_is_finished_on_the_same_program_with_the_same_trials(tmp_path: Path) -> None:
    """Resumed, the sampler is asked again what it was asked before the stop and told the
    stored scores, so the remaining trials are those the whole stage would have run."""
    task = make(tmp_path, tune_trials=10, tune_spread=0.5).configured(
        budget=Budget(max_llm_calls=0, patience=None, max_evaluations=40),
        evaluation={"workers": 2},
    )
    whole = hone.run(
        task, model=ScriptedModel([]), verifier=FunctionVerifier(score),
        run_dir=tmp_path / "whole", seed=7,
    )  # fmt: skip
    expected = [(c.code, c.score) for c in whole.history if c.kind == "tune"]
    assert len(expected) == 10 and len({code for code, _ in expected}) == 10
    hone.run(
        task, model=ScriptedModel([]), verifier=FunctionVerifier(score),
        run_dir=tmp_path / "cut", seed=7,
    )  # fmt: skip
    cut_after(tmp_path / "cut", kept=5)  # the kill came after 5 of its 10 trials
    verifier = FunctionVerifier(score)
    resumed = hone.resume(tmp_path / "cut", model=ScriptedModel([]), verifier=verifier)
    trials = [c for c in resumed.history if c.kind == "tune"]
    assert {c.parent_ids for c in trials} == {(1,)}  # not another program's
    assert [(c.code, c.score) for c in trials] == expected  # the same 10 trials
    assert len(verifier.programs) == 5  # only the 5 missing were evaluated
    store = Store.open(tmp_path / "cut", readonly=True)
    [(_, note)] = store.notes("tune")
    assert note.startswith("Parameter tuning of program #1 (10 trials")
    assert store.meta().tune_stage is None  # done: nothing to finish next time


def test_a_trees_constants_are_those_of_every_block_of_its_files() -> None:
    from hone.tree import Tree
    from hone.tuning import substitute_tree, tree_constants

    helper = "# EVOLVE-BLOCK-START\nA = 0.5\n# EVOLVE-BLOCK-END\nB = 7.5\n# EVOLVE-BLOCK-START\nC = 2.5\n# EVOLVE-BLOCK-END\n"
    tree = Tree({"main.py": PROGRAM, "helper.py": helper, "rates.toml": "rate = 0.25\n"})
    found = tree_constants(tree)
    assert [(c.path, c.value) for c in found] == [
        ("helper.py", 0.5),
        ("helper.py", 2.5),
        ("main.py", 1.5),
        ("main.py", 2.0),
        ("rates.toml", 0.25),
    ]  # fmt: skip  (not B, outside the blocks; a file without blocks is all a block)
    tuned = substitute_tree(tree, found, [0.75, 3.0, 1.0, 4.0, 0.5])
    assert tuned.changed(tree) == {
        "helper.py": helper.replace("0.5", "0.75").replace("2.5", "3.0"),
        "main.py": PROGRAM.replace("1.5 * 2.0", "1.0 * 4.0"),
        "rates.toml": "rate = 0.5\n",
    }
    one = Tree.one("initial.py", PROGRAM)
    assert tree_constants(one) == constants(PROGRAM, path="initial.py")  # (its program's)


def test_a_folder_tasks_trees_are_tuned(make_tree_task, tmp_path: Path) -> None:
    """The start's constants (2.0 in helper.py, 1.0 in main.py) are tuned as trees: each
    trial a tree of both files, evaluated over the program folder by the workers."""
    task = Task.from_dir(make_tree_task()).configured(
        search={"tune": True, "tune_trials": 6, "tune_spread": 0.9},
        budget=Budget(max_llm_calls=0, patience=None, max_evaluations=6),
        evaluation={"workers": 1},
    )
    result = hone.run(task, model=ScriptedModel([]), run_dir=tmp_path / "run", seed=0)
    trials = [c for c in result.history if c.kind == "tune"]
    assert len(trials) == 6 and all(c.evaluation.ok for c in trials)
    assert all(c.tree is not None and c.tree.paths == ("helper.py", "main.py") for c in trials)
    start = result.history[0]
    assert all(c.tree != start.tree for c in trials)
    assert result.best is not None and result.best_score is not None
    assert result.best_score >= start.score  # (none worse than the start is kept as best)


def _closed_form_sum(
    tmp_path: Path, formula: str, trials: int, *, residuals: bool = False
) -> tuple[Task, hone.RunResult]:
    """A tuning-only run (no model call, `trials` trials) of closed_form_sum starting from
    `formula`, with tune_strings; its evaluator's residuals left out unless `residuals` (the
    ladder's and Nelder–Mead's way, not least squares)."""
    import shutil

    root = tmp_path / "task"
    shutil.copytree(Path(__file__).parents[1] / "examples" / "closed_form_sum", root)
    initial = root / "initial.py"
    initial.write_text(initial.read_text().replace('"n**4/4"', f'"{formula}"'))
    if not residuals:
        evaluator = root / "evaluate.py"
        evaluator.write_text(
            evaluator.read_text().replace(
                'if __name__ == "__main__":',
                "_evaluate = evaluate\n\n\n"
                "def evaluate(program_path: str) -> Evaluation:\n"
                "    return dataclasses.replace(_evaluate(program_path), residuals=())\n\n\n"
                'if __name__ == "__main__":',
            )
        )
    task = Task.from_dir(root).configured(
        search={"tune": True, "tune_strings": True, "tune_trials": trials},
        budget={"max_llm_calls": 0, "max_evaluations": trials},
        evaluation={"workers": 1},
    )
    return task, hone.run(task, model=ScriptedModel([]), run_dir=tmp_path / "run", seed=0)


def test_tuning_finishes_a_formula_one_coefficient_off(tmp_path: Path) -> None:
    """closed_form_sum's evaluator, the model's near miss n**4/4 + n**3/2 + n**2/2: with
    tune_strings, the ladder's third trial is the exact sum, with no model call."""
    task, result = _closed_form_sum(tmp_path, "n**4/4 + n**3/2 + n**2/2", trials=3)
    initial = tmp_path / "task" / "initial.py"
    assert result.best is not None and result.best.kind == "tune" and result.best_score == 1.0
    assert result.best.tree is not None and '"n**4/4 + n**3/2 + n**2/4"' in result.best.tree.text
    [(_, note)] = Store.open(tmp_path / "run", readonly=True).notes("tune")
    assert note.endswith("scores 1 (from 0.960378) with 2 → 4.")
    off = task.configured(search={"tune_strings": False})
    assert not constants(initial.read_text()) and off.search.tune_strings is False


def test_a_stage_tries_each_setting_of_a_formula_once(tmp_path: Path) -> None:
    """The first sweep from 2 finds 4; the second, from 4, meets 7 of its 10 settings tried
    already (8, 2, 6, ...): only 12, 16/3 and 16 are evaluated, none better, and the stage ends
    with trials to spare."""
    program = 'def f():\n    return float("2")  # tune\n'
    result = _tuned(tmp_path, program, trials=20)
    programs = [c.tree.text for c in result.history if c.tree is not None]
    assert len(programs) == 1 + 10 + 3 and len(set(programs)) == len(programs)
    assert programs[-3:] == [program.replace('"2"', f'"{v}"') for v in ("12", "(16/3)", "16")]
    assert result.best is not None and 'float("4")' in (result.best.tree or Tree()).text


def test_tuning_fits_the_coefficient_of_a_term_the_model_wrote_without_one(tmp_path: Path) -> None:
    """closed_form_sum's evaluator, the near miss n**4/4 + n**3/2 + n**2: the factor of n**2
    is tuned (its ladder's last step, 1/4, is exact), with no model call."""
    _, result = _closed_form_sum(tmp_path, "n**4/4 + n**3/2 + n**2", trials=30)
    assert result.best is not None and result.best.kind == "tune" and result.best_score == 1.0
    assert result.best.tree is not None and '"n**4/4 + n**3/2 + 0.25*n**2"' in result.best.tree.text
    [(_, note)] = Store.open(tmp_path / "run", readonly=True).notes("tune")
    assert note.endswith("with n**2 → 0.25*n**2.")


def test_tuning_drops_a_wrong_constant_term(tmp_path: Path) -> None:
    """closed_form_sum's evaluator, the exact sum plus 1 (the model's n**2*(n+1)**2/4 + 1): the
    stage's first trial drops the term, and the sum is exact."""
    _, result = _closed_form_sum(tmp_path, "n**2*(n+1)**2/4 + 1", trials=2)
    assert result.best is not None and result.best.kind == "tune" and result.best_score == 1.0
    assert result.best.tree is not None and '"n**2*(n+1)**2/4 + 0"' in result.best.tree.text
    [(_, note)] = Store.open(tmp_path / "run", readonly=True).notes("tune")
    assert note.endswith("with 1 → 0.")


def test_tuning_finishes_a_formula_two_coefficients_off(tmp_path: Path) -> None:
    """n**4/4 + n**3/3 + n**2/3: each sweep takes its best step (n**3's divisor 3 → 2, then
    n**2's 3 → 4.5 → 4), not the first that helps, which would let two errors offset each
    other."""
    _, result = _closed_form_sum(tmp_path, "n**4/4 + n**3/3 + n**2/3", trials=70)
    assert result.best is not None and result.best_score == 1.0
    assert result.best.tree is not None and '"n**4/4 + n**3/2 + n**2/4"' in result.best.tree.text


def test_the_ladder_leaves_half_a_stage_to_the_other_constants(tmp_path: Path) -> None:
    """A formula's ladder would fill a stage on its own (ten steps a sweep): with a float
    literal beside it, it gets half the stage's trials and CMA-ES the other half."""
    program = 'def f():\n    return 1.5 * float("2")  # tune\n'
    result = _tuned(tmp_path, program, trials=10)
    trials = [c.tree.text for c in result.history if c.kind == "tune" and c.tree is not None]
    assert len(trials) == 10
    ladder = [t for t in trials if "1.5 *" in t]
    assert len(ladder) == 5 and all('float("2")' not in t for t in ladder)
    assert trials[5:] == [t for t in trials if "1.5 *" not in t]  # CMA-ES's, from its best


def _tuned(tmp_path: Path, program: str, trials: int) -> hone.RunResult:
    """A tuning-only run of `program` (`score`: best at f() = 5), `trials` trials."""
    task = make(tmp_path, program=program, tune_trials=trials).configured(
        budget=Budget(max_llm_calls=0, patience=None, max_evaluations=trials)
    )
    return hone.run(
        task, model=ScriptedModel([]), verifier=FunctionVerifier(score),
        run_dir=tmp_path / "run", seed=0,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("start", "exact", "changes"),
    [
        ("n**4/4 + n**3/3 + n**2/5", "n**4/4 + n**3/2 + n**2/4", "3 → 2, 5 → 4"),
        (
            "n**4/4 + n**3 + n**2",
            "n**4/4 + 0.5*n**3 + 0.25*n**2",
            "n**3 → 0.5*n**3, n**2 → 0.25*n**2",
        ),
    ],
)
def test_a_formula_whose_coefficients_offset_each_other_is_fitted_together(
    tmp_path: Path, start: str, exact: str, changes: str
) -> None:
    """The ladder alone ends at 0.9880 and 0.9748, where no step of one
    number helps; after its third sweep the numbers are fitted together (Nelder–Mead: trials
    with decimals no ladder writes) and the last trial, the fit snapped to simple fractions,
    is exact."""
    _, result = _closed_form_sum(tmp_path, start, trials=150)
    assert result.best is not None and result.best.kind == "tune" and result.best_score == 1.0
    assert result.best.tree is not None and f'"{exact}"' in result.best.tree.text
    trials = [c for c in result.history if c.kind == "tune" and c.tree is not None]
    assert result.best.id == trials[-1].id
    fitted = [c for c in trials if re.search(r"\d\.\d{4,}", c.tree.text if c.tree else "")]
    assert len(fitted) > 20
    [(_, note)] = Store.open(tmp_path / "run", readonly=True).notes("tune")
    assert note.endswith(f"with {changes}.")


@pytest.mark.parametrize(
    "start",
    [
        "n**4/4 + (n - 1)**3/3",  # no setting of its three numbers is exact (Nelder–Mead: 0.9895)
        "n**4/4 + n**3/3 + n**2/2 + n/6",  # the ladder and Nelder–Mead end at 0.9880
        "n**4/4 + (n**3 - 3*n**2 + 4*n - 1)/1.5",  # a common divisor: they end at 0.9573
        'n**4/4" + " + (n**3 - 3*n**2 + 3*n - 1)/6',  # the model's two strings joined by +
    ],
)
def test_a_formula_is_fitted_by_least_squares_when_the_evaluator_reports_residuals(
    tmp_path: Path, start: str
) -> None:
    """closed_form_sum's evaluator reports its residuals (the formula's relative errors at n =
    1..20): the formula is expanded into one term per power of n and its coefficients fitted
    by Levenberg–Marquardt, then snapped: the exact sum in a few trials, where the ladder and
    Nelder–Mead, told the score alone, end short of it after 150 (docs/tasks.md)."""
    _, result = _closed_form_sum(tmp_path, start, trials=150, residuals=True)
    assert result.best is not None and result.best.kind == "tune" and result.best_score == 1.0
    assert result.best.tree is not None and '"n**4/4 + n**3/2 + n**2/4"' in result.best.tree.text
    trials = [c for c in result.history if c.kind == "tune"]
    assert len(trials) <= 10 and result.best.id == trials[-1].id  # the snapped fit, last
    [(_, note)] = Store.open(tmp_path / "run", readonly=True).notes("tune")
    joined = start.replace('" + "', "")
    assert note.endswith(f'with the formula "{joined}" → "n**4/4 + n**3/2 + n**2/4".')


def test_a_formula_that_lacks_a_needed_term_is_fitted_as_well_as_it_can_be(
    tmp_path: Path,
) -> None:
    """n**4/4 + n**3/2 has no n**2 term (the model's structure: tuning adds none): the fit
    lowers its error but cannot make it exact, and stops when its steps stop helping, with
    most of the stage's trials left to the budget."""
    _, result = _closed_form_sum(tmp_path, "n**4/4 + n**3/2", trials=150, residuals=True)
    start = next(c for c in result.history if c.kind != "tune")
    assert result.best is not None and result.best_score is not None
    assert start.score is not None and start.score < result.best_score < 1.0
    assert len([c for c in result.history if c.kind == "tune"]) < 30
    assert result.best.tree is not None and "n**2" not in result.best.tree.text


def test_a_cut_least_squares_stage_is_finished_with_the_same_trials(tmp_path: Path) -> None:
    """Resumed after a kill in the middle of a fit (4 of the first batch's 6 trials evaluated),
    the stored trials' residuals (read back from the store) give the search the same points:
    the trials are those the whole stage ran, and the fit ends exact."""
    trials = 150
    _, whole = _closed_form_sum(tmp_path, "n**4/4 + (n - 1)**3/3", trials, residuals=True)
    expected = [(c.code, c.score) for c in whole.history if c.kind == "tune"]
    run_dir = tmp_path / "run"
    with sqlite3.connect(run_dir / "hone.db") as db:
        ids = [row[0] for row in db.execute("SELECT id FROM candidates WHERE kind = 'tune'")]
        db.execute("DELETE FROM candidates WHERE kind = 'tune' AND id > ?", (ids[3],))
        db.execute("DELETE FROM notes WHERE kind = 'tune'")
    store = Store.open(run_dir)
    store.set_meta(status="running", tune_stage={"parent": 1, "trials": trials, "batch": 1})
    assert len(ids) > 6 and len(store.residuals(ids[:4])) == 4  # (what the resumed fit is told)
    store.close()
    resumed = hone.resume(run_dir, model=ScriptedModel([]))
    assert [(c.code, c.score) for c in resumed.history if c.kind == "tune"] == expected
    assert resumed.best_score == 1.0
