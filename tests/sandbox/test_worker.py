"""The evaluation worker: it alone loads the task's evaluator, and how it runs the evaluator
comes from its contract's `Loaded.trusted`, never from the evaluator function's name."""

from __future__ import annotations

import asyncio
import json
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from hone.executors.local import ProcessPool
from hone.sandbox.isolation import scrubbed_env
from hone.settings import ContractName, EvaluationConfig

MEMORY = 300 << 20  # the candidate's address-space limit, seen only when confined

# A contract whose `load` declares the trust the test asks for, with a function named the
# other way: `evaluate_program` declared untrusted, `evaluate` declared trusted.
MISNAMED = """\
import resource

from hone.compat import Loaded


def seen(argument):
    return {
        "score": 1.0,
        "given_a_path": float(isinstance(argument, str)),
        "address_limit": float(resource.getrlimit(resource.RLIMIT_AS)[0]),
    }


def evaluate_program(argument):
    return seen(argument)


def evaluate(argument):
    return seen(argument)


def load(path, settings):
    trusted = settings["declared_trusted"]
    return Loaded(evaluate if trusted else evaluate_program, trusted=trusted)
"""

# The worker, with the test's contract registered as "hone" (hone.compat.CONTRACTS).
START = """\
import sys
sys.path.insert(0, sys.argv[1])
from hone import compat
compat.CONTRACTS["hone"] = "misnamed_contract"
from hone.sandbox.worker import main
sys.exit(main(sys.argv[2:]))
"""


def run_worker(folder: Path, declared_trusted: bool) -> dict[str, float]:
    """One evaluation in a worker whose contract declares `declared_trusted`: its metrics."""
    settings = {
        "contract": "hone",
        "declared_trusted": declared_trusted,
        "limits": {"memory_bytes": MEMORY, "cpu_seconds": 20},
    }
    argv = [str(folder), str(folder / "evaluate.py"), "program.py", json.dumps(settings)]
    ran = subprocess.run(
        [sys.executable, "-c", START, *argv],
        input=json.dumps({"id": 1, "files": {"program.py": "x = 1\n"}, "timeout": 20}) + "\n",
        capture_output=True,
        text=True,
        env=scrubbed_env(),
        cwd=folder,
        timeout=60,
    )
    ready, reply = (json.loads(line) for line in ran.stdout.splitlines())
    assert ready["ready"], ran.stdout
    evaluation = reply["evaluation"]
    assert evaluation["status"] == "ok", evaluation
    metrics: dict[str, float] = evaluation["metrics"]
    return metrics


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "misnamed_contract.py").write_text(MISNAMED)
    (tmp_path / "evaluate.py").write_text("# the test's contract reads no evaluator\n")
    return tmp_path


def test_an_evaluate_program_its_contract_declares_untrusted_runs_confined(folder: Path) -> None:
    metrics = run_worker(folder, declared_trusted=False)
    assert metrics["given_a_path"] == 1.0  # it shares the candidate's process, confined
    assert metrics["address_limit"] == MEMORY


def test_an_evaluate_its_contract_declares_trusted_runs_unconfined(folder: Path) -> None:
    metrics = run_worker(folder, declared_trusted=True)
    assert metrics["given_a_path"] == 0.0  # it is given the confined candidate's Program
    assert metrics["address_limit"] == float(resource.RLIM_INFINITY)


@pytest.mark.parametrize(
    ("contract", "source"),
    [
        ("hone", "def evaluate(program_path):\n    return 1.0\n"),
        ("openevolve", "def evaluate(program_path):\n    return {'combined_score': 1.0}\n"),
    ],
)
def test_hones_own_process_never_imports_the_evaluator(
    tmp_path: Path, contract: ContractName, source: str
) -> None:
    evaluator = tmp_path / "evaluate.py"
    evaluator.write_text(source)
    pool = ProcessPool(evaluator, "program.py", EvaluationConfig(workers=1, contract=contract))

    async def verify() -> float | None:
        try:
            return (await pool.verify("x = 1\n")).evaluation.score
        finally:
            await pool.close()

    assert asyncio.run(verify()) == 1.0  # the worker imported it
    here = [m for m in list(sys.modules.values()) if getattr(m, "__file__", None) == str(evaluator)]
    assert here == [] and "hone_task_evaluator" not in sys.modules


# -- a folder task: the tree laid over its program folder, evaluate given the root -----------
LOOKS = """\
import os
import sys

from hone.verifiers.command import run_commands


def evaluate(program_path):
    root = os.path.abspath(program_path)
    ran = run_commands(root, None, [sys.executable, "main.py"])  # (it runs in the root)
    seen = sorted(os.listdir(root))
    before = os.path.exists(os.path.join(root, "sub", "made.txt"))
    with open(os.path.join(root, "sub", "made.txt"), "w") as f:  # (in a folder of the base)
        f.write("made by the candidate")
    try:  # (a base file: the candidate's own copy, or refused; never the base's)
        with open(os.path.join(root, "data.txt"), "a") as f:
            f.write("changed by the candidate")
    except OSError:
        pass
    return {
        "score": ran.score or 0.0,
        "is_folder": float(os.path.isdir(root)),
        "sees_base": float(seen == ["data.txt", "helper.py", "main.py", "sub"]),
        "owns_root": float(os.stat(root).st_uid == os.getuid()),
        "made_before": float(before),
    }
"""


def test_a_folder_tasks_tree_is_evaluated_over_its_program_folder(tmp_path: Path) -> None:
    from hone.tree import Tree

    base = tmp_path / "program"
    (base / "sub").mkdir(parents=True)
    (base / "data.txt").write_text("data\n")
    (base / "helper.py").write_text("VALUE = 1.0\n")  # a base file the tree overrides
    (tmp_path / "evaluate.py").write_text(LOOKS)
    main = "import json\nfrom helper import VALUE\nprint(json.dumps({'score': VALUE}))\n"
    pool = ProcessPool(
        tmp_path / "evaluate.py", "program.py", EvaluationConfig(workers=1), base=base
    )

    async def both() -> list[dict[str, float]]:
        try:
            found = []
            for value in (4.0, 5.0):  # the second sees none of what the first wrote
                tree = Tree({"main.py": main, "helper.py": f"VALUE = {value}\n"})
                verified = await pool.verify(tree)
                assert verified.evaluation.ok, verified.evaluation.reason
                found.append(
                    {"score": verified.evaluation.score or 0.0, **verified.evaluation.metrics}
                )
            return found
        finally:
            await pool.close()

    first, second = asyncio.run(both())
    assert (first["score"], second["score"]) == (4.0, 5.0)
    assert first["is_folder"] == first["sees_base"] == second["sees_base"] == 1.0
    assert first["owns_root"] == 1.0 and first["made_before"] == second["made_before"] == 0.0
    assert (base / "data.txt").read_text() == "data\n" and (
        base / "helper.py"
    ).read_text() == "VALUE = 1.0\n"
    assert sorted(p.name for p in base.iterdir()) == ["data.txt", "helper.py", "sub"]
    assert list((base / "sub").iterdir()) == []
