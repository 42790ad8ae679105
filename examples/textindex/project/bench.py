"""The speed benchmark: index a fixed corpus, run fixed queries, best of three runs.

Run as `python -m bench` from this folder. It prints one JSON line: `score` = runs per second
of the best run, its time, and a fingerprint of every query's results, which must equal the
starting program's (a faster index that finds other documents is an error, not a speed-up).
"""

import hashlib
import json
import random
import time

from textindex import Index

DOCUMENTS = 300
WORDS = 80  # per document
QUERIES = 20
RUNS = 3
QUERY_WORDS = (100, 1500)  # the ranks of the words queries are made of
EXPECTED = "1a9f316b4a408132"  # the starting program's results


def corpus(seed=0):
    """Documents and queries over a vocabulary of 2,000 made-up words with Zipf-like
    frequencies, with punctuation and stop words between them."""
    rng = random.Random(seed)
    letters = "abcdefghijklmnopqrstuvwxyzäéö"
    vocabulary = sorted({"".join(rng.choices(letters, k=rng.randint(3, 9))) for _ in range(2000)})
    rng.shuffle(vocabulary)
    weights = [1 / (rank + 1) for rank in range(len(vocabulary))]
    glue = [" ", " ", " ", ", ", ". ", " the ", " of ", " and ", "-", "_"]
    documents = []
    for _ in range(DOCUMENTS):
        words = rng.choices(vocabulary, weights, k=WORDS)
        text = "".join(word.capitalize() if rng.random() < 0.1 else word for word in words[:1])
        for word in words[1:]:
            text += rng.choice(glue) + (word.upper() if rng.random() < 0.05 else word)
        documents.append(text)
    queries = [
        " ".join(rng.choices(vocabulary[QUERY_WORDS[0] : QUERY_WORDS[1]], k=rng.randint(1, 4)))
        for _ in range(QUERIES)
    ]
    return documents, queries


def workload(documents, queries):
    """Index every document, then run every query; the results."""
    index = Index()
    for doc_id, text in enumerate(documents):
        index.add(doc_id, text)
    return [index.search(query, k=10) for query in queries]


def main():
    documents, queries = corpus()
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        results = workload(documents, queries)
        times.append(time.perf_counter() - start)
    digest = hashlib.sha256(json.dumps(results).encode()).hexdigest()[:16]
    best = min(times)
    if digest != EXPECTED:
        print(
            json.dumps(
                {
                    "error": f"the search results changed (fingerprint {digest}, "
                    f"expected {EXPECTED}): the index must find the same documents in "
                    "the same order",
                    "seconds": best,
                }
            )
        )
        return
    print(
        json.dumps(
            {
                "score": round(1 / best, 3),
                "seconds": round(best, 4),
                "feedback": f"best of {RUNS} runs: {1000 * best:.1f} ms to index {DOCUMENTS} documents "
                f"and run {QUERIES} queries (all runs: {', '.join(f'{1000 * t:.0f}' for t in times)} ms)",
            }
        )
    )


if __name__ == "__main__":
    main()
