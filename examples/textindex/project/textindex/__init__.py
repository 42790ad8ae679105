"""A small full-text index: documents in, the best matches of a query out (tf-idf)."""

from textindex.index import Index, search
from textindex.tokenize import tokenize

__all__ = ["Index", "search", "tokenize"]
