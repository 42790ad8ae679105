import math

from textindex.rank import top, weight


def test_weight_is_term_frequency_times_smoothed_inverse_document_frequency():
    assert weight(2, 10, 5, 100) == 2 / 10 * math.log(1 + 100 / 5)
    assert weight(1, 4, 1, 1) == 0.25 * math.log(2)


def test_top_takes_the_best_first_and_the_smaller_id_among_equals():
    scored = [(7, 0.5), (3, 0.9), (5, 0.5), (1, 0.1), (9, 0.9)]
    assert top(scored, 3) == [3, 9, 5]
    assert top(scored, 10) == [3, 9, 5, 7, 1]
    assert top(scored, 0) == []
    assert top([], 5) == []
    assert scored == [(7, 0.5), (3, 0.9), (5, 0.5), (1, 0.1), (9, 0.9)]  # left as it was
