"""benchmarks/peers_real_model.py's reading of hone's store and its table."""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import hone
from hone.formats import read_task
from hone.testing import FunctionVerifier, ScriptedModel

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import peers_real_model as bench  # (beside its _proxy, as the script runs)

START = """# EVOLVE-BLOCK-START
def radius():
    return 0.1
# EVOLVE-BLOCK-END


def run():
    return radius()
"""
EVALUATE = """import argparse, json, os
parser = argparse.ArgumentParser()
parser.add_argument("--program_path")
parser.add_argument("--results_dir")
args = parser.parse_args()
os.makedirs(args.results_dir, exist_ok=True)
json.dump({"combined_score": 1.0}, open(os.path.join(args.results_dir, "metrics.json"), "w"))
json.dump({"correct": True}, open(os.path.join(args.results_dir, "correct.json"), "w"))
"""
ANSWER = "Idea: a larger radius.\n```python\ndef radius():\n    return 0.2\n```\n"


def score(program: str) -> float:
    namespace: dict[str, Any] = {}
    exec(program, namespace)
    return float(namespace["run"]())


def test_hone_programs_reads_the_program_and_answer_of_a_shinka_folder(tmp_path: Path) -> None:
    """hone keeps a ShinkaEvolve folder's program as the tree file main.py (files and blobs)
    and its answers compressed, leaving the `code` and `completion` columns empty: the
    benchmark read those, so hone's best had no text (sha e3b0c442..., rescored null)."""
    folder = tmp_path / "task"
    folder.mkdir()
    (folder / "initial.py").write_text(START)
    (folder / "evaluate.py").write_text(EVALUATE)
    read = read_task(folder)
    assert read.format == "shinka" and read.task.program_filename == "main.py"
    work = tmp_path / "work"
    hone.run(
        read.task.configured(search={"tune": False}),
        model=ScriptedModel([ANSWER]),
        verifier=FunctionVerifier(score),
        run_dir=work / "run",
        budget=hone.Budget(max_llm_calls=1),
    )
    programs = bench.hone_programs(work)
    start, made = programs[0], programs[1]
    assert start.code == START and start.answer is None
    assert "return 0.2" in made.code and made.code.endswith("return radius()\n")
    assert made.answer == ANSWER and made.parent == start.ident and made.score == 0.2
    # the answer's text is what the proxy recorded, so the program is given its call
    calls = [{"call": 1, "answer": ANSWER, "answered": made.created}]
    assert bench.attribute(programs, calls) == 0 and made.call == 1
    best = bench.best_at(programs, calls, 1)
    assert best is made and hashlib.sha256(best.code.encode()).hexdigest()[:16] != bench.NO_TEXT


def row(task: str, framework: str, sha: str, rescored: float | None) -> dict[str, Any]:
    best = {"recorded": 0.96, "rescored": rescored, "rescores": [], "call": None}
    return {
        "key": f"{framework}|{task}",
        "task": task,
        "framework": framework,
        "answers": 20,
        "calls": 20,
        "applied": 2,
        "ran": 0,
        "beat_parent": 0,
        "prompt_tokens": 100,
        "completion_tokens": 100,
        "wall_s": 1.0,
        "best": {str(k): best | {"sha": sha} for k in (0, *bench.POINTS)},
    }


def test_the_table_marks_a_best_without_text_and_such_a_run_is_run_again() -> None:
    """A row whose best had no text shows its record with '!', says so below the table and in
    its target lines, and counts as not recorded; one the evaluator rejected shows '*'."""
    settings = bench.Settings(20, 2, 0.7, 2048, 1200.0, "qwen-coder-0.5b")
    rows = [
        row("shinka_circle_packing", "hone", bench.NO_TEXT, None),
        row("shinka_circle_packing", "shinka", "09da8428a85792a9", 0.96),
        row("openevolve_circle_packing", "openevolve", "9d87e817e4039a01", None),
    ]
    lines = bench.table(rows, settings)
    hone_line = next(
        ln for ln in lines if ln.startswith("shinka_circle_packing") and " hone " in ln
    )
    peer_line = next(ln for ln in lines if " shinka " in ln)
    oe_line = next(ln for ln in lines if " openevolve " in ln)
    assert hone_line.count("0.96!") == 4 and "!" not in peer_line and oe_line.count("0.96*") == 4
    assert any(ln.startswith("! the best program's text was not found") for ln in lines)
    targets = [ln for ln in lines if ln.startswith("target hone_vs_shinka")]
    assert targets and all(
        ln.endswith("(unchecked: a best program's text was not found)") for ln in targets
    )
    assert bench.flawed(rows[0]) and not bench.flawed(rows[1]) and not bench.flawed(rows[2])
    assert json.loads(json.dumps(rows[0])) == rows[0]  # a row as the results file keeps it
