"""Notes (reflections, insights, a person's) and what the checks of new bests found."""

from __future__ import annotations

import sqlite3
import time

from hone import inbound
from hone.store.database import Database


class Notes(Database):
    """The notes and findings of a run's database."""

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
