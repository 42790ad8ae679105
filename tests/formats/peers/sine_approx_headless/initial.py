# EVOLVE-BLOCK-START
def approximate(x: float) -> float:
    return x


# EVOLVE-BLOCK-END
