"""kill -9 at random moments, then resume: nothing lost, nothing paid or evaluated twice,
no candidate left running (benchmarks/kill_resume.py runs 50 of these)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.faults.kill import case

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("seed", [9, 10, 11, 12])
def test_kill_9_then_resume(tmp_path: Path, seed: int) -> None:
    outcome = case(tmp_path, seed)
    assert outcome.evaluated_before >= 1, outcome  # killed while it ran
    assert outcome.daemons_before >= 1, outcome  # candidates were running when it died
    assert outcome.survivors == 0, outcome  # and died with it
    assert not outcome.resume_failed, outcome
    assert outcome.lost == outcome.evaluated_twice == outcome.paid_twice == 0, outcome
    assert outcome.unclaimed == outcome.pending == 0, outcome
    assert outcome.evaluated_after > outcome.evaluated_before, outcome


@pytest.mark.parametrize("seed", [13, 14])
def test_kill_9_during_tuning_then_resume_gives_the_rest_to_the_same_program(
    tmp_path: Path, seed: int
) -> None:
    outcome = case(tmp_path, seed, "tuning")
    assert outcome.stages_cut == 1, outcome  # killed in the middle of a stage
    assert outcome.stages_split == 0, outcome  # its remaining trials went to its program
    assert outcome.survivors == 0 and not outcome.resume_failed, outcome
    assert outcome.lost == outcome.evaluated_twice == outcome.paid_twice == 0, outcome
    assert outcome.unclaimed == outcome.pending == 0, outcome


def test_kill_9_during_the_first_model_assembly(tmp_path: Path) -> None:
    outcome = case(tmp_path, 4, "assembly")
    assert outcome.parts_after_kill == 1, outcome  # killed while the model's file grew
    assert outcome.parts_left == outcome.model_bad == 0, outcome  # the next start cleans up
    assert outcome.survivors == 0 and not outcome.resume_failed, outcome
    assert outcome.lost == outcome.evaluated_twice == outcome.paid_twice == 0, outcome
    assert outcome.evaluated_after > outcome.evaluated_before, outcome
