"""SQLite persistence: every hypothesis, model call and evaluation, written as it happens.

The package holds one module per concept: `schema` (tables, indexes, triggers, migrations,
connections), `trees` (hypotheses' programs as files stored once); `Store` is the run's
database, the one object the rest of hone opens.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import functools
import json
import os
import random
import sqlite3
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from hone import inbound
from hone.budget import StopReason, Usage
from hone.evaluation import Evaluation, checked
from hone.exceptions import RunDirError, StorageError
from hone.executors import Attempt
from hone.inbound import MAX_ANSWER
from hone.meta import RunMeta, RunStatus
from hone.population import Candidate
from hone.store.schema import (
    _ADDED_COLUMNS,
    _ADDED_INDEXES,
    _CALL_KIND,
    _CALL_TOTALS,
    _SCHEMA,
    _STATUS_COUNTS,
    _STATUS_OF_ROWS,
    _TOTALS_OF_CALLS,
    DB_NAME,
    SCHEMA_VERSION,
    Totals,
    _reason,
    _sqlite,
    kept_totals,
    readonly_connection,
)
from hone.store.trees import _CHAIN, Trees
from hone.tree import Tree

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
    "new_bests",
    "opened",
    "readonly_connection",
]

MAX_ANSWER_CHARS = MAX_ANSWER  # of one model answer kept (hone.inbound states every limit)


@dataclass
class Store:
    """A run's database. Open with `Store.create` or `Store.open`."""

    path: Path
    conn: sqlite3.Connection
    _lock: TextIO | None = field(default=None, repr=False)
    _placed: int | None = field(default=None, repr=False)  # the last `placed` (one writer)
    _anchor: int | None = field(default=None, repr=False)  # `_prompt_anchor`

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
                calls = _TOTALS_OF_CALLS.format(
                    endpoint="endpoint", kind=_CALL_KIND.format(p="purpose"), cost="cost"
                )
                kept: tuple[tuple[Totals, str, str], ...] = (
                    ("call_totals", _CALL_TOTALS, calls),
                    ("status_counts", _STATUS_COUNTS, _STATUS_OF_ROWS),
                )
                for totals, script, rows in kept:
                    if kept_totals(store.conn, totals) != totals:  # an older hone's: added up once
                        store.conn.executescript(  # (another process may have done it since)
                            f"BEGIN IMMEDIATE; {script} INSERT INTO {totals} SELECT * FROM "
                            f"({rows}) WHERE NOT EXISTS (SELECT 1 FROM {totals}); COMMIT;"
                        )
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
        endpoint: str | None = None,
    ) -> int:
        """Record one model call (`error`: why it failed); its id. An answer longer than
        MAX_ANSWER_CHARS is kept cut, and says so. `purpose` says what the call was for, so
        that a resumed run turns every stored answer into its hypothesis; `cost` in USD, None
        when its price is unknown; `endpoint`, the server it went to."""
        # (`Metered` made the answer hone's own already; this keeps a write from failing on
        # what any caller passes: text that is no UTF-8, a count no SQLite integer holds)
        completion = inbound.cut(inbound.text(completion), MAX_ANSWER_CHARS, "answer ")
        prompt, model = inbound.text(prompt), inbound.text(model)
        error = inbound.text(error) if error is not None else None
        prompt_tokens = inbound.token_count(prompt_tokens) or 0
        completion_tokens = inbound.token_count(completion_tokens) or 0
        quotes: dict[str, Any] = {
            "files": self.trees.quoted(purpose.get("parents", ()) if purpose else ())
        }
        anchor = self._prompt_anchor()
        if anchor is not None:
            quotes["prompt"] = anchor
        packed = self.trees.pack(prompt, quotes), self.trees.pack(completion, quotes)
        with self._writing():
            cur = self.conn.execute(
                "INSERT INTO llm_calls(round, model, prompt, completion, prompt_tokens, "
                "completion_tokens, started, latency, error, seed, purpose, cost, endpoint, "
                "prompt_z, completion_z, quotes) "
                "VALUES (?, ?, '', '', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    round,
                    model,
                    prompt_tokens,
                    completion_tokens,
                    started,
                    latency,
                    error,
                    seed,
                    json.dumps(purpose) if purpose is not None else None,
                    cost,
                    endpoint,
                    *packed,
                    json.dumps(quotes, separators=(",", ":")),
                ),
            )
            call_id = int(cur.lastrowid or 0)
            if anchor is None and prompt:  # the run's first prompt: the others' common text
                self._put_meta(prompt_anchor=call_id)
                self._anchor = call_id
        return call_id

    def _prompt_anchor(self) -> int | None:
        """The call whose prompt the others are packed over (None: none stored yet)."""
        if self._anchor is None:
            row = self.conn.execute("SELECT value FROM meta WHERE key = 'prompt_anchor'")
            found = row.fetchone()
            self._anchor = int(json.loads(found[0])) if found is not None else None
        return self._anchor

    def add_candidate(
        self,
        *,
        round: int,
        tree: Tree | None,
        parent_ids: tuple[int, ...] = (),
        call_id: int | None = None,
        evaluation: Evaluation | None = None,
        niche: int | None = None,
        kind: str = "",
    ) -> Candidate:
        """Record a hypothesis (its program `tree`; None when its answer made none); without an
        evaluation it is pending until `set_evaluation`."""
        evaluation = checked(evaluation) if evaluation is not None else Evaluation.pending()
        key = tree.key if tree is not None else ""
        parent = parent_ids[0] if parent_ids else None
        with self._writing(), self.conn:  # (one transaction: its files and its row)
            self.conn.execute("BEGIN")
            files, files_of = self.trees.write(tree, parent) if tree is not None else (None, None)
            cur = self.conn.execute(
                "INSERT INTO candidates(round, parent_ids, call_id, status, reason, niche, key, "
                "created, kind, files, files_of) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    round,
                    json.dumps(list(parent_ids)),
                    call_id,
                    evaluation.status,
                    evaluation.reason,
                    niche,
                    key or None,
                    time.time(),
                    kind,
                    files,
                    files_of,
                ),
            )
        candidate_id = int(cur.lastrowid or 0)
        if tree is not None:
            self.trees.written(candidate_id, tree, files_of)
        return Candidate(
            candidate_id,
            round,
            tree,
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
        attempts: Sequence[Attempt] = (),
    ) -> Candidate:
        """Record the outcome of a pending hypothesis (and, on a cluster, where each try of
        it ran); the hypothesis with it (the outcome as `hone.evaluation.checked` keeps it: a
        verifier passed in from Python is checked too)."""
        evaluation, output = checked(evaluation), inbound.text(output)
        tries = json.dumps([a.as_json() for a in attempts]) if attempts else None
        with self._writing():
            self.conn.execute(
                "UPDATE candidates SET status = ?, score = ?, metrics = ?, feedback = ?, "
                "reason = ?, output = ?, eval_started = ?, eval_seconds = ?, cpu_seconds = ?, "
                "cached_from = ?, attempts = ? WHERE id = ?",
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
                    tries,
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

    def attempts(self) -> dict[int, tuple[Attempt, ...]]:
        """Where each hypothesis evaluated on a cluster was tried, by id (in order: the last
        try gave its outcome, those before were lost with their node)."""
        try:
            rows = self.conn.execute(
                "SELECT id, attempts FROM candidates WHERE attempts IS NOT NULL"
            ).fetchall()
        except sqlite3.OperationalError:  # an older hone's store, opened read-only: no column
            return {}
        return {row[0]: tuple(Attempt(**a) for a in json.loads(row[1])) for row in rows}

    def spread(self) -> tuple[int, int]:
        """On a cluster: how many nodes gave evaluations their outcome, and how many
        evaluations were tried again after losing their node (counted in SQL)."""
        try:
            row = self.conn.execute(
                "SELECT COUNT(DISTINCT json_extract(attempts, '$[#-1].node')), "
                "COUNT(*) FILTER (WHERE json_array_length(attempts) > 1) "
                "FROM candidates WHERE attempts IS NOT NULL"
            ).fetchone()
        except sqlite3.OperationalError:  # an older hone's store, opened read-only
            return 0, 0
        return int(row[0]), int(row[1])

    @functools.cached_property
    def _lean(self) -> str:
        """The lean columns (`_lean_columns`) as this store's candidates table has them: an
        older hone's, opened read-only (not given the newer columns), has NULL for each it
        lacks."""
        return _lean_columns({row[1] for row in self.conn.execute("PRAGMA table_info(candidates)")})

    @functools.cached_property
    def trees(self) -> Trees:
        """The hypotheses' trees (made once the store's columns are this hone's)."""
        return Trees(self.conn, self.meta().program_filename)

    def candidates(self, *, pending: bool = False, lean: bool = False) -> list[Candidate]:
        """Every evaluated hypothesis in order (or only the pending ones). `lean`: without
        their programs and outputs (`Candidate.stripped`; `candidates_by_id` has them)."""
        return list(self.each_candidate(pending=pending, lean=lean))

    def each_candidate(
        self, *, pending: bool = False, lean: bool = False, placed_after: int | None = None
    ) -> Iterator[Candidate]:
        """`candidates`, one at a time (a long run's need not all be in memory at once);
        `placed_after`: only those placed after that placement, in the order placed."""
        where = "status = 'pending'" if pending else "status != 'pending'"
        order = "id"
        if placed_after is not None:
            where, order = f"placed > {int(placed_after)}", "placed"
        columns = self._lean if lean else "*"
        rows = self.conn.execute(f"SELECT {columns} FROM candidates WHERE {where} ORDER BY {order}")
        while batch := rows.fetchmany(256):  # (their files read together)
            yield from self._candidates(batch)

    def candidates_by_id(self, ids: Sequence[int]) -> list[Candidate]:
        """Whole hypotheses by id, in the order asked."""
        found: dict[int, Candidate] = {}
        for start in range(0, len(ids), 500):
            part = list(ids[start : start + 500])
            marks = ",".join("?" * len(part))
            rows = self.conn.execute(f"SELECT * FROM candidates WHERE id IN ({marks})", part)
            found.update((c.id, c) for c in self._candidates(rows.fetchall()))
        return [found[i] for i in ids]

    def lean_by_id(self, ids: Sequence[int]) -> list[Candidate]:
        """Hypotheses by id without their programs and outputs (`Candidate.stripped`), in
        the order asked."""
        found: dict[int, Candidate] = {}
        for start in range(0, len(ids), 500):
            part = list(ids[start : start + 500])
            marks = ",".join("?" * len(part))
            query = f"SELECT {self._lean} FROM candidates WHERE id IN ({marks})"
            found.update(
                (c.id, c) for c in self._candidates(self.conn.execute(query, part).fetchall())
            )
        return [found[i] for i in ids]

    def _candidates(self, rows: Sequence[sqlite3.Row]) -> list[Candidate]:
        trees = self.trees.of_rows(rows)
        return [_candidate(row, tree) for row, tree in zip(rows, trees, strict=True)]

    def counts(self) -> dict[str, int]:
        """How many hypotheses have each status (pending included), kept by triggers."""
        rows = self.conn.execute(
            f"SELECT status, hypotheses FROM {kept_totals(self.conn, 'status_counts')}"
        )
        return {row[0]: int(row[1]) for row in rows}

    def best(self, objective: str, select: str = "search") -> Candidate | None:
        """The run's answer worked out in SQL, as `hone.trust.answer` finds it: of the scored
        hypotheses no check failed, the best in search (`select` "holdout": the best on
        held-out of those validated, if any), the first of equals; when every one failed a
        check, the best in search. None: nothing scored."""
        order = "ASC" if objective == "minimize" else "DESC"
        columns = {row[1] for row in self.conn.execute("PRAGMA table_info(candidates)")}
        scored = "status = 'ok' AND score IS NOT NULL"
        passed = f"{scored} AND (verified IS NULL OR verified != 0)"
        queries = [f"{scored} ORDER BY score {order}, id"]
        if "verified" in columns:
            queries.insert(0, f"{passed} ORDER BY score {order}, id")
            if select == "holdout":
                queries.insert(0, f"{passed} AND holdout IS NOT NULL ORDER BY holdout {order}, id")
        for query in queries:  # (by score: not by `candidates_ok`, which would sort them all)
            row = self.conn.execute(
                f"SELECT id FROM candidates INDEXED BY candidates_score WHERE {query} LIMIT 1"
            ).fetchone()
            if row is not None:
                return self.candidate(row[0])
        return None

    def bests(self, objective: str) -> list[Candidate]:
        """The run's successive new bests in id order, lean (what `hone.credit.of_bests`
        reads), worked out in SQL: each scored hypothesis no check failed (`hone.trust`: it is
        no answer) better than every such one before it."""
        checked = "NULL AS verified" not in self._lean
        rows = self.conn.execute(
            f"SELECT {self._lean} FROM candidates WHERE id IN ({new_bests(objective, checked)}) "
            "ORDER BY id"
        ).fetchall()
        return self._candidates(rows)

    def first(self) -> Candidate | None:
        """The first evaluated hypothesis (a starting program), None before there is one."""
        row = self.conn.execute(
            "SELECT id FROM candidates WHERE status != 'pending' ORDER BY id LIMIT 1"
        ).fetchone()
        return self.candidate(row[0]) if row is not None else None

    def rounds(
        self, objective: str, last: int
    ) -> tuple[list[tuple[int, int, int, float | None, float | None]], int]:
        """The `last` rounds as (round, evaluated, scored, round's best, best so far), and how
        many rounds there are; worked out in SQL."""
        pick = "MIN" if objective == "minimize" else "MAX"
        rounds = int(
            self.conn.execute(
                "SELECT COUNT(DISTINCT round) FROM candidates WHERE status != 'pending'"
            ).fetchone()[0]
        )
        rows = self.conn.execute(
            "SELECT round, COUNT(*), COUNT(CASE WHEN status = 'ok' THEN score END), "
            f"{pick}(CASE WHEN status = 'ok' THEN score END) FROM candidates "
            "WHERE status != 'pending' GROUP BY round ORDER BY round DESC LIMIT ?",
            (last,),
        ).fetchall()[::-1]
        if not rows:
            return [], rounds
        before = self.conn.execute(
            f"SELECT {pick}(score) FROM candidates WHERE status = 'ok' AND round < ?",
            (rows[0][0],),
        ).fetchone()[0]
        found = []
        for round_, evaluated, scored, best in rows:
            if best is not None and (
                before is None or (best < before if objective == "minimize" else best > before)
            ):
                before = best
            found.append((int(round_), int(evaluated), int(scored), best, before))
        return found, rounds

    def parents_of_kind(self, kind: str) -> list[tuple[int, ...]]:
        """The parent ids of every hypothesis of `kind` (pending ones included), in order."""
        rows = self.conn.execute(
            "SELECT parent_ids FROM candidates WHERE kind = ? ORDER BY id", (kind,)
        ).fetchall()
        return [tuple(json.loads(row["parent_ids"])) for row in rows]

    def codes(self, ids: Sequence[int]) -> dict[int, str]:
        """The programs of hypotheses by id (those that have one), as `Tree.text`."""
        return {c.id: c.tree.text for c in self.candidates_by_id(ids) if c.tree is not None}

    def candidate(self, candidate_id: int) -> Candidate:
        """One hypothesis by id."""
        row = self.conn.execute("SELECT * FROM candidates WHERE id = ?", (candidate_id,)).fetchone()
        if row is None:
            raise KeyError(candidate_id)
        return self._candidates([row])[0]

    def calls(self, *, failed: bool = False) -> Iterator[dict[str, Any]]:
        """Every answered model call in order (`failed`: the failed ones too), its prompt as it
        was sent and its answer as it came."""
        where = "" if failed else "WHERE error IS NULL "
        rows = self.conn.execute(f"SELECT * FROM llm_calls {where}ORDER BY id")
        return (self.trees.call(row) for row in rows)

    @functools.cached_property
    def _totals(self) -> str:
        return kept_totals(self.conn, "call_totals")

    def failed_calls(self) -> int:
        """How many model calls failed (each is kept with its reason)."""
        return int(self.conn.execute(f"SELECT TOTAL(failed) FROM {self._totals}").fetchone()[0])

    def usage(self) -> Usage:
        """Answered model calls, the tokens and cost of every call so far (an answer that was
        paid and not used, of a hedged request, counts), and the failed calls (from the
        calls' totals: a long run's calls are not read)."""
        query = (
            "SELECT TOTAL(calls) - TOTAL(failed), SUM(prompt_tokens), SUM(completion_tokens), "
            f"TOTAL(cost), TOTAL(failed) FROM {self._totals}"
        )
        try:
            row = self.conn.execute(query).fetchone()
        except sqlite3.OperationalError:  # "integer overflow": counts a server made up
            row = self.conn.execute(query.replace("SUM(", "TOTAL(")).fetchone()
        return Usage(int(row[0]), int(row[1] or 0), int(row[2] or 0), float(row[3]), int(row[4]))

    def call_kinds(self) -> dict[str, int]:
        """How many model calls were made for each purpose (hypothesis: an improvement or a
        crossover; fix, reflection, insights), failed ones included."""
        rows = self.conn.execute(f"SELECT kind, SUM(calls) FROM {self._totals} GROUP BY kind")
        return {row[0]: int(row[1]) for row in rows}

    def unclaimed_answers(self) -> list[dict[str, Any]]:
        """Answers to hypothesis prompts (or their last fix) that no hypothesis was made of:
        a run stopped between storing an answer and storing its hypothesis."""
        return [
            self.trees.call(row)
            for row in self.conn.execute(
                "SELECT * FROM llm_calls AS c WHERE c.error IS NULL "
                # (prompts.CallKind's hypothesis kinds; "hypothesis": an older hone's)
                "AND json_extract(c.purpose, '$.kind') IN "
                "('improve', 'crossover', 'fix', 'hypothesis') "
                "AND NOT EXISTS (SELECT 1 FROM candidates AS k WHERE k.call_id = c.id) "
                "AND NOT EXISTS (SELECT 1 FROM llm_calls AS f WHERE f.error IS NULL "
                "AND json_extract(f.purpose, '$.answer_of') = c.id) ORDER BY c.id"
            )
        ]

    def add_note(self, *, round: int, kind: str, text: str, call_id: int | None = None) -> int:
        """Keep a reflection or an insights memory the model wrote, or a person's note; its id."""
        text = inbound.text(text)  # (a note from the command line may hold any bytes)
        with self._writing():
            cur = self.conn.execute(
                "INSERT INTO notes(round, kind, text, call_id, created) VALUES (?, ?, ?, ?, ?)",
                (round, kind, text, call_id, time.time()),
            )
        return int(cur.lastrowid or 0)

    def add_finding(
        self, candidate_id: int, check: str, passed: bool, text: str, score: float | None = None
    ) -> None:
        """Keep what a check of a new best found (`hone.trust`); the hypothesis's held-out
        score (a validation's `score`) and whether it is verified (false once a check fails,
        true once one passes and none failed) go with it."""
        text = inbound.text(text)
        with self._writing(), self.conn:
            self.conn.execute("BEGIN")
            self.conn.execute(
                "INSERT INTO findings(candidate_id, check_name, passed, score, text, created) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (candidate_id, check, int(passed), score, text, time.time()),
            )
            if score is not None:
                self.conn.execute(
                    "UPDATE candidates SET holdout = ? WHERE id = ?", (score, candidate_id)
                )
            verified = "0" if not passed else "COALESCE(verified, 1)"
            self.conn.execute(
                f"UPDATE candidates SET verified = {verified} WHERE id = ?", (candidate_id,)
            )

    def findings(self, candidate_id: int | None = None) -> list[sqlite3.Row]:
        """What the checks of new bests found (of one hypothesis), in order."""
        if candidate_id is None:
            return list(self.conn.execute("SELECT * FROM findings ORDER BY id"))
        return list(
            self.conn.execute(
                "SELECT * FROM findings WHERE candidate_id = ? ORDER BY id", (candidate_id,)
            )
        )

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


def new_bests(objective: str, checked: bool = True) -> str:
    """The SQL of the ids of a run's successive new bests in id order: each scored hypothesis
    no check failed (`checked`: the store records checks) better than every such one before
    it; found by stepping from each to the next along `candidates_ok`, not by reading every
    score into a window."""
    beats = "<" if objective == "minimize" else ">"
    passed = " AND (n.verified IS NULL OR n.verified != 0)" if checked else ""
    return (
        "WITH RECURSIVE bests(id, score) AS (SELECT * FROM (SELECT id, score FROM candidates n "
        f"WHERE n.status = 'ok' AND n.score IS NOT NULL{passed} ORDER BY n.id LIMIT 1) "
        "UNION ALL SELECT c.id, c.score FROM bests b JOIN candidates c ON c.id = (SELECT n.id "
        f"FROM candidates n WHERE n.status = 'ok' AND n.id > b.id AND +n.score {beats} b.score"
        f"{passed} ORDER BY n.id LIMIT 1)) SELECT id FROM bests"
    )


_LEAN_COLUMNS = (
    "id", "round", "parent_ids", "call_id", "status", "score", "metrics", "feedback", "reason",
    "eval_seconds", "cpu_seconds", "cached_from", "niche", "key", "kind", "holdout", "verified",
)  # fmt: skip


def _lean_columns(have: set[str] | None = None) -> str:
    """Every column but the program and the output (unless the key is missing: an older
    store's rows keep their program, so that the key can be worked out); of a table with
    only the columns `have` (an older hone's, read as it is), NULL for each it lacks."""
    columns = [c if have is None or c in have else f"NULL AS {c}" for c in _LEAN_COLUMNS]
    code = "CASE WHEN key IS NULL THEN code END" if have is None or "key" in have else "code"
    return ", ".join([*columns, f"{code} AS code, '' AS output, NULL AS files, NULL AS files_of"])


def _candidate(row: sqlite3.Row, tree: Tree | None) -> Candidate:
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
        tree=tree,
        evaluation=evaluation,
        parent_ids=tuple(json.loads(row["parent_ids"])),
        call_id=row["call_id"],
        output=row["output"],
        cached_from=row["cached_from"],
        niche=row["niche"],
        kind=row["kind"] if "kind" in row.keys() else "",  # noqa: SIM118 (sqlite3.Row)
        key=(row["key"] if "key" in row.keys() else None) or "",  # noqa: SIM118 (a Row)
        holdout=row["holdout"] if "holdout" in row.keys() else None,  # noqa: SIM118 (a Row)
        verified=_verified(row),
    )


def _verified(row: sqlite3.Row) -> bool | None:
    value = row["verified"] if "verified" in row.keys() else None  # noqa: SIM118 (a Row)
    return None if value is None else bool(value)


@contextlib.contextmanager
def opened(run_dir: Path) -> Iterator[Store]:
    """Open a run read-only for inspection (storage may be read-only) and close it after."""
    store = Store.open(run_dir, readonly=True)
    try:
        yield store
    finally:
        store.close()
