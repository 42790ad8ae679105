"""`hone dashboard` in a real browser, following a run that a scripted model drives in another
process: each new outcome comes to the page by itself, a click opens one with its diff, and a
note sent from the page reaches the run's next prompt. The run's evaluator waits at a gate the
test opens one answer at a time, so the test never depends on how fast the machine is."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
from pathlib import Path

import pytest

from tests.helpers import environment, hone_command, stored, wait_until
from tests.web.conftest import start_dashboard, stop

GATED_EVALUATOR = """\
import importlib.util
import os
import time

GATE = "{gate}"  # in the task folder, the one folder of the test's that candidates see


def evaluate(program_path):
    spec = importlib.util.spec_from_file_location("candidate", program_path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    value = module.run()
    while os.path.exists(GATE) and value >= float(open(GATE).read()):
        time.sleep(0.02)  # held until the test opens the gate further
    return {"combined_score": -abs(value - 10.0), "value": value, "feedback": f"f() = {value}"}
"""
NOTE = "try a hexagonal lattice (note 4217)"


def scripted_answers(path: Path, count: int) -> Path:
    """Whole-block answers creeping towards 10, every seventh one without code."""
    texts = [
        "No idea." if i % 7 == 6 else f"```python\ndef f():\n    return {1.0 + i * 0.1!r}\n```"
        for i in range(count)
    ]
    path.write_text("".join(json.dumps(t) + "\n" for t in texts))
    return path


def open_gate(task: Path, last: int) -> None:
    """Let the evaluator finish the start and the answers up to number `last` (from 0: f() up
    to 1.0 + last * 0.1); the others wait."""
    gate = task / "gate"
    gate.with_suffix(".tmp").write_text(repr(1.0 + (last + 0.5) * 0.1))
    os.replace(gate.with_suffix(".tmp"), gate)  # (the evaluator never reads half a number)


def evaluated(db: Path) -> int:
    """Hypotheses with an outcome, read as a second reader would."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        return int(
            conn.execute("SELECT COUNT(*) FROM candidates WHERE status != 'pending'").fetchone()[0]
        )


def shown(page) -> int:
    """Hypotheses with an outcome on the score plot: dots and failure marks."""
    return int(page.locator("#score-plot .hyp").count())


@pytest.mark.slow
def test_the_dashboard_follows_a_running_run_and_steers_it(
    make_task, tmp_path: Path, tab, request: pytest.FixtureRequest
) -> None:
    evaluator = GATED_EVALUATOR.replace("{gate}", str(tmp_path / "task" / "gate"))
    toml = "[search]\nfix_attempts = 0\n[evaluation]\ntimeout = 600\n"  # (held at the gate)
    task = make_task(toml=toml, evaluator=evaluator)
    open_gate(task, 2)
    run_dir, db, shots = tmp_path / "run", tmp_path / "run" / "hone.db", tmp_path / "screens"
    shots.mkdir()
    answers = scripted_answers(tmp_path / "a.jsonl", 120)
    argv = ["run", str(task), "--model", f"scripted:{answers}", "--run-dir", str(run_dir)]
    argv += ["--hypotheses", "2", "--workers", "1", "--max-llm-calls", "120", "--patience", "99"]
    run = subprocess.Popen(
        hone_command(*argv), env=environment(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    request.addfinalizer(lambda: stop(run))
    wait_until(lambda: _quiet(evaluated, db) >= 2, "two hypotheses evaluated")
    dashboard, url = start_dashboard(run_dir)
    request.addfinalizer(lambda: stop(dashboard))
    tab.route(
        "**/*",
        lambda route: route.continue_() if route.request.url.startswith(url) else route.abort(),
    )
    tab.goto(url)
    tab.wait_for_selector("#score-plot svg")
    assert tab.locator('[data-stat="status"] .value').inner_text() == "running"

    # One more answer at a time: each outcome, once in the store, comes to the page by itself
    # (how fast is benchmarks/dashboard_latency.py's business).
    for last in (3, 4, 5, 7):  # (answer 6 holds no code: nothing to evaluate)
        before = evaluated(db)
        open_gate(task, last)
        wait_until(lambda: evaluated(db) > before, "the next outcome")  # noqa: B023
        target = evaluated(db)
        tab.wait_for_function(
            f"document.querySelectorAll('#score-plot .hyp').length >= {target}", timeout=120_000
        )
    assert tab.locator("#score-plot .best-line").get_attribute("d")
    assert int(tab.locator('[data-stat="hypotheses"] .value').inner_text()) >= shown(tab)
    tab.screenshot(path=str(shots / "overview.png"), full_page=True)

    tab.click('#views a[data-view="hypotheses"]')
    rows = tab.locator("#hyp-table tbody tr")
    assert rows.count() >= 6
    assert "hypotheses" in tab.locator("#filter-count").inner_text()
    tab.select_option("#filter-status", "invalid-edit")
    badges = tab.locator("#hyp-table tbody tr .badge").all_inner_texts()
    assert badges and set(badges) == {"invalid-edit"}
    tab.select_option("#filter-status", "")
    tab.screenshot(path=str(shots / "hypotheses.png"), full_page=True)
    tab.click('#hyp-table tbody tr[data-id="3"]')
    detail = tab.locator("#detail")
    detail.wait_for(state="visible")
    assert tab.locator("#detail-title").inner_text().startswith("Hypothesis #3 · score ")
    assert "-    return 1.0" in tab.locator("#detail pre.diff .del").all_inner_texts()
    assert "+    return 1.1" in tab.locator("#detail pre.diff .add").all_inner_texts()
    assert "scripted:a.jsonl" in detail.inner_text() and "prompt + " in detail.inner_text()
    tab.screenshot(path=str(shots / "hypothesis.png"))
    tab.click("#detail-close")

    tab.click('#views a[data-view="overview"]')
    tab.fill("#note-text", NOTE)
    tab.click("#note-send")
    tab.wait_for_function("document.getElementById('note-status').textContent.includes('kept')")
    assert "the next prompts carry it" in tab.locator("#note-status").inner_text()
    last_call = stored(db, "SELECT MAX(id) FROM llm_calls")
    open_gate(task, 19)  # the hypotheses the next prompts start
    query = "SELECT id FROM llm_calls WHERE id > ? AND prompt LIKE ? ORDER BY id LIMIT 1"
    wait_until(
        lambda: stored(db, query, last_call, f"%{NOTE}%") is not None, "a prompt with the note"
    )
    tab.wait_for_selector("#notes li.note")
    assert NOTE in tab.locator("#notes li.note").first.inner_text()
    tab.screenshot(path=str(shots / "overview-with-note.png"), full_page=True)

    for view in ("lineage", "strategy", "models"):
        tab.click(f'#views a[data-view="{view}"]')
        tab.screenshot(path=str(shots / f"{view}.png"), full_page=True)
        if view == "lineage":
            assert tab.locator("#lineage-plot circle.node").count() >= 6
            assert tab.locator("#lineage-plot path.edge").count() >= 5
        elif view == "strategy":
            assert "keeps no islands" in tab.locator("#strategy-body").inner_text()
        else:
            row = tab.locator("#model-table tbody tr").first.inner_text()
            assert "scripted:a.jsonl" in row and "local: free" in row and "$0.0000" in row
    assert {p.name for p in shots.iterdir()} >= {"overview.png", "hypothesis.png", "models.png"}
    assert run.poll() is None  # held at the gate: the page followed a running run throughout


def _quiet(fn, *args):
    """fn(*args), or 0 while the store is still being created."""
    try:
        return fn(*args)
    except sqlite3.OperationalError:
        return 0


@pytest.mark.slow
def test_several_runs_side_by_side(make_task, tmp_path: Path, tab, request) -> None:
    import dataclasses
    from concurrent.futures import ThreadPoolExecutor

    import hone
    from hone.testing import FunctionVerifier, ScriptedModel

    task = hone.Task.from_dir(make_task())
    task = dataclasses.replace(task, budget=hone.Budget(max_llm_calls=6, patience=None))
    runs = []
    for name, step in (("steady", 1.0), ("eager", 1.5)):
        answers = [f"```python\ndef f():\n    return {1.0 + step * i!r}\n```" for i in range(1, 7)]
        verifier = FunctionVerifier(_score)
        with ThreadPoolExecutor(1) as pool:  # (the browser's driver holds this thread's loop)
            model, where = ScriptedModel(answers), tmp_path / name
            pool.submit(hone.run, task, model=model, run_dir=where, verifier=verifier).result()
        runs.append(tmp_path / name)
    dashboard, url = start_dashboard(*runs)
    request.addfinalizer(lambda: stop(dashboard))
    tab.goto(url + "#view=compare")
    tab.wait_for_selector("#compare-plot path.run-line")
    assert tab.locator("#runs a").all_inner_texts() == ["steady", "eager"]
    assert tab.locator("#compare-plot path.run-line").count() == 2
    table = tab.locator("#compare-table tbody tr")
    assert table.count() == 2
    assert table.nth(0).locator("td").nth(5).inner_text() == "-3"  # 2.0 ... 7.0: three short
    assert table.nth(1).locator("td").nth(5).inner_text() == "0"  # 2.5 ... 10.0
    tab.screenshot(path=str(tmp_path / "compare.png"), full_page=True)
    table.nth(1).click()
    tab.wait_for_function("document.querySelector('#runs a.active').textContent === 'eager'")
    assert tab.locator('[data-stat="best score"] .value').inner_text() == "0"


def _score(program: str) -> float:
    namespace: dict[str, object] = {}
    exec(program, namespace)  # a test's own programs, in a verifier double
    return -abs(namespace["run"]() - 10.0)  # type: ignore[operator]


@pytest.mark.slow
def test_a_store_deleted_replaced_or_damaged_is_said_on_the_page(
    make_task, tmp_path: Path, tab, request
) -> None:
    """Three runs followed; one's store is deleted, one's replaced by another run's, one's
    damaged: the page says which, keeps what it read, and the server logs no traceback."""
    import dataclasses
    import os
    from concurrent.futures import ThreadPoolExecutor

    import hone
    from hone.testing import FunctionVerifier, ScriptedModel

    task = hone.Task.from_dir(make_task())
    task = dataclasses.replace(task, budget=hone.Budget(max_llm_calls=2, patience=None))
    names = ("deleted", "replaced", "damaged", "other")
    for name in names:
        answers = [f"```python\ndef f():\n    return {v!r}\n```" for v in (4.0, 6.0)]
        with ThreadPoolExecutor(1) as pool:  # (the browser's driver holds this thread's loop)
            pool.submit(
                hone.run, task, model=ScriptedModel(answers), run_dir=tmp_path / name,
                verifier=FunctionVerifier(_score),
            ).result()  # fmt: skip
    dashboard, url = start_dashboard(*(tmp_path / n for n in names[:3]))
    request.addfinalizer(lambda: stop(dashboard))
    tab.goto(url)
    tab.wait_for_selector("#score-plot svg")
    assert tab.locator("#gone").is_hidden()
    for suffix in ("", "-wal", "-shm"):
        (tmp_path / "deleted" / f"hone.db{suffix}").unlink(missing_ok=True)
    os.replace(tmp_path / "other" / "hone.db", tmp_path / "replaced" / "hone.db")
    with (tmp_path / "damaged" / "hone.db").open("r+b") as f:
        f.write(b"\x00not a database any more" * 8)
    expected = [
        "was deleted; what is shown was read before",
        "was replaced by another run's (task 'task' started ",
        "cannot be read any more (file is not a database): damaged or gone",
    ]
    for index, text in enumerate(expected):
        tab.locator("#runs a").nth(index).click()
        tab.wait_for_function(
            "t => document.getElementById('gone').textContent.includes(t)", arg=text, timeout=15_000
        )
        assert tab.locator('[data-stat="best score"] .value').inner_text() == "-4"  # as read
        assert "lost" in (tab.locator("#runs a").nth(index).get_attribute("class") or "")
    detail = tab.request.get(url + "api/runs/2/hypotheses/1")
    assert detail.status == 410 and "cannot be read any more" in detail.json()["error"]
    tab.reload()  # a new stream: the same, said at once
    tab.locator("#runs a").nth(0).click()
    tab.wait_for_function("document.getElementById('gone').textContent.includes('was deleted')")
    stop(dashboard)
    log = dashboard.stderr.read()  # type: ignore[union-attr]
    assert "Exception in ASGI application" not in log and "Traceback" not in log, log
