import math

import numpy as np
import pytest

from hone.evaluation import MAX_RESIDUALS, MAX_TEXT, Evaluation, checked, coerce_result


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
    fitted = Evaluation(score=0.9, residuals=(0.25, -0.5))
    assert Evaluation.from_json(fitted.to_json()) == fitted


def test_residuals_are_kept_as_floats_or_dropped_with_a_note() -> None:
    """An evaluator's residuals (numpy's too) become Python floats; residuals that are not
    all finite numbers, or too many, are dropped, the feedback saying why, the score kept."""
    kept = checked(Evaluation(score=0.5, residuals=np.array([0.25, -1.0])))  # type: ignore[arg-type]
    assert kept.residuals == (0.25, -1.0) and all(type(r) is float for r in kept.residuals)
    for given, said in [
        ([0.1, math.nan], "nan is not a finite number"),
        ("0.1 0.2", "a sequence of numbers, not '0.1 0.2'"),
        (iter([0.0] * (MAX_RESIDUALS + 1)), f"more than the {MAX_RESIDUALS} hone keeps"),
    ]:
        dropped = checked(Evaluation(score=0.5, residuals=given))  # type: ignore[arg-type]
        assert dropped.ok and dropped.score == 0.5 and dropped.residuals == ()
        assert dropped.feedback == f"[residuals dropped: {said}]"


def test_numpy_numbers_are_numbers() -> None:
    assert coerce_result(np.float32(0.5)) == Evaluation(score=0.5)
    ev = coerce_result({"combined_score": np.float32(2.0), "count": np.int64(3), "on": np.bool_(1)})
    assert ev.ok and ev.score == 2.0 and ev.metrics == {"count": 3.0}  # a bool is no metric
    assert all(type(v) is float for v in ev.metrics.values())
    assert coerce_result(Evaluation(score=np.float64(1.5), metrics={"n": np.int32(2)})).metrics == {
        "n": 2.0
    }
    assert coerce_result(np.array(4.0)).score == 4.0  # a 0-dimensional array


def test_an_int_too_large_for_a_float_is_invalid_output_with_a_clean_reason() -> None:
    for returned, start in (
        (10**400, "the evaluator returned an integer of 401 digits"),
        ({"combined_score": 10**400}, "the evaluator's 'combined_score' is an integer of 401"),
    ):
        ev = coerce_result(returned)
        assert ev.status == "invalid-output" and ev.reason.startswith(start), ev.reason
        assert "too large for a float" in ev.reason and ".py" not in ev.reason
    kept = coerce_result({"score": 1.0, "huge": -(10**400)})  # a metric: dropped, and said
    assert kept.ok and "huge" not in kept.metrics
    assert (
        "[metric 'huge' dropped: an integer of 401 digits, too large for a float]" in kept.feedback
    )


def test_text_that_is_no_utf8_becomes_valid_text() -> None:
    odd = b"caf\xe9".decode("utf-8", "surrogateescape")
    ev = coerce_result({"score": 1.0, "feedback": odd, odd: 2.0})
    assert ev.feedback == "caf\ufffd" and ev.metrics == {"caf\ufffd": 2.0}
    ev.feedback.encode("utf-8")  # what SQLite does with it
    failed = coerce_result({"score": 1.0, "error": b"bad \xff"})
    assert failed.status == "error" and failed.reason == "bad \ufffd"


def test_what_comes_over_the_wire_is_checked() -> None:
    wire = {
        "score": "high",
        "metrics": {"a": 1, "b": "x", "c": float("inf")},
        "feedback": "\ud800" + "x" * (MAX_TEXT * 2),
        "status": "ok",
        "seconds": "soon",
    }
    ev = Evaluation.from_json(wire)
    assert ev.status == "invalid-output" and "'high', not a finite number" in ev.reason
    assert ev.metrics == {"a": 1.0, "c": math.inf}  # non-finite metrics are kept: shown as inf
    assert ev.feedback.startswith("\ufffd") and len(ev.feedback) <= MAX_TEXT
    assert ev.seconds == 0.0
    assert checked(checked(ev)) == checked(ev)  # checking again changes nothing


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
