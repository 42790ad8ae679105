"""What the views ask of a long run, each answered in SQL from an index or the totals the
triggers keep: the hypotheses by status, the answer, the new bests, the rounds."""

from __future__ import annotations

import json
import sqlite3

from hone.population import Candidate
from hone.store.candidates import Candidates
from hone.store.schema import kept_totals


class Views(Candidates):
    """What the views (`hone show`, the dashboard, the report) ask of a run's database."""

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
        ids = new_best_ids(self.conn, objective, checked)
        rows = self.conn.execute(
            f"SELECT {self._lean} FROM candidates WHERE id IN (SELECT value FROM json_each(?)) "
            "ORDER BY id",
            (json.dumps(ids),),
        ).fetchall()
        return self._candidates(rows)

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


def new_bests(objective: str, checked: bool = True, before: int | None = None) -> str:
    """The SQL of the ids of a run's successive new bests in id order: each scored hypothesis
    no check failed (`checked`: the store records checks) better than every such one before
    it (of those below id `before`, when given); found by stepping from each to the next along
    `candidates_ok`, not by reading every score into a window."""
    beats = "<" if objective == "minimize" else ">"
    passed = " AND (n.verified IS NULL OR n.verified != 0)" if checked else ""
    if before is not None:
        passed += f" AND n.id < {int(before)}"
    return (
        "WITH RECURSIVE bests(id, score) AS (SELECT * FROM (SELECT id, score FROM candidates n "
        f"WHERE n.status = 'ok' AND n.score IS NOT NULL{passed} ORDER BY n.id LIMIT 1) "
        "UNION ALL SELECT c.id, c.score FROM bests b JOIN candidates c ON c.id = (SELECT n.id "
        f"FROM candidates n WHERE n.status = 'ok' AND n.id > b.id AND +n.score {beats} b.score"
        f"{passed} ORDER BY n.id LIMIT 1)) SELECT id FROM bests"
    )


TOP = 512  # the best scores `new_best_ids` reads first


def new_best_ids(
    conn: sqlite3.Connection, objective: str, checked: bool = True, limit: int | None = None
) -> list[int]:
    """The ids of a run's successive new bests in id order (as `new_bests` defines them; the
    first `limit` of them). Stepping along the ids reads every scored hypothesis up to the
    last one, so the new bests among the TOP best scores are found from those alone (any
    hypothesis scored better than the TOP-th is among them, and only those can stand before
    it), and by stepping only those before the first of them: a few hundred at a million
    where scores do not climb with the ids, the same as stepping all of them where they do."""
    minimize = objective == "minimize"
    passed = " AND (verified IS NULL OR verified != 0)" if checked else ""
    top = conn.execute(  # (by `candidates_score`)
        f"SELECT id, score FROM candidates WHERE status = 'ok' AND score IS NOT NULL{passed} "
        f"ORDER BY score {'ASC' if minimize else 'DESC'} LIMIT ?",
        (TOP,),
    ).fetchall()

    def beats(a: float, b: float) -> bool:
        return a < b if minimize else a > b

    whole = len(top) < TOP  # every scored hypothesis read
    if not whole:  # (those scored as the TOP-th may be more than were read: none of them)
        last = top[-1][1]
        top = [row for row in top if beats(row[1], last)]
    high: list[int] = []
    best: float | None = None
    for found, score in sorted((row[0], row[1]) for row in top):
        if best is None or beats(score, best):
            high.append(found)
            best = score
    low: list[int] = []
    if not whole:  # the new bests before the first of those: stepped along the ids
        before = high[0] if high else None
        query = new_bests(objective, checked, before) + ("" if limit is None else " LIMIT ?")
        low = [row[0] for row in conn.execute(query, () if limit is None else (limit,))]
    found_ids = low + high
    return found_ids if limit is None else found_ids[:limit]
