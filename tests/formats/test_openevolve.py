"""OpenEvolve task folders run unchanged: read, scored by OpenEvolve's rules, searched.

The starting scores are the ones openevolve 0.4.0 gives the same folders (its Evaluator and
get_fitness_score, measured 2026-12-01); the folders in tests/formats/data are written for
these tests in OpenEvolve's format.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

import hone
from hone.budget import Budget
from hone.formats import Options, read_task
from hone.testing import ScriptedModel
from tests.helpers import fenced

from .conftest import DATA, PEERS, Cli

STARTS = {  # starting score under hone = under OpenEvolve 0.4.0
    "openevolve_plain": 0.764089388714515,  # mean of two metrics, a feature left out
    "openevolve_cascade": 0.6,  # stage 1 passes 0.5, the merged result misses 0.75
    "openevolve_artifacts": 0.5,  # combined_score of an EvaluationResult
    "openevolve_features": 0.7863096561797362,  # items_used is a feature: not averaged
}
Folder = Callable[[str], Path]


def search(name: str, answers: list[str], tmp_path: Path) -> list[hone.Candidate]:
    """A run of the example with a scripted model: every hypothesis, the start first."""
    task = hone.Task.from_dir(DATA / name).configured(
        search={"hypotheses_per_round": 1}, evaluation={"workers": 1}
    )
    result = hone.run(
        task,
        model=ScriptedModel(answers),
        run_dir=tmp_path / "run",
        budget=Budget(max_llm_calls=len(answers), patience=None),
    )
    return list(result.history)


@pytest.mark.parametrize("name", sorted(STARTS))
def test_each_example_runs_unchanged_with_no_model_calls(name: str, cli: Cli) -> None:
    code, out, err = cli(str(DATA / name), "--max-llm-calls", "0")
    assert code == 0, err
    assert out.splitlines()[0].startswith(
        "read an OpenEvolve task (initial_program.py, evaluator.py, config.yaml): "
    )
    assert f"best score {STARTS[name]:.6g} " in out


def test_plain_evaluator_with_a_scripted_model(tmp_path: Path) -> None:
    better = fenced(
        '''
def approximate(x):
    """Bhaskara I's approximation."""
    p = x * (3.141592653589793 - x)
    return 16.0 * p / (5.0 * 3.141592653589793**2 - 4.0 * p)
'''
    )
    start, hypothesis = search("openevolve_plain", [better], tmp_path)
    assert start.score == pytest.approx(STARTS["openevolve_plain"], rel=1e-12)
    assert hypothesis.score == pytest.approx(0.9919496346037919, rel=1e-12)  # OpenEvolve's
    assert hypothesis.evaluation.metrics == {
        "accuracy": pytest.approx(0.9839931055857655),
        "smoothness": pytest.approx(0.9999061636218184),
        "points": 101.0,
        "checked": 1.0,
    }


def test_cascade_stops_early_keeps_stages_and_never_calls_evaluate(tmp_path: Path) -> None:
    right = fenced("def sort_numbers(xs):\n    return sorted(xs)\n")
    wrong = fenced("def sort_numbers(xs):\n    return list(xs)\n")
    hangs = fenced(
        "def sort_numbers(xs):\n    while len(xs) > 1000:\n        pass\n    return sorted(xs)\n"
    )
    start, good, bad, slow = search("openevolve_cascade", [right, wrong, hangs], tmp_path)
    assert start.score == 0.6
    assert start.evaluation.feedback == (
        "stopped after stage 2: its result is below the cascade threshold 0.75"
    )
    assert good.score == 1.0  # all three stages; evaluate() would have raised
    assert good.evaluation.metrics == {
        "small_sorted": 1.0,
        "random_sorted": 1.0,
        "large_sorted": 1.0,
    }
    assert bad.score == 0.25 and bad.evaluation.metrics == {"small_sorted": 0.25}
    assert "stopped after stage 1" in bad.evaluation.feedback
    # Stage 3 hangs: killed at evaluator.timeout (2 s), stages 1 and 2 kept.
    assert slow.evaluation.ok and slow.score == 1.0
    assert slow.evaluation.metrics["stage3_passed"] == 0.0
    assert "large_sorted" not in slow.evaluation.metrics
    assert "stage 3 failed (timeout): evaluate_stage3 did not finish within 2 s" in (
        slow.evaluation.feedback
    )


def test_artifacts_reach_the_model_and_an_error_next_to_a_score_is_scored(
    tmp_path: Path,
) -> None:
    hours = fenced(
        '''
def parse_duration(text):
    """Hours, minutes and seconds."""
    total, number = 0, ""
    for char in text:
        if char.isdigit():
            number += char
        else:
            total, number = total + {"h": 3600, "m": 60, "s": 1}[char] * int(number), ""
    return total
'''
    )
    broken = fenced("raise ImportError('not today')\n\ndef parse_duration(text):\n    return 0\n")
    model_answers = [hours, broken]
    start, good, bad = search("openevolve_artifacts", model_answers, tmp_path)
    assert start.score == 0.5
    assert start.evaluation.metrics == {"passed": 3.0}
    assert "parse_duration('1h') = 0, expected 3600" in start.evaluation.feedback  # text
    assert "first_case:\n45s -> 45" in start.evaluation.feedback  # bytes, decoded
    assert "failed_inputs:\n['1h', '1h2m3s', '10h']" in start.evaluation.feedback  # a list
    assert good.score == 1.0 and "failures:\nnone" in good.evaluation.feedback
    # {"combined_score": 0.0, "error": ...}: a program scored 0, whose feedback says why
    assert bad.evaluation.ok and bad.score == 0.0
    assert "error: the program does not import: not today" in bad.evaluation.feedback
    assert "traceback:\nTraceback" in bad.evaluation.feedback


def test_artifacts_are_in_the_next_prompt(tmp_path: Path) -> None:
    model = ScriptedModel([fenced("def parse_duration(text):\n    return 45\n")])
    task = hone.Task.from_dir(DATA / "openevolve_artifacts")
    hone.run(task, model=model, run_dir=tmp_path / "run", budget=Budget(max_llm_calls=1))
    prompt = model.requests[0].messages[1].content
    assert "Extend parse_duration to hours" in prompt  # prompt.system_message
    assert "feedback: failures:\nparse_duration('1h') = 0, expected 3600" in prompt


def test_feature_dimensions_become_a_map_elites_grid(tmp_path: Path) -> None:
    ratio = fenced(
        '''
def choose(items, capacity):
    """Greedy by value per unit of weight."""
    order = sorted(range(len(items)), key=lambda i: items[i][1] / items[i][0], reverse=True)
    chosen, load = [], 0
    for index in order:
        if load + items[index][0] <= capacity:
            chosen.append(index)
            load += items[index][0]
    return chosen
'''
    )
    task = hone.Task.from_dir(DATA / "openevolve_features")
    assert task.search.strategy == "map-elites"
    assert task.search.features == {"score": [5.0], "complexity": [4.0], "items_used": [10.0]}
    assert task.evaluation.feature_dimensions == ("score", "complexity", "items_used")
    assert task.search.edits == "full" and task.seed == 11
    start, better = search("openevolve_features", [ratio], tmp_path)
    assert start.score == pytest.approx(STARTS["openevolve_features"], rel=1e-12)
    assert better.score == pytest.approx(0.9958450248219296, rel=1e-12)  # OpenEvolve's
    assert better.evaluation.metrics["items_used"] == 4.0


def test_the_config_becomes_hone_settings_and_unused_keys_one_warning() -> None:
    read = read_task(DATA / "openevolve_plain")
    task = read.task
    assert read.format == "openevolve"
    assert task.instruction == (
        "Improve approximate(x) so that it matches sin(x) on [0, pi] more closely."
    )
    assert (task.budget.max_llm_calls, task.budget.patience, task.seed) == (6, None, 7)
    evaluation = task.evaluation
    assert (evaluation.contract, evaluation.cascade, evaluation.workers) == ("openevolve", False, 1)
    assert (evaluation.stage_timeout, evaluation.timeout) == (20.0, 25.0)
    assert evaluation.cascade_thresholds == (0.5, 0.75, 0.9)  # OpenEvolve's defaults
    assert task.search.edits == "diff"
    assert (task.search.strategy, task.search.features) == ("map-elites", {"points": [100.0]})
    assert task.model.spec == "openai:small-model"
    assert task.model.base_url == "http://127.0.0.1:9/v1"
    assert (task.model.temperature, task.model.max_completion_tokens) == (0.5, 2048)
    assert task.objective == "maximize" and task.program_filename == "initial_program.py"
    assert read.warnings == (
        f"{DATA / 'openevolve_plain' / 'config.yaml'}: OpenEvolve keys hone does not use: "
        "checkpoint_interval, log_level, llm.models[0].weight, prompt.num_top_programs, "
        "database.population_size; keys OpenEvolve does not know either: "
        "parallel_evaluations (see hone docs migrating)",
    )
    assert read.note == (
        "read an OpenEvolve task (initial_program.py, evaluator.py, config.yaml): instruction "
        "from prompt.system_message, max_iterations 6 → max_llm_calls, random_seed 7 → seed, "
        "timeout 20 s per evaluation, parallel_evaluations 1 → workers, diff_based_evolution → "
        "SEARCH/REPLACE edits, feature_dimensions [points] → map-elites (100 bins), llm → "
        "openai:small-model at http://127.0.0.1:9/v1, llm.temperature → temperature, "
        "llm.max_tokens → max_completion_tokens"
    )


def test_the_seed_of_the_config_is_the_runs(tmp_path: Path) -> None:
    task = hone.Task.from_dir(DATA / "openevolve_cascade")
    assert task.seed == 42  # no random_seed: OpenEvolve's default
    seeded = hone.Task.from_dir(DATA / "openevolve_plain")
    result = hone.run(
        seeded, model=ScriptedModel([]), run_dir=tmp_path / "a", budget=Budget(max_llm_calls=0)
    )
    from hone.store import opened

    with opened(result.run_dir) as store:
        assert store.meta().seed == 7
    again = hone.run(
        seeded,
        model=ScriptedModel([]),
        run_dir=tmp_path / "b",
        seed=3,
        budget=Budget(max_llm_calls=0),
    )
    with opened(again.run_dir) as store:
        assert store.meta().seed == 3  # the caller's wins


def test_openevolves_command_form(folder: Folder, cli: Cli) -> None:
    root = folder("openevolve_cascade")
    (root / "config.yaml").rename(root / "phase_one.yaml")
    (root / "phase_two.yaml").write_text("max_iterations: 1\n", encoding="utf-8")
    code, out, err = cli(
        str(root / "initial_program.py"),
        str(root / "evaluator.py"),
        "--config",
        str(root / "phase_one.yaml"),
        "--max-llm-calls",
        "0",
    )
    assert code == 0, err
    assert out.startswith(
        "read an OpenEvolve task (initial_program.py, evaluator.py, phase_one.yaml)"
    )
    assert "best score 0.6 " in out
    # The folder form needs to be told which of the two configs to read ...
    code, out, err = cli(str(root), "--max-llm-calls", "0")
    assert code == 2 and err.strip() == (
        f"hone: error: {str(root)!r} has no config.yaml but several configs "
        "(phase_one.yaml, phase_two.yaml); name one with --config FILE"
    )
    # ... and takes a config relative to the task folder.
    code, out, err = cli(str(root), "--config", "phase_two.yaml", "--max-llm-calls", "0")
    assert code == 0 and "instruction: hone's default (no prompt.system_message)" in out


def test_a_resumed_run_reads_the_folder_with_the_same_config(
    folder: Folder, tmp_path: Path
) -> None:
    root = folder("openevolve_cascade")
    (root / "config.yaml").rename(root / "mine.yaml")
    (root / "other.yaml").write_text("prompt:\n  system_message: other\n", encoding="utf-8")
    task = hone.Task.from_dir(root, config=root / "mine.yaml")
    answer = fenced("def sort_numbers(xs):\n    return sorted(xs)\n")
    run_dir = tmp_path / "run"
    hone.run(task, model=ScriptedModel([answer]), run_dir=run_dir, budget=Budget(max_llm_calls=0))
    model = ScriptedModel([answer])
    resumed = hone.resume(run_dir, budget={"max_llm_calls": 1}, model=model)
    assert resumed.best_score == 1.0
    assert "Make sort_numbers return its input" in model.requests[0].messages[1].content


BAD = [
    ("config.yaml", "max_iterations: [1,\n", "is not valid YAML"),
    ("config.yaml", "- just\n- a list\n", "must be a YAML mapping of settings"),
    ("config.yaml", "evaluator:\n  timeout: fast\n", "evaluator.timeout must be a number of seconds, got 'fast'"),
    ("config.yaml", "evaluator:\n  cascade_thresholds: 0.5\n", "evaluator.cascade_thresholds must be a list of numbers, got 0.5"),
    ("config.yaml", "max_iterations: -1\n", "max_llm_calls must be at least 0, got -1"),
    ("config.yaml", "diff_based_evolution: 'yes'\n", "diff_based_evolution must be true or false, got 'yes'"),
    ("config.yaml", "llm:\n  models:\n    - name: a\n      api_base: http://x/v1\n    - name: b\n      api_base: http://y/v1\n", "hone's ensemble members share one: set llm.api_base"),
    ("config.yaml", "prompt:\n  system_message: '  '\n", "the instruction (prompt.system_message) is empty"),
    ("evaluator.py", "def score(path):\n    return {}\n", "defines no top-level 'evaluate'; add def evaluate(program_path)"),
    ("evaluator.py", "def evaluate(path:\n", "does not parse (line 1"),
    ("initial_program.py", "def approximate(x:\n", "does not parse (line 1"),
    ("evaluator.py", "raise RuntimeError('no data file')\ndef evaluate(p):\n    return {}\n", "RuntimeError: no data file; fix the evaluator and run again"),
    ("evaluator.py", "def evaluate(p):\n    return 0.5\n", "evaluate() returned a float; return a dict of metrics or an EvaluationResult"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "text", "message"), BAD)
def test_bad_variants_get_one_clear_sentence(
    name: str, text: str, message: str, folder: Folder, cli: Cli
) -> None:
    root = folder("openevolve_plain")
    (root / name).write_text(text, encoding="utf-8")
    code, _out, err = cli(str(root), "--max-llm-calls", "1")
    assert code == 2
    [error] = [line for line in err.splitlines() if not line.startswith("hone: warning: ")]
    assert error.startswith("hone: error: ") and message in error, err
    assert "Traceback" not in err


def test_a_file_alone_is_not_a_task(cli: Cli) -> None:
    code, _, err = cli(str(DATA / "openevolve_plain" / "initial_program.py"))
    assert code == 2 and "is a file; pass a task folder, or OpenEvolve's two files" in err
    code, _, err = cli(str(DATA / "openevolve_plain"), "--config", "missing.yaml")
    assert code == 2 and err.strip() == "hone: error: config 'missing.yaml' does not exist"


def test_options_round_trip_for_the_store() -> None:
    options = Options(Path("/a/c.yaml"), "do it", Path("/a/p.py"), Path("/a/e.py"))
    assert Options.from_json(options.to_json()) == options
    assert Options.from_json(None) == Options()


def test_a_scripted_model_from_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from hone.cli import main

    answers = tmp_path / "answers.jsonl"
    answer = fenced("def sort_numbers(xs):\n    return sorted(xs)\n")
    answers.write_text(json.dumps(answer) + "\n", encoding="utf-8")
    folder = str(DATA / "openevolve_cascade")
    code = main(
        [
            "run",
            folder,
            "--model",
            f"scripted:{answers}",
            "--max-llm-calls",
            "1",
            "--run-dir",
            str(tmp_path / "r"),
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "new best 0.6  (#1, round 0)" in out and "new best 1  (#2, round 1)" in out
    assert "stopped: model-call budget spent" in out


def test_an_evaluator_that_reads_data_by_absolute_path_runs_with_read_only(
    folder: Folder, cli: Cli, tmp_path: Path
) -> None:
    """OpenEvolve evaluators often load their data at import, from an absolute path; the
    sandbox hides it until the user declares it once (docs/migrating.md)."""
    data = tmp_path / "scratch" / "bench"
    data.mkdir(parents=True)
    (data / "points.txt").write_text("101")
    root = folder("openevolve_plain")
    evaluator = root / "evaluator.py"
    path = str(data / "points.txt")
    evaluator.write_text(f"POINTS = int(open({path!r}).read())\n" + evaluator.read_text())
    code, _out, err = cli(str(root), "--max-llm-calls", "0")
    assert code == 2
    assert f"No such file or directory: {path!r}; {path!r} exists outside the sandbox" in err
    assert f"hone run --read-only {data})" in err
    code, out, err = cli(str(root), "--max-llm-calls", "0", "--read-only", str(data))
    assert code == 0, err
    assert f"best score {STARTS['openevolve_plain']:.6g} " in out


def test_the_claude_code_provider_is_refused_never_sent_to_openai(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """OpenEvolve's own claude_code_quickstart: its start scores with no model call; a run
    that would call the model is refused in one sentence, and --model chooses another."""
    from hone.cli import main

    root = str(PEERS / "claude_code_quickstart")
    read = read_task(PEERS / "claude_code_quickstart")
    assert read.task.model.spec == "claude_code:sonnet,haiku"  # no openai: anywhere
    assert "llm.provider claude_code: no backend of hone (choose one with --model)" in read.note
    assert "llm.provider" not in " ".join(read.warnings)  # read, not ignored
    assert main(["run", root, "--max-llm-calls", "0", "--run-dir", str(tmp_path / "a")]) == 0
    assert "best score " in capsys.readouterr().out
    assert main(["run", root, "--max-llm-calls", "2", "--run-dir", str(tmp_path / "b")]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[-1].startswith("hone: error: unknown model 'claude_code:sonnet,haiku'; use one of:")
    assert not (tmp_path / "b").exists()  # refused before any folder is made
    answers = tmp_path / "a.jsonl"
    answers.write_text("", encoding="utf-8")
    argv = ["run", root, "--model", f"scripted:{answers}", "--max-llm-calls", "0"]
    assert main([*argv, "--run-dir", str(tmp_path / "c")]) == 0


def test_openevolves_defaults_apply_when_a_key_is_absent(tmp_path: Path) -> None:
    """Without random_seed OpenEvolve seeds 42; without diff_based_evolution it edits by diffs."""
    root = tmp_path / "bare"
    root.mkdir()
    for name in ("initial_program.py", "evaluator.py"):
        (root / name).write_text((DATA / "openevolve_plain" / name).read_text())
    read = read_task(root)  # no config at all: OpenEvolve's defaults throughout
    assert (read.task.seed, read.task.search.edits) == (42, "diff")
    assert "random_seed: OpenEvolve's default 42 → seed" in read.note
    assert "diff_based_evolution: OpenEvolve default true → SEARCH/REPLACE edits" in read.note
    (root / "config.yaml").write_text("random_seed: 5\ndiff_based_evolution: false\n")
    read = read_task(root)
    assert (read.task.seed, read.task.search.edits) == (5, "full")
