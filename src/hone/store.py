"""SQLite persistence: every hypothesis, model call and evaluation, written as it happens."""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import json
import os
import random
import sqlite3
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import quote

from hone import inbound
from hone.budget import StopReason, Usage
from hone.evaluation import Evaluation, checked
from hone.exceptions import RunDirError, StorageError
from hone.inbound import MAX_ANSWER
from hone.meta import RunMeta, RunStatus
from hone.population import Candidate, key_of

DB_NAME = "hone.db"
SCHEMA_VERSION = 1
MAX_ANSWER_CHARS = MAX_ANSWER  # of one model answer kept (hone.inbound states every limit)
_ADDED_COLUMNS = {
    "llm_calls": {"seed": "INTEGER", "purpose": "TEXT", "cost": "REAL"},
    # (a row without a key has it worked out as it is read)
    "candidates": {
        "key": "TEXT",
        "kind": "TEXT NOT NULL DEFAULT ''",
        "placement": "TEXT",
        "placed": "INTEGER",
    },
}  # columns newer than v1, by table
_ADDED_INDEXES = "CREATE INDEX IF NOT EXISTS candidates_placed ON candidates(placed);"

_SCHEMA = """
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
    cost REAL
);
CREATE TABLE IF NOT EXISTS candidates (
    id INTEGER PRIMARY KEY,
    round INTEGER NOT NULL,
    parent_ids TEXT NOT NULL,
    call_id INTEGER REFERENCES llm_calls(id),
    code TEXT,
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
    placement TEXT,  -- JSON: where the search strategy placed it when told of it
    placed INTEGER  -- the order in which placements were recorded (1, 2, ...)
);
CREATE INDEX IF NOT EXISTS candidates_score ON candidates(status, score);
CREATE INDEX IF NOT EXISTS candidates_placed ON candidates(placed);
CREATE TABLE IF NOT EXISTS notes (
    id INTEGER PRIMARY KEY,
    round INTEGER NOT NULL,
    kind TEXT NOT NULL,
    text TEXT NOT NULL,
    call_id INTEGER REFERENCES llm_calls(id),
    created REAL NOT NULL
);
"""


@dataclass
class Store:
    """A run's database. Open with `Store.create` or `Store.open`."""

    path: Path
    conn: sqlite3.Connection
    _lock: TextIO | None = field(default=None, repr=False)
    _placed: int | None = field(default=None, repr=False)  # the last `placed` (one writer)

    @classmethod
    def create(cls, run_dir: Path, meta: RunMeta | None = None) -> Store:
        """Create a new run directory and its database, with the run's metadata. A creation
        that fails (a full or read-only disk) leaves nothing behind that a later run would trip
        over."""
        db = run_dir / DB_NAME
        if db.exists():
            raise RunDirError(
                f"{str(run_dir)!r} already holds a run; continue it with: hone resume {run_dir}, "
                "or pick another run_dir (--run-dir)"
            )
        made = not run_dir.exists()
        try:
            run_dir.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            raise RunDirError(
                f"cannot make the run folder {str(run_dir)!r}: it or a folder above it is a "
                "file; pick another run_dir (--run-dir)"
            ) from None
        except OSError as exc:
            raise RunDirError(
                f"cannot make the run folder {str(run_dir)!r} ({exc.strerror}); pick another "
                "run_dir (--run-dir)"
            ) from None
        try:  # the database file made exclusively: of two runs given one folder, one gets it
            os.close(os.open(db, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
        except FileExistsError:
            raise RunDirError(
                f"{str(run_dir)!r} already holds a run; continue it with: hone resume {run_dir}, "
                "or pick another run_dir (--run-dir)"
            ) from None
        except OSError:
            pass  # (the connection below says what is wrong with the folder)
        try:
            store = cls._connect(db)
            with store.conn:
                store.conn.executescript(_SCHEMA)
                stamped = dataclasses.replace(
                    meta or RunMeta(), schema_version=SCHEMA_VERSION, created=time.time()
                )
                # (not set_meta: its message would advise resuming a run that never was)
                store._put_meta(**stamped.as_json())
        except (sqlite3.Error, OSError) as exc:
            for leftover in (db, db.with_name(DB_NAME + "-wal"), db.with_name(DB_NAME + "-shm")):
                with contextlib.suppress(OSError):
                    leftover.unlink()
            if made:
                with contextlib.suppress(OSError):
                    run_dir.rmdir()
            raise StorageError(
                f"cannot create the run's database in {str(run_dir)!r} ({_reason(exc)}); "
                "free space or pick a writable run_dir (--run-dir)"
            ) from None
        return store

    @classmethod
    def open(cls, run_dir: Path, *, readonly: bool = False) -> Store:
        """Open an existing run directory (`readonly`: to look, also on read-only storage)."""
        db = run_dir / DB_NAME
        if not db.is_file():
            raise RunDirError(
                f"{str(run_dir)!r} is not a hone run (no {DB_NAME}); pass the folder that "
                "'hone run' printed"
            )
        if not readonly and not os.access(run_dir, os.W_OK):
            raise StorageError(
                f"cannot write in the run folder {str(run_dir)!r} (read-only); a run needs "
                "writable storage (hone show reads it as it is)"
            )
        try:
            store = cls._connect(db, readonly=readonly)
            version = store.meta().schema_version
        except sqlite3.OperationalError as exc:  # the disk, not the file: full, failing, ...
            raise StorageError(
                f"cannot open the run's database {str(db)!r} ({_reason(exc)}); free space on "
                f"its disk, then continue with: hone resume {run_dir}"
            ) from None
        except sqlite3.DatabaseError as exc:
            raise RunDirError(f"{str(db)!r} is not a readable hone database ({exc})") from None
        if version != SCHEMA_VERSION:
            raise RunDirError(
                f"{str(db)!r} has schema version {version!r}; this hone reads {SCHEMA_VERSION}"
            )
        if not readonly:
            for table, added in _ADDED_COLUMNS.items():
                info = store.conn.execute(f"PRAGMA table_info({table})")
                columns = {row["name"] for row in info}
                for name, kind in added.items():
                    if name not in columns:  # recorded by an older hone
                        with store._writing():
                            store.conn.execute(f"ALTER TABLE {table} ADD COLUMN {name} {kind}")
            with store._writing():
                store.conn.executescript(_ADDED_INDEXES)
        return store

    @classmethod
    def _connect(cls, db: Path, *, readonly: bool = False) -> Store:
        if readonly:
            return cls(db, readonly_connection(db))
        conn = _sqlite(str(db), uri=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        return cls(db, conn)

    def lock(self) -> None:
        """Take the run's writer lock, so two processes never drive one run (again: a no-op)."""
        if self._lock is not None:
            return
        try:
            handle = (self.path.parent / ".lock").open("w")
        except OSError as exc:
            raise StorageError(
                f"cannot write in the run folder {str(self.path.parent)!r} ({exc.strerror}); "
                "a run needs writable storage"
            ) from None
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise RunDirError(
                f"{str(self.path.parent)!r} is in use by another hone process; wait for it or stop it"
            ) from None
        self._lock = handle

    @property
    def locked(self) -> bool:
        """True when this store holds the run's writer lock."""
        return self._lock is not None

    def in_use(self) -> bool:
        """True when a hone process (this one or another) holds the run's writer lock."""
        if self._lock is not None:
            return True
        try:
            with (self.path.parent / ".lock").open("a") as handle:
                fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        except OSError:
            return False  # no lock file, or no way to take one: nobody writes here
        return False

    @contextlib.contextmanager
    def _writing(self) -> Iterator[None]:
        """Around every write: a full or read-only disk is one sentence, not a traceback."""
        try:
            yield
        except sqlite3.OperationalError as exc:
            raise StorageError(
                f"cannot write to the run's database {str(self.path)!r} ({_reason(exc)}); "
                f"free space on its disk, then continue with: hone resume {self.path.parent}"
            ) from None

    def close(self) -> None:
        """Close the database and release the lock."""
        self.conn.close()
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    # -- metadata -----------------------------------------------------------------------
    def set_meta(self, **values: Any) -> None:
        """Set metadata entries (JSON-encoded): `RunMeta` fields, or keys of its `extra`."""
        with self._writing():
            self._put_meta(**values)

    def _put_meta(self, **values: Any) -> None:
        self.conn.executemany(
            "INSERT INTO meta(key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            [(k, json.dumps(v)) for k, v in values.items()],
        )

    def set_status(
        self, status: RunStatus, *, stop_reason: StopReason | None = None, error: str = ""
    ) -> None:
        """Record how the run stands (and why it stopped or failed; a former reason goes)."""
        self.set_meta(status=status, stop_reason=stop_reason, error=error)

    def save_random_state(self, rng: random.Random) -> None:
        """Keep the generator's state, so that a resumed run draws what this one would have."""
        version, internal, gauss = rng.getstate()
        self.set_meta(rng_state=[version, list(internal), gauss])

    def restore_random_state(self, rng: random.Random) -> bool:
        """Put back the state `save_random_state` kept; False when there is none."""
        state = self.meta().rng_state
        if not state:
            return False
        version, internal, gauss = state
        rng.setstate((version, tuple(internal), gauss))
        return True

    def meta(self) -> RunMeta:
        """The run's metadata."""
        rows = self.conn.execute("SELECT key, value FROM meta")
        return RunMeta.from_json({row[0]: json.loads(row[1]) for row in rows})

    # -- writes -------------------------------------------------------------------------
    def add_call(
        self,
        *,
        round: int,
        model: str,
        prompt: str,
        completion: str,
        prompt_tokens: int,
        completion_tokens: int,
        started: float,
        latency: float,
        error: str | None = None,
        seed: int | None = None,
        purpose: dict[str, Any] | None = None,
        cost: float | None = None,
    ) -> int:
        """Record one model call (`error`: why it failed); its id. An answer longer than
        MAX_ANSWER_CHARS is kept cut, and says so. `purpose` says what the call was for, so
        that a resumed run turns every stored answer into its hypothesis; `cost` in USD, None
        when its price is unknown."""
        # (`Metered` made the answer hone's own already; this keeps a write from failing on
        # what any caller passes: text that is no UTF-8, a count no SQLite integer holds)
        completion = inbound.cut(inbound.text(completion), MAX_ANSWER_CHARS, "answer ")
        prompt, model = inbound.text(prompt), inbound.text(model)
        error = inbound.text(error) if error is not None else None
        prompt_tokens = inbound.token_count(prompt_tokens) or 0
        completion_tokens = inbound.token_count(completion_tokens) or 0
        with self._writing():
            cur = self.conn.execute(
                "INSERT INTO llm_calls(round, model, prompt, completion, prompt_tokens, "
                "completion_tokens, started, latency, error, seed, purpose, cost) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    round,
                    model,
                    prompt,
                    completion,
                    prompt_tokens,
                    completion_tokens,
                    started,
                    latency,
                    error,
                    seed,
                    json.dumps(purpose) if purpose is not None else None,
                    cost,
                ),
            )
        return int(cur.lastrowid or 0)

    def add_candidate(
        self,
        *,
        round: int,
        code: str | None,
        parent_ids: tuple[int, ...] = (),
        call_id: int | None = None,
        evaluation: Evaluation | None = None,
        niche: int | None = None,
        kind: str = "",
    ) -> Candidate:
        """Record a hypothesis; without an evaluation it is pending until `set_evaluation`."""
        evaluation = checked(evaluation) if evaluation is not None else Evaluation.pending()
        code = inbound.text(code) if code is not None else None
        key = key_of(code) if code is not None else ""
        with self._writing():
            cur = self.conn.execute(
                "INSERT INTO candidates(round, parent_ids, call_id, code, status, reason, "
                "niche, key, created, kind) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    round,
                    json.dumps(list(parent_ids)),
                    call_id,
                    code,
                    evaluation.status,
                    evaluation.reason,
                    niche,
                    key or None,
                    time.time(),
                    kind,
                ),
            )
        candidate_id = int(cur.lastrowid or 0)
        return Candidate(
            candidate_id,
            round,
            code,
            evaluation,
            parent_ids,
            call_id,
            niche=niche,
            key=key,
            kind=kind,
        )

    def set_evaluation(
        self,
        candidate: Candidate,
        evaluation: Evaluation,
        *,
        output: str = "",
        started: float = 0.0,
        cached_from: int | None = None,
    ) -> Candidate:
        """Record the outcome of a pending hypothesis; the hypothesis with it (the outcome as
        `hone.evaluation.checked` keeps it: a verifier passed in from Python is checked too)."""
        evaluation, output = checked(evaluation), inbound.text(output)
        with self._writing():
            self.conn.execute(
                "UPDATE candidates SET status = ?, score = ?, metrics = ?, feedback = ?, "
                "reason = ?, output = ?, eval_started = ?, eval_seconds = ?, cpu_seconds = ?, "
                "cached_from = ? WHERE id = ?",
                (
                    evaluation.status,
                    evaluation.score,
                    json.dumps(evaluation.metrics),
                    evaluation.feedback,
                    evaluation.reason,
                    output,
                    started,
                    evaluation.seconds,
                    evaluation.cpu_seconds,
                    cached_from,
                    candidate.id,
                ),
            )
        return dataclasses.replace(
            candidate, evaluation=evaluation, output=output, cached_from=cached_from
        )

    def set_placements(self, placements: Sequence[tuple[int, dict[str, Any]]]) -> None:
        """Record where the search strategy placed hypotheses, by id, in the order it was told
        of them (`placed` counts on from the last one recorded)."""
        if not placements:
            return
        if self._placed is None:
            row = self.conn.execute("SELECT COALESCE(MAX(placed), 0) FROM candidates").fetchone()
            self._placed = int(row[0])
        first = self._placed + 1
        rows = [(json.dumps(p), first + i, c) for i, (c, p) in enumerate(placements)]
        with self._writing(), self.conn:  # (one transaction: a resumed run may bring many)
            self.conn.execute("BEGIN")
            self.conn.executemany(
                "UPDATE candidates SET placement = ?, placed = ? WHERE id = ?", rows
            )
        self._placed = first + len(rows) - 1

    # -- reads --------------------------------------------------------------------------
    def unplaced(self) -> set[int]:
        """Ids of evaluated hypotheses with no placement recorded (an older hone's, or a run
        stopped between verifying and registering them)."""
        rows = self.conn.execute(
            "SELECT id FROM candidates WHERE placed IS NULL AND status != 'pending'"
        )
        return {row[0] for row in rows}

    def candidates(self, *, pending: bool = False, lean: bool = False) -> list[Candidate]:
        """Every evaluated hypothesis in order (or only the pending ones). `lean`: without
        their programs and outputs (`Candidate.stripped`; `candidates_by_id` has them)."""
        return list(self.each_candidate(pending=pending, lean=lean))

    def each_candidate(self, *, pending: bool = False, lean: bool = False) -> Iterator[Candidate]:
        """`candidates`, one at a time (a long run's need not all be in memory at once)."""
        where = "status = 'pending'" if pending else "status != 'pending'"
        columns = _LEAN if lean else "*"
        rows = self.conn.execute(f"SELECT {columns} FROM candidates WHERE {where} ORDER BY id")
        return (_candidate(row) for row in rows)

    def candidates_by_id(self, ids: Sequence[int]) -> list[Candidate]:
        """Whole hypotheses by id, in the order asked."""
        found: dict[int, Candidate] = {}
        for start in range(0, len(ids), 500):
            part = list(ids[start : start + 500])
            marks = ",".join("?" * len(part))
            rows = self.conn.execute(f"SELECT * FROM candidates WHERE id IN ({marks})", part)
            found.update((row["id"], _candidate(row)) for row in rows)
        return [found[i] for i in ids]

    def parents_of_kind(self, kind: str) -> list[tuple[int, ...]]:
        """The parent ids of every hypothesis of `kind` (pending ones included), in order."""
        rows = self.conn.execute(
            "SELECT parent_ids FROM candidates WHERE kind = ? ORDER BY id", (kind,)
        ).fetchall()
        return [tuple(json.loads(row["parent_ids"])) for row in rows]

    def codes(self, ids: Sequence[int]) -> dict[int, str]:
        """The programs of hypotheses by id (those that have one)."""
        return {c.id: c.code for c in self.candidates_by_id(ids) if c.code is not None}

    def candidate(self, candidate_id: int) -> Candidate:
        """One hypothesis by id."""
        row = self.conn.execute("SELECT * FROM candidates WHERE id = ?", (candidate_id,)).fetchone()
        if row is None:
            raise KeyError(candidate_id)
        return _candidate(row)

    def calls(self) -> Iterator[sqlite3.Row]:
        """Every answered model call in order (failed ones aside)."""
        return iter(self.conn.execute("SELECT * FROM llm_calls WHERE error IS NULL ORDER BY id"))

    def failed_calls(self) -> int:
        """How many model calls failed (each is kept with its reason)."""
        return int(
            self.conn.execute("SELECT COUNT(*) FROM llm_calls WHERE error IS NOT NULL").fetchone()[
                0
            ]
        )

    def usage(self) -> Usage:
        """Answered model calls, the tokens and cost of every call so far (an answer that was
        paid and not used, of a hedged request, counts), and the failed calls."""
        query = (
            "SELECT COUNT(*) - COUNT(error), SUM(prompt_tokens), SUM(completion_tokens), "
            "TOTAL(cost), COUNT(error) FROM llm_calls"
        )
        try:
            row = self.conn.execute(query).fetchone()
        except sqlite3.OperationalError:  # "integer overflow": counts a server made up
            row = self.conn.execute(query.replace("SUM(", "TOTAL(")).fetchone()
        return Usage(int(row[0]), int(row[1] or 0), int(row[2] or 0), float(row[3]), int(row[4]))

    def call_kinds(self) -> dict[str, int]:
        """How many model calls were made for each purpose (hypothesis: an improvement or a
        crossover; fix, reflection, insights), failed ones included."""
        rows = self.conn.execute(
            "SELECT CASE WHEN json_extract(purpose, '$.kind') IN ('improve', 'crossover') "
            "THEN 'hypothesis' ELSE COALESCE(json_extract(purpose, '$.kind'), '') END AS kind, "
            "COUNT(*) FROM llm_calls GROUP BY kind"
        )
        return {row[0]: row[1] for row in rows}

    def unclaimed_answers(self) -> list[sqlite3.Row]:
        """Answers to hypothesis prompts (or their last fix) that no hypothesis was made of:
        a run stopped between storing an answer and storing its hypothesis."""
        return list(
            self.conn.execute(
                "SELECT * FROM llm_calls AS c WHERE c.error IS NULL "
                # (prompts.CallKind's hypothesis kinds; "hypothesis": an older hone's)
                "AND json_extract(c.purpose, '$.kind') IN "
                "('improve', 'crossover', 'fix', 'hypothesis') "
                "AND NOT EXISTS (SELECT 1 FROM candidates AS k WHERE k.call_id = c.id) "
                "AND NOT EXISTS (SELECT 1 FROM llm_calls AS f WHERE f.error IS NULL "
                "AND json_extract(f.purpose, '$.answer_of') = c.id) ORDER BY c.id"
            )
        )

    def add_note(self, *, round: int, kind: str, text: str, call_id: int | None = None) -> int:
        """Keep a reflection or an insights memory the model wrote, or a person's note; its id."""
        text = inbound.text(text)  # (a note from the command line may hold any bytes)
        with self._writing():
            cur = self.conn.execute(
                "INSERT INTO notes(round, kind, text, call_id, created) VALUES (?, ?, ?, ?, ?)",
                (round, kind, text, call_id, time.time()),
            )
        return int(cur.lastrowid or 0)

    def notes_after(self, kind: str, after: int) -> list[tuple[int, str]]:
        """(id, text) of the notes of one kind added after note `after` (another process may
        add them while a run goes on), oldest first."""
        rows = self.conn.execute(
            "SELECT id, text FROM notes WHERE id > ? AND kind = ? ORDER BY id", (after, kind)
        )
        return [(row[0], row[1]) for row in rows]

    def notes(self, kind: str) -> list[tuple[int, str]]:
        """(round, text) of every note of one kind, oldest first."""
        rows = self.conn.execute(
            "SELECT round, text FROM notes WHERE kind = ? ORDER BY id", (kind,)
        )
        return [(row[0], row[1]) for row in rows]

    def call_models(self, call_id: int | None = None) -> dict[int, str]:
        """Which model answered each call (or only `call_id`), by call id."""
        if call_id is not None:
            rows = self.conn.execute("SELECT id, model FROM llm_calls WHERE id = ?", (call_id,))
        else:
            rows = self.conn.execute("SELECT id, model FROM llm_calls")
        return {row[0]: row[1] for row in rows}

    def last_candidate(self) -> int | None:
        """The id of the newest hypothesis (None: none yet)."""
        row = self.conn.execute("SELECT MAX(id) FROM candidates").fetchone()
        return int(row[0]) if row[0] is not None else None

    def last_round(self) -> int:
        """The highest round number recorded (0 for the starting program only)."""
        row = self.conn.execute("SELECT MAX(round) FROM candidates").fetchone()
        return int(row[0]) if row[0] is not None else -1


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


# Every column but the program and the output (unless the key is missing: an older store's
# rows keep their program, so that the key can be worked out).
_LEAN = (
    "id, round, parent_ids, call_id, status, score, metrics, feedback, reason, eval_seconds, "
    "cpu_seconds, cached_from, niche, key, kind, CASE WHEN key IS NULL THEN code END AS code, "
    "'' AS output"
)


def _candidate(row: sqlite3.Row) -> Candidate:
    evaluation = Evaluation(
        score=row["score"],
        metrics=json.loads(row["metrics"]),
        feedback=row["feedback"],
        status=row["status"],
        reason=row["reason"],
        seconds=row["eval_seconds"] or 0.0,
        cpu_seconds=row["cpu_seconds"] or 0.0,
    )
    return Candidate(
        id=row["id"],
        round=row["round"],
        code=row["code"],
        evaluation=evaluation,
        parent_ids=tuple(json.loads(row["parent_ids"])),
        call_id=row["call_id"],
        output=row["output"],
        cached_from=row["cached_from"],
        niche=row["niche"],
        kind=row["kind"] if "kind" in row.keys() else "",  # noqa: SIM118 (sqlite3.Row)
        key=(row["key"] if "key" in row.keys() else None) or "",  # noqa: SIM118 (a Row)
    )


@contextlib.contextmanager
def opened(run_dir: Path) -> Iterator[Store]:
    """Open a run read-only for inspection (storage may be read-only) and close it after."""
    store = Store.open(run_dir, readonly=True)
    try:
        yield store
    finally:
        store.close()
