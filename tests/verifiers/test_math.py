"""hone.verifiers.math: equalities, solutions and bounds, with feedback the model can act on."""

from __future__ import annotations

import itertools
import math
import random
import re
from fractions import Fraction
from pathlib import Path

import pytest
import sympy

from hone.evaluation import Evaluation
from hone.verifiers.math import (
    ExpressionError,
    check_bound,
    check_equal,
    check_solution,
    parse_expression,
)

N = sympy.Symbol("n", integer=True, positive=True)
K = sympy.Symbol("k", integer=True, positive=True)
SUM_OF_CUBES = sympy.summation(K**3, (K, 1, N))  # n**4/4 + n**3/2 + n**2/4
X = sympy.Symbol("x", real=True)


# Parsing.


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("n^2(n+1)^2/4", N**2 * (N + 1) ** 2 / 4),
        ("2n + 1", 2 * N + 1),
        ("0.25*n**4", sympy.Rational(1, 4) * N**4),  # decimals are exact
        ("sqrt(n) ln(n)", sympy.sqrt(N) * sympy.log(N)),
        ("binomial(n + 1, 2)", sympy.binomial(N + 1, 2)),
        ("  e^n + pi ", sympy.exp(N) + sympy.pi),
    ],
)
def test_parse_expression_reads_common_notations(text: str, expected: sympy.Expr) -> None:
    assert sympy.simplify(parse_expression(text, [N]) - expected) == 0


def test_parse_expression_uses_the_given_symbols() -> None:
    parsed = parse_expression("n + 1", [N])
    assert parsed.free_symbols == {N}
    assert parse_expression("x", ["x"]).free_symbols == {sympy.Symbol("x", real=True)}


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("__import__('os').system('true')", "unknown name '__import__'"),
        ("n.__class__", "'.' is not allowed"),
        ("lambda: 1", "unknown name 'lambda'"),
        ("[n, 1]", "'[' is not allowed"),
        ("'n'", "is not allowed"),
        ("n if n else 1", "unknown name 'if'"),
        ("n = 1", "is an equation"),
        ("m + 1", "unknown name 'm'"),
        ("((n + 1)", "unbalanced parentheses"),
        ("n + 1)", "unbalanced parentheses"),
        ("n,", "not an expression"),
        ("", "empty"),
        ("n\n+1", "plain ASCII"),
        ("n × 2", "plain ASCII"),
        ("0x1f", "unsupported number"),
        ("9**9**9**9", "exponent"),
        ("(10**100)**100", "exceeds"),
        ("1e100000", "exceeds"),
        ("factorial(10**6)", "factorial of a number above"),
        ("gamma(100000)", "gamma of a number above"),
        ("(" * 40 + "n" + ")" * 40, "nested"),
        ("n + " * 1000 + "n", "characters long"),
    ],
)
def test_parse_expression_refuses_unsafe_or_malformed_text(text: str, fragment: str) -> None:
    with pytest.raises(ExpressionError, match=re.escape(fragment)):
        parse_expression(text, [N])


def test_parse_expression_never_runs_python(tmp_path: Path) -> None:
    target = tmp_path / "pwned"
    for text in (
        f"__import__('os').mkdir('{target}')",
        f"exp.__globals__['__builtins__']['__import__']('os').mkdir('{target}')",
        f"Symbol('x').__class__.__init__.__globals__['os'].mkdir('{target}')",
    ):
        with pytest.raises(ExpressionError):
            parse_expression(text, [N])
    assert not target.exists()


# Equality.


@pytest.mark.parametrize(
    "candidate",
    ["(n*(n+1)/2)^2", "n^4/4 + n^3/2 + n^2/4", "binomial(n + 1, 2)**2", "0.25n^2(n+1)^2"],
)
def test_check_equal_accepts_equal_forms_symbolically(candidate: str) -> None:
    result = check_equal(candidate, SUM_OF_CUBES, [N])
    assert result.score == 1.0
    assert result.metrics["symbolic"] == 1.0
    assert "simplifies to 0" in result.feedback


def test_check_equal_falls_back_to_numbers_when_sympy_is_inconclusive() -> None:
    # atan(x) + atan(1/x) = pi/2 for x > 0, which simplify() does not show for real x.
    result = check_equal("atan(x) + atan(1/x)", "pi/2", ["x"], domain={"x": (0.1, 10)})
    assert result.score == 1.0
    assert result.metrics["symbolic"] == 0.0
    assert result.metrics["points"] == 24.0
    assert "equal at all 24 sample points" in result.feedback


def test_check_equal_names_a_counter_example_with_both_values() -> None:
    result = check_equal("n**3", SUM_OF_CUBES, [N])
    assert result.ok
    assert result.score is not None and result.score < 1.0
    # n = 1 agrees (1 = 1); n = 2 is the simplest point where they differ: 8 vs 1 + 8 = 9.
    assert "at n = 2 the candidate is 8 but the reference is 9" in result.feedback
    assert "agree at 1 of 20 sample points" in result.feedback
    assert result.metrics["agreement"] == pytest.approx(1 / 20)


def test_check_equal_reports_the_relative_errors_as_residuals() -> None:
    """(candidate - reference) / max(|reference|, 1) at each sample point, signed, in the
    order of the points (the same every time): what a least-squares fit of a formula's
    numbers minimises. None for an exact answer, nor where the candidate is complex."""
    result = check_equal("n**4/4 + n**3/2", SUM_OF_CUBES, [N], domain={"n": (1, 20)})
    assert len(result.residuals) == 20 and result.residuals[:2] == (-0.25, -1 / 9)
    truth = {n: (n * (n + 1) // 2) ** 2 for n in range(1, 21)}
    expected = sorted((n**4 / 4 + n**3 / 2 - s) / s for n, s in truth.items())
    assert sorted(result.residuals) == pytest.approx(expected, rel=1e-12)
    assert check_equal("n**2*(n+1)**2/4", SUM_OF_CUBES, [N]).residuals == ()
    assert check_equal("sqrt(n - 5)", SUM_OF_CUBES, [N], domain={"n": (1, 20)}).residuals == ()


def test_check_equal_counter_example_outside_the_domain_where_they_agree() -> None:
    result = check_equal("atan(x) + atan(1/x)", "pi/2", ["x"], domain={"x": (-10, 10)})
    assert result.score is not None and 0.0 < result.score < 1.0
    match = re.search(
        r"at x = (\S+) the candidate is (\S+) but the reference is (\S+);", result.feedback
    )
    assert match is not None, result.feedback
    assert float(match.group(1)) < 0  # the identity fails only for negative x
    assert float(match.group(2)) == pytest.approx(-math.pi / 2, rel=1e-9)
    assert float(match.group(3)) == pytest.approx(math.pi / 2, rel=1e-9)


def test_check_equal_partial_scores_rank_closer_candidates_higher() -> None:
    scores = {c: check_equal(c, SUM_OF_CUBES, [N]).score for c in ("n**4/4", "n**3", "7")}
    assert all(s is not None and 0.0 <= s < 1.0 for s in scores.values())
    assert scores["n**4/4"] > scores["n**3"] > scores["7"]


def test_check_equal_never_reaches_one_for_an_almost_right_answer() -> None:
    result = check_equal("(n*(n+1)/2)^2 + 1/10**20", SUM_OF_CUBES, [N])
    assert result.score is not None and 0.98 < result.score < 1.0  # close everywhere, yet wrong
    assert result.metrics["agreement"] == 0.0


def test_check_equal_ranks_values_closer_everywhere_above_an_exact_point() -> None:
    """The partial score has no jump worth speaking of at a point where an answer happens to be
    exact: n**4/4 + 0.375 n**3 + 0.375 n**2 (exact at n = 1 only) ranks below
    n**4/4 + n**3/2 + n**2/2 (off by n**2/4 everywhere, far closer for large n)."""
    exact_at_one = check_equal("n**4/4 + 0.375*n**3 + 0.375*n**2", SUM_OF_CUBES, [N])
    closer = check_equal("n**4/4 + n**3/2 + n**2/2", SUM_OF_CUBES, [N])
    assert exact_at_one.metrics["agreement"] == pytest.approx(1 / 20)
    assert closer.metrics["agreement"] == 0.0
    assert exact_at_one.score is not None and closer.score is not None
    assert exact_at_one.score < closer.score < 1.0


def test_check_equal_rises_continuously_to_one_as_a_coefficient_approaches_the_truth() -> None:
    """n**4/4 + n**3/2 + c n**2 for c -> 1/4 from either side: the score rises at every step,
    stays below 1, gains almost nothing at the last steps, and is 1.0 at c = 1/4 exactly."""
    steps = [Fraction(1, 4) + Fraction(sign, 2**k) for sign in (1, -1) for k in range(2, 12)]
    scores = [
        check_equal(f"n**4/4 + n**3/2 + ({c})*n**2", SUM_OF_CUBES, [N]).score or 0.0 for c in steps
    ]
    for half in (scores[:10], scores[10:]):
        assert all(s is not None and s < 1.0 for s in half)
        rises = [b - a for a, b in itertools.pairwise(half)]
        assert all(r > 0 for r in rises)
        assert rises[-1] < 0.001  # continuous: the last steps gain almost nothing
    assert check_equal("n**4/4 + n**3/2 + (1/4)*n**2", SUM_OF_CUBES, [N]).score == 1.0


def test_check_equal_is_reproducible_with_an_injected_rng() -> None:
    def run(seed: int) -> Evaluation:
        return check_equal("sqrt(x^2)", "x", ["x"], rng=random.Random(seed))

    assert run(3) == run(3)
    assert run(3).feedback != run(4).feedback  # other random points
    assert run(3).score is not None and run(3).score < 1.0


def test_check_equal_accepts_numbers_and_sympy_objects() -> None:
    assert check_equal(2, "sqrt(4)", []).score == 1.0
    plain_n = sympy.Symbol("n")  # no assumptions: matched to the reference's n by name
    assert check_equal((plain_n * (plain_n + 1) / 2) ** 2, SUM_OF_CUBES, [N]).score == 1.0
    assert check_equal(0.1, "1/10", []).score != 1.0  # a binary float is not 1/10


@pytest.mark.parametrize(
    ("candidate", "fragment"),
    [
        ("((n*(n+1)/2)^2", "unbalanced parentheses"),
        ("S(n) = n^2", "unknown name 'S'"),
        ("import os", "unknown name 'import'"),
        (None, "expected an expression"),
        (True, "expected an expression"),
        (float("nan"), "finite number"),
        (["n"], "got a list"),
        (b"n", "got a bytes"),
        ("n" * 5000, "characters long"),
    ],
)
def test_check_equal_turns_bad_candidates_into_invalid_output(
    candidate: object, fragment: str
) -> None:
    result = check_equal(candidate, SUM_OF_CUBES, [N])
    assert result.status == "invalid-output"
    assert result.score is None
    assert result.reason.startswith("the candidate: ")
    assert fragment in result.reason


# Solutions of equations and identities.


@pytest.mark.parametrize("root", ["sqrt(2)", "-sqrt(2)", "2^(1/2)"])
def test_check_solution_accepts_exact_roots(root: str) -> None:
    result = check_solution("x**2 = 2", {"x": root})
    assert result.score == 1.0
    assert result.metrics["residual"] == 0.0


def test_check_solution_reports_the_residual() -> None:
    result = check_solution("x**2 = 2", {"x": "1.4"})
    assert result.score is not None and result.score < 1.0
    assert "the residual lhs - rhs is -1/25" in result.feedback
    assert "lhs = 1.96, rhs = 2, residual = -0.04" in result.feedback
    assert result.metrics["residual"] == pytest.approx(0.04)


def test_check_solution_ranks_a_closer_approximation_higher_but_below_one() -> None:
    rough = check_solution("x**2 - 2", {"x": "1.4"}).score
    close = check_solution("x**2 - 2", {"x": 1.4142135623730951}).score
    assert rough is not None and close is not None
    assert rough < close < 1.0


def test_check_solution_accepts_a_loose_tolerance_for_floats() -> None:
    result = check_solution("x**2 = 2", {"x": 1.4142135623730951}, tolerance=1e-12)
    assert result.score == 1.0
    assert result.metrics["symbolic"] == 0.0


def test_check_solution_checks_a_recurrence_identity() -> None:
    good = check_solution("S(n) - S(n - 1) = n^3", {"S": "(n(n+1)/2)^2"}, ["n"])
    assert good.score == 1.0
    bad = check_solution("S(n) - S(n - 1) = n^3", {"S": "n^4/4"}, ["n"])
    assert bad.score is not None and bad.score < 1.0
    assert "the residual lhs - rhs is -3*n**2/2 + n - 1/4" in bad.feedback
    assert "It holds at 0 of 24 sample points." in bad.feedback


def test_check_solution_checks_a_differential_equation() -> None:
    f = sympy.Function("f")
    ode = sympy.Eq(f(X).diff(X, 2) + f(X), 0)
    assert check_solution(ode, {"f": "3 sin(x) - cos(x)"}, [X]).score == 1.0
    wrong = check_solution(ode, {"f": "exp(x)"}, [X])
    assert wrong.score is not None and wrong.score < 1.0
    assert "residual lhs - rhs is 2*exp(x)" in wrong.feedback


def test_check_solution_turns_a_bad_value_into_invalid_output() -> None:
    result = check_solution("x**2 = 2", {"x": "sqrt(2"})
    assert result.status == "invalid-output"
    assert result.reason.startswith("the value of x: ")


def test_check_solution_raises_for_the_task_authors_mistakes() -> None:
    with pytest.raises(ValueError, match="'y' does not occur"):
        check_solution("x**2 = 2", {"y": "1"})
    with pytest.raises(ValueError, match="more than one '='"):
        check_solution("x = 1 = 2", {"x": "1"})


# Bounds.


def test_check_bound_proves_a_polynomial_bound_symbolically() -> None:
    result = check_bound("x*(1 - x)", "1/4", ["x"], domain={"x": (0, 1)})
    assert result.score == 1.0
    assert result.metrics["symbolic"] == 1.0
    assert "SymPy proves" in result.feedback


def test_check_bound_holds_numerically_when_sympy_cannot_decide() -> None:
    result = check_bound("sin(x)", "x", ["x"], domain={"x": (0, 10)})
    assert result.score == 1.0
    assert result.metrics["symbolic"] == 0.0
    assert "not a proof" in result.feedback


def test_check_bound_reports_the_worst_point() -> None:
    result = check_bound("x*(1 - x)", "0.2499", ["x"], domain={"x": (0, 1)})
    assert result.score is not None and 0.9 < result.score < 1.0
    match = re.search(r"violated at x = (\S+): expression = (\S+), bound = (\S+)", result.feedback)
    assert match is not None, result.feedback
    assert float(match.group(1)) == pytest.approx(0.5, abs=1e-6)
    assert float(match.group(2)) == pytest.approx(0.25)
    assert match.group(3) == "0.2499"
    assert result.metrics["worst_margin"] == pytest.approx(-1e-4, rel=1e-6)


def test_check_bound_refines_a_violation_between_grid_points() -> None:
    # sin(x) exceeds 1 - 1e-9 only within about 4e-5 of pi/2; no grid point is that close.
    result = check_bound("sin(x)", "1 - 1/10**9", ["x"], domain={"x": (0, 3)})
    assert result.score is not None and result.score < 1.0
    match = re.search(r"violated at x = (\S+):", result.feedback)
    assert match is not None, result.feedback
    assert float(match.group(1)) == pytest.approx(math.pi / 2, abs=1e-4)


def test_check_bound_in_two_variables() -> None:
    box = {"x": (-3.0, 3.0), "y": (-3.0, 3.0)}
    assert check_bound("x*y", "(x^2 + y^2)/2", ["x", "y"], domain=box).score == 1.0
    wrong = check_bound("x*y + sin(x)/100", "(x^2 + y^2)/2", ["x", "y"], domain=box)
    assert wrong.score is not None and wrong.score < 1.0
    assert re.search(r"violated at x = \S+, y = \S+: expression", wrong.feedback)


def test_check_bound_relations_and_infinite_domains() -> None:
    assert check_bound("exp(x)", "1 + x", ["x"], relation=">=").score == 1.0
    assert check_bound("log(x)", "x - 1", ["x"], domain={"x": (0.01, math.inf)}).score == 1.0
    strict = check_bound("x^2", "0", ["x"], relation=">", domain={"x": (0, 1)})
    assert strict.score is not None and strict.score < 1.0
    assert "violated at x = 0.0" in strict.feedback


def test_check_bound_counts_an_undefined_point_as_a_violation() -> None:
    result = check_bound("1/x", "100", ["x"], domain={"x": (0, 1)})
    assert result.score is not None and result.score < 1.0
    assert "violated at x = 0.0: expression = undefined" in result.feedback


def test_check_bound_on_constants() -> None:
    assert check_bound("sqrt(2)", "1.5", []).score == 1.0
    result = check_bound("sqrt(2)", "1.41421356", [])
    assert result.score == 0.0
    assert "expression = 1.41421356237, bound = 1.41421356" in result.feedback


def test_check_bound_turns_bad_input_into_invalid_output() -> None:
    result = check_bound("x", "exp(x", ["x"])
    assert result.status == "invalid-output"
    assert result.reason.startswith("the bound: ")


def test_check_bound_rejects_a_domain_for_an_unknown_variable() -> None:
    with pytest.raises(ValueError, match="'y', which is not a variable"):
        check_bound("x", "1", ["x"], domain={"y": (0, 1)})


@pytest.mark.parametrize("garbage", [None, [], {}, "", "os.system('ls')", object(), 1e400])
def test_no_check_raises_for_garbage_candidates(garbage: object) -> None:
    results = [
        check_equal(garbage, "x", ["x"]),
        check_solution("x**2 = 2", {"x": garbage}),
        check_bound(garbage, "1", ["x"]),
    ]
    for result in results:
        assert result.status == "invalid-output"
        assert result.score is None
        assert result.reason
