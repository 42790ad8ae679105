import math

import pytest

from hone.evaluation import Evaluation, coerce_result


def test_float_becomes_score() -> None:
    assert coerce_result(2.5) == Evaluation(score=2.5)


def test_openevolve_dict_uses_combined_score_and_keeps_metrics() -> None:
    ev = coerce_result({"combined_score": 0.7, "score": 0.1, "validity": 1, "note": "x"})
    assert ev.ok and ev.score == 0.7
    assert ev.metrics == {"score": 0.1, "validity": 1.0}


def test_dict_with_score_key_and_feedback() -> None:
    ev = coerce_result({"score": 3, "feedback": "fine"})
    assert ev.score == 3.0 and ev.feedback == "fine"


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_non_finite_scores_fail(value: float) -> None:
    for returned in (value, {"combined_score": value}, Evaluation(score=value)):
        ev = coerce_result(returned)
        assert ev.status == "invalid-output" and not ev.ok
        assert "finite" in ev.reason or repr(value) in ev.reason


@pytest.mark.parametrize("value", [None, "3.0", [1.0], True])
def test_wrong_types_fail_with_reason(value: object) -> None:
    ev = coerce_result(value)
    assert ev.status == "invalid-output"
    assert ev.reason


def test_dict_without_score_names_its_keys() -> None:
    ev = coerce_result({"accuracy": 0.5})
    assert ev.status == "invalid-output"
    assert "accuracy" in ev.reason and "combined_score" in ev.reason


def test_dict_error_key_is_a_failure() -> None:
    ev = coerce_result({"combined_score": 0.0, "error": "circles 1 and 2 overlap"})
    assert ev.status == "error" and ev.reason == "circles 1 and 2 overlap" and not ev.ok


def test_json_round_trip() -> None:
    ev = Evaluation(score=1.5, metrics={"a": 2.0}, feedback="f", seconds=0.1, cpu_seconds=0.05)
    assert Evaluation.from_json(ev.to_json()) == ev


def test_load_program_gives_each_candidate_a_fresh_module(tmp_path) -> None:
    import sys

    from hone.evaluation import load_program

    path = tmp_path / "program.py"
    path.write_text("COUNT = []\ndef f():\n    COUNT.append(1)\n    return len(COUNT)\n")
    first, second = load_program(path), load_program(str(path))
    assert first.f() == 1 and first.f() == 2 and second.f() == 1  # no shared state
    assert first.__name__ != second.__name__ and first.__name__ not in sys.modules
    path.write_text("def f(:\n")
    with pytest.raises(SyntaxError):
        load_program(path)
