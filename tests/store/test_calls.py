"""The model calls and the totals kept of them."""

import random
import sqlite3
from pathlib import Path

import pytest

from hone.store import Store
from tests.helpers import before_views


def _totals(conn: sqlite3.Connection, source: str) -> list[tuple[object, ...]]:
    rows = conn.execute(
        "SELECT model, endpoint, kind, calls, failed, prompt_tokens, completion_tokens, latency, "
        f"cost, priced, first FROM {source} ORDER BY model, endpoint, kind"
    )
    return [tuple(round(v, 9) if isinstance(v, float) else v for v in row) for row in rows]


def _rounded(rows: list[dict[str, object]]) -> list[dict[str, object]]:
    return [{k: round(v, 9) if isinstance(v, float) else v for k, v in r.items()} for r in rows]


def _write_calls(store: Store, rng: random.Random, count: int) -> None:
    purposes = [{"kind": "improve"}, {"kind": "crossover"}, {"kind": "fix"}, {"kind": "insights"}]
    for i in range(count):
        store.add_call(
            round=i, model=rng.choice(["a", "b"]), prompt="p", completion="c",
            prompt_tokens=rng.randint(0, 900), completion_tokens=rng.randint(0, 900),
            started=float(i), latency=rng.random(), error=rng.choice([None, None, "reset"]),
            purpose=rng.choice([*purposes, None]), cost=rng.choice([None, 0.01, 0.25]),
            endpoint=rng.choice([None, "http://a/v1", "http://b/v1"]),
        )  # fmt: skip


def test_the_calls_totals_stay_right_as_calls_are_written_and_deleted(tmp_path: Path) -> None:
    """`call_totals`, kept by triggers, says what adding the calls up says, by model, server
    and purpose: after calls written through the store, rows written in SQL (as
    benchmarks/scale.py fills a store) and rows deleted; so do the figures read from it."""
    from hone.store import _CALL_KIND, _TOTALS_OF_CALLS

    store = Store.create(tmp_path / "run")
    worked_out = "(" + _TOTALS_OF_CALLS.format(
        endpoint="endpoint", kind=_CALL_KIND.format(p="purpose"), cost="cost"
    ) + ")"  # fmt: skip
    rng = random.Random(25)
    _write_calls(store, rng, 120)
    assert _totals(store.conn, "call_totals") == _totals(store.conn, worked_out)
    assert len(_totals(store.conn, "call_totals")) > 12  # (models × servers × purposes)
    with store.conn:
        store.conn.execute(
            "INSERT INTO llm_calls(round, model, prompt, completion, prompt_tokens, "
            "completion_tokens, started, latency, purpose) SELECT round, 'c', '', '', 5, 6, "
            'started, 1.5, \'{"kind":"improve"}\' FROM llm_calls WHERE id <= 30'
        )
        store.conn.execute("DELETE FROM llm_calls WHERE id % 7 = 0")
    kept = [row[:-1] for row in _totals(store.conn, "call_totals")]  # (but the first call's id)
    assert kept == [row[:-1] for row in _totals(store.conn, worked_out)]
    usage = store.usage()
    row = store.conn.execute(
        "SELECT COUNT(*) - COUNT(error), SUM(prompt_tokens), SUM(completion_tokens), "
        "TOTAL(cost), COUNT(error) FROM llm_calls"
    ).fetchone()
    assert (usage.calls, usage.prompt_tokens, usage.completion_tokens, usage.failed) == (
        row[0], row[1], row[2], row[4],
    )  # fmt: skip
    assert usage.cost == pytest.approx(row[3]) and store.failed_calls() == row[4]
    kinds = store.conn.execute(
        f"SELECT {_CALL_KIND.format(p='purpose')}, COUNT(*) FROM llm_calls GROUP BY 1"
    ).fetchall()
    assert store.call_kinds() == dict(kinds) and set(dict(kinds)) == {
        "hypothesis", "fix", "insights", "",
    }  # fmt: skip
    store.close()


def test_a_store_from_before_the_calls_totals_is_read_as_it_is_and_gains_them(
    tmp_path: Path,
) -> None:
    """A store an older hone wrote (no `call_totals`): read-only, its figures are worked out
    from its calls; opened to write, its totals are added up once and kept from then on."""
    from hone.web.data import RunReader

    store = Store.create(tmp_path / "run")
    rng = random.Random(7)
    _write_calls(store, rng, 80)
    expected = _totals(store.conn, "call_totals")
    usage, kinds, models = store.usage(), store.call_kinds(), RunReader(
        tmp_path / "run", store.conn
    ).model_table({})  # fmt: skip
    before_views(store.conn)
    store.close()
    old = Store.open(tmp_path / "run", readonly=True)
    assert (old.usage(), old.call_kinds()) == (usage, kinds)
    reader = RunReader.open(tmp_path / "run")
    assert _rounded(reader.model_table({})) == _rounded(models)
    assert {e["endpoint"] for e in reader.endpoints()} == {"http://a/v1", "http://b/v1"}
    reader.close()
    assert (
        old.conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'call_totals'").fetchone()
        is None
    )
    old.close()
    store = Store.open(tmp_path / "run")  # (as hone resume opens it)
    assert _totals(store.conn, "call_totals") == expected
    _write_calls(store, rng, 40)
    reopened = Store.open(tmp_path / "run")  # (opened again: not added up twice)
    assert reopened.usage().calls + reopened.usage().failed == 120
    reopened.close()
    assert store.usage().calls + store.usage().failed == 120
    store.close()
