"""A formula string expanded into terms with a coefficient each (hone.formulas), as tuning's
least-squares fit sets them."""

from __future__ import annotations

from fractions import Fraction

import pytest

from hone.constants import tree_constants
from hone.formulas import Formula, expanded
from hone.tree import Tree


def formula(text: str, quote: str = '"') -> tuple[Tree, Formula | None]:
    tree = Tree.one("initial.py", f"def answer():\n    return {quote}{text}{quote}  # tune\n")
    return tree, expanded(tree, tree_constants(tree))


def test_a_shifted_cube_is_expanded_into_one_term_per_power() -> None:
    """No setting of the three numbers of n**4/4 + (n - 1)**3/3 is the sum of cubes; expanded,
    its coefficients can be, and the tree is written with them as fractions."""
    tree, found = formula("n**4/4 + (n - 1)**3/3")
    assert found is not None and [str(t) for t in found.terms] == ["n**4", "n**3", "n**2", "n", "1"]
    assert found.coefficients == (0.25, 1 / 3, -1.0, 1.0, -1 / 3)
    assert found.text(found.coefficients) == (
        "0.25*n**4 + 0.3333333333333333*n**3 - n**2 + n - 0.3333333333333333"
    )
    exact = [Fraction(1, 4), Fraction(1, 2), Fraction(1, 4), Fraction(0), Fraction(0)]
    assert found.tree(tree, exact)["initial.py"] == (
        'def answer():\n    return "n**4/4 + n**3/2 + n**2/4"  # tune\n'
    )
    assert found.text([Fraction(-3, 4), 2.5, Fraction(3), Fraction(-1), Fraction(-1, 3)]) == (
        "-3*n**4/4 + 2.5*n**3 + 3*n**2 - n - 1/3"
    )


def test_a_decimal_reads_back_as_the_same_float_without_an_exponent() -> None:
    _, found = formula("n**2 + 2*n")
    assert found is not None
    text = found.text([1e-20, 0.1 + 0.2])
    assert text == "0.00000000000000000001*n**2 + 0.30000000000000004*n"
    assert float(text.split("*")[0]) == 1e-20


@pytest.mark.parametrize(
    ("text", "values", "written"),
    [
        ("n^4/4 + n^3", [Fraction(1, 4), Fraction(1, 2)], "n^4/4 + n^3/2"),  # its powers
        ("3*sqrt(n) + 2", [Fraction(1, 2), Fraction(2)], "sqrt(n)/2 + 2"),  # a function's term
        ("n**2.5/2 + n", [Fraction(1, 3), Fraction(0)], "n**(5/2)/3"),  # a term at 0: left out
    ],
)
def test_a_formula_is_written_in_its_notation(
    text: str, values: list[Fraction], written: str
) -> None:
    _, found = formula(text)
    assert found is not None and found.text(values) == written


@pytest.mark.parametrize(
    "text",
    [
        "(n + 1)**20 / 3",  # a power too large to expand
        " + ".join(f"n**{k}/{k + 1}" for k in range(1, 14)),  # more terms than a fit takes
        "n**2 + __import__('os').getpid()",  # not a formula hone's parser accepts
    ],
)
def test_what_cannot_be_expanded_is_left_to_the_ladder(text: str) -> None:
    _, found = formula(text)
    assert found is None


def test_only_the_numbers_of_one_formula_string_are_expanded() -> None:
    tree = Tree.one("p.py", 'def f():\n    return 1.5 * g("n**2/2 + n")  # tune\n')
    found = tree_constants(tree, strings=True)
    assert expanded(tree, found) is None  # (1.5 is a float literal beside it)
    assert expanded(tree, found[1:]) is not None
    fstring = Tree.one("p.py", 'def f(k):\n    return f"n**2/{k} + 2*n"  # tune\n')
    assert expanded(fstring, tree_constants(fstring, strings=True)) is None


def test_strings_joined_by_plus_are_one_formula_written_back_as_one_string() -> None:
    """The embedded model's answer `"n**4/4" + " + (n**3 - 3*n**2 + 3*n - 1)/6"` (seed 2 of
    closed_form_sum): its numbers are those of one formula, rewritten as one string."""
    tree, found = formula('n**4/4" + " + (n**3 - 3*n**2 + 3*n - 1)/6')
    assert found is not None and found.text_before == "n**4/4 + (n**3 - 3*n**2 + 3*n - 1)/6"
    assert found.coefficients == (0.25, 1 / 6, -0.5, 0.5, -1 / 6)
    exact = [Fraction(1, 4), Fraction(1, 2), Fraction(1, 4), Fraction(0), Fraction(0)]
    assert found.tree(tree, exact)["initial.py"] == (
        'def answer():\n    return "n**4/4 + n**3/2 + n**2/4"  # tune\n'
    )
    _, single = formula("n**2/2 + n", quote="'''")
    assert single is not None and single.opening == "'''"
