"""The C project example: two .c files, a header and a Makefile; each candidate is built with
make in its tree's root and timed by the benchmark (`[evaluation] command`)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

import hone
from hone.task import Task
from hone.testing import ScriptedModel

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "c_primes"

pytestmark = pytest.mark.skipif(
    shutil.which("cc") is None or shutil.which("make") is None, reason="needs cc and make"
)

SIEVE = """\
#include <stdlib.h>

#include "primes.h"

int is_prime(uint32_t n) {
    if (n < 2) return 0;
    if (n % 2 == 0) return n == 2;
    for (uint64_t d = 3; d * d <= n; d += 2) {
        if (n % d == 0) return 0;
    }
    return 1;
}

uint32_t count_primes(uint32_t n) {
    if (n < 2) return 0;
    unsigned char *composite = calloc((size_t)n + 1, 1);
    if (composite == NULL) return 0;
    uint32_t count = 0;
    for (uint64_t i = 2; i <= n; i++) {
        if (composite[i]) continue;
        count++;
        for (uint64_t j = i * i; j <= n; j += i) composite[j] = 1;
    }
    free(composite);
    return count;
}
"""
OPTIMISED = "\nMakefile\n<<<<<<< SEARCH\nCFLAGS = -O0 -std=c11 -Wall\n=======\nCFLAGS = -O2 -std=c11 -Wall\n>>>>>>> REPLACE\n"
OFF_BY_ONE = (
    "Skip the bound.\n\nprimes.c\n<<<<<<< SEARCH\n    for (uint64_t i = 2; i <= n; i++) {\n"
    "=======\n    for (uint64_t i = 2; i < n; i++) {\n>>>>>>> REPLACE\n"
)
SYNTAX = "Typo.\n\nprimes.c\n<<<<<<< SEARCH\n    return 1;\n}\n=======\n    return 1\n}\n>>>>>>> REPLACE\n"


def test_the_project_builds_and_its_benchmark_checks_the_results(tmp_path: Path) -> None:
    build = tmp_path / "project"
    shutil.copytree(EXAMPLE / "project", build)
    done = subprocess.run(
        "make -s clean bench && ./bench", shell=True, cwd=build, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert (
        done.stdout.startswith('{"score": ')
        and '"feedback": "count_primes(500000): ' in done.stdout
    )
    task = Task.from_dir(EXAMPLE)
    assert task.tree.paths == ("Makefile", "primes.c")
    assert not {p.name for p in (EXAMPLE / "project").iterdir()} & {"bench", "bench.o", "primes.o"}


def test_a_scripted_model_reaches_a_sieve_built_with_optimisation(tmp_path: Path) -> None:
    task = Task.from_dir(EXAMPLE)
    faster = f"A sieve, and -O2.\n\n```c primes.c\n{SIEVE}```\n{OPTIMISED}"
    result = hone.run(
        task.configured(evaluation={"workers": 1}),
        model=ScriptedModel([OFF_BY_ONE, SYNTAX, faster]),
        run_dir=tmp_path / "run",
        budget=task.budget.merged(max_llm_calls=3),
    )
    start, wrong, broken, sieve = result.history
    assert start.evaluation.ok and start.score is not None
    assert wrong.evaluation.status == "error"
    assert wrong.evaluation.reason == "count_primes(2) returned 0, expected 1"
    assert broken.evaluation.status == "error"
    assert broken.evaluation.reason.startswith("the command exited with status 2:")
    assert "primes.c:8:13: error: expected" in broken.evaluation.reason  # the compiler's line
    assert sieve.evaluation.ok and sieve.score is not None
    # About 50 times on an idle machine (the figure is benchmarks/example_speedups.py's: it is
    # the clock's); faster, in the same run under the same load, is what holds anywhere.
    assert sieve.score > start.score
    assert sieve.tree is not None and "CFLAGS = -O2" in sieve.tree["Makefile"]
    assert result.best is not None and result.best.id == sieve.id
    assert (tmp_path / "run" / "best" / "primes.c").read_text() == SIEVE
