"""The page that `hone dashboard` serves and `hone report` inlines (static/app.js), in a real
browser, on runs written to be awkward: scores that sit in a narrow band with a few outliers far
below, an answer that did not apply, a crossover, calls that cost nothing, and runs that stand
differently (running, stopped, killed, interrupted). Each test looks at the DOM and the SVG and
saves a screenshot."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest

from hone.cli import main
from hone.evaluation import Evaluation
from hone.meta import RunMeta
from hone.store import Store
from hone.tree import Tree
from tests.web.conftest import start_dashboard, stop

MODEL = "openai:local"
LOCAL = {MODEL: {"input": 0.0, "output": 0.0, "source": "local"}}
NO_CODE = "I would pack the circles on a hexagonal lattice, rotated a little at each ring."
WHY = "the answer holds no code block and no SEARCH/REPLACE edit; answer with one"


def program(spacing: float) -> str:
    """A 23-line program; `spacing` tells one from another."""
    head = ["import math", "", "# EVOLVE-BLOCK-START", "def pack(n):", f"    spacing = {spacing!r}"]
    body = [f"    x{i} = spacing * {i}  # ring {i}" for i in range(12)]
    tail = ["    return [x0, x1, x2, x3]", "# EVOLVE-BLOCK-END", "", "", "def run():"]
    return "\n".join([*head, *body, *tail, "    return pack(26)"]) + "\n"


# The awkward run after its start (#1): hypotheses #2 to #15 as (round, parents, score or None for
# the answer that did not apply, call kind). Scores sit between 2.20 and 2.25; three programs that
# broke score 1.3; #6 did not apply; #7 is a crossover of #4 and #2; #11 is the best.
HYPOTHESES = [
    (1, (1,), 2.2108, "improve"),
    (1, (1,), 1.3, "improve"),
    (1, (1,), 2.2163, "improve"),
    (2, (4,), 2.2211, "improve"),
    (2, (4,), None, "improve"),
    (2, (4, 2), 2.2287, "crossover"),
    (3, (7,), 1.3, "improve"),
    (3, (7,), 2.2302, "improve"),
    (3, (9,), 2.2318, "improve"),
    (4, (10,), 2.2354, "improve"),
    (4, (10,), 2.2249, "improve"),
    (4, (11,), 1.3, "improve"),
    (5, (11,), 2.2331, "improve"),
    (5, (14,), 2.2296, "improve"),
]
START, BEST, REJECTED, CROSSOVER = 2.2, 11, 6, 7


def awkward_run(run_dir: Path, **status: Any) -> Path:
    """A run written to the store directly (see HYPOTHESES); stopped by its call budget unless
    `status` says otherwise."""
    meta = RunMeta(
        task_name="packing", objective="maximize", model={"spec": MODEL}, prices=LOCAL,
        search={"strategy": "top-k"}, created=time.time() - 600,
    )  # fmt: skip
    store = Store.create(run_dir, meta)
    start = store.add_candidate(round=0, tree=Tree.one("program.py", program(1.0)))
    store.set_evaluation(start, Evaluation(score=START))
    for number, (round_, parents, score, kind) in enumerate(HYPOTHESES, start=1):
        code = None if score is None else program(1.0 + (number + 1) / 100)  # #11: 1.11
        answer = NO_CODE if code is None else f"```python\n{code}```"
        call = store.add_call(
            round=round_, model=MODEL, prompt=f"Improve program #{parents[0]}.", completion=answer,
            prompt_tokens=900, completion_tokens=300, started=time.time(), latency=2.5,
            purpose={"kind": kind, "parents": list(parents)}, cost=0.0,
        )  # fmt: skip
        if code is None:
            failed = Evaluation.failed("invalid-edit", WHY)
            store.add_candidate(
                round=round_, tree=None, parent_ids=parents, call_id=call, evaluation=failed
            )
            continue
        made = store.add_candidate(
            round=round_, tree=Tree.one("program.py", code), parent_ids=parents, call_id=call
        )
        store.set_evaluation(made, Evaluation(score=score, feedback=f"score {score}"))
    store.set_status(**({"status": "stopped", "stop_reason": "max_llm_calls"} | status))
    store.close()
    return run_dir


def flat_run(run_dir: Path) -> Path:
    """Ten scores from 1000.0 to 1000.18 (+0.018 %), a step at each model call; each with a
    digit beyond those shown (the gain is not shown with more digits than the scores)."""
    store = Store.create(run_dir, RunMeta(task_name="flat", model={"spec": MODEL}, prices=LOCAL))
    for i in range(10):
        call = store.add_call(
            round=i, model=MODEL, prompt="Improve it.", completion="x", prompt_tokens=10,
            completion_tokens=5, started=time.time(), latency=1.0, cost=0.0,
        ) if i else None  # fmt: skip
        made = store.add_candidate(
            round=i,
            tree=Tree.one("program.py", f"x = {i}\n"),
            parent_ids=(i,) if i else (),
            call_id=call,
        )
        store.set_evaluation(made, Evaluation(score=1000.0 + i * 0.0200001))
    store.set_status("stopped", stop_reason="patience")
    store.close()
    return run_dir


def tuned_run(run_dir: Path) -> Path:
    """Start 2.2; the model's #2 2.21 (+0.01); tuning's #3 2.2235 (+0.0135) and #4 2.2, no gain;
    the model's #5 2.2242 (+0.0007)."""
    meta = RunMeta(task_name="tuned", objective="maximize", model={"spec": MODEL}, prices=LOCAL)
    store = Store.create(run_dir, meta)
    steps = [((), 2.2, ""), ((1,), 2.21, ""), ((2,), 2.2235, "tune"), ((2,), 2.2, "tune")]
    for number, (parents, score, kind) in enumerate([*steps, ((3,), 2.2242, "")], start=1):
        call = store.add_call(
            round=number, model=MODEL, prompt="Improve it.", completion="x", prompt_tokens=10,
            completion_tokens=5, started=time.time(), latency=1.0, cost=0.0,
        ) if parents and not kind else None  # fmt: skip
        made = store.add_candidate(
            round=number, tree=Tree.one("program.py", f"x = {score}\n"), parent_ids=parents,
            call_id=call, kind=kind,
        )  # fmt: skip
        store.set_evaluation(made, Evaluation(score=score))
    store.set_status("stopped", stop_reason="max_llm_calls")
    store.close()
    return run_dir


def open_report(run_dir: Path, tab: Any, html: Path) -> None:
    """`hone report` of the run, written to `html` and opened in the tab."""
    assert main(["report", str(run_dir), "-o", str(html)]) == 0
    tab.goto(html.as_uri())


def view(page: Any, name: str) -> None:
    """Open a view of the page, and wait until it is drawn (the click changes the URL's hash;
    the page draws the view when the browser says so)."""
    page.click(f'#views a[data-view="{name}"]')
    page.wait_for_selector(f"section#{name}.view.active")


def y_ticks(page: Any, plot: str) -> list[str]:
    return list(page.locator(f"{plot} svg text.y-tick").all_text_contents())


def check_awkward(page: Any, shots: Path, name: str) -> None:
    """What the page shows of `awkward_run`, the same in the dashboard and the report."""
    # 1. the best program, the gain from the start, a best-score card that opens the best
    best = page.locator('[data-stat="best score"]')
    assert best.locator(".value").inner_text() == "2.2354"
    gain = page.locator('[data-stat="gain from the start"]')
    assert gain.locator(".value").inner_text() == "+0.0354 (+1.61 %)"
    assert gain.locator(".label").nth(1).inner_text() == "2.2 → 2.2354 · higher is better"
    assert gain.locator(".credit").inner_text() == "model 0.0354, tuning 0"  # no tuning trial
    page.wait_for_function("document.getElementById('best-code').textContent.includes('1.11')")
    assert (
        page.locator("#best-title").inner_text()
        == f"Best program: #{BEST} · score 2.2354 · round 4"
    )
    assert "spacing = 1.11" in page.locator("#best-code").inner_text()
    assert page.locator("#best-code.clipped").count() == 1  # 23 lines: the first ones shown
    assert page.locator("#best-more").inner_text() == "show all 23 lines"
    # 2. the score axis: about 2.2 to 2.25, the three scores of 1.3 on its lower edge
    ticks = y_ticks(page, "#score-plot")
    values = [float(t) for t in ticks]
    assert values[0] >= 2.19 and values[-1] <= 2.26, ticks
    assert len(set(ticks)) == len(ticks) and all(re.fullmatch(r"2\.\d\d+", t) for t in ticks), ticks
    outliers = page.locator("#score-plot path.outlier")
    assert outliers.count() == 3
    assert set(outliers.evaluate_all("ps => ps.map(p => p.dataset.side)")) == {"below"}
    assert (
        "score 1.3 (below the axis: an outlier)" in outliers.first.locator("title").text_content()
    )
    assert page.locator("#score-plot circle.hyp").count() == 1 + len(HYPOTHESES) - 3 - 1
    assert "off the axis (3)" in page.locator("#score-plot .legend").inner_text()
    page.screenshot(path=str(shots / f"{name}-overview.png"), full_page=True)
    page.click("#best-more")
    assert page.locator("#best-code.clipped").count() == 0
    assert page.locator("#best-more").inner_text() == "show fewer lines"
    best.click()  # the card opens the best hypothesis
    page.wait_for_selector("#detail:not([hidden])")
    assert page.locator("#detail-title").inner_text() == f"Hypothesis #{BEST} · score 2.2354"
    page.click("#detail-close")
    # 6. an answer that did not apply: what the model returned and why, no diff
    view(page, "hypotheses")
    page.click(f'#hyp-table tbody tr[data-id="{REJECTED}"]')
    page.wait_for_selector("#detail pre.answer")
    assert page.locator("#detail-title").inner_text() == f"Hypothesis #{REJECTED} · invalid-edit"
    assert page.locator("#detail pre.answer").inner_text() == NO_CODE
    assert page.locator("#detail pre.reason").inner_text() == WHY
    assert (
        "did not apply, so no program was made" in page.locator("#detail .no-program").inner_text()
    )
    assert page.locator("#detail pre.diff").count() == 0  # (the parent was shown as deleted)
    page.screenshot(path=str(shots / f"{name}-rejected.png"))
    page.click("#detail-close")
    # 3. the lineage says what it shows
    view(page, "lineage")
    titles = page.locator("#lineage-plot text.axis-title").all_text_contents()
    assert titles == ["round →", "hypotheses of the round, by id ↓"]
    assert page.locator("#lineage-plot text.round-label").all_text_contents() == [
        str(r) for r in range(6)
    ]
    assert page.locator("#lineage-plot text.node-label").count() == 1 + len(HYPOTHESES)
    cross = page.locator(f'#lineage-plot path.edge.cross[data-to="{CROSSOVER}"]')
    assert cross.get_attribute("data-from") == "2"  # its second parent (#4 is the first)
    assert page.locator("#lineage-plot circle.node.crossover").count() == 1
    key = page.locator("#lineage-key").inner_text()
    for label in ("ok (scored)", "invalid-edit", "parent → child (edited)", "crossover: its second parent", f"best (#{BEST})"):  # fmt: skip
        assert label in key, key
    page.screenshot(path=str(shots / f"{name}-lineage.png"), full_page=True)
    # 5. calls that cost nothing: said, with no axis of noise
    view(page, "models")
    assert page.locator("#cost-plot").inner_text() == "Local models: no cost."
    assert page.locator("#cost-plot svg").count() == 0
    page.screenshot(path=str(shots / f"{name}-models.png"), full_page=True)
    view(page, "overview")


@pytest.mark.slow
def test_the_report_and_the_dashboard_show_an_awkward_run_plainly(
    tmp_path: Path, tab: Any, request: pytest.FixtureRequest
) -> None:
    run_dir, shots = awkward_run(tmp_path / "awkward"), tmp_path / "screens"
    shots.mkdir()
    html = tmp_path / "report.html"
    open_report(run_dir, tab, html)
    tab.wait_for_selector("#score-plot svg")
    check_awkward(tab, shots, "report")
    assert (
        tab.locator('[data-stat="status"] .value').inner_text()
        == "stopped: model-call budget spent"
    )
    dashboard, url = start_dashboard(run_dir)
    request.addfinalizer(lambda: stop(dashboard))
    tab.goto(url)
    tab.wait_for_selector("#score-plot svg")
    check_awkward(tab, shots, "dashboard")
    print(f"\nscreenshots in {shots}")


@pytest.mark.slow
def test_a_tiny_gain_is_drawn_small(tmp_path: Path, tab: Any) -> None:
    """+0.02 % over ten steps is no leap: the axis spans at least 1 % of the scores' size."""
    html = tmp_path / "report.html"
    open_report(flat_run(tmp_path / "flat"), tab, html)
    tab.wait_for_selector("#score-plot svg")
    values = [float(t) for t in y_ticks(tab, "#score-plot")]
    assert values[-1] - values[0] >= 9.0, values  # 1 % of 1000, less the ticks' rounding
    ys = tab.locator("#score-plot circle.best-point").evaluate_all(
        "cs => cs.map(c => +c.getAttribute('cy'))"
    )
    plot = tab.locator("#score-plot svg").evaluate("s => s.viewBox.baseVal.height")
    assert len(ys) == 10 and max(ys) - min(ys) < 0.05 * plot, ys  # the whole climb: a twentieth
    gain = tab.locator('[data-stat="gain from the start"] .value').inner_text()
    assert gain == "+0.18 (+0.018 %)", gain
    assert tab.locator("#score-plot svg text.x-tick").all_text_contents() == [
        "0",
        "2",
        "4",
        "6",
        "8",
    ]  # 9 calls: whole numbers
    tab.screenshot(path=str(tmp_path / "flat.png"), full_page=True)


@pytest.mark.slow
def test_live_only_while_a_process_drives_the_run(
    tmp_path: Path, tab: Any, request: pytest.FixtureRequest
) -> None:
    """The header says "live" for a run whose status says running and whose lock a process
    holds; a stopped run says that it stopped and why; a run whose process died (the lock
    let go, nothing written) says so within a poll or two."""
    running = awkward_run(tmp_path / "runs" / "a-running", status="running", stop_reason=None)
    awkward_run(tmp_path / "runs" / "b-stopped")
    awkward_run(
        tmp_path / "runs" / "c-interrupted", status="interrupted", stop_reason="interrupted"
    )
    holder = Store.open(running)
    holder.lock()  # this test is the process that drives it
    request.addfinalizer(holder.close)
    dashboard, url = start_dashboard(tmp_path / "runs")
    request.addfinalizer(lambda: stop(dashboard))
    tab.goto(url)
    tab.wait_for_selector("#live.on")
    assert tab.locator("#live").inner_text() == "live"
    assert tab.locator('[data-stat="status"] .value').inner_text() == "running"
    assert tab.locator("#runs a.running").all_inner_texts() == ["a-running"]
    tab.screenshot(path=str(tmp_path / "running.png"))
    tab.click('#runs a[data-run="1"]')
    tab.wait_for_function("!document.getElementById('live').classList.contains('on')")
    assert tab.locator("#live").inner_text() == "stopped: model-call budget spent"
    tab.screenshot(path=str(tmp_path / "stopped.png"))
    view(tab, "compare")
    statuses = tab.locator("#compare-table tbody td:nth-child(5)").all_inner_texts()
    assert statuses == ["running", "stopped: model-call budget spent", "interrupted"]
    tab.click('#runs a[data-run="0"]')
    tab.wait_for_selector("#live.on")
    holder.close()  # as a kill -9 would: the lock goes, the status still says running
    tab.wait_for_function("!document.getElementById('live').classList.contains('on')")
    assert tab.locator("#live").inner_text() == "stopped unexpectedly: killed or crashed"
    assert tab.locator("#runs a.running").count() == 0
    tab.screenshot(path=str(tmp_path / "killed.png"))


@pytest.mark.slow
def test_the_gain_card_says_how_much_came_from_the_model_and_from_tuning(
    tmp_path: Path, tab: Any, capsys: Any
) -> None:
    """The card credits each new best to the kind of hypothesis that made it, as `hone show`
    does (hone.credit): the same figures in both."""
    run = tuned_run(tmp_path / "tuned")
    html = tmp_path / "report.html"
    open_report(run, tab, html)
    tab.wait_for_selector('[data-stat="gain from the start"] .credit')
    card = tab.locator('[data-stat="gain from the start"]')
    assert card.locator(".value").inner_text() == "+0.0242 (+1.1 %)"
    assert card.locator(".credit").inner_text() == "model 0.0107, tuning 0.0135"
    capsys.readouterr()
    assert main(["show", str(run)]) == 0
    shown = capsys.readouterr().out.splitlines()
    assert "gain from the start 2.2 → 2.2242: model 0.0107, tuning 0.0135" in shown


def _long_run(folder: Path, n: int) -> Path:
    """A stopped run of `n` hypotheses written in bulk (benchmarks/scale.py's store)."""
    import random

    from benchmarks.scale import fill

    meta = RunMeta(task_name="long", model={"spec": MODEL}, status="stopped")
    store = Store.create(folder, meta)
    fill(store, n, random.Random(5))
    store.set_meta(stop_reason="max_llm_calls")
    store.close()
    return folder


def test_the_page_of_a_long_run_shows_its_first_page_and_pages_on(tmp_path: Path, tab: Any) -> None:
    """A run longer than the page draws (hone.web.data.SAMPLE): the overview counts every
    hypothesis (from SQL) and says how many it drew, each drawn on the score plot (about one
    per pixel column, the stream's rows read back as sent: the best card names the run's best);
    the table shows its first page, newest first, and pages on and back, filtered by status on
    the server; the models table counts every call."""
    import re
    import sqlite3

    from hone.web.data import BEST, COLUMNS, NEWEST, PAGE, SAMPLE

    n = SAMPLE + 1500
    run = _long_run(tmp_path / "long", n)
    with sqlite3.connect(run / "hone.db") as db:
        errors = db.execute("SELECT COUNT(*) FROM candidates WHERE status = 'error'").fetchone()[0]
        best = db.execute(
            "SELECT id FROM candidates WHERE status = 'ok' ORDER BY score DESC, id LIMIT 1"
        ).fetchone()[0]
    proc, url = start_dashboard(run)
    try:
        tab.goto(url)
        tab.wait_for_selector('#stats [data-stat="hypotheses"]')
        card = tab.locator('#stats [data-stat="hypotheses"]').inner_text()
        assert f"{n:,}" in card and f"{errors:,} failed" in card and "drawn" in card
        said = re.search(r"([\d,]+) drawn", card)
        assert said is not None
        drawn = int(said.group(1).replace(",", ""))
        assert COLUMNS <= drawn <= COLUMNS + BEST + NEWEST + 60  # (the starts, a few new bests)
        assert tab.locator("#score-plot .point.hyp").count() == drawn
        assert tab.locator('#stats [data-stat="best score"]').get_attribute("data-open") == str(
            best
        )
        tab.click('#views a[data-view="hypotheses"]')
        tab.wait_for_function(f"document.querySelectorAll('#hyp-table tbody tr').length === {PAGE}")

        def shown() -> list[int]:
            return [int(i) for i in tab.locator("#hyp-table tbody tr").evaluate_all(
                "rows => rows.map((r) => r.dataset.id)"
            )]  # fmt: skip

        assert shown() == list(range(n, n - PAGE, -1))
        assert tab.locator("#filter-count").inner_text() == (
            f"1–{PAGE} of {n:,} hypotheses, newest first"
        )
        assert tab.locator("#page-prev").is_disabled()
        tab.click("#page-next")
        tab.wait_for_function(
            f"document.querySelector('#hyp-table tbody tr').dataset.id === '{n - PAGE}'"
        )
        assert shown() == list(range(n - PAGE, n - 2 * PAGE, -1))
        tab.screenshot(path=str(tmp_path / "long-page-2.png"))
        tab.click("#page-prev")
        tab.wait_for_function(f"document.querySelector('#hyp-table tbody tr').dataset.id === '{n}'")
        tab.select_option("#filter-status", "error")
        tab.wait_for_function("document.getElementById('filter-count').textContent.includes('of "
                              f"{errors:,} ')")  # fmt: skip
        statuses = tab.locator("#hyp-table tbody .badge").all_inner_texts()
        assert len(statuses) == PAGE and set(statuses) == {"error"}
        tab.click('#views a[data-view="models"]')
        tab.wait_for_selector("#model-table tbody tr td.num")
        assert tab.locator("#model-table tbody tr td.num").first.inner_text() == str(n - 1)
    finally:
        stop(proc)


def tree_run(run_dir: Path) -> Path:
    """A folder task's run: #2 changes main.py and helper.py and adds plugins/extra.py."""
    meta = RunMeta(
        task_name="tree", program_filename="src", model={"spec": MODEL}, prices=LOCAL,
        created=time.time() - 60,
    )  # fmt: skip
    store = Store.create(run_dir, meta)
    first = Tree({"main.py": "from helper import scale\n\n\ndef total():\n    return scale(1.0)\n",
                  "helper.py": "def scale(x):\n    return x * 2.0\n"})  # fmt: skip
    start = store.add_candidate(round=0, tree=first)
    store.set_evaluation(start, Evaluation(score=-8.0))
    changed = first.with_files(
        {
            "main.py": first["main.py"].replace("scale(1.0)", "scale(2.0)"),
            "helper.py": first["helper.py"].replace("x * 2.0", "x * 2.5"),
            "plugins/extra.py": "def bonus():\n    return 0.0\n",
        }
    )
    call = store.add_call(
        round=1, model=MODEL, prompt="Improve program #1.", completion="Both files.",
        prompt_tokens=90, completion_tokens=30, started=time.time(), latency=1.0,
        purpose={"kind": "improve", "parents": [1]}, cost=0.0,
    )  # fmt: skip
    made = store.add_candidate(round=1, tree=changed, parent_ids=(1,), call_id=call)
    store.set_evaluation(made, Evaluation(score=-5.0))
    store.set_status("stopped", stop_reason="max_llm_calls")
    store.close()
    return run_dir


@pytest.mark.slow
def test_a_tree_hypothesis_shows_each_changed_file_with_its_path_and_hunks(
    tmp_path: Path, tab: Any, request: pytest.FixtureRequest
) -> None:
    run_dir = tree_run(tmp_path / "tree")
    html = tmp_path / "report.html"
    assert main(["report", str(run_dir), "-o", str(html)]) == 0
    dashboard, url = start_dashboard(run_dir)
    request.addfinalizer(lambda: stop(dashboard))
    for name, address in (("report", html.as_uri()), ("dashboard", url)):
        tab.goto(address)
        tab.wait_for_selector("#score-plot svg")
        view(tab, "hypotheses")
        tab.click('#hyp-table tbody tr[data-id="2"]')
        tab.wait_for_selector("#detail section.file-diff")
        files = tab.locator("#detail section.file-diff")
        paths = files.evaluate_all("ss => ss.map(s => s.dataset.path)")
        assert paths == ["helper.py", "main.py", "plugins/extra.py"], name
        assert files.locator("h4 code.path").all_text_contents() == paths
        counts = files.locator("h4 .counts").all_text_contents()
        assert counts == ["+1 −1", "+1 −1", "new file, +2 −0"], (name, counts)
        helper = files.nth(0).locator("pre.diff")
        assert helper.locator("span.del").all_text_contents() == ["-    return x * 2.0"]
        assert helper.locator("span.add").all_text_contents() == ["+    return x * 2.5"]
        main_hunk = files.nth(1).locator("pre.diff").inner_text()
        assert "-    return scale(1.0)\n+    return scale(2.0)" in main_hunk
        assert "diff --git" not in main_hunk  # (the path is the section's title)
        assert files.nth(2).locator("span.add").all_text_contents()[-1] == "+    return 0.0"
        assert tab.locator("#detail p.files-changed").inner_text().startswith("3 files changed")
        tab.screenshot(path=str(tmp_path / f"{name}-tree-diff.png"), full_page=True)
        tab.click("#detail-close")


def checked_run(run_dir: Path, select: str = "search") -> Path:
    """Four hypotheses, each a new best in search (1, 2, 3, 4); the first three validated on
    held-out data (1.5, 2.5, 2.0: #3 overfits), #4 failing its strict re-check; `select`,
    the run's [evaluation] select."""
    meta = RunMeta(
        task_name="checked", model={"spec": MODEL}, prices=LOCAL, evaluation={"select": select}
    )
    store = Store.create(run_dir, meta)
    for i, holdout in enumerate((1.5, 2.5, 2.0, None), start=1):
        made = store.add_candidate(
            round=i - 1,
            tree=Tree.one("program.py", f"x = {i}\n"),
            parent_ids=(i - 1,) if i > 1 else (),
        )
        store.set_evaluation(made, Evaluation(score=float(i)))
        if holdout is not None:
            store.add_finding(made.id, "validate", True, "", score=holdout)
    store.add_note(round=2, kind="overfitting", text="the search may be overfitting: #3 beats #2")
    store.add_finding(4, "verify_strict", False, "circles 7 and 12 overlap")
    store.set_status("stopped", stop_reason="max_llm_calls")
    store.close()
    return run_dir


@pytest.mark.slow
def test_the_page_shows_held_out_scores_and_what_the_checks_found(
    tmp_path: Path, tab: Any, request: pytest.FixtureRequest
) -> None:
    run_dir = checked_run(tmp_path / "checked")
    html = tmp_path / "report.html"
    assert main(["report", str(run_dir), "-o", str(html)]) == 0
    dashboard, url = start_dashboard(run_dir)
    request.addfinalizer(lambda: stop(dashboard))
    for where in (html.as_uri(), url):
        tab.goto(where)
        tab.wait_for_selector("#score-plot svg")
        held = tab.locator("#score-plot path.holdout")
        assert held.count() == 3  # beside the four search scores
        assert held.evaluate_all("ps => ps.map(p => +p.dataset.id)") == [1, 2, 3]
        assert "#2 · held-out 2.5 (search 2)" in held.nth(1).locator("title").text_content()
        assert "held-out score (3 validated)" in tab.locator("#score-plot .legend").inner_text()
        assert tab.locator("#score-plot circle.hyp").count() == 4
        # the answer: #4 failed its strict check, so the best is #3
        card = tab.locator('[data-stat="best score"]')
        assert card.locator(".value").inner_text() == "3"
        assert card.locator(".label").nth(1).inner_text() == "#3, round 2 · held-out 2 · open it"
        gain = tab.locator('[data-stat="gain from the start"]')  # (#4 failed: no new best)
        assert gain.locator(".label.credit").inner_text() == "model 2, tuning 0"
        found = tab.locator("#findings li").all_inner_texts()
        assert found[:2] == [
            "the search may be overfitting: #3 beats #2",
            "#4 not verified: verify_strict · circles 7 and 12 overlap",
        ]
        assert found[2:] == [
            f"#{i} passed validate · held-out {h}" for i, h in ((1, 1.5), (2, 2.5), (3, 2))
        ]
        tab.screenshot(path=str(tmp_path / "checked.png"), full_page=True)


@pytest.mark.slow
def test_a_run_that_selects_by_held_out_score_shows_that_answer_as_its_best(
    tmp_path: Path, tab: Any
) -> None:
    """With --select holdout the run's answer (hone show's best) is the best held-out score
    of the validated programs, #2; the page's best card says the same, not #3."""
    run_dir = checked_run(tmp_path / "checked", select="holdout")
    html = tmp_path / "report.html"
    open_report(run_dir, tab, html)
    tab.wait_for_selector("#score-plot svg")
    card = tab.locator('[data-stat="best score"]')
    assert card.locator(".value").inner_text() == "2"
    assert card.locator(".label").nth(1).inner_text() == "#2, round 1 · held-out 2.5 · open it"


@pytest.mark.slow
def test_a_run_whose_every_best_failed_a_check_has_no_answer_on_the_page(
    tmp_path: Path, tab: Any
) -> None:
    """Every scored program failed a check: the best card says the run has no answer, as
    hone run and hone show do, not that nothing scored."""
    run_dir = checked_run(tmp_path / "checked")
    store = Store.open(run_dir)
    for i in (1, 2, 3):
        store.add_finding(i, "verify_strict", False, "never good enough")
    store.close()
    html = tmp_path / "report.html"
    open_report(run_dir, tab, html)
    tab.wait_for_selector("#score-plot svg")
    card = tab.locator('[data-stat="best score"]')
    assert card.locator(".value").inner_text() == "-"
    below = card.locator(".label").nth(1).inner_text()
    assert below == "no answer: every scored program failed a check of new bests"
