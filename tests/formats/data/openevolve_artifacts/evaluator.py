"""Scores parse_duration on known cases; what went wrong goes back to the model as artifacts
(text, bytes and a list). A program that cannot be imported is scored 0 with an error."""

import importlib.util
import traceback

from openevolve.evaluation_result import EvaluationResult

CASES = [("45s", 45), ("2m", 120), ("1m30s", 90), ("1h", 3600), ("1h2m3s", 3723), ("10h", 36000)]


def evaluate(program_path):
    try:
        spec = importlib.util.spec_from_file_location("candidate", program_path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    except Exception as exc:
        return EvaluationResult(
            metrics={"combined_score": 0.0, "error": f"the program does not import: {exc}"},
            artifacts={"traceback": traceback.format_exc()},
        )
    failures = []
    for text, expected in CASES:
        try:
            got = module.parse_duration(text)
        except Exception as exc:
            got = f"raised {type(exc).__name__}: {exc}"
        if got != expected:
            failures.append(f"parse_duration({text!r}) = {got!r}, expected {expected}")
    passed = len(CASES) - len(failures)
    return EvaluationResult(
        metrics={"combined_score": passed / len(CASES), "passed": passed},
        artifacts={
            "failures": "\n".join(failures) or "none",
            "first_case": f"{CASES[0][0]} -> {CASES[0][1]}".encode(),
            "failed_inputs": [
                text for text, _ in CASES if any(f"({text!r})" in f for f in failures)
            ],
        },
    )
