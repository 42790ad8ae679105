"""Scoring a term in a document, and picking the best documents."""

import math


def weight(count, length, frequency, documents):
    """The tf-idf weight of a term that occurs `count` times in a document of `length` terms
    and in `frequency` of the index's `documents` documents."""
    return count / length * math.log(1 + documents / frequency)


def top(scored, k):
    """The ids of the `k` best (id, score) pairs, best first; of equal scores, the smaller id
    first."""
    remaining = list(scored)
    best = []
    while remaining and len(best) < k:
        chosen = 0
        for i in range(1, len(remaining)):
            doc, score = remaining[i]
            chosen_doc, chosen_score = remaining[chosen]
            if score > chosen_score or (score == chosen_score and doc < chosen_doc):
                chosen = i
        best.append(remaining.pop(chosen)[0])
    return best
