"""What every part of a run's database stands on: its connection (created, opened and migrated),
the writer lock, every write's one-sentence failure, the run's metadata and the trees."""

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
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self, TextIO

from hone.budget import StopReason
from hone.exceptions import RunDirError, StorageError
from hone.meta import RunMeta, RunStatus
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
from hone.store.trees import Trees


@dataclass
class Database:
    """A run's database as its parts share it (`hone.store.Store` adds what they read and
    write)."""

    path: Path
    conn: sqlite3.Connection
    _lock: TextIO | None = field(default=None, repr=False)
    _placed: int | None = field(default=None, repr=False)  # the last `placed` (one writer)
    _anchor: int | None = field(default=None, repr=False)  # `_prompt_anchor`

    @classmethod
    def create(cls, run_dir: Path, meta: RunMeta | None = None) -> Self:
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
    def open(cls, run_dir: Path, *, readonly: bool = False) -> Self:
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
    def _connect(cls, db: Path, *, readonly: bool = False) -> Self:
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

    @functools.cached_property
    def trees(self) -> Trees:
        """The hypotheses' trees (made once the store's columns are this hone's)."""
        return Trees(self.conn, self.meta().program_filename)
