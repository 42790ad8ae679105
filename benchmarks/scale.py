"""How hone's per-hypothesis work grows with the number of hypotheses a run has stored.

    python benchmarks/scale.py [--sizes 100,100000] [--repeat 200] [--throughput]

For each size n, a store is filled with n evaluated hypotheses (synthetic programs of about
2 KB, a quarter of them failures, each with two metrics), then loaded as a resumed run loads it
(`Store.candidates()` into a `Population`). Then, for each strategy, the median over `--repeat`
hypotheses of: parent selection (`Strategy.select`), prompt building (`Prompter.prompt`, chat
style), the near-copy check (`Population.near_copy` with `[search] novelty = 0.95`, token
shingles), and the store write plus registration of one more hypothesis (`add_call`,
`add_candidate`, `set_evaluation`, `Population.add`, `Strategy.tell`, `set_placements`). The last columns give the time to load
the run (the strategy told of every stored hypothesis, as a resumed run's is) and the
resident memory of this process once it is loaded. Targets (issue 12): at
100,000 stored, each per-hypothesis cost at most 2x its cost at 100, and the process at most
200 MB.

`--throughput` adds the loop's throughput with 4 and 8 workers on 0.5 s sleep evaluators and an
instant model on loopback (benchmarks/loop_overhead.py's), as a percentage of the ideal
workers / 0.5 s.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hone.evaluation import Evaluation
from hone.novelty import NoveltyFilter
from hone.population import Population
from hone.prompts import Prompter
from hone.settings import SearchConfig
from hone.store import Store
from hone.strategies import STRATEGIES, make_strategy
from hone.task import Task

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
    """n evaluated hypotheses in the store, fast (one transaction)."""
    rows = []
    for i in range(1, n + 1):
        failed = i > 1 and rng.random() < 0.25
        score = None if failed else rng.uniform(1.5, 2.6)
        metrics = {} if failed else {"x": rng.random(), "y": rng.random()}
        code = program(rng, i)
        rows.append(
            (
                i,
                (i - 1) // 8,
                json.dumps([rng.randint(1, i - 1)] if i > 1 else []),
                code,
                hashlib.blake2b(code.encode(), digest_size=12).hexdigest(),  # distinct programs
                "error" if failed else "ok",
                score,
                json.dumps(metrics),
                "NameError: name 'x' is not defined" if failed else "",
                rng.randrange(4) if i > 1 else None,
                time.time(),
            )
        )
    with store.conn:
        store.conn.execute("BEGIN")
        store.conn.executemany(
            "INSERT INTO candidates(id, round, parent_ids, code, key, status, score, metrics, "
            "reason, niche, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )


def rss_mb() -> float:
    """This process's resident memory now."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def search(strategy: str) -> SearchConfig:
    """The settings each strategy needs (features and objectives: the two metrics)."""
    return SearchConfig(
        strategy=strategy,
        novelty=0.95,
        features={"x": [0.0, 1.0, 10.0], "y": [0.0, 1.0, 10.0]},
        objectives={"x": "maximize", "y": "minimize"},
    )


def measure(n: int, repeat: int, where: Path) -> dict[str, dict[str, float]]:
    """Every figure at size n, per strategy: each in a process of its own, so that its memory
    is its own."""
    store = Store.create(where / f"run-{n}")
    fill(store, n, random.Random(n))
    store.close()
    figures: dict[str, dict[str, float]] = {}
    for name in [*STRATEGIES, "lean"]:
        command = [sys.executable, __file__, "--one", str(where / f"run-{n}"), str(n), name,
                   str(repeat)]  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True, check=True)
        figures[name] = json.loads(done.stdout)
        print(f"  n={n:,} {name}: {figures[name]}", file=sys.stderr, flush=True)
    return figures


def measure_one(run_dir: Path, n: int, name: str, repeat: int) -> dict[str, float]:
    """One strategy's figures on the run in `run_dir` ("lean": only loading it as a resumed
    run with the default settings does, without the near-copy index)."""
    rng = random.Random(n)
    store = Store.open(run_dir)
    if name == "lean":
        t0 = time.perf_counter()
        lean = Population.of(
            "maximize", NoveltyFilter(), store.each_candidate(lean=True), store.candidates_by_id
        )
        make_strategy(search("top-k"), "maximize").select(lean, rng)
        return {"load_s": time.perf_counter() - t0, "rss_mb": rss_mb()}
    task = Task("scale", "Pack circles.", program(rng, 0), run_dir / "evaluate.py")
    loop = asyncio.new_event_loop()
    t0 = time.perf_counter()
    strategy = make_strategy(search(name), "maximize")
    population = Population(
        "maximize", NoveltyFilter(0.95, codes=store.codes), fetch=store.candidates_by_id
    )
    for stored in store.each_candidate():  # as a resumed run loads it (Session._population)
        strategy.tell(population.add(stored), population)
    load = time.perf_counter() - t0
    memory = rss_mb()
    prompter = Prompter(task)
    selection = strategy.select(population, rng).whole(population.full)  # (warm)
    times: dict[str, list[float]] = {"write": [], "select": [], "prompt": [], "novelty": []}
    for i in range(repeat):  # one hypothesis after another, each step timed
        fresh = program(rng, n + i + 1)
        t0 = time.perf_counter()
        near = loop.run_until_complete(population.near_copy(fresh))
        t1 = time.perf_counter()
        call = store.add_call(
            round=n, model="m", prompt="p" * 4000, completion=fresh, prompt_tokens=1000,
            completion_tokens=500, started=time.time(), latency=1.0, seed=i,
        )  # fmt: skip
        added = store.add_candidate(
            round=n, code=fresh, parent_ids=(selection.parent.id,), call_id=call,
            niche=selection.niche,
        )  # fmt: skip
        evaluation = Evaluation(
            score=rng.uniform(1.5, 2.6), metrics={"x": rng.random(), "y": rng.random()}
        )
        registered = population.add(store.set_evaluation(added, evaluation))
        placement = strategy.tell(registered, population)  # as Loop._add registers it
        store.set_placements([(added.id, placement.as_json())])
        t2 = time.perf_counter()
        selection = strategy.select(population, rng).whole(population.full)
        t3 = time.perf_counter()
        prompter.prompt(selection, "chat", "", rng)
        t4 = time.perf_counter()
        for what, seconds in (
            ("novelty", t1 - t0), ("write", t2 - t1), ("select", t3 - t2), ("prompt", t4 - t3)
        ):  # fmt: skip
            times[what].append(seconds * 1000)
        assert near is None or near[1] >= 0.95
    figures = {k: statistics.median(v) for k, v in times.items()}
    figures.update(load_s=load, rss_mb=max(memory, rss_mb()))
    loop.close()
    store.close()
    return figures


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


def main() -> None:
    """Fill, load, measure, print."""
    if sys.argv[1:2] == ["--one"]:
        run_dir, n, name, repeat = sys.argv[2:6]
        print(json.dumps(measure_one(Path(run_dir), int(n), name, int(repeat))))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,100000")
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--throughput", action="store_true")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"python: {sys.prefix}; median ms per hypothesis over {args.repeat} hypotheses")
    with tempfile.TemporaryDirectory(prefix="hone-scale-") as where:
        results = {n: measure(n, args.repeat, Path(where)) for n in sizes}
    small, large = sizes[0], sizes[-1]
    head = f"{'strategy':12s}" + "".join(
        f" {what + '@' + f'{n:,}':>16s}" for what in ("select", "prompt", "novelty", "write")
        for n in (small, large)
    ) + f" {'ratio max':>10s} {'load s':>8s} {'RSS MB':>8s}"  # fmt: skip
    print(head)
    for name in STRATEGIES:
        a, b = results[small][name], results[large][name]
        cells = "".join(
            f" {a[w]:16.3f} {b[w]:16.3f}" for w in ("select", "prompt", "novelty", "write")
        )
        ratio = max(b[w] / max(a[w], 1e-6) for w in ("select", "prompt", "novelty", "write"))
        print(f"{name:12s}{cells} {ratio:10.2f} {b['load_s']:8.1f} {b['rss_mb']:8.0f}")
    lean = results[large]["lean"]
    print(
        f"resume of {large:,} with the default settings (no near-copy index): "
        f"{lean['load_s']:.1f} s to load, {lean['rss_mb']:.0f} MB"
    )
    if args.throughput:
        for workers in (4, 8):
            print(f"throughput, {workers} workers, 0.5 s evaluations: {throughput(workers):.1f} %")


if __name__ == "__main__":
    main()
