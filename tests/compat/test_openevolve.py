"""OpenEvolve's evaluator contract: what `evaluate` may return, and the score each gets.

Each row holds what an OpenEvolve evaluator returns, hone's outcome (a score, or the status of
a failure), and OpenEvolve 0.4.0's own score of it. Where the two differ, hone reports a
failure with its reason where OpenEvolve stores a program scored 0 (docs/migrating.md).
`test_openevolve_scores_them_so` checks the last column against OpenEvolve itself when
HONE_OPENEVOLVE_PYTHON names a Python with openevolve 0.4.0 installed.
"""

from __future__ import annotations

import json
import os
import subprocess
import textwrap
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from hone.compat import EvaluationResult
from hone.compat.openevolve import call as call_stage
from hone.compat.openevolve import cascade, evaluator, fitness, install_stand_in, to_evaluation
from hone.evaluation import Evaluation

PEER = os.environ.get("HONE_OPENEVOLVE_PYTHON", "")
LONG = "x" * 30_000

# (what evaluate returns, as Python source; feature dimensions; hone: score or status;
#  OpenEvolve's score)
RETURNS: list[tuple[str, tuple[str, ...], float | str, float]] = [
    ("{'combined_score': 0.7, 'a': 0.1}", (), 0.7, 0.7),
    ("{'a': 1.0, 'b': 0.5}", (), 0.75, 0.75),  # no combined_score: the mean
    ("{'a': 1.0, 'error': 0.0}", (), 0.5, 0.5),  # a numeric error is a metric like any other
    ("{'a': 1.0, 'timeout': True}", (), 1.0, 1.0),  # booleans are flags, not scores
    ("{'a': 0.5, 'complexity': 100}", ("complexity",), 0.5, 0.5),  # features left out
    ("{'complexity': 100}", ("complexity",), 100.0, 100.0),  # ... unless nothing else is left
    ("{'combined_score': 'high', 'a': 0.2}", (), 0.2, 0.2),  # not a number: the mean
    ("{'combined_score': '0.9', 'a': 0.2}", (), 0.9, 0.9),  # float() of it works
    ("{'combined_score': True, 'a': 0.1}", (), 1.0, 1.0),
    ("{'combined_score': 3, 'note': 'a string is feedback'}", (), 3.0, 3.0),
    ("{'combined_score': 0.0, 'error': 'the tour is not closed'}", (), 0.0, 0.0),
    ("{'a': 2.0, 'artifacts': 'a key named artifacts is a metric'}", (), 2.0, 2.0),
    ("{'error': 'the program crashed'}", (), "error", 0.0),  # no number: no score
    ("{}", (), "invalid-output", 0.0),
    ("{'combined_score': float('nan')}", (), "invalid-output", float("nan")),
    ("EvaluationResult(metrics={'combined_score': 0.4}, artifacts={'log': 'ran 3 cases'})", (), 0.4, 0.4),
    ("EvaluationResult(metrics={'a': 0.2, 'b': 0.4}, artifacts={'raw': b'bytes', 'cases': [1, 2]})", (), 0.3, 0.3),
    ("0.5", (), "invalid-output", 0.0),  # OpenEvolve: {'error': 0.0}
    ("None", (), "invalid-output", 0.0),
    ("[0.5]", (), "invalid-output", 0.0),
]  # fmt: skip


def _value(source: str) -> Any:
    return eval(source, {"EvaluationResult": EvaluationResult})


def _coerce(value: Any, dimensions: tuple[str, ...] = ()) -> Evaluation:
    result = call_stage(lambda path: value, "program.py", 0.0, "evaluate()")
    return result if isinstance(result, Evaluation) else to_evaluation(result, dimensions)


@pytest.mark.parametrize(("source", "dimensions", "hone", "_peer"), RETURNS)
def test_each_return_value_gets_its_score(
    source: str, dimensions: tuple[str, ...], hone: float | str, _peer: float
) -> None:
    evaluation = _coerce(_value(source), dimensions)
    if isinstance(hone, str):
        assert evaluation.status == hone and not evaluation.ok
        assert evaluation.reason  # one sentence saying why
    else:
        assert evaluation.ok, evaluation.reason
        assert evaluation.score == pytest.approx(hone)


def test_feedback_holds_errors_strings_and_artifacts() -> None:
    scored = _coerce({"combined_score": 0.0, "error": "the tour is not closed", "n": 3})
    assert scored.ok and scored.score == 0.0  # a scored program whose feedback says why
    assert scored.metrics == {"n": 3.0}
    assert scored.feedback == "error: the tour is not closed"
    result = EvaluationResult(
        metrics={"combined_score": 0.4, "valid": True, "note": "fine"},
        artifacts={"log": "ran 3 cases", "raw": b"\xffbytes", "cases": [1, 2], "big": LONG},
    )
    evaluation = _coerce(result)
    assert evaluation.metrics == {"valid": 1.0}
    assert evaluation.feedback.startswith(
        "note: fine\nlog:\nran 3 cases\nraw:\n\ufffdbytes\ncases:\n[1, 2]\nbig:\nxxx"
    )
    assert evaluation.feedback.endswith("x\n... (truncated)")  # each artifact is capped
    assert len(evaluation.feedback) < 21_000
    duck = SimpleNamespace(metrics={"combined_score": 0.25}, artifacts={"why": "duck-typed"})
    assert _coerce(duck).score == 0.25 and _coerce(duck).feedback == "why:\nduck-typed"


def test_numpy_numbers_are_scores_and_an_int_no_float_holds_is_no_score() -> None:
    import numpy as np

    scored = _coerce({"combined_score": np.float32(0.5), "n": np.int64(3)})
    assert scored.ok and scored.score == 0.5 and scored.metrics == {"n": 3.0}
    assert _coerce({"a": np.float32(1.0), "b": np.float32(2.0)}).score == 1.5  # the mean
    huge = _coerce({"combined_score": 10**400, "a": 1.0})
    assert huge.status == "invalid-output" and "not a finite number" in huge.reason
    assert "Traceback" not in huge.reason and ".py" not in huge.reason


def test_async_evaluate_is_awaited() -> None:
    async def evaluate(path: str) -> dict[str, float]:
        return {"combined_score": 0.125}

    result = call_stage(evaluate, "program.py", 0.0, "evaluate()")
    assert not isinstance(result, Evaluation) and fitness(result.metrics) == 0.125


def test_exceptions_and_timeouts_are_failures_with_their_reason() -> None:
    def broken(path: str) -> dict[str, float]:
        raise ValueError("bad input")

    def hangs(path: str) -> dict[str, float]:
        while True:
            pass

    failed = call_stage(broken, "program.py", 0.0, "evaluate()")
    assert isinstance(failed, Evaluation) and failed.status == "error"
    assert failed.reason.startswith("evaluate() raised ValueError: bad input")
    slow = call_stage(hangs, "program.py", 0.2, "evaluate_stage1")
    assert isinstance(slow, Evaluation) and slow.status == "timeout"
    assert slow.reason == "evaluate_stage1 did not finish within 0.2 s"


class Stages:
    """Cascade stages returning prepared results, recording which ran."""

    def __init__(self, *results: object) -> None:
        self.results = results
        self.ran: list[int] = []

    def stages(self) -> list[Any]:
        def stage(number: int) -> Any:
            def run(path: str) -> object:
                self.ran.append(number)
                result = self.results[number - 1]
                if isinstance(result, BaseException):
                    raise result
                if result == "hang":
                    while True:
                        pass
                return result

            return run

        return [stage(n) for n in range(1, len(self.results) + 1)]


def test_stages_are_merged_and_a_failing_stage_keeps_the_earlier_results() -> None:
    """The case checked against OpenEvolve 0.4.0: stage 3 raises."""
    stages = Stages(
        {"combined_score": 0.6, "flag": True, "note": "x", "error": 0.5},
        {"combined_score": 0.7, "extra": 3},
        RuntimeError("stage 3 broke"),
    )
    evaluation = cascade(stages.stages(), "p.py", (0.5, 0.6), ())
    assert stages.ran == [1, 2, 3]
    assert evaluation.ok and evaluation.score == 0.7
    assert evaluation.metrics == {"flag": 1.0, "extra": 3.0, "stage3_passed": 0.0}
    assert "stage 3 failed (error): evaluate_stage3 raised RuntimeError: stage 3 broke" in (
        evaluation.feedback
    )


def test_a_stage_timeout_keeps_the_earlier_stages() -> None:
    stages = Stages({"a": 1.0}, "hang")
    evaluation = cascade(stages.stages(), "p.py", (0.5,), (), seconds=0.3)
    assert evaluation.ok
    assert evaluation.score == 0.5  # mean of a and stage2_passed; timeout is a flag
    assert evaluation.metrics == {"a": 1.0, "stage2_passed": 0.0, "timeout": 1.0}
    assert "stage 2 failed (timeout): evaluate_stage2 did not finish within 0.3 s" in (
        evaluation.feedback
    )


@pytest.mark.parametrize(
    ("thresholds", "ran", "score", "note"),
    [
        ((0.5, 0.75, 0.9), [1, 2, 3], 0.9, ""),  # OpenEvolve's defaults: all three pass
        ((0.5,), [1, 2], 0.8, ""),  # one threshold: stage 3 never runs
        ((0.95,), [1], 0.6, "stopped after stage 1"),  # stage 1's result, as it is
        ((0.5, 0.85), [1, 2], 0.8, "stopped after stage 2"),  # merged, below the second
        ((), [1, 2, 3], 0.9, ""),  # hone runs every stage (OpenEvolve fails every program)
    ],
)
def test_thresholds_decide_which_stages_run(
    thresholds: tuple[float, ...], ran: list[int], score: float, note: str
) -> None:
    stages = Stages({"combined_score": 0.6}, {"combined_score": 0.8}, {"combined_score": 0.9})
    evaluation = cascade(stages.stages(), "p.py", thresholds, ())
    assert stages.ran == ran and evaluation.score == score
    assert evaluation.feedback.startswith(note) and bool(evaluation.feedback) == bool(note)


def test_stage_one_failing_fails_the_program() -> None:
    stages = Stages(ValueError("no"), {"combined_score": 1.0})
    evaluation = cascade(stages.stages(), "p.py", (0.5,), ())
    assert evaluation.status == "error" and stages.ran == [1]


def test_evaluate_is_not_called_when_stages_exist(tmp_path: Path) -> None:
    module = SimpleNamespace(
        evaluate_stage1=lambda path: {"combined_score": 0.25},
        evaluate=lambda path: pytest.fail("evaluate() was called"),
    )
    run = evaluator(module, {"thresholds": [0.5]})  # type: ignore[arg-type]
    assert run("p.py").score == 0.25
    plain = evaluator(module, {"cascade": False})  # type: ignore[arg-type]
    with pytest.raises(pytest.fail.Exception):
        plain("p.py")


def test_the_stand_in_module_imports_without_openevolve() -> None:
    install_stand_in()
    from openevolve.evaluation_result import EvaluationResult as Imported

    assert Imported is EvaluationResult or Imported.__module__.startswith("openevolve")
    result = EvaluationResult.from_dict({"combined_score": 1.0})
    assert result.to_dict() == {"combined_score": 1.0} and not result.has_artifacts()
    result.artifacts = {"text": "é", "raw": b"abc", "other": [1]}
    assert result.get_artifact_keys() == ["text", "raw", "other"]
    assert result.get_artifact_size("text") == 2 and result.get_total_artifact_size() == 8


_PEER_SCRIPT = textwrap.dedent(
    """
    import json, math, sys
    from openevolve.evaluation_result import EvaluationResult
    from openevolve.evaluator import Evaluator
    from openevolve.utils.metrics_utils import get_fitness_score

    cases = json.loads(sys.argv[1])
    scores = []
    for source, dimensions in cases:
        result = Evaluator._process_evaluation_result(None, eval(source))
        score = get_fitness_score(result.metrics, dimensions)
        scores.append("nan" if math.isnan(score) else score)
    print(json.dumps(scores))
    """
)


@pytest.mark.skipif(not PEER, reason="HONE_OPENEVOLVE_PYTHON names no Python with openevolve")
def test_openevolve_scores_them_so() -> None:
    cases = [(source, list(dims)) for source, dims, _, _ in RETURNS]
    done = subprocess.run(
        [PEER, "-c", _PEER_SCRIPT, json.dumps(cases)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    scores = json.loads(done.stdout.strip().splitlines()[-1])
    for (source, _, _, expected), got in zip(RETURNS, scores, strict=True):
        if got == "nan":
            assert expected != expected, source
        else:
            assert got == pytest.approx(expected), source


_PEER_CASCADE = textwrap.dedent(
    """
    import asyncio, json, os, sys, tempfile
    from openevolve.config import EvaluatorConfig
    from openevolve.evaluator import Evaluator
    from openevolve.utils.metrics_utils import get_fitness_score

    stages, thresholds = json.loads(sys.argv[1])
    lines = ["import time", "def evaluate(path):", "    raise RuntimeError('not called')"]
    for number, source in enumerate(stages, 1):
        body = "time.sleep(3)" if source == "hang" else f"return {source}"
        if source.startswith("raise"):
            body = source
        lines += [f"def evaluate_stage{number}(path):", f"    {body}"]
    folder = tempfile.mkdtemp()
    path = os.path.join(folder, "evaluator.py")
    open(path, "w").write("\\n".join(lines) + "\\n")
    config = EvaluatorConfig(timeout=1, cascade_thresholds=thresholds, max_retries=0)
    metrics = asyncio.run(Evaluator(config, path).evaluate_program("x = 1\\n", "p"))
    print(json.dumps({"metrics": metrics, "score": get_fitness_score(metrics, [])}))
    """
)
CASCADES: list[tuple[list[str], list[float]]] = [
    (["{'combined_score': 0.6, 'flag': True, 'note': 'x', 'error': 0.5}",
      "{'combined_score': 0.7, 'extra': 3}", "raise RuntimeError('stage 3 broke')"], [0.5, 0.6]),
    (["{'a': 1.0}", "hang"], [0.5]),
    (["{'combined_score': 0.6}", "{'combined_score': 0.8}", "{'combined_score': 0.9}"], [0.5]),
    (["{'combined_score': 0.6}", "{'combined_score': 0.8}", "{'combined_score': 0.9}"], [0.95]),
    (["{'combined_score': 0.6}", "{'combined_score': 0.8}", "{'combined_score': 0.9}"], [0.5, 0.85]),
    (["{'combined_score': 0.6}", "{'combined_score': 0.8}", "{'combined_score': 0.9}"], [0.5, 0.75, 0.9]),
]  # fmt: skip


def _hone_cascade(sources: list[str], thresholds: list[float]) -> Evaluation:
    def stage(source: str) -> Any:
        def run(path: str) -> object:
            if source == "hang":
                while True:
                    pass
            if source.startswith("raise"):
                raise RuntimeError("stage broke")
            return eval(source)

        return run

    return cascade([stage(s) for s in sources], "p.py", thresholds, (), seconds=0.5)


@pytest.mark.skipif(not PEER, reason="HONE_OPENEVOLVE_PYTHON names no Python with openevolve")
@pytest.mark.parametrize(("sources", "thresholds"), CASCADES)
def test_cascades_score_as_in_openevolve(sources: list[str], thresholds: list[float]) -> None:
    done = subprocess.run(
        [PEER, "-c", _PEER_CASCADE, json.dumps([sources, thresholds])],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    peer = json.loads(done.stdout.strip().splitlines()[-1])
    mine = _hone_cascade(sources, thresholds)
    assert mine.ok and mine.score == pytest.approx(peer["score"])
    numbers = {k: float(v) for k, v in peer["metrics"].items() if isinstance(v, int | float)}
    numbers.pop("combined_score", None)
    numbers.pop("error", None)  # a numeric error stays a metric in both; dropped when merged
    assert {k: v for k, v in mine.metrics.items() if k != "error"} == numbers
