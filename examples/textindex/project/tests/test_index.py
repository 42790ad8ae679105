import pytest
from textindex import Index, search

DOCUMENTS = {
    1: "The quick brown fox jumps over the lazy dog.",
    2: "A lazy afternoon: the dog sleeps, the cat sleeps.",
    3: "Foxes and dogs: a field guide to the fox.",
    4: "Quick recipes for a lazy cook",
    5: "cat cat cat",
    6: "The quick brown fox jumps over the lazy dog.",
}


@pytest.fixture
def index():
    built = Index()
    for doc_id, text in DOCUMENTS.items():
        built.add(doc_id, text)
    return built


def test_the_best_matches_come_first(index):
    assert index.search("fox") == [3, 1, 6]
    assert index.search("lazy dog") == [2, 1, 6, 4]
    assert index.search("cat") == [5, 2]


def test_k_limits_the_results(index):
    assert index.search("lazy dog", k=2) == [2, 1]
    assert index.search("lazy", k=1) == [4]
    assert index.search("lazy", k=0) == []


def test_equal_documents_tie_and_the_smaller_id_wins(index):
    assert index.search("brown")[:2] == [1, 6]


def test_a_repeated_query_term_counts_again(index):
    assert index.search("sleeps cat") == [5, 2]
    assert index.search("sleeps sleeps sleeps cat") == [2, 5]


def test_queries_that_match_nothing(index):
    assert index.search("unicorn") == []
    assert index.search("the of a") == []
    assert index.search("") == []
    assert Index().search("fox") == []


def test_documents_added_after_a_search_are_found(index):
    assert index.search("guide") == [3]
    index.add(0, "A guide, a guide, a GUIDE")
    assert index.search("guide") == [0, 3]
    assert index.search("fox") == [3, 1, 6]


def test_the_module_function_and_the_method_agree(index):
    assert search(index, "quick lazy fox", 4) == index.search("quick lazy fox", 4)


def test_scores_follow_tf_idf(index):
    # "field" is in one document of six; "lazy" in four: the rarer term weighs more.
    assert index.search("field lazy") == [3, 4, 2, 1, 6]
