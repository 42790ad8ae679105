"""What a whole repository as the program costs hone: storage, materialisation, framework CPU.

    python benchmarks/repository.py [--quick] [--hypotheses 200] [--profile]

A synthetic repository is generated deterministically in a temporary folder: 200 Python
modules of about 100 KB each (20 MB; a function in an EVOLVE block, then a table and small
functions nobody edits), in folders of 20, and an ``evaluate.py`` beside it that reads three
of them (a cheap evaluation). A scripted model (`hone.testing.ScriptedModel`) gives 200
answers, each changing 1 to 3 modules with path-headed SEARCH/REPLACE blocks (a new line in
the block's function). ``hone.run`` runs them in this process with the real sandbox (two
workers, two hypotheses a round), then the same benchmark on a one-file task (one such
module, each answer changing it once). Figures:

store growth per hypothesis (target 16 KB beyond the changed text)
    The growth of the run's database per hypothesis (its pages, by SQLite's ``dbstat``; the
    model calls' table left out: it holds the prompt and the answer), minus the stored size of
    the texts the hypotheses changed (their new blobs, zlib-compressed as the store keeps
    them). Shown with the changed text's raw and stored size, and the model calls' growth
    (a prompt shows a large tree by its files' EVOLVE blocks, `prompts.chat.TREE_CHARS`).
materialisation per candidate (target 20 ms, and the 2,000-file figure within 2x of the
200-file one)
    In a process isolated as an evaluation worker is (`isolation.isolate_worker`: private mount
    namespace, /tmp a fresh tmpfs, the repository bound back read-only), the median over the
    run's hypotheses of laying the files the executor sends for each (`local.request_files`)
    over the repository (`materialise`, the strategy the worker picks, over the layer of the
    folders a worker makes once for a candidate of a user of its own, `Base.with_folders`) and
    removing it again (the cases in turn, so that a passing load weighs on all alike). The
    sizes are compared on trees made the same way (`synthetic_trees`: 200 of them, each 1 to
    3 modules changed over a random earlier one) over this repository and over a 2,000-file
    one of the same 20 MB (10 KB modules).
framework CPU per hypothesis (target 2x the one-file task's)
    The CPU of hone's own process (``time.process_time``: every thread, none of the evaluation
    workers or the candidates), from the first model call to the end of the run, per
    hypothesis; its start-up (loading the task, the starting program's evaluation) is shown
    apart. Each task runs in a fresh interpreter, so neither warms the other's caches. (The
    repository's hypotheses change two modules on average, the one-file task's one: each
    changed Python file is parsed for the evaluation cache's key, `Tree.key`.)

``--quick`` (a smoke run: 20 hypotheses, 40 modules, 200 at the larger size) checks that
everything runs; its figures are not the targets'. ``--profile`` writes a cProfile of the
repository run's process to ``repository.prof`` in the current folder.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

STORE_GOAL = 16 * 1024  # bytes per hypothesis beyond the changed text
MATERIALISE_GOAL_MS = 20.0
GROWTH_GOAL = 2.0  # materialisation at 2,000 files over 200 files
CPU_GOAL = 2.0  # framework CPU per hypothesis, repository over one file

MODULE_HEAD = '''"""Module {i} of a synthetic repository: a weight to tune, and a table nobody edits."""

import math

# EVOLVE-BLOCK-START
def weight(x):
    """The weight of module {i}."""
    return x * {w} + math.sqrt(abs(x))
# EVOLVE-BLOCK-END


'''

ROW = "    ({a}, {b:.6f}, {c!r}),\n"
FUNCTION = "\ndef lookup_{i}_{j}(k):\n    return TABLE[(k * {j} + {a}) % len(TABLE)][1] * {b:.4f}\n"

EVALUATOR = """import math
import re
from pathlib import Path

READ = {read!r}


def evaluate(program_path):
    root = Path(program_path)
    total = 0.0
    for name in READ:
        text = (root / name).read_text() if root.is_dir() else Path(program_path).read_text()
        total += sum(float(v) for v in re.findall(r"tweak_\\d+ = (-?[\\d.]+)", text))
    return {{"combined_score": -abs(total - 10.0), "total": total}}
"""

TASK_TOML = """\
name = "{name}"
instruction = "Tune the weights of the modules so that the score rises."
program = "{program}"

[budget]
patience = 1000000

[search]
hypotheses_per_round = 2

[evaluation]
timeout = 60
workers = 2
"""


def module(i: int, size: int, rng: random.Random) -> str:
    """A Python module of about `size` bytes: the EVOLVE block, a table and lookups."""
    text = [MODULE_HEAD.format(i=i, w=round(rng.uniform(0.5, 2.0), 4)), "TABLE = [\n"]
    length = sum(map(len, text))
    rows = 0
    while length < size * 0.7 or rows == 0:
        row = ROW.format(a=rng.randrange(10**6), b=rng.random(), c=f"k{rng.randrange(10**4)}")
        text.append(row)
        length += len(row)
        rows += 1
    text.append("]\n")
    j = 0
    while length < size:
        j += 1
        function = FUNCTION.format(i=i, j=j, a=rng.randrange(rows), b=rng.random())
        text.append(function)
        length += len(function)
    return "".join(text)


def module_path(i: int) -> str:
    """Where module i lives in the repository: folders of 20, packages of 400."""
    return f"pkg{i // 400}/sub{i // 20}/mod{i}.py"


def make_repository(where: Path, files: int, size: int) -> Path:
    """A folder task whose program is a `files`-module repository; its task folder."""
    rng = random.Random(files)
    task = where / f"repo{files}"
    repo = task / "repo"
    for i in range(files):
        path = repo / module_path(i)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(module(i, size, rng), encoding="utf-8")
    (repo / "README.md").write_text("A synthetic repository for hone's benchmark.\n")
    (task / "task.toml").write_text(TASK_TOML.format(name=f"repo{files}", program="repo"))
    read = [module_path(i) for i in range(min(3, files))]
    (task / "evaluate.py").write_text(EVALUATOR.format(read=read), encoding="utf-8")
    return task


def make_one_file(where: Path, size: int) -> Path:
    """The one-file task: one module of the same kind as the repository's."""
    task = where / "onefile"
    task.mkdir(parents=True)
    (task / "module.py").write_text(module(0, size, random.Random(1)), encoding="utf-8")
    (task / "task.toml").write_text(TASK_TOML.format(name="onefile", program="module.py"))
    (task / "evaluate.py").write_text(EVALUATOR.format(read=["module.py"]), encoding="utf-8")
    return task


def edit(path: str, i: int, n: int, value: float) -> str:
    """A path-headed SEARCH/REPLACE adding a line to module i's block function (the line it
    searches for is in every version of the module, so the edit applies to any parent)."""
    anchor = f'    """The weight of module {i}."""'
    return (
        f"{path}\n<<<<<<< SEARCH\n{anchor}\n=======\n{anchor}\n"
        f"    tweak_{n} = {value!r}\n>>>>>>> REPLACE\n"
    )


def answers(files: int, hypotheses: int, one_file: bool) -> list[str]:
    """The scripted model's answers: each changes 1 to 3 modules (one-file: the module)."""
    rng = random.Random(7)
    out = []
    for n in range(1, hypotheses + 1):
        if one_file:
            chosen = [(0, "module.py")]
        else:
            chosen = [(i, module_path(i)) for i in rng.sample(range(files), rng.randint(1, 3))]
        blocks = "\n".join(edit(p, i, n, round(rng.uniform(0, 1), 3)) for i, p in chosen)
        out.append(f"Shift the weights a little.\n\n{blocks}")
    return out


# -- one run, in a fresh interpreter ----------------------------------------------------------


def run_one(task_dir: Path, run_dir: Path, hypotheses: int, files: int, profile: bool) -> None:
    """Run `hypotheses` scripted hypotheses on the task; print the CPU figures as JSON."""
    import asyncio

    import hone
    from hone.models.base import Completion, Request
    from hone.task import Task
    from hone.testing import ScriptedModel

    one_file = not (task_dir / "repo").is_dir()
    scripted = ScriptedModel(answers(files, hypotheses, one_file))
    first: list[float] = []

    class Timed:
        """The scripted model, noting hone's CPU when the first call comes."""

        style = "chat"
        name = "scripted"

        async def generate(self, request: Request) -> Completion:
            if not first:
                first.append(time.process_time())
            return await scripted.generate(request)

        async def close(self) -> None:
            await scripted.close()

    began = time.process_time()
    wall = time.perf_counter()
    task = Task.from_dir(task_dir).configured(budget={"max_llm_calls": hypotheses})
    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    result = hone.run(task, model=Timed(), run_dir=run_dir, seed=0)  # type: ignore[arg-type]
    ended = time.process_time()
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats("repository.prof")
    asyncio.get_event_loop_policy()  # (nothing left running)
    statuses: dict[str, int] = {}
    for candidate in result.history[1:]:
        status = candidate.evaluation.status
        statuses[status] = statuses.get(status, 0) + 1
    print(
        json.dumps(
            {
                "startup_s": first[0] - began,
                "per_hypothesis_ms": 1000 * (ended - first[0]) / max(len(result.history) - 1, 1),
                "total_s": ended - began,
                "wall_s": time.perf_counter() - wall,
                "statuses": statuses,
                "stop_reason": result.stop_reason,
                "sandbox": result.sandbox,
            }
        )
    )


def run_in_child(
    task_dir: Path, run_dir: Path, hypotheses: int, files: int, profile: bool
) -> dict[str, Any]:
    """`run_one` in a fresh interpreter; its figures."""
    command = [sys.executable, __file__, "--one", str(task_dir), str(run_dir), str(hypotheses),
               str(files)] + (["--profile"] if profile else [])  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"the run of {task_dir.name} failed:\n{done.stdout}\n{done.stderr}")
    figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    if sum(figures["statuses"].values()) != hypotheses:
        raise RuntimeError(
            f"the run of {task_dir.name} made {sum(figures['statuses'].values())} hypotheses, "
            f"not {hypotheses} (it stopped on {figures['stop_reason']})"
        )
    return figures


# -- the store --------------------------------------------------------------------------------


def stored_bytes(db: sqlite3.Connection) -> dict[str, int]:
    """The bytes of the database's pages by table (a table's indexes counted with it)."""
    owners = {row[0]: row[1] or row[0] for row in db.execute("SELECT name, tbl_name FROM sqlite_schema")}  # fmt: skip
    found: dict[str, int] = {}
    for name, size in db.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name"):
        owner = owners.get(name, name)
        found[owner] = found.get(owner, 0) + int(size)
    return found


def store_growth(run_dir: Path, hypotheses: int) -> dict[str, float]:
    """Bytes per hypothesis: the store's growth (model calls apart) and the changed text's.

    The growth is the database now minus the database as it would be with the starting tree
    alone: the starting hypothesis's row and blobs are removed in a copy, so the difference is
    exactly what the hypotheses added."""
    from hone.store import Store

    Store.open(run_dir).close()  # (a clean close: the log checkpointed into the database)
    with tempfile.TemporaryDirectory(prefix="hone-bench-db-") as scratch:
        copy = Path(scratch) / "hone.db"
        shutil.copy(run_dir / "hone.db", copy)
        db = sqlite3.connect(copy)
        after = stored_bytes(db)
        new_blobs = db.execute(
            "SELECT COUNT(*), COALESCE(SUM(LENGTH(data)), 0) FROM blobs WHERE hash NOT IN "
            "(SELECT value FROM candidates, json_each(candidates.files) WHERE candidates.id = 1)"
        ).fetchone()
        raw = 0
        import zlib

        for (data,) in db.execute(
            "SELECT data FROM blobs WHERE hash NOT IN "
            "(SELECT value FROM candidates, json_each(candidates.files) WHERE candidates.id = 1)"
        ):
            raw += len(zlib.decompress(data))
        db.execute(
            "DELETE FROM blobs WHERE hash NOT IN "
            "(SELECT value FROM candidates, json_each(candidates.files) WHERE candidates.id = 1)"
        )
        db.execute("DELETE FROM candidates WHERE id > 1")
        db.execute("DELETE FROM llm_calls")
        db.execute("DELETE FROM notes")
        db.commit()
        db.execute("VACUUM")
        before = stored_bytes(db)
        db.close()
    grown = {k: (after.get(k, 0) - before.get(k, 0)) / hypotheses for k in after}
    calls = grown.pop("llm_calls", 0.0)
    hypothesis = sum(grown.values())
    return {
        "hypothesis": hypothesis,
        "changed_stored": new_blobs[1] / hypotheses,
        "changed_raw": raw / hypotheses,
        "beyond": hypothesis - new_blobs[1] / hypotheses,
        "calls": calls,
        "tables": grown,  # type: ignore[dict-item]
    }


# -- materialisation --------------------------------------------------------------------------


def stored_trees(run_dir: Path) -> list[Any]:
    """The trees of the run's hypotheses, as the store rebuilds them."""
    from hone.store import opened

    with opened(run_dir) as store:
        return [c.tree for c in store.candidates()[1:] if c.tree is not None]


def synthetic_trees(task_dir: Path, files: int, count: int) -> list[Any]:
    """`count` trees over the task's starting tree, each 1 to 3 modules changed over a random
    earlier one (as the run's hypotheses are), without running hone."""
    from hone.task import Task

    start = Task.from_dir(task_dir).tree
    rng = random.Random(11)
    trees = [start]
    for n in range(1, count + 1):
        parent = rng.choice(trees)
        changes = {}
        for i in rng.sample(range(files), rng.randint(1, 3)):
            path = module_path(i)
            anchor = f'    """The weight of module {i}."""\n'
            changes[path] = parent[path].replace(anchor, f"{anchor}    tweak_{n} = {n}\n")
        trees.append(parent.with_files(changes))
    return trees[1:]


def materialise_ms(bases: dict[str, tuple[Path, Any, list[Any]]]) -> dict[str, dict[str, Any]]:
    """Median ms per candidate to lay and remove each tree (as the executor sends it) over its
    repository, in a child isolated as a worker is; per size."""
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # isolated as a worker: the repositories are read-only there
        os.close(read)
        code = 0
        try:
            figures = _measure_isolated(bases)
            os.write(write, json.dumps(figures).encode())
        except BaseException as exc:
            os.write(write, json.dumps({"error": repr(exc)}).encode())
            code = 1
        finally:
            os._exit(code)
    os.close(write)
    chunks = []
    while chunk := os.read(read, 1 << 16):
        chunks.append(chunk)
    os.close(read)
    os.waitpid(child, 0)
    found = json.loads(b"".join(chunks))
    if "error" in found:
        raise RuntimeError(f"measuring materialisation failed: {found['error']}")
    return dict(found)


def _measure_isolated(bases: dict[str, tuple[Path, Any, list[Any]]]) -> dict[str, Any]:
    try:
        from hone.executors.local import request_files
    except ImportError:  # (a hone before it: requests carried the whole tree)

        def request_files(tree: Any, start: Any) -> dict[str, str]:
            return dict(tree)

    from hone.sandbox import isolation
    from hone.sandbox.materialise import Base, materialise

    folders = [str(folder) for folder, _, _ in bases.values()]
    protections = isolation.isolate_worker(folders, 512 << 20)
    scratch = Path(tempfile.mkdtemp(prefix="hone-bench-"))
    scanned = {files: Base.scan(folder) for files, (folder, _, _) in bases.items()}
    owner = protections.user_id
    if owner is not None and hasattr(Base, "with_folders"):  # as the worker does
        for files, base in scanned.items():
            scanned[files] = base.with_folders(owner, Path(tempfile.mkdtemp(prefix="hone-f-")))
    times: dict[str, list[float]] = {name: [] for name in bases}
    sent: dict[str, list[int]] = {name: [] for name in bases}
    used: dict[str, str] = {}
    # The sizes in turn, candidate by candidate: a load that comes and goes on a shared
    # machine then weighs on both alike.
    for i in range(max(len(trees) for _, _, trees in bases.values())):
        for files, (_, start, trees) in bases.items():
            if i >= len(trees):
                continue
            payload = request_files(trees[i], start)
            began = time.perf_counter()
            laid = materialise(
                payload, scanned[files], scratch / f"c{len(used)}-{i}", owner=protections.user_id
            )
            laid.remove()
            times[files].append(1000 * (time.perf_counter() - began))
            sent[files].append(sum(len(t) for t in payload.values()))
            used[files] = laid.strategy
    figures: dict[str, Any] = {
        files: {
            "ms": statistics.median(times[files]),
            "sent_bytes": statistics.median(sent[files]),
            "strategy": used[files],
            "protections": protections.describe(),
        }
        for files in bases
    }
    return figures


# -- the whole benchmark ------------------------------------------------------------------------


def verdict(name: str, value: float, goal: float, shown: str, goal_shown: str) -> str:
    """One target line."""
    return f"target {name}: {shown} (goal {goal_shown}) {'met' if value <= goal else 'missed'}"


def main() -> None:
    """Generate, run, measure, print."""
    if sys.argv[1:2] == ["--one"]:
        task_dir, run_dir, hypotheses, files = sys.argv[2:6]
        run_one(Path(task_dir), Path(run_dir), int(hypotheses), int(files), "--profile" in sys.argv)
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run (small sizes)")
    parser.add_argument("--hypotheses", type=int, default=None)
    parser.add_argument("--profile", action="store_true", help="cProfile the repository run")
    args = parser.parse_args()
    small, large, total = (40, 200, 4_000_000) if args.quick else (200, 2_000, 20_000_000)
    hypotheses = args.hypotheses or (20 if args.quick else 200)
    print(
        f"python: {sys.prefix}; {hypotheses} hypotheses; repositories of {small:,} and "
        f"{large:,} modules, {total / 1e6:g} MB each"
    )
    began = time.perf_counter()
    where = Path(tempfile.mkdtemp(prefix="hone-bench-repo-", dir="/var/tmp"))
    try:
        repo = make_repository(where, small, total // small)
        one = make_one_file(where, total // small)
        big = make_repository(where, large, total // large)
        print(f"generated in {time.perf_counter() - began:.1f} s", flush=True)
        cpu = {
            "one file": run_in_child(one, where / "run-one", hypotheses, 1, False),
            "repository": run_in_child(repo, where / "run-repo", hypotheses, small, args.profile),
        }
        for name, figures in cpu.items():
            print(
                f"{name:10s}: framework CPU {figures['per_hypothesis_ms']:7.2f} ms per hypothesis"
                f" (start-up {figures['startup_s']:.2f} s, run {figures['total_s']:.1f} s CPU, "
                f"{figures['wall_s']:.1f} s wall); outcomes {figures['statuses']}",
                flush=True,
            )
        growth = store_growth(where / "run-repo", hypotheses)
        print(
            f"store per hypothesis: {growth['hypothesis']:,.0f} bytes, of which the changed "
            f"text {growth['changed_stored']:,.0f} (compressed; {growth['changed_raw']:,.0f} "
            f"raw): {growth['beyond']:,.0f} beyond it; model calls "
            f"{growth['calls']:,.0f} more (prompt and answer)"
        )
        from hone.task import Task

        small_start, large_start = Task.from_dir(repo).tree, Task.from_dir(big).tree
        # The run's own trees; then, to compare the sizes alike, trees made the same way over
        # each repository.
        bases = {
            f"{small:,} files, the run's trees": (
                repo / "repo",
                small_start,
                stored_trees(where / "run-repo"),
            ),
            f"{small:,} files": (
                repo / "repo",
                small_start,
                synthetic_trees(repo, small, hypotheses),
            ),
            f"{large:,} files": (
                big / "repo",
                large_start,
                synthetic_trees(big, large, hypotheses),
            ),
        }
        laid = materialise_ms(bases)
        for name, figures in laid.items():
            print(
                f"materialise, {name}: {figures['ms']:.2f} ms per candidate (median of "
                f"{len(bases[name][2])}, {figures['strategy']}, "
                f"{figures['sent_bytes'] / 1000:,.0f} KB sent)"
            )
        print(f"worker: {next(iter(laid.values()))['protections']}")
        used = [resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
        cpu_s = sum(u.ru_utime + u.ru_stime for u in used)
        print(f"({time.perf_counter() - began:.0f} s in all, {cpu_s:.0f} s of CPU)")
    finally:
        shutil.rmtree(where, ignore_errors=True)
    ratio = cpu["repository"]["per_hypothesis_ms"] / cpu["one file"]["per_hypothesis_ms"]
    worst = max(f["ms"] for f in laid.values())
    grows = laid[f"{large:,} files"]["ms"] / laid[f"{small:,} files"]["ms"]
    lines = [
        verdict("store_growth_bytes", growth["beyond"], STORE_GOAL,
                f"{growth['beyond']:,.0f}", f"{STORE_GOAL:,}"),
        verdict("materialise_ms", worst, MATERIALISE_GOAL_MS,
                f"{worst:.2f}", f"{MATERIALISE_GOAL_MS:g}"),
        verdict(f"materialise_growth_{large}_over_{small}", grows, GROWTH_GOAL,
                f"{grows:.2f}x", f"{GROWTH_GOAL:g}x"),
        verdict("framework_cpu_ratio", ratio, CPU_GOAL, f"{ratio:.2f}x", f"{CPU_GOAL:g}x"),
    ]  # fmt: skip
    print("\n".join(lines))


if __name__ == "__main__":
    main()
