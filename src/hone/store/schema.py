"""The run database's schema: its tables, indexes and triggers (the totals they keep), what
an older store gains as it opens, and the connections that read it."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Literal
from urllib.parse import quote

DB_NAME = "hone.db"
SCHEMA_VERSION = 1
_ADDED_COLUMNS = {
    "llm_calls": {
        "seed": "INTEGER",
        "purpose": "TEXT",
        "cost": "REAL",
        "endpoint": "TEXT",
        "prompt_z": "BLOB",
        "completion_z": "BLOB",
        "quotes": "TEXT",
    },
    # (a row without a key has it worked out as it is read)
    "candidates": {
        "key": "TEXT",
        "kind": "TEXT NOT NULL DEFAULT ''",
        "placement": "TEXT",
        "placed": "INTEGER",
        "attempts": "TEXT",
        "files": "TEXT",
        "files_of": "INTEGER",
        "holdout": "REAL",
        "verified": "INTEGER",
        "residuals": "TEXT",
    },
}  # columns newer than v1, by table
# the checks of each new best (hone.trust), one row per check
_FINDINGS = """
CREATE TABLE IF NOT EXISTS findings (
    id INTEGER PRIMARY KEY,
    candidate_id INTEGER NOT NULL REFERENCES candidates(id),
    check_name TEXT NOT NULL,  -- hone.trust.Check: validate, verify_strict, overfitting, ...
    passed INTEGER NOT NULL,
    score REAL,  -- the held-out score of a validation
    text TEXT NOT NULL DEFAULT '',
    created REAL NOT NULL
);
"""
# what the views ask of a long run, each answered from an index, not by reading its rows:
# the rounds (`Store.rounds`, the dashboard's table), the new bests in order (`Store.bests`),
# the hypotheses tried on a cluster (`Store.spread`), a server's latencies (its median)
_VIEWS_INDEXES = """
CREATE INDEX IF NOT EXISTS candidates_round ON candidates(round, status, score);
CREATE INDEX IF NOT EXISTS candidates_ok ON candidates(status, id, score, verified);
CREATE INDEX IF NOT EXISTS candidates_tried ON candidates(id) WHERE attempts IS NOT NULL;
CREATE INDEX IF NOT EXISTS llm_calls_latency ON llm_calls(endpoint, latency)
    WHERE endpoint IS NOT NULL AND error IS NULL;
"""
# what a call was for, as `Store.call_kinds` counts it ({p}: its purpose)
_CALL_KIND = (
    "CASE WHEN json_extract(iif(json_valid({p}), {p}, NULL), '$.kind') IN ('improve', "
    "'crossover') THEN 'hypothesis' ELSE COALESCE(json_extract(iif(json_valid({p}), {p}, NULL), "
    "'$.kind'), '') END"
)
# the calls' totals by model, server and purpose worked out from the calls (for a store from
# before `call_totals`: to fill it, or read as it is; TOTAL, which never overflows, is exact
# below 2**53 tokens)
_TOTALS_OF_CALLS = (
    "SELECT model, COALESCE({endpoint}, '') AS endpoint, {kind} AS kind, COUNT(*) AS calls, "
    "COUNT(error) AS failed, TOTAL(prompt_tokens) AS prompt_tokens, TOTAL(completion_tokens) "
    "AS completion_tokens, TOTAL(latency) AS latency, TOTAL({cost}) AS cost, COUNT({cost}) AS "
    "priced, MIN(id) AS first FROM llm_calls GROUP BY 1, 2, 3"
)
# the same kept as calls are written (and deleted), by triggers, so that the views read a few
# rows instead of a long run's calls; an older store's are worked out as it opens
_CALL_TOTALS = f"""
CREATE TABLE IF NOT EXISTS call_totals (
    model TEXT NOT NULL,
    endpoint TEXT NOT NULL,  -- '': a model that is no server's
    kind TEXT NOT NULL,  -- what the calls were for (Store.call_kinds)
    calls INTEGER NOT NULL,
    failed INTEGER NOT NULL,
    prompt_tokens INTEGER NOT NULL,  -- (exact; past SQLite's integers, + makes it a REAL)
    completion_tokens INTEGER NOT NULL,
    latency REAL NOT NULL,
    cost REAL NOT NULL,
    priced INTEGER NOT NULL,  -- the calls whose cost is known
    first INTEGER NOT NULL,  -- the first call's id (the servers' order; kept if deleted)
    PRIMARY KEY (model, endpoint, kind)
) WITHOUT ROWID;
CREATE TRIGGER IF NOT EXISTS call_totals_add AFTER INSERT ON llm_calls BEGIN
    INSERT INTO call_totals VALUES (
        NEW.model, COALESCE(NEW.endpoint, ''), {_CALL_KIND.format(p="NEW.purpose")}, 1,
        NEW.error IS NOT NULL, NEW.prompt_tokens, NEW.completion_tokens, NEW.latency,
        COALESCE(NEW.cost, 0.0), NEW.cost IS NOT NULL, NEW.id
    ) ON CONFLICT DO UPDATE SET calls = calls + 1, failed = failed + excluded.failed,
        prompt_tokens = prompt_tokens + excluded.prompt_tokens,
        completion_tokens = completion_tokens + excluded.completion_tokens,
        latency = latency + excluded.latency, cost = cost + excluded.cost,
        priced = priced + excluded.priced, first = MIN(first, excluded.first);
END;
CREATE TRIGGER IF NOT EXISTS call_totals_remove AFTER DELETE ON llm_calls BEGIN
    UPDATE call_totals SET calls = calls - 1, failed = failed - (OLD.error IS NOT NULL),
        prompt_tokens = prompt_tokens - OLD.prompt_tokens,
        completion_tokens = completion_tokens - OLD.completion_tokens,
        latency = latency - OLD.latency, cost = cost - COALESCE(OLD.cost, 0.0),
        priced = priced - (OLD.cost IS NOT NULL)
    WHERE model = OLD.model AND endpoint = COALESCE(OLD.endpoint, '')
        AND kind = {_CALL_KIND.format(p="OLD.purpose")};
    DELETE FROM call_totals WHERE calls <= 0;
END;
"""
Totals = Literal["call_totals", "status_counts"]  # the totals triggers keep (`kept_totals`)
# the hypotheses by status, kept the same way (`Store.counts`, the dashboard's totals)
_STATUS_OF_ROWS = "SELECT status, COUNT(*) AS hypotheses FROM candidates GROUP BY status"
_STATUS_COUNTS = """
CREATE TABLE IF NOT EXISTS status_counts (
    status TEXT PRIMARY KEY,
    hypotheses INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TRIGGER IF NOT EXISTS status_counts_add AFTER INSERT ON candidates BEGIN
    INSERT INTO status_counts VALUES (NEW.status, 1)
    ON CONFLICT DO UPDATE SET hypotheses = hypotheses + 1;
END;
CREATE TRIGGER IF NOT EXISTS status_counts_change AFTER UPDATE OF status ON candidates
WHEN OLD.status IS NOT NEW.status BEGIN
    UPDATE status_counts SET hypotheses = hypotheses - 1 WHERE status = OLD.status;
    INSERT INTO status_counts VALUES (NEW.status, 1)
    ON CONFLICT DO UPDATE SET hypotheses = hypotheses + 1;
    DELETE FROM status_counts WHERE hypotheses <= 0;
END;
CREATE TRIGGER IF NOT EXISTS status_counts_remove AFTER DELETE ON candidates BEGIN
    UPDATE status_counts SET hypotheses = hypotheses - 1 WHERE status = OLD.status;
    DELETE FROM status_counts WHERE hypotheses <= 0;
END;
"""
_ADDED_INDEXES = (
    """
CREATE INDEX IF NOT EXISTS candidates_placed ON candidates(placed);
CREATE INDEX IF NOT EXISTS candidates_parent ON candidates(json_extract(parent_ids, '$[0]'));
CREATE INDEX IF NOT EXISTS candidates_second ON candidates(json_extract(parent_ids, '$[1]'));
CREATE INDEX IF NOT EXISTS candidates_more ON candidates(id) WHERE json_array_length(parent_ids) > 2;
CREATE TABLE IF NOT EXISTS blobs (hash TEXT PRIMARY KEY, data BLOB NOT NULL);
"""
    + _FINDINGS
    + _VIEWS_INDEXES
)

_SCHEMA = (
    """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS llm_calls (
    id INTEGER PRIMARY KEY,
    round INTEGER NOT NULL,
    model TEXT NOT NULL,
    prompt TEXT NOT NULL,
    completion TEXT NOT NULL,
    prompt_tokens INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    started REAL NOT NULL,
    latency REAL NOT NULL,
    error TEXT,
    seed INTEGER,
    purpose TEXT,
    cost REAL,
    endpoint TEXT,  -- the server the request went to (NULL: a model that is no server's)
    -- the prompt and the answer compressed with zlib over a dictionary of what the prompt
    -- quotes (`quotes`, JSON: {"files": the hypotheses whose files it quotes, "prompt": the
    -- call whose prompt holds the common text, the run's first}), so that a program quoted or
    -- rewritten is not stored again; `prompt` and `completion` are then ''
    prompt_z BLOB,
    completion_z BLOB,
    quotes TEXT
);
CREATE TABLE IF NOT EXISTS candidates (
    id INTEGER PRIMARY KEY,
    round INTEGER NOT NULL,
    parent_ids TEXT NOT NULL,
    call_id INTEGER REFERENCES llm_calls(id),
    code TEXT,  -- an older hone's program (this one's: files and blobs)
    status TEXT NOT NULL,
    score REAL,
    metrics TEXT NOT NULL DEFAULT '{}',
    feedback TEXT NOT NULL DEFAULT '',
    reason TEXT NOT NULL DEFAULT '',
    output TEXT NOT NULL DEFAULT '',
    eval_started REAL,
    eval_seconds REAL,
    cpu_seconds REAL,
    cached_from INTEGER REFERENCES candidates(id),
    niche INTEGER,
    key TEXT,
    created REAL NOT NULL,
    kind TEXT NOT NULL DEFAULT '',
    attempts TEXT,  -- JSON: where each try on a cluster ran and how it ended
    placement TEXT,  -- JSON: where the search strategy placed it when told of it
    placed INTEGER,  -- the order in which placements were recorded (1, 2, ...)
    files TEXT,  -- JSON {path: blob hash}: its files that differ from files_of's tree
    files_of INTEGER REFERENCES candidates(id),  -- NULL: files is the whole tree
    residuals TEXT,  -- JSON: the residuals of its evaluation (tuning reads them) or NULL
    holdout REAL,  -- the held-out score, once validated (hone.trust)
    verified INTEGER  -- 1: its checks as a new best passed, 0: one failed, NULL: unchecked
);
CREATE INDEX IF NOT EXISTS candidates_score ON candidates(status, score);
CREATE INDEX IF NOT EXISTS candidates_placed ON candidates(placed);
-- a hypothesis's children, by where it stands among their parents (the views ask)
CREATE INDEX IF NOT EXISTS candidates_parent ON candidates(json_extract(parent_ids, '$[0]'));
CREATE INDEX IF NOT EXISTS candidates_second ON candidates(json_extract(parent_ids, '$[1]'));
CREATE INDEX IF NOT EXISTS candidates_more ON candidates(id) WHERE json_array_length(parent_ids) > 2;
-- each file's text once, UTF-8 compressed with zlib, by its sha256 (hone.tree.blob_hash)
CREATE TABLE IF NOT EXISTS blobs (hash TEXT PRIMARY KEY, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS notes (
    id INTEGER PRIMARY KEY,
    round INTEGER NOT NULL,
    kind TEXT NOT NULL,
    text TEXT NOT NULL,
    call_id INTEGER REFERENCES llm_calls(id),
    created REAL NOT NULL
);
"""
    + _FINDINGS
    + _VIEWS_INDEXES
    + _CALL_TOTALS
    + _STATUS_COUNTS
)


def kept_totals(conn: sqlite3.Connection, table: Totals) -> str:
    """What a store's totals that triggers keep are read from (the table's columns): the
    calls' by model, server and purpose, or the hypotheses' by status; the table, or for an
    older store read as it is, the same worked out from its rows."""
    found = conn.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (table,)).fetchone()
    if found is not None:
        return table
    if table == "status_counts":
        return f"({_STATUS_OF_ROWS})"
    have = {row[1] for row in conn.execute("PRAGMA table_info(llm_calls)")}
    kind = _CALL_KIND.format(p="purpose") if "purpose" in have else "''"
    endpoint, cost = (name if name in have else "NULL" for name in ("endpoint", "cost"))
    return f"({_TOTALS_OF_CALLS.format(endpoint=endpoint, kind=kind, cost=cost)})"


def readonly_connection(db: Path) -> sqlite3.Connection:
    """A connection that only reads `db`: also on read-only storage, where a WAL database opens
    only as immutable (then it does not see later writes, which read-only storage has none of)."""
    target = f"file:{quote(str(db.resolve()))}?mode=ro"
    try:
        conn = _sqlite(target)
        conn.execute("SELECT 1 FROM meta LIMIT 1")
    except sqlite3.OperationalError:
        if os.access(db.parent, os.W_OK):
            raise  # not the storage: the file itself
        conn = _sqlite(target + "&immutable=1")
    return conn


def _sqlite(target: str, *, uri: bool = True) -> sqlite3.Connection:
    conn = sqlite3.connect(target, uri=uri, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA busy_timeout=5000")
    conn.row_factory = sqlite3.Row
    return conn


def _reason(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__
