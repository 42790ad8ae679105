"""Approximate sin(x) on [0, pi] with a polynomial."""


# EVOLVE-BLOCK-START
def approximate(x):
    """A first guess: a parabola through 0, pi/2 and pi."""
    return 4.0 * x * (3.14159265 - x) / 3.14159265**2


# EVOLVE-BLOCK-END
