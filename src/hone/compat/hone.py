"""hone's own evaluator contract (`[evaluation] contract = "hone"`, docs/tasks.md).

evaluate.py defines one of

* ``evaluate(program_path)``: it runs confined, in the candidate's process (untrusted);
* ``evaluate_program(program)``: it runs unconfined and the candidate in a confined process of
  its own (`hone.sandbox.program.Program`), so the candidate cannot touch its result (trusted);

and may define cascade stages ``evaluate_stage1``, ``evaluate_stage2``, ... before it: a
candidate goes on to stage i + 1 only when its score at stage i reaches ``thresholds[i]`` in the
objective's direction. Stages take a program path, so a cascade runs untrusted. What each
function returns becomes an Evaluation by `hone.evaluation.coerce_result`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from hone.compat import Loaded, import_evaluator
from hone.evaluation import Evaluation, coerce_result
from hone.objective import Objective, reaches


def load(path: str, settings: Mapping[str, Any]) -> Loaded:
    """The evaluator at `path`, with the worker's settings (cascade, thresholds, objective)."""
    module = import_evaluator(path)
    thresholds: list[float] = settings.get("thresholds", [])
    objective: Objective = settings.get("objective", "maximize")
    stages: list[Callable[[Any], object]] = []
    while settings.get("cascade", True) and callable(
        stage := getattr(module, f"evaluate_stage{len(stages) + 1}", None)
    ):
        stages.append(stage)
    name = next(
        (n for n in ("evaluate_program", "evaluate") if callable(getattr(module, n, None))), None
    )
    final: Callable[[Any], object] | None = getattr(module, name) if name else None
    if stages:
        if len(thresholds) < len(stages) - (final is None):
            raise ImportError(
                f"it has {len(stages)} cascade stages but [evaluation] cascade_thresholds "
                f"lists {len(thresholds)} thresholds; give one per stage that can stop a candidate"
            )
        return Loaded(cascade([*stages, *([final] if final else [])], thresholds, objective))
    if final is None:
        raise ImportError("it defines no callable 'evaluate' or 'evaluate_program'")
    return Loaded(final, trusted=name == "evaluate_program")


def cascade(
    stages: Sequence[Callable[[Any], object]], thresholds: Sequence[float], objective: Objective
) -> Callable[[Any], Evaluation]:
    """An evaluator that runs `stages` in order (each returning what `coerce_result` takes) and
    stops a candidate whose score at stage i misses `thresholds[i]`; metrics are merged and
    `stages_passed` counts the stages it got through."""

    def evaluate(program: Any) -> Evaluation:
        metrics: dict[str, float] = {}
        result = Evaluation()
        for number, stage in enumerate(stages, 1):
            result = coerce_result(stage(program))
            metrics.update(result.metrics)
            metrics["stages_passed"] = float(number - 1)
            if not result.ok:
                return dataclasses.replace(result, metrics=metrics)
            if number > len(thresholds) or number == len(stages):
                continue
            threshold, score = thresholds[number - 1], result.score or 0.0
            if not reaches(objective, score, threshold):
                note = f"stopped after stage {number}: score {score:g} misses its threshold {threshold:g}"
                feedback = f"{result.feedback}\n{note}".strip()
                return dataclasses.replace(result, metrics=metrics, feedback=feedback)
        metrics["stages_passed"] = float(len(stages))
        return dataclasses.replace(result, metrics=metrics)

    return evaluate
