"""The index: documents as lists of terms, searched by tf-idf."""

from textindex.rank import top, weight
from textindex.tokenize import tokenize


class Index:
    """Documents and their terms; `search` finds the best matches of a query."""

    def __init__(self):
        self.documents = []  # (id, terms), in the order they were added

    def add(self, doc_id, text):
        """Add a document (its id: any number that is not in the index yet)."""
        self.documents.append((doc_id, tokenize(text)))

    def search(self, query, k=10):
        """The ids of the `k` documents that match `query` best, best first."""
        return search(self, query, k)


def search(index, query, k=10):
    """The ids of the `k` documents of `index` that match `query` best, best first: a
    document's score is the sum, over the query's terms in order (a repeated term counts each
    time), of the term's tf-idf weight in it; documents that hold none of the terms are left
    out; of equal scores, the smaller id comes first."""
    terms = tokenize(query)
    scored = []
    for doc_id, doc_terms in index.documents:
        score = 0.0
        for term in terms:
            count = doc_terms.count(term)
            if count:
                frequency = document_frequency(index, term)
                score += weight(count, len(doc_terms), frequency, len(index.documents))
        if score > 0:
            scored.append((doc_id, score))
    return top(scored, k)


def document_frequency(index, term):
    """How many documents of `index` hold `term`."""
    return sum(1 for _, doc_terms in index.documents if term in doc_terms)
