"""Online bin packing: a priority heuristic that decides which bin each item goes into."""

import numpy as np


# EVOLVE-BLOCK-START
def priority(item: float, bins: np.ndarray) -> np.ndarray:
    """Return a priority for each bin that can take the item; the highest one gets it.

    Args:
        item: size of the item to place.
        bins: remaining capacities of the bins that can hold the item (all >= item),
            unopened bins (at full capacity) included.

    Returns:
        One finite number per bin, the same shape as `bins`.

    Best fit: prefer the bin the item fills most, i.e. the least space left over.
    """
    return -(bins - item)


# EVOLVE-BLOCK-END
