"""Scores an approximation of sin on [0, pi]: two metrics, no combined_score, so the score is
their mean (OpenEvolve's rule)."""

import importlib.util
import math


def _load(program_path):
    spec = importlib.util.spec_from_file_location("candidate", program_path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def evaluate(program_path):
    approximate = _load(program_path).approximate
    xs = [math.pi * i / 100 for i in range(101)]
    errors = [abs(approximate(x) - math.sin(x)) for x in xs]
    return {
        "accuracy": 1.0 / (1.0 + 10.0 * max(errors)),
        "smoothness": 1.0 / (1.0 + 100.0 * sum(e * e for e in errors) / len(errors)),
        "points": len(xs),  # a feature dimension in config.yaml: not part of the score
        "checked": True,  # booleans are flags, not scores
    }
