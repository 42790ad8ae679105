"""A run's store seen read-only, as plain data: what the dashboard streams, the report embeds
and `hone show` prints. It never writes, so reading a running run costs the loop nothing."""

from __future__ import annotations

import contextlib
import fcntl
import json
import math
import sqlite3
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hone.exceptions import RunDirError
from hone.meta import RunMeta
from hone.store import DB_NAME, Trees, kept_totals, new_best_ids, readonly_connection

Row = dict[str, Any]
SAMPLE = 5000  # hypotheses a run's first picture holds; a longer run's are drawn (`drawn`)
# What a longer run's picture draws (`drawn`): an even sample of one hypothesis per pixel column
# of the score plot (app.js `frame`: 900 wide less its margins, 64 and 16), the best and the
# newest few, and every new best; its calls are sampled as evenly for the cost line.
COLUMNS = 820
BEST = 200  # the best scored (the top of the score plot; the report's details come from them)
NEWEST = 200  # the newest (a live run's lineage and table grow from them)
PAGE = 100  # rows of the paged table (`page`) at a time, at most 1000
_TOTALS_EVERY = 2.0  # seconds between a sampled run's totals worked out again
_CALL = (  # what a hypothesis's view shows of its model call
    "id", "model", "prompt", "completion", "prompt_tokens", "completion_tokens", "started",
    "latency", "cost", "error",
)  # fmt: skip
_CLIP = (
    400  # characters of a reason or feedback in the table rows (the full text is in `hypothesis`)
)
_UNSHOWN = {"code", "files", "files_of", "output", "attempts"}  # (`_shown`)
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
    finding: int = 0  # the last finding of the checks of new bests (hone.trust)
    placed: int = 0  # the last placement recorded (a hypothesis is placed once registered)
    pending: set[int] = field(default_factory=set)
    version: int = -1  # SQLite's data_version when last read
    running: bool = False  # whether a process drove the run when last read
    sampled: bool = False  # the run was too long to send whole: its totals come from SQL
    whole: bool = False  # a reader of every row (hone.export's ledger): never sampled
    totals_at: float = 0.0  # when its totals were last sent (time.monotonic)


class RunReader:
    """Read-only access to one run's `hone.db` (open with `RunReader.open`)."""

    def __init__(self, run_dir: Path, conn: sqlite3.Connection) -> None:
        self.run_dir = run_dir
        self.conn = conn
        columns = {row[1] for row in conn.execute("PRAGMA table_info(llm_calls)")}
        self._cost = "cost" if "cost" in columns else "NULL AS cost"  # an older store
        self._endpoint = "endpoint" if "endpoint" in columns else "NULL AS endpoint"
        # a crossover: the call's purpose says so (that of a fix says what it fixed)
        self._crossover = (
            "COALESCE(json_extract(l.purpose, '$.fixes'), json_extract(l.purpose, '$.kind')) "
            "= 'crossover'"
            if "purpose" in columns
            else "0"
        )
        kept = {row[1] for row in conn.execute("PRAGMA table_info(candidates)")}
        self._placed = "placed" if "placed" in kept else ""  # (a store from before placements)
        # whether the checks of new bests are recorded (hone.trust: a hypothesis that failed one
        # is no answer, so no new best either)
        self._checked = "verified" in kept
        # what the table's rows show (not the program, its files or the evaluator's output)
        self._shown = ", ".join(f"c.{name}" for name in sorted(kept - _UNSHOWN))
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
        self._findings = "findings" in tables  # (a store from before the checks)
        self._totals = kept_totals(conn, "call_totals")  # the calls' by model, server and purpose
        self._statuses = kept_totals(conn, "status_counts")  # the hypotheses' by status
        self._trees: Trees | None = None

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
        """Everything new since `cursor` (all of it for a fresh cursor, or for a run of more
        than SAMPLE hypotheses what its page draws: `drawn`, with its `totals`), which it
        advances: metadata, hypotheses (new ones and those verified since), calls and
        notes."""
        cursor.version = int(self.conn.execute("PRAGMA data_version").fetchone()[0])
        with self.conn:  # one read transaction: a consistent picture
            self.conn.execute("BEGIN")
            meta = self.meta()
            shown = {key: getattr(meta, key) for key in _SHOWN}
            # which score picks the run's answer ([evaluation] select; app.js `summary`)
            shown["select"] = meta.evaluation.get("select", "search")
            # the lock is looked at only while the status says a process drives the run
            running = meta.status in ("created", "running") and self.in_use()
            sample = not (cursor.candidate or cursor.sampled or cursor.whole)
            if sample and self._count() > SAMPLE:
                return self._drawn(cursor, meta, shown, running)
            placed = f"UNION ALL SELECT id FROM candidates WHERE {self._placed} > ? "
            ids = (  # new, placed since (registered after it was verified), or pending then
                "SELECT id FROM candidates WHERE id > ? "
                + (placed if self._placed else "")
                + "UNION ALL SELECT value FROM json_each(?)"
            )  # (each part searched by an index: a long run is not read whole at every change)
            known = (cursor.placed,) if self._placed else ()
            hypotheses = _hypothesis_rows(
                self.conn.execute(
                    f"SELECT {self._shown}, {self._crossover} AS crossover FROM candidates c "
                    f"LEFT JOIN llm_calls l ON l.id = c.call_id WHERE c.id IN ({ids}) "
                    "ORDER BY c.id",
                    (cursor.candidate, *known, json.dumps(sorted(cursor.pending))),
                ).fetchall()
            )
            calls = [
                dict(row)
                for row in self.conn.execute(
                    "SELECT id, round, model, prompt_tokens, completion_tokens, started, latency, "
                    f"{self._cost}, error, {self._endpoint} FROM llm_calls WHERE id > ? ORDER BY id",
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
            findings = (
                [
                    dict(row)
                    for row in self.conn.execute(
                        "SELECT id, candidate_id, check_name, passed, score, text FROM findings "
                        "WHERE id > ? ORDER BY id",
                        (cursor.finding,),
                    )
                ]
                if self._findings
                else []
            )
        for h in hypotheses:
            cursor.candidate = max(cursor.candidate, h["id"])
            cursor.placed = max(cursor.placed, h["placed"] or 0)
            if h["status"] == "pending":
                cursor.pending.add(h["id"])
            else:
                cursor.pending.discard(h["id"])
        cursor.call = max([cursor.call, *(c["id"] for c in calls)])
        cursor.note = max([cursor.note, *(n["id"] for n in notes)])
        cursor.finding = max([cursor.finding, *(f["id"] for f in findings)])
        cursor.running = running
        state = {"running": running, "text": status_text(meta, running=running)}
        found = {
            "meta": shown,
            "state": state,
            "hypotheses": hypotheses,
            "calls": calls,
            "notes": notes,
            "findings": findings,
        }
        if cursor.sampled and time.monotonic() - cursor.totals_at >= _TOTALS_EVERY:
            found["totals"] = self.totals()
            cursor.totals_at = time.monotonic()
        return found

    def _count(self) -> int:
        return int(self.conn.execute("SELECT COUNT(*) FROM candidates").fetchone()[0])

    def _drawn(self, cursor: Cursor, meta: RunMeta, shown: Row, running: bool) -> Row:
        """A long run's first picture (inside `delta`'s transaction): the hypotheses `drawn`,
        an even sample of the calls (the last among them), the notes, and the run's `totals`;
        the cursor then follows what comes after."""
        ids = self.drawn()
        hypotheses = _hypothesis_rows(
            self.conn.execute(
                f"SELECT {self._shown}, {self._crossover} AS crossover FROM candidates c "
                "LEFT JOIN llm_calls l ON l.id = c.call_id "
                "WHERE c.id IN (SELECT value FROM json_each(?)) ORDER BY c.id",
                (json.dumps(ids),),
            ).fetchall()
        )
        last_call = int(
            self.conn.execute("SELECT COALESCE(MAX(id), 0) FROM llm_calls").fetchone()[0]
        )
        step = max(1, math.ceil(last_call / COLUMNS))  # (for the cost line)
        calls = [
            dict(row)
            for row in self.conn.execute(
                "SELECT id, round, model, prompt_tokens, completion_tokens, started, latency, "
                f"{self._cost}, error, {self._endpoint} FROM llm_calls "
                "WHERE id IN (SELECT value FROM json_each(?)) ORDER BY id",
                (_every(step, last_call),),
            )
        ]
        notes = [
            dict(row)
            for row in self.conn.execute(
                "SELECT id, round, kind, text, created FROM notes ORDER BY id"
            )
        ]
        findings = (  # (few: the checks of new bests)
            [
                dict(row)
                for row in self.conn.execute(
                    "SELECT id, candidate_id, check_name, passed, score, text FROM findings "
                    "ORDER BY id"
                )
            ]
            if self._findings
            else []
        )
        cursor.finding = max([0, *(f["id"] for f in findings)])
        cursor.candidate = int(self.conn.execute("SELECT MAX(id) FROM candidates").fetchone()[0])
        if self._placed:
            row = self.conn.execute(f"SELECT COALESCE(MAX({self._placed}), 0) FROM candidates")
            cursor.placed = int(row.fetchone()[0])
        cursor.pending = {h["id"] for h in hypotheses if h["status"] == "pending"}
        cursor.call = last_call
        cursor.note = max([0, *(n["id"] for n in notes)])
        cursor.running, cursor.sampled, cursor.totals_at = running, True, time.monotonic()
        return {
            "meta": shown,
            "state": {"running": running, "text": status_text(meta, running=running)},
            "hypotheses": hypotheses,
            "calls": calls,
            "notes": notes,
            "findings": findings,
            "sampled": True,
            "totals": self.totals(),
        }

    def drawn(self) -> list[int]:
        """The hypotheses a long run's page draws: the starting programs, the BEST best
        scored, the run's successive new bests (at most half of SAMPLE), the NEWEST newest,
        those pending, and an even sample by id of one per pixel column of the score plot
        (COLUMNS), whatever the run's length."""
        meta = self.meta()
        order = "ASC" if meta.objective == "minimize" else "DESC"
        found: set[int] = set()
        queries = [
            (  # (the starting programs come first)
                "SELECT id FROM candidates WHERE id <= 50 AND parent_ids = '[]'",
                (),
            ),
            (
                "SELECT id FROM candidates WHERE status = 'ok' AND score IS NOT NULL "
                f"ORDER BY score {order}, id LIMIT ?",
                (BEST,),
            ),
            ("SELECT id FROM candidates ORDER BY id DESC LIMIT ?", (NEWEST,)),
            ("SELECT id FROM candidates WHERE status = 'pending' LIMIT ?", (SAMPLE // 10,)),
        ]
        for query, args in queries:
            found.update(row[0] for row in self.conn.execute(query, args))
        # every new best (up to half the sample): the page credits the gain to each one's kind
        # (app.js `credit`), and one left out would credit the next one's
        found.update(new_best_ids(self.conn, meta.objective, self._checked, SAMPLE // 2))
        last = int(self.conn.execute("SELECT COALESCE(MAX(id), 0) FROM candidates").fetchone()[0])
        step = max(1, math.ceil(last / COLUMNS))
        rows = self.conn.execute(
            "SELECT id FROM candidates WHERE id IN (SELECT value FROM json_each(?))",
            (_every(step, last),),
        )
        found.update(row[0] for row in rows)
        return sorted(found)

    def totals(self) -> Row:
        """The run's counts worked out in SQL, for a page that holds only some of it:
        hypotheses by status, calls, tokens, cost, per model and per server (the calls' from
        their totals, `call_totals`)."""
        statuses = {
            row[0]: int(row[1])
            for row in self.conn.execute(f"SELECT status, hypotheses FROM {self._statuses}")
        }
        models = [
            dict(row)
            for row in self.conn.execute(
                "SELECT model, SUM(calls) AS calls, SUM(failed) AS errors, "
                "TOTAL(prompt_tokens) AS pt, TOTAL(completion_tokens) AS ct, "
                f"TOTAL(latency) AS latency, TOTAL(cost) AS cost FROM {self._totals} "
                "GROUP BY model"
            )
        ]
        pending = statuses.get("pending", 0)
        return {
            "hypotheses": sum(statuses.values()),
            "statuses": statuses,
            "failed": sum(statuses.values()) - statuses.get("ok", 0) - pending,
            "pending": pending,
            "calls": sum(m["calls"] for m in models),
            "tokens": int(sum(m["pt"] + m["ct"] for m in models)),
            "cost": sum(m["cost"] for m in models),
            "models": models,
            "servers": self.endpoints(),
        }

    def model_table(self, meta: Row) -> list[Row]:
        """`models`, from the calls' totals (a long run's calls are not read one by one)."""
        rows = self.conn.execute(
            "SELECT model, SUM(calls) AS calls, SUM(failed) AS errors, "
            "TOTAL(prompt_tokens) AS prompt_tokens, TOTAL(completion_tokens) AS "
            "completion_tokens, TOTAL(latency) / SUM(calls) AS latency, TOTAL(cost) AS cost, "
            f"SUM(priced) = SUM(calls) AS priced FROM {self._totals} GROUP BY model"
        )
        prices = meta.get("prices") or {}
        table = []
        for row in rows:
            found = dict(row)
            found["prompt_tokens"] = int(found["prompt_tokens"])
            found["completion_tokens"] = int(found["completion_tokens"])
            found["priced"], found["price"] = bool(found["priced"]), prices.get(row["model"])
            table.append(found)
        return sorted(table, key=lambda r: (-r["cost"], -r["calls"], r["model"]))

    def failures(self) -> list[Row]:
        """Every failed hypothesis, in order (as the table's rows)."""
        rows = self.conn.execute(
            f"SELECT {self._shown}, {self._crossover} AS crossover FROM candidates c "
            "LEFT JOIN llm_calls l ON l.id = c.call_id "
            "WHERE c.status NOT IN ('ok', 'pending') ORDER BY c.id"
        )
        return _hypothesis_rows(rows.fetchall())

    def page(self, offset: int = 0, limit: int = PAGE, status: str = "", since: int = 0) -> Row:
        """One page of the table of hypotheses, newest first, worked out in SQL: those of
        `status` ("failed": every failure; "": all) from round `since` on; with how many there
        are in all."""
        limit = max(1, min(int(limit), 1000))
        where: list[str] = ["c.round >= ?"]
        args: list[object] = [int(since)]
        if status == "failed":
            where.append("c.status NOT IN ('ok', 'pending')")
        elif status:
            where.append("c.status = ?")
            args.append(status)
        condition = " AND ".join(where)
        if since <= 0:  # (every round: counted from the totals the triggers keep, not a scan)
            counts = dict(self.conn.execute(f"SELECT status, hypotheses FROM {self._statuses}"))
            total = sum(
                n
                for name, n in counts.items()
                if not status
                or name == status
                or (status == "failed" and name not in ("ok", "pending"))
            )
        else:
            found = self.conn.execute(f"SELECT COUNT(*) FROM candidates c WHERE {condition}", args)
            total = int(found.fetchone()[0])
        rows = self.conn.execute(
            f"SELECT {self._shown}, {self._crossover} AS crossover FROM candidates c "
            f"LEFT JOIN llm_calls l ON l.id = c.call_id WHERE {condition} "
            "ORDER BY c.id DESC LIMIT ? OFFSET ?",
            [*args, limit, max(0, int(offset))],
        )
        return {"total": int(total), "rows": _hypothesis_rows(rows.fetchall())}

    def snapshot(self) -> Row:
        """The whole run as plain data (a delta from the start)."""
        return self.delta(Cursor())

    def endpoints(self) -> list[Row]:
        """Per server the calls went to, in the order first used: answered calls, failed
        ones, and the median latency of the answered (None: none answered); from the calls'
        totals and an index of latencies. Empty for a run whose calls went to no server (or a
        store from before servers were recorded)."""
        if self._endpoint != "endpoint":
            return []
        rows = self.conn.execute(
            "SELECT endpoint, SUM(calls) - SUM(failed) AS calls, SUM(failed) AS failed "
            f"FROM {self._totals} WHERE endpoint != '' GROUP BY endpoint ORDER BY MIN(first)"
        ).fetchall()
        found = []
        for endpoint, calls, failed in rows:
            middle = self.conn.execute(  # (the middle one, or the middle two, by latency)
                "SELECT latency FROM llm_calls WHERE endpoint = ? AND error IS NULL "
                "ORDER BY latency LIMIT ? OFFSET ?",
                (endpoint, 2 - calls % 2, (calls - 1) // 2),
            ).fetchall()
            median = sum(r[0] for r in middle) / len(middle) if middle else None
            found.append({"endpoint": endpoint, "calls": calls, "failed": failed, "median": median})
        return found

    def ids(self) -> list[int]:
        """Every hypothesis id, in order."""
        return [row[0] for row in self.conn.execute("SELECT id FROM candidates ORDER BY id")]

    @property
    def trees(self) -> Trees:
        """The hypotheses' trees, as the store keeps them."""
        if self._trees is None:
            self._trees = Trees(self.conn, self.meta().program_filename)
        return self._trees

    def hypothesis(self, candidate_id: int) -> Row:
        """One hypothesis in full: program (`Tree.text`: a one-file tree's is its file's), its
        files' paths, the diff against its parent (a unified diff per changed file), outcome,
        and the model call that proposed it (prompt, answer, tokens, latency, cost). KeyError
        when absent."""
        if not 0 <= candidate_id < 2**63:  # (no SQLite integer: no such hypothesis)
            raise KeyError(candidate_id)
        row = self.conn.execute(
            f"SELECT c.*, {self._crossover} AS crossover FROM candidates c "
            "LEFT JOIN llm_calls l ON l.id = c.call_id WHERE c.id = ?",
            (candidate_id,),
        ).fetchone()
        if row is None:
            raise KeyError(candidate_id)
        [found] = _hypothesis_rows([row], clip=None)
        [tree] = self.trees.of_rows([row])
        found["code"] = tree.text if tree is not None else None
        found["files"] = list(tree.paths) if tree is not None else []
        found["output"] = row["output"]
        parent = None
        if found["parents"] and tree is not None:
            with contextlib.suppress(KeyError):
                parent = self.trees.tree(found["parents"][0])
        # An answer that did not apply made no program: no diff (against nothing, the whole
        # parent would read as deleted); the page shows what the model returned instead.
        found["diff"] = tree.diff(parent) if tree is not None and parent is not None else ""
        found["children"] = [
            r[0]
            for r in self.conn.execute(  # (each part by an index, where the store has them)
                "SELECT id FROM candidates WHERE json_extract(parent_ids, '$[0]') = ?1 "
                "UNION SELECT id FROM candidates WHERE json_extract(parent_ids, '$[1]') = ?1 "
                "UNION SELECT c.id FROM candidates c, json_each(c.parent_ids) p "
                "WHERE json_array_length(c.parent_ids) > 2 AND p.value = ?1 ORDER BY 1",
                (candidate_id,),
            )
        ]
        call = None
        if row["call_id"] is not None:
            stored = self.conn.execute(
                "SELECT * FROM llm_calls WHERE id = ?", (row["call_id"],)
            ).fetchone()
            if stored is not None:
                whole = self.trees.call(stored)
                call = {key: whole.get(key) for key in _CALL}
        found["call"] = call
        return found


def to_json(value: Any) -> str:
    """`value` as strict JSON, which a browser's JSON.parse reads: a number that is not finite
    (an evaluator's inf or nan metric) is written {"__float__": "inf"} (or "-inf", "nan"),
    which the page reads back (app.js, `fromJson`); everything else as json.dumps writes it."""
    try:
        return json.dumps(value, separators=(",", ":"), allow_nan=False)
    except ValueError:  # (the rare case: only then is the value walked)
        return json.dumps(_finite(value), separators=(",", ":"), allow_nan=False)


def packed(delta: Row) -> Row:
    """`delta` as the stream sends it: its hypotheses and its calls each as their keys, once,
    and a list of rows of values (a long run's picture holds thousands of them, and the keys
    were half its bytes); the page reads them back as objects (app.js `unpacked`)."""
    found = dict(delta)
    for name in ("hypotheses", "calls"):
        rows = delta.get(name)
        if rows:
            keys = list(rows[0])
            found[name] = {"keys": keys, "rows": [[row[key] for key in keys] for row in rows]}
    return found


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return {"__float__": repr(value)}
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def _hypothesis_rows(rows: Sequence[sqlite3.Row], clip: int | None = _CLIP) -> list[Row]:
    """Hypotheses as the page's table holds them; each JSON column of them all read in one
    parse (a long run's first picture holds thousands)."""
    if not rows:
        return []
    keys = rows[0].keys()
    parents = _parsed(row["parent_ids"] for row in rows)
    metrics = _parsed(row["metrics"] for row in rows)
    placements = (
        _parsed(row["placement"] or "null" for row in rows)
        if "placement" in keys
        else [None] * len(rows)
    )
    return [
        {
            "id": row["id"],
            "round": row["round"],
            "parents": parents[i],
            "call": row["call_id"],
            "status": row["status"],
            "score": row["score"] if row["status"] == "ok" else None,
            "metrics": metrics[i],
            "feedback": _clip(row["feedback"], clip),
            "reason": _clip(row["reason"], clip),
            "created": row["created"],
            "eval_seconds": row["eval_seconds"],
            "cached_from": row["cached_from"],
            "niche": row["niche"],
            "kind": row["kind"] if "kind" in keys else "",  # "tune": a parameter-tuning trial
            "crossover": bool(row["crossover"]) if "crossover" in keys else False,
            # where the search strategy placed it, in the order placements were recorded
            "placement": placements[i],
            "placed": row["placed"] if "placed" in keys else None,
            # the checks of a new best (hone.trust): its held-out score, whether they passed
            "holdout": row["holdout"] if "holdout" in keys else None,
            "verified": None
            if "verified" not in keys or row["verified"] is None
            else bool(row["verified"]),
        }
        for i, row in enumerate(rows)
    ]


def _parsed(texts: Iterable[str]) -> list[Any]:
    """Each JSON text read, all in one parse."""
    return list(json.loads(f"[{','.join(texts)}]"))


def _every(step: int, last: int) -> str:
    """The ids step, 2 step, ... and `last`, as a JSON list (an even sample found by its ids,
    not by reading every row)."""
    return json.dumps([*range(step, last + 1, step), last])


def _clip(text: str, limit: int | None) -> str:
    if limit is None or len(text) <= limit:
        return text
    return text[: limit - 2] + " …"


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
