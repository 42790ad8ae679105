"""Choose items for a knapsack of capacity 50."""


# EVOLVE-BLOCK-START
def choose(items, capacity):
    """Take items in the order given while they fit. items: (weight, value) pairs."""
    chosen, load = [], 0
    for index, (weight, _value) in enumerate(items):
        if load + weight <= capacity:
            chosen.append(index)
            load += weight
    return chosen


# EVOLVE-BLOCK-END
