"""The C travelling-salesman example: compiled and run in the sandbox, checked by Python."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest

from hone.executors.local import ProcessPool
from hone.settings import EvaluationConfig
from hone.task import Task

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "tsp_c"
START = (EXAMPLE / "initial.c").read_text()

NEAREST = """\
void tour(int n, const double *x, const double *y, int *order) {
    char *seen = calloc(n, 1);
    int at = 0;
    seen[0] = 1;
    order[0] = 0;
    for (int k = 1; k < n; k++) {
        int best = -1;
        double bd = 1e300;
        for (int j = 0; j < n; j++) {
            double d = (x[j] - x[at]) * (x[j] - x[at]) + (y[j] - y[at]) * (y[j] - y[at]);
            if (!seen[j] && d < bd) { bd = d; best = j; }
        }
        seen[best] = 1;
        order[k] = at = best;
    }
    free(seen);
}
"""


def with_tour(body: str) -> str:
    head, rest = START.split("// EVOLVE-BLOCK-START\n")
    _, tail = rest.split("// EVOLVE-BLOCK-END\n")
    return f"{head}// EVOLVE-BLOCK-START\n{body}// EVOLVE-BLOCK-END\n{tail}"


def verify(programs: list[str]) -> list:
    async def go() -> list:
        pool = ProcessPool(EXAMPLE / "evaluate.py", "initial.c", EvaluationConfig(workers=1))
        try:
            return [(await pool.verify(p)).evaluation for p in programs]
        finally:
            await pool.close()

    return asyncio.run(go())


@pytest.mark.skipif(shutil.which("cc") is None, reason="needs a C compiler")
def test_c_candidates_compile_run_and_are_checked_in_the_sandbox() -> None:
    start, nearest, broken, cheat, zeros, crash = verify(
        [
            START,
            with_tour(NEAREST),
            with_tour("void tour(int n) { return n }\n"),
            with_tour(
                "void tour(int n, const double *x, const double *y, int *order) {\n"
                "    for (int i = 0; i < n; i++) order[i] = 0;\n"
                '    printf("{\\"score\\": 0}\\n");\n}\n'
            ),
            with_tour(
                "void tour(int n, const double *x, const double *y, int *order) {\n"
                "    for (int i = 0; i < n; i++) order[i] = 0;\n}\n"
            ),
            with_tour(
                "void tour(int n, const double *x, const double *y, int *order) {\n"
                "    int *p = 0; *p = 1;\n}\n"
            ),
        ]
    )
    assert start.ok and start.score == pytest.approx(11.77, abs=0.01)
    assert nearest.ok and 0.8 < nearest.score < 1.1  # nearest neighbour: about 25 % above optimal
    assert nearest.metrics["ratio_1000"] < start.metrics["ratio_1000"] / 10
    assert broken.status == "error" and broken.reason.startswith("compiling the program exited")
    assert "error" in broken.feedback  # the compiler's message reaches the model
    assert cheat.status == "error" and "only integers" in cheat.reason  # a fake score is ignored
    assert zeros.status == "error" and "not a permutation" in zeros.reason
    assert crash.status == "error" and "killed by SIGSEGV" in crash.reason


def test_the_task_loads_as_a_c_program() -> None:
    task = Task.from_dir(EXAMPLE)
    assert task.language == "c" and task.objective == "minimize"
    assert "// EVOLVE-BLOCK-START" in task.program


def test_the_best_program_is_kept_under_its_own_suffix(tmp_path: Path) -> None:
    import json

    import hone

    answers = tmp_path / "answers.jsonl"
    answers.write_text(json.dumps(f"```c\n{NEAREST}```") + "\n")
    task = Task.from_dir(EXAMPLE)
    result = hone.run(
        task,
        model=f"scripted:{answers}",
        run_dir=tmp_path / "run",
        budget=task.budget.merged(max_llm_calls=1),
    )
    assert result.best is not None and result.best.score == pytest.approx(0.925, abs=1e-3)
    assert (tmp_path / "run" / "best.c").read_text() == result.best.code
    assert not (tmp_path / "run" / "best.py").exists()
