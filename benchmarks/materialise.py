"""Milliseconds to lay a candidate's tree over a base folder, by overlay and by link farm.

    python benchmarks/materialise.py [--candidates 100]

A synthetic 20 MB base of 200 files (100 KB each), then one of 2,000 files (10 KB each), in
folders of 20; each candidate changes 1 to 3 random files (whole new texts of the same size).
The script isolates itself as an evaluation worker does (`isolation.isolate_worker`: private
mount namespace, /tmp a fresh tmpfs, the base bound back read-only), then times
`materialise` and `Materialised.remove` per candidate. Prints the median build and
build-and-remove times per strategy and size, then one target line each (goal: 20 ms, and
not growing with the base: the overlay's cost is the changed files' (for a candidate of its
own user, over the layer of the base's folders a worker makes once), the farm's a link per
base file).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from hone.sandbox import isolation
from hone.sandbox.materialise import Base, materialise

GOAL_MS = 20.0
SIZES = ((200, 100_000), (2_000, 10_000))  # files, bytes each: 20 MB both


def make_base(root: Path, files: int, size: int, rng: random.Random) -> list[str]:
    """A base folder of `files` text files in folders of 20; their relative paths."""
    paths = []
    for i in range(files):
        path = f"pkg{i // 400}/mod{i // 20}/file{i}.py"
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(_text(rng, size))
        paths.append(path)
    return paths


def _text(rng: random.Random, size: int) -> str:
    line = f"VALUE_{rng.randrange(10**6)} = {rng.random()!r}\n"
    return (line * (size // len(line) + 1))[:size]


def measure(
    base: Base,
    paths: list[str],
    size: int,
    strategy: str,
    owner: int | None,
    n: int,
    rng: random.Random,
) -> tuple[float, float, str]:
    """Median ms per candidate: (build, build and remove), and the strategy used."""
    build, total, used = [], [], ""
    scratch = Path(tempfile.mkdtemp(prefix="hone-bench-"))
    for i in range(n):
        files = {p: _text(rng, size) for p in rng.sample(paths, rng.randint(1, 3))}
        began = time.perf_counter()
        tree = materialise(files, base, scratch / f"c{i}", strategy=strategy, owner=owner)  # type: ignore[arg-type]
        built = time.perf_counter()
        tree.remove()
        done = time.perf_counter()
        build.append(1000 * (built - began))
        total.append(1000 * (done - began))
        used = tree.strategy
    shutil.rmtree(scratch, ignore_errors=True)
    return statistics.median(build), statistics.median(total), used


def main() -> None:
    """Build the bases, measure in an isolated child, print, clean up."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidates", type=int, default=100)
    args = parser.parse_args()
    rng = random.Random(0)
    where = Path(tempfile.mkdtemp(prefix="hone-bench-bases-", dir="/var/tmp"))
    try:
        bases = {}
        for files, size in SIZES:
            folder = where / f"base{files}"
            bases[files] = (folder, make_base(folder, files, size, rng), size)
        sys.stdout.flush()
        child = os.fork()  # isolated as a worker: the bases are read-only there, so removed here
        if child == 0:
            try:
                report(where, bases, args.candidates, rng)
            finally:
                sys.stdout.flush()
                os._exit(0)
        os.waitpid(child, 0)
    finally:
        shutil.rmtree(where, ignore_errors=True)


def report(
    where: Path, bases: dict[int, tuple[Path, list[str], int]], n: int, rng: random.Random
) -> None:
    """Isolate this process as a worker is, then measure and print."""
    protections = isolation.isolate_worker([str(where)], 512 << 20)
    print(f"worker: {protections.describe()}")
    # A candidate runs as this process's user, or (hone is root) as a user of its own, whose
    # the tree's folders must then be.
    owners = {"same user": None, "own user": protections.user_id}
    rows = []
    for files, (folder, paths, size) in bases.items():
        base = Base.scan(folder)
        for strategy in ("overlay", "farm"):
            for who, owner in owners.items():
                if who == "own user" and owner is None:
                    continue
                laid = base
                if owner is not None and strategy == "overlay":  # as the worker lays it
                    laid = base.with_folders(owner, Path(tempfile.mkdtemp(prefix="hone-f-")))
                build, total, used = measure(laid, paths, size, strategy, owner, n, rng)
                name = f"{strategy}, {who}, {files} files"
                rows.append((name, total))
                print(
                    f"{name:32s} build {build:6.2f} ms, build + remove {total:6.2f} ms "
                    f"per candidate (median of {n})"
                    + ("" if used == strategy else f" [ran as {used}]")
                )
    for name, total in rows:
        verdict = "met" if total <= GOAL_MS else "missed"
        print(f"target materialise_ms ({name}): {total:.2f} (goal {GOAL_MS:g}) {verdict}")


if __name__ == "__main__":
    main()
