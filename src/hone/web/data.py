"""A run's store seen read-only, as plain data: what the dashboard streams, the report embeds
and `hone show` prints. It never writes, so reading a running run costs the loop nothing."""

from __future__ import annotations

import contextlib
import difflib
import fcntl
import json
import math
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hone.exceptions import RunDirError
from hone.meta import RunMeta
from hone.store import DB_NAME, readonly_connection

Row = dict[str, Any]
_CLIP = (
    400  # characters of a reason or feedback in the table rows (the full text is in `hypothesis`)
)
_SHOWN = (  # the metadata a person reads (task, model, settings, status, prices), by RunMeta field
    "task_name", "status", "stop_reason", "error", "seed", "objective", "created", "model",
    "budget", "search", "prices", "sandbox", "replay_of", "program_filename",
)  # fmt: skip
STOP_TEXT = {  # why a run stopped, as people say it (RunMeta.stop_reason)
    "target": "reached the target score",
    "patience": "no improvement for the patience limit",
    "max_rounds": "round budget spent",
    "max_llm_calls": "model-call budget spent",
    "max_tokens": "token budget spent",
    "max_seconds": "time budget spent",
    "max_cost": "cost budget spent",
    "interrupted": "interrupted",
}


@dataclass
class Cursor:
    """How far a reader has sent a run: the last candidate, call and note, and the candidates
    that were pending then (they change once verified)."""

    candidate: int = 0
    call: int = 0
    note: int = 0
    placed: int = 0  # the last placement recorded (a hypothesis is placed once registered)
    pending: set[int] = field(default_factory=set)
    version: int = -1  # SQLite's data_version when last read
    running: bool = False  # whether a process drove the run when last read


class RunReader:
    """Read-only access to one run's `hone.db` (open with `RunReader.open`)."""

    def __init__(self, run_dir: Path, conn: sqlite3.Connection) -> None:
        self.run_dir = run_dir
        self.conn = conn
        columns = {row[1] for row in conn.execute("PRAGMA table_info(llm_calls)")}
        self._cost = "cost" if "cost" in columns else "NULL AS cost"  # an older store
        # a crossover: the call's purpose says so (that of a fix says what it fixed)
        self._crossover = (
            "COALESCE(json_extract(l.purpose, '$.fixes'), json_extract(l.purpose, '$.kind')) "
            "= 'crossover'"
            if "purpose" in columns
            else "0"
        )
        kept = {row[1] for row in conn.execute("PRAGMA table_info(candidates)")}
        self._placed = "placed" if "placed" in kept else ""  # (a store from before placements)

    @classmethod
    def open(cls, run_dir: str | Path) -> RunReader:
        """Open a run directory read-only."""
        folder = Path(run_dir)
        db = folder / DB_NAME
        if not db.is_file():
            raise RunDirError(
                f"{str(folder)!r} is not a hone run (no {DB_NAME}); pass the folder that "
                "'hone run' printed"
            )
        try:
            conn = readonly_connection(db)
            conn.execute("SELECT COUNT(*) FROM meta").fetchone()
        except sqlite3.DatabaseError as exc:
            raise RunDirError(f"{str(db)!r} is not a readable hone database ({exc})") from None
        return cls(folder, conn)

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()

    def changed(self, cursor: Cursor) -> bool:
        """True when another connection has written since `cursor` was last read, or the
        process that drove the run then has gone (killed: it wrote nothing); cheap."""
        version = int(self.conn.execute("PRAGMA data_version").fetchone()[0])
        return version != cursor.version or (cursor.running and not self.in_use())

    def in_use(self) -> bool:
        """True when a hone process holds the run's writer lock (`Store.in_use`, without
        creating the lock file: this reader writes nothing)."""
        try:
            handle = (self.run_dir / ".lock").open("rb")
        except OSError:
            return False  # no lock file: no process ever drove it from here
        with handle:
            try:
                # A shared lock, released at once, tells whether a writer holds it. It is asked
                # only while the run's status says a process drives it (`delta`), so mostly of
                # a lock held; a process that starts in the instant between the two gets the
                # "in use" error and is started again.
                fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            except OSError:
                return False
            with contextlib.suppress(OSError):
                fcntl.flock(handle, fcntl.LOCK_UN)
        return False

    def meta(self) -> RunMeta:
        """The run's metadata."""
        rows = self.conn.execute("SELECT key, value FROM meta")
        return RunMeta.from_json({row[0]: json.loads(row[1]) for row in rows})

    def delta(self, cursor: Cursor) -> Row:
        """Everything new since `cursor` (all of it for a fresh cursor), which it advances:
        metadata, hypotheses (new ones and those verified since), calls and notes."""
        cursor.version = int(self.conn.execute("PRAGMA data_version").fetchone()[0])
        with self.conn:  # one read transaction: a consistent picture
            self.conn.execute("BEGIN")
            meta = self.meta()
            shown = {key: getattr(meta, key) for key in _SHOWN}
            # the lock is looked at only while the status says a process drives the run
            running = meta.status in ("created", "running") and self.in_use()
            placed = f"UNION ALL SELECT id FROM candidates WHERE {self._placed} > ? "
            ids = (  # new, placed since (registered after it was verified), or pending then
                "SELECT id FROM candidates WHERE id > ? "
                + (placed if self._placed else "")
                + "UNION ALL SELECT value FROM json_each(?)"
            )  # (each part searched by an index: a long run is not read whole at every change)
            known = (cursor.placed,) if self._placed else ()
            hypotheses = [
                _hypothesis_row(row)
                for row in self.conn.execute(
                    f"SELECT c.*, {self._crossover} AS crossover FROM candidates c "
                    f"LEFT JOIN llm_calls l ON l.id = c.call_id WHERE c.id IN ({ids}) "
                    "ORDER BY c.id",
                    (cursor.candidate, *known, json.dumps(sorted(cursor.pending))),
                )
            ]
            calls = [
                dict(row)
                for row in self.conn.execute(
                    "SELECT id, round, model, prompt_tokens, completion_tokens, started, latency, "
                    f"{self._cost}, error FROM llm_calls WHERE id > ? ORDER BY id",
                    (cursor.call,),
                )
            ]
            notes = [
                dict(row)
                for row in self.conn.execute(
                    "SELECT id, round, kind, text, created FROM notes WHERE id > ? ORDER BY id",
                    (cursor.note,),
                )
            ]
        for h in hypotheses:
            cursor.candidate = max(cursor.candidate, h["id"])
            cursor.placed = max(cursor.placed, h["placed"] or 0)
            if h["status"] == "pending":
                cursor.pending.add(h["id"])
            else:
                cursor.pending.discard(h["id"])
        cursor.call = max([cursor.call, *(c["id"] for c in calls)])
        cursor.note = max([cursor.note, *(n["id"] for n in notes)])
        cursor.running = running
        state = {"running": running, "text": status_text(meta, running=running)}
        return {
            "meta": shown,
            "state": state,
            "hypotheses": hypotheses,
            "calls": calls,
            "notes": notes,
        }

    def snapshot(self) -> Row:
        """The whole run as plain data (a delta from the start)."""
        return self.delta(Cursor())

    def ids(self) -> list[int]:
        """Every hypothesis id, in order."""
        return [row[0] for row in self.conn.execute("SELECT id FROM candidates ORDER BY id")]

    def hypothesis(self, candidate_id: int) -> Row:
        """One hypothesis in full: program, diff against its parent, outcome, and the model
        call that proposed it (prompt, answer, tokens, latency, cost). KeyError when absent."""
        if not 0 <= candidate_id < 2**63:  # (no SQLite integer: no such hypothesis)
            raise KeyError(candidate_id)
        row = self.conn.execute(
            f"SELECT c.*, {self._crossover} AS crossover FROM candidates c "
            "LEFT JOIN llm_calls l ON l.id = c.call_id WHERE c.id = ?",
            (candidate_id,),
        ).fetchone()
        if row is None:
            raise KeyError(candidate_id)
        found = _hypothesis_row(row, clip=None)
        found["code"] = row["code"]
        found["output"] = row["output"]
        parent = None
        if found["parents"]:
            parent = self.conn.execute(
                "SELECT id, code FROM candidates WHERE id = ?", (found["parents"][0],)
            ).fetchone()
        # An answer that did not apply made no program: no diff (against nothing, the whole
        # parent would read as deleted); the page shows what the model returned instead.
        found["diff"] = (
            diff(parent["code"], row["code"], parent["id"], candidate_id)
            if parent and row["code"] is not None
            else ""
        )
        found["children"] = [
            r[0]
            for r in self.conn.execute(
                "SELECT c.id FROM candidates c, json_each(c.parent_ids) p WHERE p.value = ? "
                "ORDER BY c.id",
                (candidate_id,),
            )
        ]
        call = None
        if row["call_id"] is not None:
            call = self.conn.execute(
                "SELECT id, model, prompt, completion, prompt_tokens, completion_tokens, "
                f"started, latency, {self._cost}, error FROM llm_calls WHERE id = ?",
                (row["call_id"],),
            ).fetchone()
        found["call"] = dict(call) if call is not None else None
        return found


def to_json(value: Any) -> str:
    """`value` as strict JSON, which a browser's JSON.parse reads: a number that is not finite
    (an evaluator's inf or nan metric) is written {"__float__": "inf"} (or "-inf", "nan"),
    which the page reads back (app.js, `fromJson`); everything else as json.dumps writes it."""
    try:
        return json.dumps(value, separators=(",", ":"), allow_nan=False)
    except ValueError:  # (the rare case: only then is the value walked)
        return json.dumps(_finite(value), separators=(",", ":"), allow_nan=False)


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return {"__float__": repr(value)}
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def _hypothesis_row(row: sqlite3.Row, clip: int | None = _CLIP) -> Row:
    keys = row.keys()
    return {
        "id": row["id"],
        "round": row["round"],
        "parents": json.loads(row["parent_ids"]),
        "call": row["call_id"],
        "status": row["status"],
        "score": row["score"] if row["status"] == "ok" else None,
        "metrics": json.loads(row["metrics"]),
        "feedback": _clip(row["feedback"], clip),
        "reason": _clip(row["reason"], clip),
        "created": row["created"],
        "eval_seconds": row["eval_seconds"],
        "cached_from": row["cached_from"],
        "niche": row["niche"],
        "crossover": bool(row["crossover"]) if "crossover" in keys else False,
        # where the search strategy placed it, in the order placements were recorded
        "placement": json.loads(row["placement"])
        if "placement" in keys and row["placement"]
        else None,
        "placed": row["placed"] if "placed" in keys else None,
    }


def _clip(text: str, limit: int | None) -> str:
    if limit is None or len(text) <= limit:
        return text
    return text[: limit - 2] + " …"


def diff(before: str | None, after: str | None, parent: int, child: int) -> str:
    """The unified diff of a hypothesis's program against its parent's."""
    return "".join(
        difflib.unified_diff(
            (before or "").splitlines(keepends=True),
            (after or "").splitlines(keepends=True),
            f"#{parent}",
            f"#{child}",
        )
    )


def status_text(meta: RunMeta, *, running: bool) -> str:
    """How the run stands, true also when its process died without saying so (`running`: a
    process holds its lock)."""
    if meta.status == "running" and not running:
        return "stopped unexpectedly: killed or crashed"
    if meta.status == "created":  # (it is "running" once the starting programs are verified)
        if running:
            return "starting"
        return (
            "stopped unexpectedly while starting (before its first model call): killed or crashed"
        )
    if meta.status == "stopped" and meta.stop_reason:
        reason = STOP_TEXT.get(meta.stop_reason, meta.stop_reason.replace("_", " "))
        return f"stopped: {reason}"
    if meta.status == "failed" and meta.error:
        return f"failed: {meta.error}"
    return meta.status


def models(meta: Row, calls: list[Row]) -> list[Row]:
    """Per model: calls, failed calls, tokens, mean latency, cost, and its price."""
    table: dict[str, Row] = {}
    for call in calls:
        row = table.setdefault(
            call["model"],
            {"model": call["model"], "calls": 0, "errors": 0, "prompt_tokens": 0,
             "completion_tokens": 0, "latency": 0.0, "cost": 0.0, "priced": True},
        )  # fmt: skip
        row["calls"] += 1
        row["errors"] += call["error"] is not None
        row["prompt_tokens"] += call["prompt_tokens"]
        row["completion_tokens"] += call["completion_tokens"]
        row["latency"] += call["latency"]
        row["cost"] += call["cost"] or 0.0
        row["priced"] = row["priced"] and call["cost"] is not None
    prices = meta.get("prices") or {}
    for row in table.values():
        row["latency"] /= row["calls"]
        row["price"] = prices.get(row["model"])
    return sorted(table.values(), key=lambda r: (-r["cost"], -r["calls"], r["model"]))


def total_cost(calls: list[Row]) -> float:
    """The run's cost in USD (calls without a known price count 0)."""
    return float(sum(c["cost"] or 0.0 for c in calls))


def money(usd: float) -> str:
    """A cost as people read it: $0.0123, $1.23."""
    return f"${usd:.4f}" if usd < 1 else f"${usd:,.2f}"


def price_text(row: Row) -> str:
    """How a model's calls were priced: 'local: free', '$0.15 / $0.60 per M tokens (built-in)'."""
    price = row.get("price")
    if not price:
        return "no price known: counted as 0"
    if price["source"] == "local":
        return "local: free"
    return f"${price['input']:g} / ${price['output']:g} per M tokens in/out ({price['source']})"
