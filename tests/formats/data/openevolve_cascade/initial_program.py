"""Sort a list of integers."""


# EVOLVE-BLOCK-START
def sort_numbers(xs):
    """Ascending order (a first attempt that loses repeated values)."""
    return sorted(set(xs))


# EVOLVE-BLOCK-END
