"""Splitting text into terms."""

STOP_WORDS = frozenset({"a", "an", "and", "in", "is", "it", "of", "on", "the", "to"})


def tokenize(text):
    """The terms of `text`, in order: runs of letters and digits (an underscore separates
    them), lower-cased, without the stop words."""
    terms = []
    word = ""
    for char in text:
        if char.isalnum():
            word += char.lower()
        else:
            if word and word not in STOP_WORDS:
                terms.append(word)
            word = ""
    if word and word not in STOP_WORDS:
        terms.append(word)
    return terms
