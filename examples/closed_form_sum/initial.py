"""A closed form of the sum of cubes S(n) = 1**3 + 2**3 + ... + n**3, as a SymPy expression."""


# EVOLVE-BLOCK-START
def answer() -> str:
    """Return S(n) = 1**3 + 2**3 + ... + n**3 in closed form, as an expression in n.

    Start: the integral of x**3 from 0 to n, which has the right growth but the wrong value.
    """
    return "n**4/4"


# EVOLVE-BLOCK-END
