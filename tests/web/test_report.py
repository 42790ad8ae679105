"""`hone report` opened from disk in a real browser with the network blocked: the run's best
score, its plots and each strategy's view; and one cost total across `hone show`, the report and
the dashboard."""

from __future__ import annotations

import dataclasses
import json
import math
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

import hone
from hone.cli import main
from hone.testing import FunctionVerifier, ScriptedModel
from hone.web.data import money
from tests.helpers import value_of
from tests.web.conftest import start_dashboard, stop


def scored(program: str) -> dict[str, float]:
    value = value_of(program)
    return {"combined_score": -abs(value - 10.0), "value": value, "spread": abs(value - 5.0)}


def recorded_run(
    task_dir: Path, run_dir: Path, values: list[float], score: Any = scored, **search: Any
) -> Path:
    """A finished run of scripted answers with `search` settings, scored in this process (by
    `score`)."""
    task = hone.Task.from_dir(task_dir)
    task = dataclasses.replace(
        task,
        budget=hone.Budget(max_llm_calls=len(values), patience=None),
        search=dataclasses.replace(task.search, hypotheses_per_round=2, **search),
    )
    answers = [f"```python\ndef f():\n    return {v!r}\n```" for v in values]
    with ThreadPoolExecutor(1) as pool:  # (the browser's driver holds this thread's loop)
        model, verifier = ScriptedModel(answers), FunctionVerifier(score)
        pool.submit(hone.run, task, model=model, run_dir=run_dir, verifier=verifier).result()
    return run_dir


def open_offline(tab: Any, html: Path) -> list[str]:
    """Open a file with every request that is not for a file aborted; the URLs requested."""
    asked: list[str] = []
    tab.on("request", lambda request: asked.append(request.url))
    tab.route(
        "**/*",
        lambda route: route.continue_() if route.request.url.startswith("file:") else route.abort(),
    )
    tab.goto(html.as_uri())
    tab.wait_for_selector("#score-plot svg")
    return asked


VALUES = [3.0, 12.0, 6.0, 9.5, 4.0, 7.0, 11.0, 8.0]


@pytest.mark.slow
def test_the_report_opens_offline_with_the_best_score_and_plots(
    make_task, tmp_path: Path, tab, capsys
) -> None:
    run_dir = recorded_run(make_task(), tmp_path / "run", VALUES)
    html = tmp_path / "report.html"
    assert main(["report", str(run_dir), "-o", str(html)]) == 0
    size = html.stat().st_size
    print(f"\nreport of {len(VALUES) + 1} hypotheses: {size / 1024:.0f} KB")
    asked = open_offline(tab, html)
    assert all(url.startswith("file:") for url in asked), asked  # nothing from the network
    assert tab.locator('[data-stat="best score"] .value').inner_text() == "-0.5"  # 9.5
    assert tab.locator("#live").inner_text().startswith("report of ")
    assert tab.locator("#score-plot circle.hyp").count() == len(VALUES) + 1
    assert tab.locator("#score-plot circle.best-point").count() == 4  # 1, 3, 6, 9.5
    assert tab.locator("#status-plot rect.status-bar").count() == 1
    assert tab.locator("#status-plot .bar-count").text_content() == str(len(VALUES) + 1)
    assert tab.locator("#note-form").is_hidden()  # a report is read-only
    tab.screenshot(path=str(tmp_path / "report-overview.png"), full_page=True)
    tab.click('#views a[data-view="hypotheses"]')
    assert tab.locator("#hyp-table tbody tr").count() == len(VALUES) + 1
    tab.fill("#filter-text", "9.5")
    assert tab.locator("#hyp-table tbody tr").count() == 1
    tab.locator("#hyp-table tbody tr").click()
    assert tab.locator("#detail-title").inner_text() == "Hypothesis #5 · score -0.5"
    assert "+    return 9.5" in tab.locator("#detail pre.diff .add").all_inner_texts()
    assert "return 9.5" in tab.locator("#detail pre.answer").inner_text()
    tab.screenshot(path=str(tmp_path / "report-hypothesis.png"))
    tab.click("#detail-close")
    tab.click('#views a[data-view="lineage"]')
    assert tab.locator("#lineage-plot circle.node").count() == len(VALUES) + 1
    assert tab.locator("#lineage-plot circle.ring").count() == 1


@pytest.mark.slow
def test_each_strategy_has_its_view(make_task, tmp_path: Path, tab) -> None:
    task = make_task()
    runs = [
        recorded_run(task, tmp_path / "cells", VALUES, strategy="map-elites", features={"value": [0.0, 20.0, 5.0]}),
        recorded_run(task, tmp_path / "front", VALUES, strategy="pareto", objectives={"value": "maximize", "spread": "minimize"}),
        recorded_run(task, tmp_path / "islands", VALUES, strategy="islands", islands=3, reset_every=4),
        recorded_run(task, tmp_path / "missing", VALUES, strategy="map-elites", features={"value": [0.0, 20.0, 5.0], "width": [3.0]}),
    ]  # fmt: skip
    views = {}
    for run_dir in runs:
        html = run_dir / "report.html"
        assert main(["report", str(run_dir), "-o", str(html)]) == 0
        open_offline(tab, html)
        tab.click('#views a[data-view="strategy"]')
        tab.wait_for_function("document.getElementById('strategy-body').innerText.trim() !== ''")
        views[run_dir.name] = tab.locator("#strategy-body").inner_text()
        tab.screenshot(path=str(tmp_path / f"strategy-{run_dir.name}.png"), full_page=True)
        if run_dir.name == "cells":  # bins of 4: 1, 3 | 4, 6, 7 | 8, 9.5, 11 | 12 | -
            assert tab.locator("#cell-plot rect.cell").count() == 4
            assert tab.locator("#cell-plot rect.empty-cell").count() == 1
        elif run_dir.name == "front":  # value up, spread (|value - 5|) down
            points = tab.locator("#front-plot circle.front-point")
            assert points.count() == 6 and tab.locator("#front-plot polyline.front").count() == 1
        elif run_dir.name == "islands":
            assert tab.locator("#island-table tbody tr").count() == 3
            assert tab.locator("#island-plot circle.island-point").count() == len(VALUES)
            # 8 placements, a reset after every 4th: the weaker one of 3 islands each time
            assert tab.locator("#island-plot line.reset-line").count() == 2
            resets = tab.locator("#island-table tbody td:nth-child(5)").all_inner_texts()
            assert sum(int(r.split()[0]) for r in resets if r != "-") == 2, resets
        else:  # "width" is reported by no hypothesis: nothing is on the grid, and it says why
            assert tab.locator("#cell-plot rect.cell").count() == 0
            assert tab.locator("#cell-plot rect.empty-cell").count() == 15
    assert "MAP-Elites: 4 of 5 cells filled" in views["cells"]
    assert "Pareto front: 6 of 9 programs" in views["front"]
    assert "Islands" in views["islands"]
    assert "MAP-Elites: 0 of 15 cells filled" in views["missing"]
    assert "No hypothesis has width: the evaluator does not report it" in views["missing"]


def cells_drawn(page: Any) -> dict[tuple[int, int], int]:
    """The strategy view's filled squares: (x bin, y bin) -> the elite's id."""
    found = page.eval_on_selector_all(
        "#cell-plot rect.cell", "rs => rs.map(r => [r.dataset.cell, +r.dataset.id])"
    )
    return {tuple(int(i) for i in cell.split(",")): id for cell, id in found}


KNAPSACK = {  # choose(items, capacity) by each rule: take items in this order while they fit
    "ratio": "key=lambda i: items[i][1] / items[i][0], reverse=True",
    "lightest": "key=lambda i: items[i][0]",
    "valuable": "key=lambda i: items[i][1], reverse=True",
    "heaviest": "key=lambda i: items[i][0], reverse=True",
}


def knapsack(rule: str) -> str:
    return (
        "```python\ndef choose(items, capacity):\n"
        f"    order = sorted(range(len(items)), {KNAPSACK[rule]})\n"
        "    chosen, load = [], 0\n"
        "    for index in order:\n"
        "        if load + items[index][0] <= capacity:\n"
        "            chosen.append(index)\n"
        "            load += items[index][0]\n"
        "    return chosen\n```"
    )


@pytest.mark.slow
def test_an_openevolve_feature_grid_is_drawn_as_the_strategy_keeps_it(
    tmp_path: Path, tab, request
) -> None:
    """An OpenEvolve config with database.feature_dimensions and feature_bins (bins whose
    range follows the values seen): the dashboard and the report draw the cells the strategy
    placed the programs in, on a grid of the configured bins (it was NaN cells wide)."""
    from hone.budget import Budget
    from hone.strategies.map_elites import MapElites
    from tests.formats.conftest import DATA

    task = hone.Task.from_dir(DATA / "openevolve_features").configured(
        search={"hypotheses_per_round": 1}, evaluation={"workers": 1}
    )
    assert task.search.features == {"score": [5.0], "complexity": [4.0], "items_used": [10.0]}
    answers = [knapsack(rule) for rule in KNAPSACK]
    answers.append("```python\ndef choose(items, capacity):\n    return []\n```")
    run_dir = tmp_path / "run"
    with ThreadPoolExecutor(1) as pool:  # (the browser's driver holds this thread's loop)
        budget = Budget(max_llm_calls=len(answers), patience=None)
        result = pool.submit(
            hone.run, task, model=ScriptedModel(answers), run_dir=run_dir, budget=budget
        ).result()
    history = list(result.history)
    assert len(history) == len(answers) + 1
    # what the strategy keeps, worked out anew from the run's hypotheses (the oracle)
    elites = MapElites(task.objective, task.search.features).elites(history)
    drawn: dict[tuple[int, int], hone.Candidate] = {}  # complexity x items_used; score folded
    for (x, y, _), elite in elites.items():
        if (x, y) not in drawn or (elite.score or 0) > (drawn[x, y].score or 0):
            drawn[x, y] = elite
    expected = {cell: c.id for cell, c in drawn.items()}
    assert len({x for x, _ in expected}) >= 2 and len({y for _, y in expected}) >= 2  # 2-D
    with sqlite3.connect(run_dir / "hone.db") as db:
        stored = [json.loads(p) for (p,) in db.execute("SELECT placement FROM candidates")]
    assert all(set(p["features"]) == {"complexity", "items_used", "score"} for p in stored)
    assert sorted(tuple(p["cell"]) for p in stored if p["elite"]) != []

    def strategy_view(page: Any, name: str) -> dict[tuple[int, int], int]:
        page.click('#views a[data-view="strategy"]')
        page.wait_for_selector("#cell-plot svg")
        head = page.locator("#strategy-body h2").inner_text()
        assert head == f"MAP-Elites: {len(elites)} of 200 cells filled", head  # 4 x 10 x 5
        svg = page.locator("#cell-plot svg")
        assert float(svg.get_attribute("width") or "nan") > 0  # (NaN before)
        assert page.locator("#cell-plot rect").count() == 4 * 10
        page.screenshot(path=str(tmp_path / f"{name}-cells.png"), full_page=True)
        drawn = cells_drawn(page)
        page.locator("#cell-plot rect.cell").first.click()  # its hypothesis says where it is
        placed = page.locator("#detail .facts dd").nth(6).inner_text()
        assert placed.startswith("cell (") and "items_used" in placed, placed
        assert placed.endswith("; the best of its cell then"), placed
        page.click("#detail-close")
        return drawn

    html = tmp_path / "report.html"
    assert main(["report", str(run_dir), "-o", str(html)]) == 0
    open_offline(tab, html)
    assert strategy_view(tab, "report") == expected
    dashboard, url = start_dashboard(run_dir)
    request.addfinalizer(lambda: stop(dashboard))
    live = tab.context.new_page()
    live.goto(url)
    live.wait_for_selector('[data-stat="cost"]')
    assert strategy_view(live, "dashboard") == expected
    live.close()


@pytest.mark.slow
def test_one_cost_total_in_show_the_report_and_the_dashboard(
    make_task, tmp_path: Path, tab, capsys, request
) -> None:
    answers = tmp_path / "a.jsonl"
    answers.write_text(
        "".join(
            json.dumps(f"```python\ndef f():\n    return {1.0 + i}\n```") + "\n" for i in range(30)
        )
    )
    prices = tmp_path / "prices.toml"
    prices.write_text('["scripted:a.jsonl"]\ninput = 40.0\noutput = 80.0\n')
    run_dir = tmp_path / "run"
    argv = ["run", str(make_task()), "--model", f"scripted:{answers}", "--run-dir", str(run_dir)]
    argv += ["--hypotheses", "1", "--prices", str(prices), "--max-cost", "0.05", "--patience", "99"]
    with ThreadPoolExecutor(1) as pool:  # (the browser's driver holds this thread's loop)
        assert pool.submit(main, argv).result() == 0
    assert "stopped: cost budget spent" in capsys.readouterr().out
    with sqlite3.connect(run_dir / "hone.db") as db:
        total, calls = db.execute("SELECT SUM(cost), COUNT(*) FROM llm_calls").fetchone()
    assert 0.05 <= total < 0.05 + total / calls * 1.5 and calls < 30  # stopped as it crossed
    expected = money(total)
    assert main(["show", str(run_dir)]) == 0
    assert f"\ncost {expected} · scripted:a.jsonl: {calls} calls" in capsys.readouterr().out

    assert main(["report", str(run_dir), "-o", str(tmp_path / "report.html")]) == 0
    open_offline(tab, tmp_path / "report.html")
    assert tab.locator('[data-stat="cost"] .value').inner_text() == expected
    assert tab.locator('[data-stat="cost"]').inner_text().endswith("budget $0.0500")
    tab.click('#views a[data-view="models"]')
    assert expected in tab.locator("#model-table tbody tr").inner_text()

    dashboard, url = start_dashboard(run_dir)
    request.addfinalizer(lambda: stop(dashboard))
    live = tab.context.new_page()
    live.goto(url)
    live.wait_for_selector('[data-stat="cost"]')
    assert live.locator('[data-stat="cost"] .value').inner_text() == expected
    assert live.locator('[data-stat="status"] .value').inner_text() == "stopped: cost budget spent"
    live.screenshot(path=str(tmp_path / "dashboard-cost.png"), full_page=True)
    live.close()


def odd_scores(program: str) -> dict[str, object]:
    """Scores with metrics that are no finite number, and feedback with terminal escapes."""
    value = value_of(program)
    return {
        "combined_score": -abs(value - 10.0),
        "ratio": math.inf if value > 5 else -math.inf,
        "spread": math.nan,
        "feedback": f"\x1b[31mf() = {value}\x1b[0m",
    }


@pytest.mark.slow
def test_a_run_with_inf_and_nan_metrics_shows_in_the_report_and_the_dashboard(
    make_task, tmp_path: Path, tab, request
) -> None:
    run_dir = recorded_run(make_task(), tmp_path / "run", VALUES, score=odd_scores)
    html = tmp_path / "report.html"
    assert main(["report", str(run_dir), "-o", str(html)]) == 0
    embedded = html.read_text().split('type="application/json">')[1].split("</script>")[0]
    json.loads(embedded, parse_constant=lambda name: pytest.fail(f"{name} in the JSON"))
    open_offline(tab, html)
    pages = [tab]
    dashboard, url = start_dashboard(run_dir)
    request.addfinalizer(lambda: stop(dashboard))
    live = tab.context.new_page()
    errors: list[str] = []
    live.on("pageerror", lambda error: errors.append(str(error)))
    live.goto(url)
    live.wait_for_selector("#score-plot svg")
    pages.append(live)
    for page in pages:  # the report reads its embedded data, the dashboard its stream and API
        assert page.locator('[data-stat="best score"] .value').inner_text() == "-0.5"
        assert page.locator("#score-plot circle.hyp").count() == len(VALUES) + 1
        page.click('#views a[data-view="hypotheses"]')
        page.fill("#filter-text", "9.5")
        page.locator("#hyp-table tbody tr").click()
        page.wait_for_selector("#detail table.metrics")
        metrics = page.locator("#detail table.metrics").inner_text().split()
        assert metrics == ["ratio", "inf", "spread", "nan"], metrics
        feedback = page.locator("#detail pre.feedback").inner_text()
        assert feedback == "\\x1b[31mf() = 9.5\\x1b[0m"  # the escapes shown, as hone show does
        page.click("#detail-close")
    live.close()
    assert not errors, errors


@pytest.mark.slow
def test_a_folder_of_runs_in_one_report_and_one_dashboard(
    make_task, tmp_path: Path, tab, capsys, request
) -> None:
    """`hone report runs/` and `hone dashboard runs/`: every run in the folder, side by side."""
    task_dir = make_task()
    for name, values in (("first", [3.0, 6.0]), ("second", [9.0, 12.0])):
        recorded_run(task_dir, tmp_path / "runs" / name, values)
    (tmp_path / "runs" / "notes").mkdir()  # not a run: passed over
    html = tmp_path / "both.html"
    assert main(["report", str(tmp_path / "runs"), "-o", str(html)]) == 0
    assert f"report of 2 runs written to {html}" in capsys.readouterr().out
    embedded = html.read_text().split('id="hone-data" type="application/json">')[1]
    data = json.loads(embedded.split("</script>")[0].replace("<\\/", "</"))
    assert [run["label"] for run in data["runs"]] == ["first", "second"]
    open_offline(tab, html)
    assert tab.locator("#runs a").all_inner_texts() == ["first", "second"]
    dashboard, url = start_dashboard(tmp_path / "runs")
    request.addfinalizer(lambda: stop(dashboard))
    tab.unroute("**/*")  # (open_offline blocked the network; the dashboard is on loopback)
    tab.goto(url + "#view=compare")
    tab.wait_for_selector("#compare-plot path.run-line")
    assert tab.locator("#runs a").all_inner_texts() == ["first", "second"]
    assert main(["report", str(tmp_path / "runs" / "notes")]) == 2
    assert "is neither a hone run nor a folder of runs" in capsys.readouterr().err
