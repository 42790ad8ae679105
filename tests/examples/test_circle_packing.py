"""The circle-packing example: its evaluator checks packings itself."""

from __future__ import annotations

import importlib.util
import textwrap
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "circle_packing"

# A valid 26-circle packing: a 5 x 5 grid of radius-0.09 circles and one tiny circle in a gap.
GRID = """
import numpy as np


def run_packing():
    xs = 0.1 + 0.2 * np.arange(5)
    centers = np.array([(x, y) for x in xs for y in xs] + [CORNER])
    radii = np.array([0.09] * 25 + [RADIUS])
    centers, radii = MUTATE(centers, radii)
    return centers, radii, 999.0  # the reported sum is ignored


def MUTATE(centers, radii):
    BODY
    return centers, radii
"""


def load_evaluator() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "circle_packing_evaluate", EXAMPLE / "evaluate.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def evaluator() -> ModuleType:
    return load_evaluator()


def grid_program(
    tmp_path: Path, body: str = "pass", corner: str = "(0.2, 0.2)", radius: str = "0.01"
) -> str:
    source = (
        GRID.replace("CORNER", corner)
        .replace("RADIUS", radius)
        .replace("MUTATE", "mutate")
        .replace("BODY", body)
    )
    path = tmp_path / "candidate.py"
    path.write_text(source, encoding="utf-8")
    return str(path)


def test_task_folder_is_complete() -> None:
    for name in ("task.toml", "initial.py", "evaluate.py", "README.md"):
        assert (EXAMPLE / name).is_file(), name
    source = (EXAMPLE / "initial.py").read_text(encoding="utf-8").splitlines()
    assert "# EVOLVE-BLOCK-START" in source
    assert "# EVOLVE-BLOCK-END" in source


def test_initial_program_is_valid(evaluator: ModuleType) -> None:
    result = evaluator.evaluate(str(EXAMPLE / "initial.py"))
    assert "error" not in result
    assert result["validity"] == 1.0
    assert result["combined_score"] == pytest.approx(2.20763, abs=1e-5)  # the README's 2.2076
    assert result["sum_radii"] == result["combined_score"]
    assert result["target_ratio"] == pytest.approx(result["sum_radii"] / 2.635)
    assert "valid packing" in result["feedback"]

    spec = importlib.util.spec_from_file_location("circle_initial", EXAMPLE / "initial.py")
    assert spec is not None and spec.loader is not None
    program = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(program)
    centers, radii, total = program.run_packing()
    assert centers.shape == (26, 2)
    assert radii.shape == (26,)
    assert result["combined_score"] == pytest.approx(float(np.sum(radii)))
    assert result["combined_score"] == pytest.approx(total)


def test_sum_is_recomputed_not_trusted(evaluator: ModuleType, tmp_path: Path) -> None:
    result = evaluator.evaluate(grid_program(tmp_path))
    assert "error" not in result
    assert result["combined_score"] == pytest.approx(25 * 0.09 + 0.01)


def test_construct_packing_alone_is_accepted(evaluator: ModuleType, tmp_path: Path) -> None:
    path = tmp_path / "candidate.py"
    path.write_text(
        textwrap.dedent(
            """
            import numpy as np


            def construct_packing():
                xs = 0.1 + 0.2 * np.arange(5)
                centers = np.array([(x, y) for x in xs for y in xs] + [(0.2, 0.2)])
                return centers, np.array([0.1] * 25 + [0.0])
            """
        ),
        encoding="utf-8",
    )
    result = evaluator.evaluate(str(path))
    assert result["combined_score"] == pytest.approx(2.5)


@pytest.mark.parametrize(
    ("kwargs", "fragments"),
    [
        ({"radius": "0.1"}, ["overlap", "25"]),  # the extra circle touches four grid circles
        ({"body": "radii[12] = 0.15"}, ["overlap", "circles 7 and 12"]),
        ({"body": "centers[7] = (0.95, 0.5)"}, ["circle 7", "outside"]),
        ({"body": "centers[0] = (-0.2, 0.5)"}, ["circle 0", "outside"]),
        ({"body": "centers, radii = centers[:25], radii[:25]"}, ["26 circles", "(25, 2)"]),
        ({"body": "radii = radii[:25]"}, ["26 circles", "(25,)"]),
        ({"body": "centers[4, 1] = np.nan"}, ["circle 4", "not finite"]),
        ({"body": "radii[2] = np.nan"}, ["circle 2", "not finite"]),
        ({"body": "radii[5] = -0.01"}, ["circle 5", "negative"]),
        ({"body": "centers = 'abc'"}, ["numeric"]),
    ],
)
def test_invalid_packings_score_zero(
    evaluator: ModuleType, tmp_path: Path, kwargs: dict, fragments: list[str]
) -> None:
    result = evaluator.evaluate(grid_program(tmp_path, **kwargs))
    assert result["combined_score"] == 0.0
    assert result["validity"] == 0.0
    for fragment in fragments:
        assert fragment in result["error"]


def test_overlap_amount_is_reported(evaluator: ModuleType, tmp_path: Path) -> None:
    result = evaluator.evaluate(grid_program(tmp_path, body="radii[12] = 0.15"))
    # circle 12 (0.5, 0.5) and circle 7 (0.3, 0.5) are 0.2 apart: 0.15 + 0.09 - 0.2 = 0.04
    assert result["error"] == "circles 7 and 12 overlap by 0.04"


def test_touching_circles_within_tolerance_are_valid(evaluator: ModuleType, tmp_path: Path) -> None:
    result = evaluator.evaluate(grid_program(tmp_path, body="radii[:25] = 0.1 + 1e-12"))
    assert "error" not in result
    assert result["validity"] == 1.0


def test_wrong_return_type_gives_an_error(evaluator: ModuleType, tmp_path: Path) -> None:
    path = tmp_path / "candidate.py"
    path.write_text("def run_packing():\n    return 2.6\n", encoding="utf-8")
    result = evaluator.evaluate(str(path))
    assert result["combined_score"] == 0.0
    assert "run_packing()" in result["error"]


def test_hone_runs_the_trusted_form_and_the_candidate_cannot_forge_it(tmp_path: Path) -> None:
    import asyncio

    from hone.executors.local import ProcessPool
    from hone.settings import EvaluationConfig

    forger = (EXAMPLE / "initial.py").read_text() + textwrap.dedent(
        """
        import sys
        for module in list(sys.modules.values()):
            if hasattr(module, "check_packing"):
                module.check_packing = lambda c, r: (c, r * 0 + 1.0)
        """
    )

    async def go() -> list[float | None]:
        pool = ProcessPool(EXAMPLE / "evaluate.py", "initial.py", EvaluationConfig(workers=1))
        try:
            start = await pool.verify((EXAMPLE / "initial.py").read_text())
            forged = await pool.verify(forger)
            return [start.evaluation.score, forged.evaluation.score]
        finally:
            await pool.close()

    start, forged = asyncio.run(go())
    assert start == pytest.approx(2.2076, abs=1e-4)
    assert forged == start  # the patch ran in the candidate's process, not the evaluator's


def test_an_overlap_within_the_tolerance_passes_the_evaluator_and_fails_the_strict_check(
    evaluator: ModuleType, tmp_path: Path
) -> None:
    # circle 12 (0.5, 0.5) is 0.2 from its four neighbours of radius 0.09: 0.11 just touches
    # an overlap of 1e-9 (a hair less: the evaluator's floats round 0.11 + 1e-9 + 0.09 up)
    planted = grid_program(tmp_path, body="radii[12] = 0.11 + 0.99e-9")
    assert evaluator.evaluate(planted)["validity"] == 1.0  # tolerated
    assert evaluator.verify_strict(planted) == (
        False,
        "circles 7 and 12 overlap by more than 1e-12, exactly",
    )
    touching = grid_program(tmp_path, body="radii[12] = 0.11")  # up to rounding
    passed, reason = evaluator.verify_strict(touching)
    assert passed and "exact: overlaps within 1e-12" in reason
    outside = grid_program(tmp_path, body="radii[0] = 0.1 + 1e-10")  # out by 1e-10
    assert evaluator.evaluate(outside)["validity"] == 1.0
    assert evaluator.verify_strict(outside)[1] == (
        "circle 0 lies outside the unit square by more than 1e-12, exactly"
    )
    initial = evaluator.verify_strict(str(EXAMPLE / "initial.py"))
    assert initial == (True, "exact: overlaps within 1e-12; sum of radii 2.207629")


def test_hone_marks_a_best_that_fails_the_strict_check_not_verified(tmp_path: Path) -> None:
    import hone
    from hone.testing import ScriptedModel

    task = hone.Task.from_dir(EXAMPLE).configured(
        budget={"max_llm_calls": 1, "patience": None},
        search={"tune": False, "hypotheses_per_round": 1},
        evaluation={"workers": 1},
    )
    answer = (  # the EVOLVE-BLOCK: the grid, circle 12 overlapping its neighbours by 1e-9
        "```python\nimport numpy as np\n\n\ndef construct_packing():\n"
        "    xs = 0.1 + 0.2 * np.arange(5)\n"
        "    centers = np.array([(x, y) for x in xs for y in xs] + [(0.2, 0.2)])\n"
        "    radii = np.array([0.09] * 25 + [0.01])\n"
        "    radii[12] = 0.11 + 0.99e-9\n"
        "    return centers, radii\n```"
    )
    result = hone.run(task, model=ScriptedModel([answer]), run_dir=tmp_path / "run")
    start, grid = result.history
    assert grid.score == pytest.approx(24 * 0.09 + 0.11 + 0.01, abs=1e-6)  # beats the start
    assert (start.verified, grid.verified) == (True, False)
    assert result.best is not None and result.best.id == start.id  # the answer: the start
