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
    start = store.add_candidate(round=0, code=program(1.0))
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
                round=round_, code=None, parent_ids=parents, call_id=call, evaluation=failed
            )
            continue
        made = store.add_candidate(round=round_, code=code, parent_ids=parents, call_id=call)
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
            round=i, code=f"x = {i}\n", parent_ids=(i,) if i else (), call_id=call
        )
        store.set_evaluation(made, Evaluation(score=1000.0 + i * 0.0200001))
    store.set_status("stopped", stop_reason="patience")
    store.close()
    return run_dir


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
    assert main(["report", str(run_dir), "-o", str(html)]) == 0
    tab.goto(html.as_uri())
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
    assert main(["report", str(flat_run(tmp_path / "flat")), "-o", str(html)]) == 0
    tab.goto(html.as_uri())
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
