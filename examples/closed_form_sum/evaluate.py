"""Evaluator: `answer()` must return a closed form of S(n) = 1**3 + 2**3 + ... + n**3.

The answer is a string that `hone.verifiers.math` parses without running it as Python (only
numbers, `n`, arithmetic and a list of functions are allowed). It is compared with SymPy's own
closed form of the sum: equal when the difference simplifies to 0, or else when they agree at
every n = 1, ..., 20 to 50 digits. A wrong answer gets the verifier's partial score (1 for each n
where it agrees, up to 0.99 where it is close, rising as the values approach, averaged),
feedback naming values of n where it is wrong, with both values, and the residuals (the relative
error at each n) that parameter tuning fits a formula's coefficients to.
"""

from __future__ import annotations

import dataclasses
import random
import sys
from pathlib import Path

import sympy

from hone import Evaluation
from hone.evaluation import load_program
from hone.verifiers.math import check_equal

n = sympy.Symbol("n", integer=True, positive=True)
k = sympy.Symbol("k", integer=True, positive=True)
REFERENCE = sympy.summation(k**3, (k, 1, n))  # n**4/4 + n**3/2 + n**2/4
DOMAIN = {"n": (1, 20)}


def evaluate(program_path: str) -> Evaluation:
    module = load_program(program_path)
    answer = getattr(module, "answer", None)
    if not callable(answer):
        return Evaluation.failed("error", "the program defines no answer() function")
    text = answer()
    if not isinstance(text, str):
        return Evaluation.failed(
            "invalid-output",
            f'answer() must return a string such as "n**2 + 1", not a {type(text).__name__}',
        )
    result = check_equal(text, REFERENCE, [n], domain=DOMAIN, rng=random.Random(0))
    shown = text if len(text) <= 200 else text[:197] + "..."
    if not result.ok:
        return dataclasses.replace(result, reason=f"answer() = {shown!r}: {result.reason}")
    return dataclasses.replace(result, feedback=f"answer() = {shown!r}: {result.feedback}")


if __name__ == "__main__":
    import time

    path = sys.argv[1] if len(sys.argv) > 1 else str(Path(__file__).resolve().parent / "initial.py")
    start = time.perf_counter()
    print(evaluate(path))
    print(f"{time.perf_counter() - start:.3f} s")
