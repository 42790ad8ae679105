"""SQLite persistence: every hypothesis, model call and evaluation, written as it happens.

One module per concept: `schema` (the tables, indexes and triggers, what an older store gains
as it opens, the connections), `database` (the connection, the writer lock, the metadata),
`trees` (each hypothesis's program as the files that changed, each text stored once),
`candidates` (the hypotheses), `calls` (the model calls and their totals), `notes` (notes and
the checks' findings) and `views` (what `hone show`, the dashboard and the report ask, in SQL).
`Store` is them together: the one object the rest of hone opens.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from hone.store.calls import MAX_ANSWER_CHARS, Calls
from hone.store.notes import Notes
from hone.store.schema import (
    _CALL_KIND,
    _TOTALS_OF_CALLS,
    DB_NAME,
    SCHEMA_VERSION,
    Totals,
    kept_totals,
    readonly_connection,
)
from hone.store.trees import _CHAIN, Trees
from hone.store.views import Views, new_best_ids, new_bests

# (what is imported as `from hone.store import ...`, the tests' private names included)
__all__ = [
    "DB_NAME",
    "MAX_ANSWER_CHARS",
    "SCHEMA_VERSION",
    "_CALL_KIND",
    "_CHAIN",
    "_TOTALS_OF_CALLS",
    "Store",
    "Totals",
    "Trees",
    "kept_totals",
    "new_best_ids",
    "new_bests",
    "opened",
    "readonly_connection",
]


class Store(Views, Calls, Notes):
    """A run's database. Open with `Store.create` or `Store.open`."""


@contextlib.contextmanager
def opened(run_dir: Path) -> Iterator[Store]:
    """Open a run read-only for inspection (storage may be read-only) and close it after."""
    store = Store.open(run_dir, readonly=True)
    try:
        yield store
    finally:
        store.close()
