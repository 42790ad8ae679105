from textindex import tokenize


def test_words_are_lower_cased_without_punctuation_or_stop_words():
    assert tokenize("The Cat sat on the mat, and THE hat!") == ["cat", "sat", "mat", "hat"]


def test_digits_are_part_of_words_and_underscores_separate_them():
    assert tokenize("route 66 to snake_case x2") == ["route", "66", "snake", "case", "x2"]


def test_letters_beyond_ascii_are_letters():
    assert tokenize("Café au lait, ÜBER straße") == ["café", "au", "lait", "über", "straße"]


def test_nothing_to_find():
    assert tokenize("") == []
    assert tokenize(" .,;-- the a of ") == []
