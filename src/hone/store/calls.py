"""Model calls: each prompt and answer packed over what it quotes, and the calls' totals."""

from __future__ import annotations

import functools
import json
import sqlite3
from collections.abc import Iterator
from typing import Any

from hone import inbound
from hone.budget import Usage
from hone.inbound import MAX_ANSWER
from hone.store.database import Database
from hone.store.schema import kept_totals

MAX_ANSWER_CHARS = MAX_ANSWER  # of one model answer kept (hone.inbound states every limit)


class Calls(Database):
    """The model calls of a run's database."""

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

    def call_models(self, call_id: int | None = None) -> dict[int, str]:
        """Which model answered each call (or only `call_id`), by call id."""
        if call_id is not None:
            rows = self.conn.execute("SELECT id, model FROM llm_calls WHERE id = ?", (call_id,))
        else:
            rows = self.conn.execute("SELECT id, model FROM llm_calls")
        return {row[0]: row[1] for row in rows}
