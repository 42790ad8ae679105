"""Hypotheses: written as they are made and evaluated, read back whole or lean."""

from __future__ import annotations

import dataclasses
import functools
import json
import sqlite3
import time
from collections.abc import Iterator, Sequence
from typing import Any

from hone import inbound
from hone.evaluation import Evaluation, checked
from hone.executors import Attempt
from hone.population import Candidate
from hone.store.database import Database
from hone.tree import Tree


class Candidates(Database):
    """The hypotheses of a run's database."""

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
                "cached_from = ?, attempts = ?, residuals = ? WHERE id = ?",
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
                    json.dumps(evaluation.residuals) if evaluation.residuals else None,
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

    def residuals(self, ids: Sequence[int]) -> dict[int, tuple[float, ...]]:
        """The residuals of hypotheses' evaluations by id, of those that have some (tuning's
        least-squares fit reads them when it resumes; the views never load them)."""
        try:
            rows = self._by_id("id, residuals", ids, "AND residuals IS NOT NULL")
        except sqlite3.OperationalError:  # an older hone's store, opened read-only
            return {}
        return {row[0]: tuple(json.loads(row[1])) for row in rows}

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
        found = {c.id: c for c in self._candidates(self._by_id("*", ids))}
        return [found[i] for i in ids]

    def lean_by_id(self, ids: Sequence[int]) -> list[Candidate]:
        """Hypotheses by id without their programs and outputs (`Candidate.stripped`), in
        the order asked."""
        found = {c.id: c for c in self._candidates(self._by_id(self._lean, ids))}
        return [found[i] for i in ids]

    def _by_id(self, columns: str, ids: Sequence[int], where: str = "") -> list[sqlite3.Row]:
        """`columns` of the rows of `ids` (and `where`), read 500 at a time (SQLite's limit on
        a statement's variables)."""
        rows: list[sqlite3.Row] = []
        for start in range(0, len(ids), 500):
            part = list(ids[start : start + 500])
            marks = ",".join("?" * len(part))
            query = f"SELECT {columns} FROM candidates WHERE id IN ({marks}) {where}"
            rows += self.conn.execute(query, part).fetchall()
        return rows

    def _candidates(self, rows: Sequence[sqlite3.Row]) -> list[Candidate]:
        trees = self.trees.of_rows(rows)
        return [_candidate(row, tree) for row, tree in zip(rows, trees, strict=True)]

    def first(self) -> Candidate | None:
        """The first evaluated hypothesis (a starting program), None before there is one."""
        row = self.conn.execute(
            "SELECT id FROM candidates WHERE status != 'pending' ORDER BY id LIMIT 1"
        ).fetchone()
        return self.candidate(row[0]) if row is not None else None

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

    def last_candidate(self) -> int | None:
        """The id of the newest hypothesis (None: none yet)."""
        row = self.conn.execute("SELECT MAX(id) FROM candidates").fetchone()
        return int(row[0]) if row[0] is not None else None

    def last_round(self) -> int:
        """The highest round number recorded (0 for the starting program only)."""
        row = self.conn.execute("SELECT MAX(round) FROM candidates").fetchone()
        return int(row[0]) if row[0] is not None else -1


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
