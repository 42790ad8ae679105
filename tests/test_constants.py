"""A program's tunable constants (hone.constants): which numbers are found, of what kind, and
the steps a formula's numbers are tried at."""

from __future__ import annotations

from hone.constants import constants, ladder, substitute

FORMULA = '''# EVOLVE-BLOCK-START
params = {"a": 0.5, "b": 2, "c": -3, "on": True}
weights = {"x": 1, "y": 0.25}
def answer() -> str:
    """S(n) = 1**3 + 2**3 + ... is prose: 7 is never tuned."""
    label = "3 apples"
    return "n**4/4 + n**3/2 + 0.26*n**2"  # tune
# EVOLVE-BLOCK-END
'''


def test_c_programs_skip_comments() -> None:
    code = "/* EVOLVE-BLOCK-START */\ndouble a = 0.25; // 7.5\n/* 3.5 */ float b = 1e-3;\n/* EVOLVE-BLOCK-END */\n"
    assert [c.value for c in constants(code, "c")] == [0.25, 1e-3]


def test_named_parameters_and_marked_strings_are_tuned_exponents_and_prose_are_not() -> None:
    found = constants(FORMULA)
    texts = [(FORMULA[c.start : c.end], c.kind) for c in found]
    assert texts == [
        ("0.5", "float"),  # params holds True, no number: its float literal is tuned as ever
        ("1", "param"),
        ("0.25", "param"),  # weights: each key a string, each value a number
        ("4", "string"),
        ("2", "string"),
        ("0.26", "string"),  # the marked line's formula
    ]  # fmt: skip  (not the exponents, the docstring, "3 apples" on an unmarked line)
    everywhere = [(FORMULA[c.start : c.end], c.kind) for c in constants(FORMULA, strings=True)]
    assert ("3", "string") in everywhere and ("7", "string") not in everywhere
    crowded = "params = {" + ", ".join(f'"p{i}": {i + 1}' for i in range(20)) + "}\nx = 0.5\n"
    assert [c.kind for c in constants(crowded)] == ["param"] * 12  # named ones come first


def test_a_ladder_sweeps_simple_fractions_of_each_number_in_a_string() -> None:
    from fractions import Fraction

    from hone.constants import snap

    found = constants(FORMULA)
    strings = [c for c in found if c.kind == "string"]
    values = [Fraction(4), Fraction(2), Fraction("0.26")]
    steps = ladder(strings, values)
    assert steps[:4] == [(2, Fraction(1, 4)), (0, 8), (1, 4), (2, Fraction(13, 25))]
    assert snap(0.2538) == Fraction(1, 4) and snap(-0.33) == Fraction(-1, 3)
    assert snap(1e-9) is None  # nothing simple that near
    text = substitute(FORMULA, strings, [Fraction(4), Fraction(1, 3), Fraction(1, 4)])
    assert 'return "n**4/4 + n**3/(1/3) + 0.25*n**2"' in text


def test_a_formulas_terms_without_a_number_have_a_factor_that_is_tuned() -> None:
    """A term the model wrote without a coefficient (`n**3`) gets one, 1, for the ladder:
    written before the term once it changes; none in nested terms, prose or f-strings."""
    from fractions import Fraction

    program = (
        'def answer() -> str:\n    label = "3 apples"\n    late = f"{label} + n"\n'
        '    return "n**4/4 + n**3 - (n + n**2)**2 + n**-2"\n'
    )
    found = constants(program, strings=True)
    kinds = [(c.kind, program[c.start : c.start + 4]) for c in found]
    assert kinds == [
        ("string", "3 ap"),  # (a number in a string, as ever)
        ("string", '4 + '),
        ("factor", "n**3"),
        ("factor", "(n +"),  # the top-level term, not the n inside it
        ("factor", 'n**-'),  # (-2 is an exponent: no number of its own)
    ]  # fmt: skip
    assert [c.value for c in found[2:]] == [1.0, 1.0, 1.0]
    halves = [Fraction(3), Fraction(4), Fraction(1, 2), Fraction(1), Fraction(1, 3)]
    assert 'return "n**4/4 + 0.5*n**3 - (n + n**2)**2 + (1/3)*n**-2"' in substitute(
        program, found, halves
    )


def test_a_number_that_is_a_whole_term_is_tried_without_it_first() -> None:
    """The 1 of "... + 1" is a term of its own (kind "term"): the ladder's first step after
    snapping sets it to 0, the formula without it; numbers inside a term stay "string"."""
    from fractions import Fraction

    program = 'def answer() -> str:\n    return "n**2*(n+1)**2/4 - 1.5 + 2*n"\n'
    found = constants(program, strings=True)
    assert [(c.kind, program[c.start : c.end]) for c in found] == [
        ("string", "1"),
        ("string", "4"),
        ("term", "1.5"),
        ("string", "2"),
    ]
    steps = ladder(found, [Fraction(1), Fraction(4), Fraction(3, 2), Fraction(2)])
    assert steps[:2] == [(2, Fraction(0)), (0, Fraction(2))]  # (1.5 is its own snap)
    assert 'return "n**2*(n+1)**2/4 - 0 + 2*n"' in substitute(
        program, found, [Fraction(1), Fraction(4), Fraction(0), Fraction(2)]
    )
