"""Evaluations on Ray: a local Ray instance started by the test, the same outcomes as locally."""

import asyncio
import dataclasses
import itertools
import os
import sys
from pathlib import Path

import pytest

import hone
from hone.budget import Budget
from hone.exceptions import ConfigError, MissingDependencyError
from hone.executors.ray import RayPool
from hone.settings import EvaluationConfig
from hone.task import Task
from hone.testing import ScriptedModel
from tests.conftest import PROGRAM

EVALUATOR = """\
import importlib.util
from pathlib import Path

OFFSET = float((Path(__file__).parent / "data" / "offset.txt").read_text())


def evaluate(program_path):
    spec = importlib.util.spec_from_file_location("candidate", program_path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.result() + OFFSET
"""


def task_folder(root: Path) -> Path:
    (root / "data").mkdir(parents=True)
    (root / "data" / "offset.txt").write_text("0.5")
    (root / "evaluate.py").write_text(EVALUATOR)
    return root


def sleeper(value: int) -> str:
    return f"import time\ndef result():\n    time.sleep(1)\n    return {value}\n"


@pytest.mark.slow
def test_ray_pool_scores_in_parallel_and_failures_are_data(tmp_path: Path) -> None:
    root = task_folder(tmp_path / "task")
    config = EvaluationConfig(workers=2, timeout=3)

    async def go() -> tuple[str, list]:
        pool = RayPool(root, root / "evaluate.py", "program.py", config)
        try:
            protections = await pool.ready()
            results = await asyncio.gather(*(pool.verify(sleeper(i)) for i in range(4)))
            failures = await asyncio.gather(
                pool.verify("def result():\n    raise ValueError('no')\n"),
                pool.verify("def result():\n    while True:\n        pass\n"),
            )
            return protections, [*results, *failures]
        finally:
            await pool.close()

    protections, results = asyncio.run(go())
    assert "on Ray, 2 actors" in protections and "no network" in protections
    assert [r.evaluation.score for r in results[:4]] == [0.5, 1.5, 2.5, 3.5]  # data shipped
    # Four 1 s evaluations on two actors: some two of them ran at the same time (on one
    # actor, each would start after the one before ended), however busy the machine.
    spans = [(r.started, r.started + r.evaluation.seconds) for r in results[:4]]
    assert any(a[0] < b[1] and b[0] < a[1] for a, b in itertools.combinations(spans, 2)), spans
    raised, hung = (r.evaluation for r in results[4:])
    assert raised.status == "error" and "ValueError: no" in raised.reason
    assert hung.status == "timeout", hung.reason


@pytest.mark.slow
def test_a_run_with_the_ray_executor(tmp_path: Path) -> None:
    root = task_folder(tmp_path / "task")
    (root / "evaluate.py").write_text(EVALUATOR.replace("module.result()", "module.run()"))
    (root / "initial.py").write_text(PROGRAM)
    (root / "task.toml").write_text('instruction = "Make f() return 10."\n')
    task = Task.from_dir(root)
    task = dataclasses.replace(
        task,
        budget=Budget(max_llm_calls=2, patience=None),
        evaluation=dataclasses.replace(task.evaluation, executor="ray", workers=2),
    )
    answers = [f"```python\ndef f():\n    return {v}\n```" for v in (4.0, 9.0)]
    result = hone.run(task, model=ScriptedModel(answers), run_dir=tmp_path / "run")
    assert [c.score for c in result.history] == [1.5, 4.5, 9.5]
    assert "on Ray" in result.sandbox


def test_without_ray_the_error_names_the_install_command(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)
    root = task_folder(tmp_path / "task")
    pool = RayPool(root, root / "evaluate.py", "program.py", EvaluationConfig(workers=1))

    async def go() -> None:
        try:
            await pool.ready()
        finally:
            await pool.close()  # never raises

    with pytest.raises(MissingDependencyError, match=r"pip install 'hone\[ray\]'"):
        asyncio.run(go())


@pytest.mark.slow
def test_no_more_actors_than_cpus_and_a_bad_address_is_one_sentence(tmp_path: Path, caplog) -> None:
    root = task_folder(tmp_path / "task")

    async def actors(workers: int, address: str = "") -> str:
        config = EvaluationConfig(workers=workers, timeout=5)
        pool = RayPool(root, root / "evaluate.py", "program.py", config, address=address)
        try:
            return await asyncio.wait_for(pool.ready(), 120)
        finally:
            await pool.close()

    cpus = os.cpu_count() or 1
    assert f"on Ray, {cpus} actors" in asyncio.run(actors(cpus + 2))  # not stuck waiting
    assert f"has {cpus} CPUs" in caplog.text
    with pytest.raises(ConfigError, match="cannot start or reach the Ray cluster at 'auto'"):
        asyncio.run(actors(1, address="auto"))  # no cluster is running
