"""Evaluations on Ray: a local Ray instance started by the test, the same outcomes as locally;
a cluster of a head and worker nodes, where nodes hold what evaluations ask and may die."""

import asyncio
import contextlib
import dataclasses
import itertools
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import hone
import hone.executors.ray
from hone.budget import Budget
from hone.cli import main
from hone.events import HypothesisEvaluated
from hone.exceptions import ConfigError, MissingDependencyError
from hone.executors import Verified
from hone.executors.ray import RayPool
from hone.settings import EvaluationConfig
from hone.store import opened
from hone.task import Task
from hone.testing import ScriptedModel
from tests.conftest import PROGRAM, RAY_FOLDER
from tests.helpers import fenced, is_loopback, listening, ray_processes

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


def run_folder(root: Path) -> Path:
    """A task folder for a whole run: the starting program, its evaluator and task.toml."""
    task_folder(root)
    (root / "evaluate.py").write_text(EVALUATOR.replace("module.result()", "module.run()"))
    (root / "initial.py").write_text(PROGRAM)
    (root / "task.toml").write_text('instruction = "Make f() return 10."\n')
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
    root = run_folder(tmp_path / "task")
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


# Run in a Python of its own that has never seen RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER (this one
# has it from tests/conftest.py): what a user of the Python API gets. While the first
# evaluation's event is handled, Ray is up: every node, its GCS and what each Ray process
# listens on are noted; after the run, that the setting did not outlive Ray's start.
API_RUN = """\
import dataclasses, json, os, sys
import ray
from ray._private import ray_constants
import hone
from hone.budget import Budget
from hone.events import HypothesisEvaluated
from hone.task import Task
from hone.testing import ScriptedModel
from tests.helpers import listening, ray_processes

assert ray_constants.ENABLE_RAY_CLUSTER  # (as in a user's program: Ray would take eth0's address)
root, folder = sys.argv[1], os.environ["RAY_TMPDIR"]
task = Task.from_dir(root)
task = dataclasses.replace(
    task,
    budget=Budget(max_llm_calls=1, patience=None),
    evaluation=dataclasses.replace(task.evaluation, executor="ray", workers=1),
)
seen = {}

def on_event(event):
    if isinstance(event, HypothesisEvaluated) and not seen:
        seen["nodes"] = [n["NodeManagerAddress"] for n in ray.nodes()]
        seen["gcs"] = ray.get_runtime_context().gcs_address
        heard = listening([os.getpid(), *ray_processes(folder)])
        seen["listening"] = sorted({a for p in heard.values() for a in p})

answers = ["```python\\ndef f():\\n    return 4.0\\n```"]
result = hone.run(task, model=ScriptedModel(answers), run_dir=sys.argv[2], on_event=on_event)
seen["scores"] = [c.score for c in result.history]
seen["after"] = [ray_constants.ENABLE_RAY_CLUSTER, os.environ.get("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER")]
print(json.dumps(seen))
"""


@pytest.mark.slow
def test_a_ray_started_through_the_python_api_listens_on_loopback_only(tmp_path: Path) -> None:
    root = run_folder(tmp_path / "task")
    env = {k: v for k, v in os.environ.items() if k != "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"}
    env["RAY_TMPDIR"] = folder = f"{RAY_FOLDER}-api"  # (short: Ray's socket paths are limited)
    try:
        done = subprocess.run(
            [sys.executable, "-c", API_RUN, str(root), str(tmp_path / "run")],
            cwd=Path(__file__).parents[2], env=env, capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-3000:]
        seen = json.loads(done.stdout.splitlines()[-1])
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    assert seen["scores"] == [1.5, 4.5]
    assert seen["nodes"] == ["127.0.0.1"] and seen["gcs"].startswith("127.0.0.1:"), seen
    assert len(seen["listening"]) >= 3, seen  # a GCS, a raylet, an object manager at least
    assert all(is_loopback(a) for a in seen["listening"]), seen
    assert seen["after"] == [True, None]  # the user's later ray.init() is as Ray would have it


def test_only_a_ray_started_here_is_put_on_loopback(monkeypatch, tmp_path: Path) -> None:
    """A cluster named by its address is joined as Ray would join it (its driver's address is
    then the one the other machines reach); a failed local start leaves nothing changed."""
    import ray
    from ray._private import ray_constants

    variable = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"
    monkeypatch.setattr(ray_constants, "ENABLE_RAY_CLUSTER", True)  # (a user's process)
    monkeypatch.delenv(variable)
    seen: list[tuple[bool, str | None]] = []

    def init(**options: Any) -> None:  # (a start that fails, after noting what it was told)
        seen.append((ray_constants.ENABLE_RAY_CLUSTER, os.environ.get(variable)))
        raise ConnectionError("refused")

    monkeypatch.setattr(ray, "init", init)
    monkeypatch.setattr(ray, "is_initialized", lambda: False)
    root = task_folder(tmp_path / "task")
    for address in ("auto", "ray://10.0.0.1:10001", ""):
        pool = RayPool(root, root / "evaluate.py", "p.py", EvaluationConfig(), address=address)
        with pytest.raises(ConfigError, match="refused"):
            asyncio.run(pool.ready())
    assert seen == [(True, None), (True, None), (False, "0")]
    assert ray_constants.ENABLE_RAY_CLUSTER and variable not in os.environ


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


def test_a_lost_evaluation_waits_for_an_actor_on_another_node_where_there_is_one(
    tmp_path: Path,
) -> None:
    """The other idle actor of a node that just lost one is likely dead too: an evaluation
    tried again waits for an actor elsewhere, and takes one there only when no node else has
    any (no Ray needed: the pool's own bookkeeping)."""
    from hone.executors.ray import _Actor

    root = task_folder(tmp_path / "task")
    pool = RayPool(root, root / "evaluate.py", "program.py", EvaluationConfig())

    async def go() -> tuple[bool, _Actor, _Actor]:
        gone, busy = _Actor(None, node="spare"), _Actor(None, node="left")
        pool._actors, pool._idle = [gone, busy], [gone]
        taking = asyncio.ensure_future(pool._take(avoid={"spare"}))
        for _ in range(5):
            await asyncio.sleep(0)
        waited = not taking.done()  # the spare node's idle actor was not taken
        pool._give(busy)  # an evaluation on the left node ends
        taken = await taking
        pool._actors, pool._idle = [gone], [gone]  # nowhere else: where it was lost
        return waited, taken, await pool._take(avoid={"spare"})

    waited, taken, only = asyncio.run(go())
    assert waited and taken.node == "left" and only.node == "spare"


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
    assert f"has room for {cpus} evaluations of CPU=1" in caplog.text
    with pytest.raises(ConfigError, match="cannot start or reach the Ray cluster at 'auto'"):
        asyncio.run(actors(1, address="auto"))  # no cluster is running


def test_the_held_out_data_is_not_shipped_to_the_nodes(tmp_path: Path) -> None:
    root = task_folder(tmp_path / "task")
    (root / "holdout").mkdir()
    outside = tmp_path / "elsewhere.json"
    outside.write_text("[]")
    config = EvaluationConfig(holdout=("holdout", str(outside)))
    pool = RayPool(root, root / "evaluate.py", "initial.py", config)
    assert pool._unshipped() == ["/holdout"]  # (a path outside the folder is never shipped)


# -- on a cluster of several nodes ---------------------------------------------------------
# A head (no CPU: it takes no actor) and two worker nodes, each its own raylet with its own
# resources, all on this machine and on 127.0.0.1 (tests/conftest.py), shared by the tests
# below and shut down after them.


@dataclasses.dataclass(frozen=True)
class Nodes:
    cluster: Any  # ray.cluster_utils.Cluster
    left: str  # node ids: left has 2 CPUs, a GPU, 1.5 GiB of memory and 2 "left"
    right: str  # right has 2 CPUs and 2 "right"
    right_raylet: int  # its raylet's process id (the parent of its actors' processes)

    @property
    def address(self) -> str:
        return str(self.cluster.address)


@pytest.fixture(scope="module")
def nodes() -> Iterator[Nodes]:
    from ray.cluster_utils import Cluster

    head = {"num_cpus": 0, "include_dashboard": False}
    cluster = Cluster(initialize_head=True, head_node_args=head)
    try:
        left = cluster.add_node(num_cpus=2, num_gpus=1, memory=3 << 29, resources={"left": 2})
        right = cluster.add_node(num_cpus=2, resources={"right": 2})
        cluster.wait_for_nodes()
        running = ray_processes(RAY_FOLDER)
        assert len(running) >= 4  # a GCS and three raylets at least
        heard = listening(running)  # (Ray would otherwise take the machine's interface address)
        assert heard and all(is_loopback(a) for p in heard.values() for a in p), heard
        raylet = right.all_processes["raylet"][0].process.pid
        yield Nodes(cluster, left.node_id, right.node_id, raylet)
    finally:
        cluster.shutdown()
    deadline = time.monotonic() + 30
    while (left_over := ray_processes(RAY_FOLDER)) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not left_over, f"processes of the cluster outlived it: {left_over}"


def on_nodes(results: list[Verified]) -> set[str]:
    """The nodes the evaluations' last attempts ran on."""
    return {r.attempts[-1].node for r in results}


@pytest.mark.slow
def test_evaluations_spread_over_the_worker_nodes_and_each_sees_the_task_data(
    nodes: Nodes, tmp_path: Path
) -> None:
    root = task_folder(tmp_path / "task")
    config = EvaluationConfig(timeout=30)
    pool = RayPool(root, root / "evaluate.py", "program.py", config, address=nodes.address)

    sockets = Path(nodes.cluster.head_node.get_session_dir_path()) / "sockets"
    assert sorted(p.name for p in sockets.iterdir())  # the raylets' and object stores' sockets
    peek = f"import os\ndef result():\n    return len(os.listdir({str(sockets)!r}))\n"

    async def go() -> tuple[str, str, list[Verified], Verified]:
        import ray

        try:
            protections = await pool.ready()
            listeners = listening([os.getpid(), *ray_processes(RAY_FOLDER)])  # actors, driver
            assert all(is_loopback(a) for p in listeners.values() for a in p), listeners
            job = ray.get_runtime_context().get_job_id()
            results = await asyncio.gather(*(pool.verify(sleeper(i)) for i in range(8)))
            return protections, job, results, await pool.verify(peek)
        finally:
            await pool.close()

    protections, job, results, peeked = asyncio.run(go())
    assert "on Ray, 4 actors on 2 nodes" in protections  # 2 CPUs on each worker, none on the head
    assert protections.startswith("no network, private file system")  # on both nodes alike
    # a candidate on a node sees none of Ray's sockets (they lie under the private /tmp)
    assert peeked.evaluation.status == "error" and "FileNotFoundError" in peeked.evaluation.reason
    # every evaluation read the task's data file on its node: the folder reached both
    assert [r.evaluation.score for r in results] == [i + 0.5 for i in range(8)]
    assert on_nodes(results) == {nodes.left, nodes.right}
    assert all(len(r.attempts) == 1 and r.attempts[0].outcome == "ok" for r in results)
    assert {r.attempts[0].host for r in results} == {"127.0.0.1"}
    # The task folder went up once for the run and down once per node (Ray's log of this job's
    # runtime environment; its three nodes share one session folder here), not per evaluation.
    logs = Path(nodes.cluster.head_node.get_session_dir_path()) / "logs"
    setup = (logs / f"runtime_env_setup-{job}.log").read_text()
    assert 1 <= setup.count("Downloading package from gcs://_ray_pkg_") <= 3, setup


@pytest.mark.slow
def test_a_resource_only_one_node_has_runs_every_evaluation_there(
    nodes: Nodes, tmp_path: Path
) -> None:
    import ray

    root = task_folder(tmp_path / "task")
    # left has room for one: its 1.5 GiB of memory hold one 1 GiB share (its GPU two halves)
    asked = {"CPU": 1, "GPU": 0.5, "memory": "1 GiB", "left": 1}
    config = EvaluationConfig(timeout=30, resources=asked)
    pool = RayPool(root, root / "evaluate.py", "program.py", config, address=nodes.address)

    def held() -> dict[str, float]:
        total, free = ray.cluster_resources(), ray.available_resources()
        return {k: total[k] - free.get(k, 0.0) for k in ("CPU", "GPU", "memory", "left")}

    # the GPU the evaluation may use, as it sees it (the node's one GPU is Ray's GPU 0)
    gpu = "import os\ndef result():\n    return float(os.environ['CUDA_VISIBLE_DEVICES'])\n"

    async def go() -> tuple[str, dict[str, float], list[Verified]]:
        try:
            protections = await pool.ready()
            # (Ray's view of what is held follows the nodes' reports: wait for it)
            assert await until(lambda: held()["left"] == 1), held()
            results = await asyncio.gather(*(pool.verify(sleeper(i)) for i in range(3)))
            return protections, held(), [*results, await pool.verify(gpu)]
        finally:
            await pool.close()

    protections, holds, results = asyncio.run(go())
    assert "on Ray, 1 actors on 1 nodes" in protections
    assert holds == {"CPU": 1, "GPU": 0.5, "memory": 2**30, "left": 1}  # what the actor asked
    assert on_nodes(results) == {nodes.left}
    # its share of the GPU reached the evaluation through the sandbox's scrubbed environment
    assert [r.evaluation.score for r in results] == [0.5, 1.5, 2.5, 0.5], results[-1]


async def until(condition: Callable[[], bool], seconds: float = 30) -> bool:
    """Wait until `condition` holds (True) or `seconds` pass (False)."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.2)
    return True


@pytest.mark.slow
def test_a_worker_node_removed_mid_run_costs_only_its_evaluations(
    nodes: Nodes, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spare = nodes.cluster.add_node(num_cpus=2, resources={"spare": 2})
    nodes.cluster.wait_for_nodes()
    root = task_folder(tmp_path / "task")
    (root / "evaluate.py").write_text(EVALUATOR.replace("module.result()", "module.run()"))
    (root / "initial.py").write_text(PROGRAM)
    (root / "task.toml").write_text('instruction = "Make f() return 10."\n')
    task = Task.from_dir(root).configured(
        budget=Budget(max_llm_calls=6, patience=None),
        search={"hypotheses_per_round": 6},  # one for each actor: 2 on each of the 3 nodes
        evaluation={"executor": "ray", "ray_address": nodes.address, "timeout": 60},
    )
    slow = "def f():\n    import time\n    time.sleep(4)\n    return {}\n"
    answers = [fenced(slow.format(v)) for v in range(2, 8)]
    removal = threading.Timer(1.5, nodes.cluster.remove_node, (spare,))

    def on_event(event: object) -> None:  # the starting program verified: 6 evaluations go out
        if isinstance(event, HypothesisEvaluated) and removal.ident is None:
            removal.start()

    try:
        result = hone.run(
            task, model=ScriptedModel(answers), run_dir=tmp_path / "run", on_event=on_event
        )
    finally:
        removal.join()
    assert result.stop_reason == "max_llm_calls"  # the run ended as it would have anyway
    # every hypothesis has one outcome, its own: none lost, none counted twice
    assert sorted(c.score for c in result.history) == [1.5, 2.5, 3.5, 4.5, 5.5, 6.5, 7.5]
    with opened(result.run_dir) as store:
        attempts = store.attempts()
        assert not store.candidates(pending=True)
    assert sorted(attempts) == [c.id for c in result.history]
    # the two evaluations out on the spare node (one went to each of the 6 actors) were
    # tried again elsewhere; the others were not touched
    assert len([a for a in attempts.values() if len(a) > 1]) == 2
    for tries in attempts.values():  # one outcome, the last; the lost try on the spare node
        *before, last = tries
        assert last.outcome == "ok" and [a.outcome for a in before] in ([], ["lost"]), tries
        if before:
            assert before[0].node == spare.node_id and last.node != spare.node_id, tries
    assert main(["show", str(result.run_dir)]) == 0
    assert "2 evaluations lost with their node and tried again" in capsys.readouterr().out


@pytest.mark.slow
def test_when_the_only_node_an_evaluation_fits_is_gone_the_pool_says_so_and_ends(
    nodes: Nodes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No node joins in its place: the lost actor's slot is given up after its tries, and the
    evaluation waiting for it ends with one sentence (the run stops; resume evaluates it)."""
    doomed = nodes.cluster.add_node(num_cpus=1, resources={"doomed": 1})
    nodes.cluster.wait_for_nodes()
    root = task_folder(tmp_path / "task")
    config = EvaluationConfig(timeout=30, resources={"doomed": 1})
    pool = RayPool(root, root / "evaluate.py", "program.py", config, address=nodes.address)

    async def go() -> None:
        try:
            await pool.ready()
            # (a node joining within 1 s would take the slot again; none will)
            monkeypatch.setattr(hone.executors.ray, "_START_SECONDS", 1.0)
            monkeypatch.setattr(hone.executors.ray, "_RESTARTS", 1)
            nodes.cluster.remove_node(doomed)
            await pool.verify(sleeper(1))
        finally:
            await pool.close()

    with pytest.raises(ConfigError, match="every Ray actor was lost and none could be started"):
        asyncio.run(go())


@pytest.mark.slow
def test_an_evaluation_whose_node_stops_answering_is_cut_at_its_timeout_and_tried_again(
    nodes: Nodes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(hone.executors.ray, "_MARGIN", 2.0)  # (30 s: a slow node's grace)
    root = task_folder(tmp_path / "task")
    config = EvaluationConfig(timeout=3, workers=1, resources={"right": 1})
    pool = RayPool(root, root / "evaluate.py", "program.py", config, address=nodes.address)

    def actors() -> list[int]:  # the processes of the actors on the right node
        found = []
        for pid in ray_processes(RAY_FOLDER):
            with contextlib.suppress(OSError):
                stat = Path(f"/proc/{pid}/stat").read_text()
                command = Path(f"/proc/{pid}/cmdline").read_bytes()
                if int(
                    stat.rsplit(")", 1)[1].split()[1]
                ) == nodes.right_raylet and command.startswith(b"ray::_Node"):
                    found.append(pid)
        return found

    async def go() -> Verified:
        stopped: list[int] = []
        try:
            await pool.ready()
            assert await until(lambda: len(actors()) == 1), actors()  # (earlier tests' are gone)
            stopped = actors()
            os.kill(stopped[0], signal.SIGSTOP)  # it hangs: no answer, no error
            return await pool.verify(sleeper(2))
        finally:
            for pid in stopped:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGCONT)
            await pool.close()

    verified = asyncio.run(go())
    assert verified.evaluation.score == 2.5  # on the actor started in the hung one's place
    lost, done = verified.attempts
    assert (lost.outcome, lost.reason, lost.node) == ("lost", "no answer in time", nodes.right)
    assert (done.outcome, done.node) == ("ok", nodes.right)  # (only right has "right")


@pytest.mark.slow
def test_a_folder_task_runs_on_the_cluster_over_its_program_folder(
    nodes: Nodes, make_tree_task: Callable[..., Path], tmp_path: Path
) -> None:
    """The program folder (the base a hypothesis's tree is laid over) reaches the nodes with
    the task folder: a patched file and a new one the evaluator imports score there."""
    diff = (
        "A larger factor.\n\n```diff\n--- a/helper.py\n+++ b/helper.py\n@@ -2,3 +2,3 @@\n"
        " def scale(x):\n     y = x\n-    return y * 2.0\n+    return y * 3.0\n```\n"
    )
    plugin = "A bonus.\n\n```python plugins/extra.py\ndef bonus():\n    return 7.0\n```\n"
    task = Task.from_dir(make_tree_task()).configured(
        budget=Budget(max_llm_calls=2, patience=None),
        search={"hypotheses_per_round": 1},
        evaluation={"executor": "ray", "ray_address": nodes.address, "timeout": 60},
    )
    result = hone.run(task, model=ScriptedModel([diff, plugin]), run_dir=tmp_path / "run")
    assert [c.score for c in result.history] == [-8.0, -7.0, 0.0]  # value 2, 3, then 3 + 7
    assert "on Ray, 4 actors on 2 nodes" in result.sandbox
    with opened(result.run_dir) as store:
        tries = store.attempts()
    assert sorted(tries) == [c.id for c in result.history]
    assert {t[-1].node for t in tries.values()} <= {nodes.left, nodes.right}
