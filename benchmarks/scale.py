"""How a run's costs grow with the number of hypotheses it has stored (issues 12 and 25).

    python benchmarks/scale.py [--sizes 100,1000000] [--repeat 200] [--strategies top-k|all]
                               [--throughput] [--store DIR] [--skip-whole] [--skip-views]

For each size n, a store is filled in bulk, in SQL (`fill`: synthetic programs of about 1.1 KB,
a quarter of them failures, each with two metrics, placed as a run leaves them, and a model
call each). Then, per strategy, each step in a process of its own (its memory its own): the run
read whole, as a resume without a snapshot reads it, and its snapshot written (as a run does as
it stops); the run resumed from that snapshot (`hone.snapshot.restore`: time and resident
memory), and `--repeat` more hypotheses written through the store, each step timed (median):
parent selection, prompt building (chat style), the near-copy check, and the store write with
its registration (the Prompter's prompt and an answer rewriting the program stored as a run
stores them), with the store's growth per hypothesis (SQLite's `dbstat`). Then `hone show`,
`hone report` and, in Debian's headless chromium when there is one, the dashboard's first
paint and first page of its table and the report's first paint. It ends with one line per
target: `target NAME: VALUE (goal GOAL) met|missed` (issue 25: bytes per hypothesis at most 1.5
times the program text plus 1 KB, resume within 10 s in 300 MB, each per-hypothesis cost at
most twice its cost at the smallest size, the dashboard's first page and the report's first
paint within 2 s).

`--store DIR` reuses stores filled as `fill` fills them, DIR/run-N for size N (a million takes
minutes to fill): each is copied into the temporary folder first, so DIR's stores are never
written; the snapshot each strategy's "whole" step writes is left in DIR/run-N too (as
`population.snapshot.STRATEGY`; each strategy starts from the store as filled).
`--skip-whole` skips that step (about ten minutes at a million before issue 25's population)
where DIR/run-N holds the strategy's snapshot already: the run is resumed from it (one that no
longer matches the store stops the benchmark: run once without `--skip-whole`). `--skip-views` skips `hone show`, `hone report` and the pages.

`--throughput` adds the loop's throughput with 4 and 8 workers on 0.5 s sleep evaluators and an
instant model on loopback (benchmarks/loop_overhead.py's), as a percentage of the ideal
workers / 0.5 s.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import math
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hone import snapshot
from hone.evaluation import Evaluation
from hone.meta import RunMeta
from hone.novelty import NoveltyFilter
from hone.prompts import Prompter
from hone.settings import SearchConfig
from hone.store import Store
from hone.strategies import STRATEGIES, make_strategy
from hone.task import Task
from hone.tree import Tree

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"  # Debian's, as the page's tests use (tests/web/conftest.py)
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]

TEMPLATE = '''"""Pack {n} circles in the unit square."""
import math

# EVOLVE-BLOCK-START
def construct(seed={s}):
    """Place the circles on a perturbed lattice and grow them."""
    centres = []
    rows, cols = {rows}, {cols}
    for i in range(rows):
        for j in range(cols):
            x = (j + 0.5 + {a} * math.sin(i * {b})) / cols
            y = (i + 0.5 + {c} * math.cos(j * {d})) / rows
            centres.append((min(max(x, 0.01), 0.99), min(max(y, 0.01), 0.99)))
    radii = [min(x, y, 1 - x, 1 - y) for x, y in centres]
    for _ in range({steps}):
        for k, (x, y) in enumerate(centres):
            nearest = min(
                (math.dist((x, y), other) - radii[m] for m, other in enumerate(centres) if m != k),
                default=1.0,
            )
            radii[k] = max(0.0, min(radii[k] * {grow}, nearest, x, y, 1 - x, 1 - y))
    return centres, radii


def score_hint(radii):
    """A quick estimate the evaluator also prints: {e} times the mean radius."""
    return {e} * sum(radii) / max(len(radii), 1)
# EVOLVE-BLOCK-END


def run():
    centres, radii = construct()
    return sum(radii)
'''


def program(rng: random.Random, n: int) -> str:
    """A synthetic candidate of about 2 KB: the template with numbers of its own."""
    return TEMPLATE.format(
        n=26,
        s=n,
        rows=rng.randint(4, 7),
        cols=rng.randint(4, 7),
        a=round(rng.uniform(-0.4, 0.4), 4),
        b=round(rng.uniform(0, 3), 4),
        c=round(rng.uniform(-0.4, 0.4), 4),
        d=round(rng.uniform(0, 3), 4),
        steps=rng.randint(10, 60),
        grow=round(rng.uniform(1.0, 1.2), 4),
        e=round(rng.uniform(0.5, 2), 4),
    )


def fill(store: Store, n: int, rng: random.Random) -> None:
    """n evaluated hypotheses in the store, fast (rows written in bulk in SQL, not through the
    loop), each program stored as the store keeps it (a blob and the hypothesis's files;
    `code` in a store before trees), each placed by the strategy in order (as a run leaves
    them), and a model call for each but the first (short texts: the bytes a real call costs
    are measured on the hypotheses `measure_one` writes through the store)."""
    trees = "files" in {row[1] for row in store.conn.execute("PRAGMA table_info(candidates)")}
    packed = "prompt_z" in {row[1] for row in store.conn.execute("PRAGMA table_info(llm_calls)")}
    short = zlib.compress(b"[system]\nYou improve programs.\n[user]\n(the parent)")
    now = time.time()
    with store.conn:
        store.conn.execute("BEGIN")
        for start in range(
            1, n + 1, 50_000
        ):  # (in parts: the rows of a million need not all be held)
            rows, blobs, calls = [], [], []
            for i in range(start, min(start + 50_000, n + 1)):
                failed = i > 1 and rng.random() < 0.25
                score = None if failed else rng.uniform(1.5, 2.6)
                metrics = "{}" if failed else json.dumps({"x": rng.random(), "y": rng.random()})
                code = program(rng, i).encode()
                digest = hashlib.sha256(code).hexdigest()  # (hone.tree.blob_hash)
                if trees:
                    blobs.append((digest, zlib.compress(code, 1)))
                call = i - 1 if i > 1 else None
                if call is not None:
                    calls.append((call, (i - 1) // 8, short, now + i))
                rows.append(
                    (
                        i,
                        (i - 1) // 8,
                        f"[{rng.randint(max(1, i - 1000), i - 1)}]" if i > 1 else "[]",
                        call,
                        None if trees else code.decode(),
                        f'{{"program.py":"{digest}"}}' if trees else None,
                        digest[:24],  # distinct programs
                        "error" if failed else "ok",
                        score,
                        metrics,
                        "NameError: name 'x' is not defined" if failed else "",
                        rng.randrange(4) if i > 1 else None,
                        now + i,
                        i,
                    )
                )
            if packed:
                store.conn.executemany(
                    "INSERT INTO llm_calls(id, round, model, prompt, completion, prompt_tokens, "
                    "completion_tokens, started, latency, purpose, prompt_z, completion_z, "
                    "quotes) VALUES (?, ?, 'm', '', '', 1000, 500, ?, 1.0, "
                    "'{\"kind\":\"improve\"}', ?, ?, '{}')",
                    [(c, r, t, z, z) for c, r, z, t in calls],
                )
            else:
                store.conn.executemany(
                    "INSERT INTO llm_calls(id, round, model, prompt, completion, prompt_tokens, "
                    "completion_tokens, started, latency) VALUES (?, ?, 'm', 'p', 'c', 1000, "
                    "500, ?, 1.0)",
                    [(c, r, t) for c, r, _, t in calls],
                )
            if trees:
                store.conn.executemany(
                    "INSERT OR IGNORE INTO blobs(hash, data) VALUES (?, ?)", blobs
                )
                store.conn.executemany(
                    "INSERT INTO candidates(id, round, parent_ids, call_id, code, files, key, "
                    "status, score, metrics, reason, niche, created, placed, placement) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '{}')",
                    rows,
                )
            else:
                store.conn.executemany(
                    "INSERT INTO candidates(id, round, parent_ids, call_id, code, key, status, "
                    "score, metrics, reason, niche, created) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [row[:5] + row[6:13] for row in rows],
                )


def stored_bytes(store: Store) -> dict[str, int]:
    """The bytes of the database's pages by table (a table's indexes counted with it)."""
    store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    owners = {
        row[0]: row[1] or row[0]
        for row in store.conn.execute("SELECT name, tbl_name FROM sqlite_schema")
    }
    rows = store.conn.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name")
    found: dict[str, int] = {}
    for name, size in rows:
        owner = owners.get(name, name)
        found[owner] = found.get(owner, 0) + int(size)
    return found


def rss_mb() -> float:
    """This process's resident memory now."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def search(strategy: str, novelty: float = 0.95) -> SearchConfig:
    """The settings each strategy needs (features and objectives: the two metrics)."""
    return SearchConfig(
        strategy=strategy,
        novelty=novelty,
        features={"x": [0.0, 1.0, 10.0], "y": [0.0, 1.0, 10.0]},
        objectives={"x": "maximize", "y": "minimize"},
    )


def task_of(run_dir: Path, strategy: str) -> Task:
    """The task the runs are of, with the strategy's settings."""
    task = Task("scale", "Pack circles.", program(random.Random(0), 0), run_dir / "evaluate.py")
    return task.configured(search=search(strategy, novelty=0.0))


def measure(
    n: int,
    repeat: int,
    where: Path,
    strategies: list[str],
    store: Path | None = None,
    skip_whole: bool = False,
    skip_views: bool = False,
) -> dict[str, Any]:
    """Every figure at size n: the store filled (or copied from `store`), then per strategy
    the run read whole as a resume without a snapshot reads it (its snapshot written then, as
    a run does as it stops) and resumed from that snapshot, then the views; each step in a
    process of its own, so that its memory is its own."""
    run_dir = where / f"run-{n}"
    t0 = time.perf_counter()
    if store is not None:
        shutil.copytree(store / f"run-{n}", run_dir)
    else:
        filled = Store.create(run_dir, RunMeta(task_name="scale", model={"spec": "m"}))
        fill(filled, n, random.Random(n))
        filled.close()
    figures: dict[str, Any] = {"fill_s": time.perf_counter() - t0}
    how = "copied" if store is not None else "filled"
    print(f"  n={n:,} {how} in {figures['fill_s']:.1f} s", file=sys.stderr, flush=True)
    for number, name in enumerate(strategies):
        kept = store / f"run-{n}" / f"{snapshot.FILE}.{name}" if store is not None else None
        if store is not None and number > 0:  # (as filled, not as the last resume left it)
            shutil.rmtree(run_dir)
            shutil.copytree(store / f"run-{n}", run_dir)
        for step in ("whole", "resume"):
            if step == "whole" and skip_whole and kept is not None and kept.exists():
                shutil.copyfile(kept, run_dir / snapshot.FILE)
                figures[f"{name}/{step}"] = dict.fromkeys(
                    ("load_s", "rss_mb", "snapshot_s", "snapshot_mb"), math.nan
                )
                continue
            command = [sys.executable, __file__, "--one", str(run_dir), str(n), name, step,
                       str(repeat)]  # fmt: skip
            done = subprocess.run(command, capture_output=True, text=True, check=True)
            figures[f"{name}/{step}"] = json.loads(done.stdout)
            if step == "whole" and kept is not None:
                shutil.copyfile(run_dir / snapshot.FILE, kept)
            print(
                f"  n={n:,} {name} {step}: {figures[f'{name}/{step}']}", file=sys.stderr, flush=True
            )
    figures["views"] = {} if skip_views else views(run_dir, where / f"report-{n}.html")
    print(f"  n={n:,} views: {figures['views']}", file=sys.stderr, flush=True)
    return figures


def measure_one(run_dir: Path, n: int, name: str, step: str, repeat: int) -> dict[str, float]:
    """One step's figures on the run in `run_dir` with strategy `name`: "whole", the run
    read whole (as a resume without a snapshot reads it) and its snapshot written; "resume",
    the run resumed from that snapshot and `repeat` more hypotheses written through the
    store, each step timed, with what the store grew by."""
    rng = random.Random(n)
    store = Store.open(run_dir)
    task = task_of(run_dir, name)
    strategy = make_strategy(task.search, task.objective)
    near = NoveltyFilter(task.search.novelty, codes=store.codes)
    t0 = time.perf_counter()
    if step == "whole":
        restored = snapshot.read_whole(store, task, strategy, near)
        load = time.perf_counter() - t0
        memory = rss_mb()
        t1 = time.perf_counter()
        snapshot.Snapshots(store, task, restored.population, restored.strategy).write()
        written = time.perf_counter() - t1
        size = (run_dir / snapshot.FILE).stat().st_size
        store.close()
        return {"load_s": load, "rss_mb": memory, "snapshot_s": written, "snapshot_mb": size / 1e6}
    restored = snapshot.restore(store, task, strategy, near)
    load = time.perf_counter() - t0
    assert restored.from_snapshot, "the snapshot did not match the store"
    memory = rss_mb()
    population, strategy = restored.population, restored.strategy
    loop = asyncio.new_event_loop()
    prompter = Prompter(task)
    selection = strategy.select(population, rng).whole(population.full)  # (warm)
    before = stored_bytes(store)
    times: dict[str, list[float]] = {"write": [], "select": [], "prompt": [], "novelty": []}
    texts = 0
    for i in range(repeat):  # one hypothesis after another, each step timed
        t0 = time.perf_counter()
        selection = strategy.select(population, rng).whole(population.full)
        t1 = time.perf_counter()
        prompt = prompter.prompt(selection, "chat", "", rng)
        t2 = time.perf_counter()
        fresh = program(rng, n + i + 1)
        texts += len(fresh.encode())
        tree = Tree.one("program.py", fresh)
        near_copy = loop.run_until_complete(population.near_copy(tree))
        t3 = time.perf_counter()
        call = store.add_call(
            round=n, model="m", prompt=prompt.request(task.model, i).as_text(),
            completion=f"Grew the circles faster.\n```python\n{fresh}```\n",
            prompt_tokens=1000, completion_tokens=500, started=time.time(), latency=1.0,
            seed=i, purpose=prompt.purpose(),
        )  # fmt: skip
        added = store.add_candidate(
            round=n, tree=tree, parent_ids=(selection.parent.id,), call_id=call,
            niche=selection.niche,
        )  # fmt: skip
        evaluation = Evaluation(
            score=rng.uniform(1.5, 2.6), metrics={"x": rng.random(), "y": rng.random()}
        )
        registered = population.add(store.set_evaluation(added, evaluation))
        placement = strategy.tell(registered, population)  # as Loop._add registers it
        store.set_placements([(added.id, placement.as_json())])
        t4 = time.perf_counter()
        for what, seconds in (
            ("select", t1 - t0), ("prompt", t2 - t1), ("novelty", t3 - t2), ("write", t4 - t3)
        ):  # fmt: skip
            times[what].append(seconds * 1000)
        assert near_copy is None or near_copy[1] >= task.search.novelty
    figures = {k: statistics.median(v) for k, v in times.items()}
    figures.update(load_s=load, rss_mb=max(memory, rss_mb()))
    after = stored_bytes(store)
    figures["bytes"] = sum(after.values()) - sum(before.values())
    figures["bytes"] /= repeat
    figures["text"] = texts / repeat
    loop.close()
    store.close()
    return figures


def timed_command(*args: str, limit: float) -> tuple[float, float]:
    """(seconds, peak resident MB) of `python -m hone ARGS`; (inf, inf) past `limit` s."""
    probe = (
        "import resource, runpy, sys\n"
        f"sys.argv = ['hone', *{list(args)!r}]\n"
        "try:\n    runpy.run_module('hone', run_name='__main__')\n"
        "finally:\n"
        "    print('PEAK', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n"
    )
    t0 = time.perf_counter()
    try:
        done = subprocess.run(
            [sys.executable, "-c", probe], capture_output=True, text=True, timeout=limit,
            env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        return math.inf, math.inf
    took = time.perf_counter() - t0
    peak = [line for line in done.stderr.splitlines() if line.startswith("PEAK ")]
    return took, int(peak[-1].split()[1]) / 1024 if peak else math.nan


def views(run_dir: Path, report: Path) -> dict[str, float]:
    """`hone show` and `hone report` of the run (seconds, peak MB), and in a headless
    chromium (when there is one): the dashboard's first paint and first page of the table,
    and the report's first paint."""
    found: dict[str, float] = {}
    found["show_s"], found["show_mb"] = timed_command("show", str(run_dir), limit=300)
    found["report_s"], found["report_mb"] = timed_command(
        "report", str(run_dir), "-o", str(report), limit=300
    )
    found["report_bytes"] = report.stat().st_size if report.exists() else math.nan
    if not Path(CHROMIUM).exists():
        return found
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        proc = subprocess.Popen(
            [sys.executable, "-m", "hone", "dashboard", str(run_dir), "--port", "0"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
        )  # fmt: skip
        try:
            assert proc.stdout is not None
            url = re.search(r"http://127\.0\.0\.1:\d+/", proc.stdout.readline())
            assert url is not None, "the dashboard did not start"
            found["dashboard_paint_s"], found["dashboard_page_s"] = first_paint(page, url.group(0))
        finally:
            proc.terminate()
            proc.wait(10)
        if report.exists():
            found["report_paint_s"], _ = first_paint(page, report.as_uri())
        browser.close()
    return found


def first_paint(page: Any, url: str) -> tuple[float, float]:
    """Seconds from asking for the page to its overview's figures drawn, and to the first
    page of its table of hypotheses shown (inf: not within a minute)."""
    t0 = time.perf_counter()
    try:
        page.goto(url, wait_until="commit", timeout=60_000)
        page.wait_for_selector("#stats .stat", timeout=60_000)
        paint = time.perf_counter() - t0
        page.click('#views a[data-view="hypotheses"]')
        page.wait_for_selector("#hyp-table tbody tr", timeout=60_000)
        return paint, time.perf_counter() - t0
    except Exception:  # (a timeout: the figure is "not within a minute")
        return math.inf, math.inf


def throughput(workers: int) -> float:
    """% of ideal with `workers` workers on 0.5 s sleep evaluators (loop_overhead's setup:
    an instant model on loopback, evaluation ends from the evaluator's own log)."""
    from benchmarks import loop_overhead as lo

    with tempfile.TemporaryDirectory(prefix="hone-scale-") as where:
        root = Path(where)
        task = lo.make_task(root / "task", 0.5)
        with lo.instant_model() as url:
            run = lo.hone_run(
                url, task, root / "run", calls=workers * 8, hypotheses=workers, workers=workers
            )
        ends = lo.evaluation_ends(run.run_dir)
        rate = run.calls / (ends[-1] - run.first_call_at)
        return 100.0 * rate / (workers / 0.5)


def target(name: str, value: float, goal: float, unit: str = "") -> None:
    """One target's line: met or missed."""
    verdict = "met" if value <= goal else "missed"
    print(f"target {name}: {value:,.3g}{unit} (goal <= {goal:,.3g}{unit}) {verdict}")


def main() -> None:
    """Fill, load, measure, print."""
    if sys.argv[1:2] == ["--one"]:
        run_dir, n, name, step, repeat = sys.argv[2:7]
        print(json.dumps(measure_one(Path(run_dir), int(n), name, step, int(repeat))))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,100000")
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--strategies", default="top-k", help="comma-separated, or 'all'")
    parser.add_argument("--throughput", action="store_true")
    parser.add_argument("--store", type=Path, help="reuse the filled stores DIR/run-N")
    parser.add_argument("--skip-whole", action="store_true")
    parser.add_argument("--skip-views", action="store_true")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    names = list(STRATEGIES) if args.strategies == "all" else args.strategies.split(",")
    print(f"python: {sys.prefix}; median ms per hypothesis over {args.repeat} hypotheses")
    with tempfile.TemporaryDirectory(prefix="hone-scale-") as where:
        results = {
            n: measure(
                n, args.repeat, Path(where), names, args.store, args.skip_whole, args.skip_views
            )
            for n in sizes
        }
    small, large = sizes[0], sizes[-1]
    steps = ("select", "prompt", "novelty", "write")
    head = f"{'strategy':12s}" + "".join(
        f" {what + '@' + f'{n:,}':>16s}" for what in steps for n in (small, large)
    ) + f" {'ratio max':>10s} {'whole s':>8s} {'MB':>6s} {'resume s':>9s} {'MB':>6s}"  # fmt: skip
    print(head)
    ratios = []
    for name in names:
        a, b = results[small][f"{name}/resume"], results[large][f"{name}/resume"]
        whole = results[large][f"{name}/whole"]
        cells = "".join(f" {a[w]:16.3f} {b[w]:16.3f}" for w in steps)
        ratio = max(b[w] / max(a[w], 1e-6) for w in steps)
        ratios.append(ratio)
        print(
            f"{name:12s}{cells} {ratio:10.2f} {whole['load_s']:8.1f} {whole['rss_mb']:6.0f} "
            f"{b['load_s']:9.2f} {b['rss_mb']:6.0f}"
        )
    first = names[0]
    for n in sizes:
        r, w, v = results[n][f"{first}/resume"], results[n][f"{first}/whole"], results[n]["views"]
        print(
            f"n={n:,}: filled in {results[n]['fill_s']:.1f} s; read whole {w['load_s']:.2f} s, "
            f"snapshot written in {w['snapshot_s']:.2f} s ({w['snapshot_mb']:.1f} MB); resumed "
            f"from it in {r['load_s']:.2f} s, {r['rss_mb']:.0f} MB; store growth "
            f"{r['bytes']:,.0f} bytes per hypothesis (program text {r['text']:,.0f} bytes)"
        )
        if not v:
            continue
        print(
            f"n={n:,}: hone show {v['show_s']:.2f} s ({v['show_mb']:.0f} MB); hone report "
            f"{v['report_s']:.2f} s ({v['report_mb']:.0f} MB, {v['report_bytes'] / 1e6:.1f} MB "
            f"file); dashboard first paint {v.get('dashboard_paint_s', math.nan):.2f} s, "
            f"first page {v.get('dashboard_page_s', math.nan):.2f} s; report first paint "
            f"{v.get('report_paint_s', math.nan):.2f} s"
        )
    if args.throughput:
        for workers in (4, 8):
            print(f"throughput, {workers} workers, 0.5 s evaluations: {throughput(workers):.1f} %")
    big, view = results[large][f"{first}/resume"], results[large]["views"]
    target(f"bytes per hypothesis at {large:,}", big["bytes"], 1.5 * big["text"] + 1024, " B")
    target(f"resume at {large:,}", big["load_s"], 10.0, " s")
    target(f"resumed RSS at {large:,}", big["rss_mb"], 300.0, " MB")
    target(f"per-hypothesis cost ratio {large:,}/{small:,}", max(ratios), 2.0, "x")
    if view:
        page = view.get("dashboard_page_s", math.inf)
        target(f"dashboard first page at {large:,}", page, 2.0, " s")
        target(f"report first paint at {large:,}", view.get("report_paint_s", math.inf), 2.0, " s")


if __name__ == "__main__":
    main()
