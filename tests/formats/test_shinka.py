"""ShinkaEvolve task folders run unchanged: evaluate.py runs per candidate in the sandbox with
--program_path and --results_dir, and correct.json and metrics.json say how it did.

The folders in tests/formats/data are written for these tests in ShinkaEvolve's format; the
starting score of shinka_python is the combined_score its evaluate.py writes when ShinkaEvolve
0.0.7's interpreter runs it (0.30614674589207175, measured 2026-12-01).
"""

from __future__ import annotations

import importlib.util
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

import hone
from hone.budget import Budget
from hone.formats import read_task
from hone.formats.shinka import DEFAULT_TASK_SYS_MSG as SHINKA_DEFAULT
from hone.testing import ScriptedModel
from tests.helpers import fenced

from .conftest import DATA, PEERS, Cli

START = 0.30614674589207175
needs_gpp = pytest.mark.skipif(shutil.which("g++") is None, reason="needs g++")
Folder = Callable[[str], Path]


def search(
    root: Path, answers: list[str], tmp_path: Path, config: str | None = None
) -> list[hone.Candidate]:
    """A run of a folder with a scripted model: every hypothesis, the start first."""
    task = hone.Task.from_dir(root, config=root / config if config else None).configured(
        search={"hypotheses_per_round": 1}, evaluation={"workers": 1}
    )
    result = hone.run(
        task,
        model=ScriptedModel(answers),
        run_dir=tmp_path / "run",
        budget=Budget(max_llm_calls=len(answers), patience=None),
    )
    return list(result.history)


def test_python_example_runs_unchanged_with_no_model_calls(cli: Cli) -> None:
    code, out, err = cli(str(DATA / "shinka_python"), "--max-llm-calls", "0")
    assert code == 0, err
    assert out.splitlines()[0] == (
        "read a ShinkaEvolve task (initial.py, evaluate.py): task_sys_msg from run_evo.py → "
        "instruction, num_generations 4 → max_llm_calls 3, patch_types → either edits, job "
        "time 00:00:30 → timeout"
    )
    assert f"best score {START:.6g} " in out
    assert err == (  # run_evo.py is read for its literals only, and says what it leaves
        f"hone: warning: {DATA / 'shinka_python' / 'run_evo.py'}: ShinkaEvolve settings hone "
        "does not use: EvolutionConfig.language (see hone docs migrating)\n"
    )


def test_python_example_with_a_scripted_model(tmp_path: Path) -> None:
    grid = fenced(
        "def place_points(n):\n"
        "    cells = [(x, y) for y in (0.0, 0.5, 1.0) for x in (0.0, 0.5, 1.0)]\n"
        "    return cells[:n]\n"
    )
    outside = fenced(
        "def place_points(n):\n    return [(1.5, 0.5)] + [(0.1 * i, 0.0) for i in range(n - 1)]\n"
    )
    crashes = fenced("def place_points(n):\n    return [(1 / 0, 0.0)] * n\n")
    start, good, bad, broken = search(DATA / "shinka_python", [grid, outside, crashes], tmp_path)
    assert start.score == pytest.approx(START, rel=1e-12)
    assert start.evaluation.metrics == {"min_distance": pytest.approx(START)}  # public numbers
    # public's other values and text_feedback are feedback; private stays in the output only
    assert start.evaluation.feedback == "layout: circle\nthe closest two points are 0.3061 apart"
    assert 'private metrics: {"points": [[0.9, 0.5]' in start.output
    assert "[0.9, 0.5]" not in start.evaluation.feedback
    assert good.score == 0.5 and good.evaluation.feedback.startswith("layout: other")
    # correct.json says false: a failed program, with its error as the reason
    assert bad.evaluation.status == "error" and bad.score is None
    assert bad.evaluation.reason == "point (1.500, 0.500) is outside the unit square"
    assert broken.evaluation.reason == "ZeroDivisionError: division by zero"


def test_the_program_is_given_as_main_with_its_suffix() -> None:
    task = hone.Task.from_dir(DATA / "shinka_python")
    assert task.program_filename == "main.py"  # as ShinkaEvolve names candidates
    assert task.evaluation.contract == "shinka" and task.evaluation.timeout == 30.0
    assert (task.budget.max_llm_calls, task.budget.patience) == (3, None)
    assert task.search.edits == "either"
    assert task.instruction.startswith("You place points in the unit square.")


@needs_gpp
def test_cpp_example_runs_with_its_yaml_config(cli: Cli, tmp_path: Path) -> None:
    code, out, err = cli(
        str(DATA / "shinka_cpp"), "--config", "shinka.yaml", "--max-llm-calls", "0"
    )
    assert code == 0, err
    assert out.splitlines()[0] == (
        "read a ShinkaEvolve task (initial.cpp, evaluate.py): task_sys_msg from shinka.yaml → "
        "instruction, num_generations 3 → max_llm_calls 2, patch_types → diff edits, job time "
        "00:01:00 → timeout, max_evaluation_jobs 1 → workers"
    )
    assert err.strip() == (
        f"hone: warning: {DATA / 'shinka_cpp' / 'shinka.yaml'}: ShinkaEvolve keys hone does not "
        "use: evo.language, db.num_islands (see hone docs migrating)"
    )
    assert "all 4 counts are right" in out


@needs_gpp
def test_cpp_example_with_a_scripted_model(tmp_path: Path) -> None:
    sieve = fenced(
        """
long count_primes(long n) {
    // A sieve of Eratosthenes.
    if (n < 3) return 0;
    bool* composite = new bool[n]();
    long count = 0;
    for (long k = 2; k < n; ++k) {
        if (composite[k]) continue;
        ++count;
        for (long m = k * k; m < n; m += k) composite[m] = true;
    }
    delete[] composite;
    return count;
}
""",
        "cpp",
    )
    wrong = fenced("long count_primes(long n) { return n / 2; }", "cpp")
    no_build = fenced("long count_primes(long n) { return n }", "cpp")
    start, fast, bad, broken = search(
        DATA / "shinka_cpp", [sieve, wrong, no_build], tmp_path, config="shinka.yaml"
    )
    for candidate in (start, fast):  # combined_score = 1 / (1 + ms), as the evaluator wrote
        ms = candidate.evaluation.metrics["largest_input_ms"]
        assert candidate.score == pytest.approx(1 / (1 + ms))
    assert fast.evaluation.feedback.startswith("all 4 counts are right")
    assert bad.evaluation.reason == "for N = 10 the program printed '5', expected 4"
    assert broken.evaluation.status == "error"
    assert broken.evaluation.reason.startswith("compilation failed:")
    assert "error: expected" in broken.evaluation.reason


@pytest.mark.parametrize(
    ("args", "instruction"),
    [
        ((), SHINKA_DEFAULT),  # no run_evo.py and no config: ShinkaEvolve's own message
        (("--instruction", "Count primes faster."), "Count primes faster."),
        (("--config", "shinka.yaml"), "Make count_primes faster while keeping every count exact."),
    ],
)
def test_the_task_message_comes_from_yaml_or_the_command_line(
    args: tuple[str, ...], instruction: str | None
) -> None:
    from hone.formats import Options

    config = next((Path(a) for a in args[1:] if a.endswith(".yaml")), None)
    given = args[1] if args[:1] == ("--instruction",) else None
    root = DATA / "shinka_cpp"
    options = Options(root / config if config else None, given)
    assert read_task(root, options).task.instruction == instruction


def test_a_folder_without_a_task_message_runs_with_shinkaevolves_default(cli: Cli) -> None:
    """ShinkaEvolve's own sine_approx_headless example, as it publishes it: no task_sys_msg
    (ShinkaEvolve uses its default), its paths built from the script's folder."""
    code, out, err = cli(str(PEERS / "sine_approx_headless"), "--max-llm-calls", "0")
    assert code == 0, err
    assert out.splitlines()[0] == (
        "read a ShinkaEvolve task (initial.py, evaluate.py): instruction: ShinkaEvolve's "
        "default task_sys_msg (the folder has none), num_generations 10 → max_llm_calls 9, "
        "patch_types → either edits, job time 00:03:00 → timeout, max_evaluation_jobs 2 → "
        "workers"
    )
    assert "best score 0.104521 " in out  # what its evaluate.py gives x ↦ x
    task = hone.Task.from_dir(PEERS / "sine_approx_headless")
    assert task.instruction == SHINKA_DEFAULT
    assert "EvolutionConfig.llm_models" in err and "eval_program_path" not in err


def test_run_evo_settings_are_read_as_docs_say(tmp_path: Path) -> None:
    """ShinkaEvolve's go_collatz_steps: max_evaluation_jobs through a name (1 worker: its
    score includes runtime) and init_program_path; and a path built from the folder."""
    task = hone.Task.from_dir(PEERS / "go_collatz_steps")
    assert task.evaluation.workers == 1 and task.program_filename == "main.go"
    assert task.evaluation.worker_count == 1
    root = tmp_path / "moved"
    shutil.copytree(PEERS / "sine_approx_headless", root)
    (root / "start.py").write_text((root / "initial.py").read_text().replace("x\n", "x * 0.5\n"))
    script = (root / "run_evo.py").read_text()
    (root / "run_evo.py").write_text(
        script.replace('TASK_DIR / "initial.py"', 'TASK_DIR / "start.py"').replace(
            "max_evaluation_jobs=2", "max_evaluation_jobs=1"
        )
    )
    read = read_task(root)
    assert "init_program_path start.py → starting program" in read.note
    assert "return x * 0.5" in read.task.program and read.task.evaluation.workers == 1


def test_a_task_toml_beside_a_shinka_evaluator(folder: Folder, cli: Cli) -> None:
    root = folder("shinka_python")
    (root / "task.toml").write_text(
        'instruction = "Spread the points."\n[evaluation]\ncontract = "shinka"\n',
        encoding="utf-8",
    )
    code, out, err = cli(str(root), "--max-llm-calls", "0")
    assert code == 0, err
    assert "read a ShinkaEvolve" not in out and f"best score {START:.6g} " in out


@pytest.mark.skipif(importlib.util.find_spec("shinka") is not None, reason="shinka is installed")
def test_an_evaluator_that_needs_shinka(folder: Folder, cli: Cli) -> None:
    root = folder("shinka_python")
    evaluate = root / "evaluate.py"
    evaluate.write_text("from shinka.core import run_shinka_eval\n" + evaluate.read_text())
    code, _, err = cli(str(root), "--max-llm-calls", "0")
    assert code == 2 and err.count("\n") == 1
    assert "imports 'shinka.core', and ShinkaEvolve is not installed where hone runs" in err


BAD = [
    ("evaluate.py", "import sys\nsys.exit(3)\n# --program_path --results_dir\n", "error",
     "correct.json: the program did not write it (it exited with status 3)"),
    ("evaluate.py", "import argparse, time\n# --program_path --results_dir\ntime.sleep(60)\n", "timeout",
     "evaluate.py did not finish within 2.7 s and was killed"),
    ("evaluate.py", "import sys, os, json\n# --program_path --results_dir\nd = sys.argv[4]\n"
     "open(os.path.join(d, 'correct.json'), 'w').write('{\"correct\": \"yes\"}')\n", "invalid-output",
     'correct.json must be a JSON object with "correct": true or false, got {"correct": "yes"}'),
    ("evaluate.py", "import sys, os, json\n# --program_path --results_dir\nd = sys.argv[4]\n"
     "open(os.path.join(d, 'correct.json'), 'w').write('{\"correct\": true}')\n"
     "open(os.path.join(d, 'metrics.json'), 'w').write('{\"combined_score\": \"high\"}')\n",
     "invalid-output", "the metrics in metrics.json: the evaluator's 'combined_score' is 'high', not a finite number"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "text", "status", "reason"), BAD)
def test_bad_evaluators_fail_the_start_with_one_sentence(
    name: str, text: str, status: str, reason: str, folder: Folder, cli: Cli
) -> None:
    root = folder("shinka_python")
    (root / name).write_text(text, encoding="utf-8")
    (root / "run_evo.py").write_text('task_sys_msg = "Spread the points."\n', encoding="utf-8")
    code, _out, err = cli(str(root), "--timeout", "3", "--max-llm-calls", "1")
    assert code == 2 and "Traceback" not in err and err.count("hone: error: ") == 1
    assert f"failed to evaluate ({status}: {reason}" in err


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ("evo_config:\n  num_generations: 0\n", "num_generations must be a whole number, got 0"),
        ("job_config:\n  time: 30\n", "job time must be written hh:mm:ss, got 30"),
        ("evo_config: [1]\n", "evo_config must be a mapping of settings"),
    ],
)
def test_bad_yaml_configs(config: str, message: str, folder: Folder, cli: Cli) -> None:
    root = folder("shinka_python")
    (root / "bad.yaml").write_text(config, encoding="utf-8")
    code, _, err = cli(str(root), "--config", "bad.yaml")
    assert code == 2 and message in err and err.count("\n") == 1


def test_metrics_files_as_written(tmp_path: Path, folder: Folder) -> None:
    """The starting program's results files, read as hone reads them."""
    root = folder("shinka_python")
    results = tmp_path / "results"
    import subprocess
    import sys

    subprocess.run(
        [
            sys.executable,
            "evaluate.py",
            "--program_path",
            "initial.py",
            "--results_dir",
            str(results),
        ],
        cwd=root,
        check=True,
    )
    assert json.loads((results / "correct.json").read_text()) == {"correct": True, "error": None}
    metrics = json.loads((results / "metrics.json").read_text())
    assert metrics["combined_score"] == pytest.approx(START, rel=1e-12)
    assert set(metrics) == {"combined_score", "public", "private", "text_feedback"}


def test_an_evaluator_that_reads_data_by_absolute_path_runs_with_read_only(
    folder: Folder, cli: Cli, tmp_path: Path
) -> None:
    """evaluate.py reads a file by its absolute path, outside the folder: hidden by the
    sandbox until the user declares it once (docs/migrating.md)."""
    data = tmp_path / "scratch" / "bench"
    data.mkdir(parents=True)
    (data / "n.txt").write_text("8")
    root = folder("shinka_python")
    evaluate = root / "evaluate.py"
    path = str(data / "n.txt")
    text = evaluate.read_text().replace(
        "n, error, metrics = 8,", f"n, error, metrics = int(open({path!r}).read()),"
    )
    assert text != evaluate.read_text()
    evaluate.write_text(text)
    code, out, _err = cli(str(root), "--max-llm-calls", "0")
    assert code == 1 and "no program scored" in out
    assert f"{path!r} exists outside the sandbox, which gives each evaluation a private /tmp" in out
    code, out, err = cli(str(root), "--max-llm-calls", "0", "--read-only", str(data))
    assert code == 0, err
    assert f"best score {START:.6g} " in out
