"""`--mlflow URI`: each hypothesis's score and the run's usage, exported to an MLflow run.

`MlflowExport` is one of the session's event subscribers. When the run starts it starts
`python -m hone.export`, a process of its own, which follows the run's store (read-only, as
the dashboard does: a look every `INTERVAL` seconds) and sends what is new with `log_batch`.
So the numbers in MLflow are the store's, and neither MLflow's import nor its client's work
(a SQLite store's, a slow or unreachable server) holds hone's interpreter lock (see
docs/mlflow.md). A failure is one warning; the run goes on without the export. When the run
stops, the process sends the rest and ends the MLflow run (hone waits at most `CLOSE_WAIT`
seconds for it).

One MLflow run per hone run, found again by its tag `hone.run_key` when the run is resumed;
what it lacks then (hypotheses stored before a kill, or by an invocation without `--mlflow`)
is sent first. Each hypothesis is one step (its number) of the metrics `score` (when it has
one), `best_score` (the best of hypotheses 1 to n, the dashboard's best line), and the run's
answered model calls up to it: `llm_calls`, `tokens`, `cost_usd`.
"""

from __future__ import annotations

import bisect
import contextlib
import hashlib
import importlib.util
import logging
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any

from hone.events import Event, RunStarted, Stopped
from hone.exceptions import MissingDependencyError
from hone.meta import RunMeta
from hone.objective import Objective, better
from hone.web.data import Cursor, Row, RunReader

log = logging.getLogger("hone")

INTERVAL = 1.0  # seconds between looks at the store; what came meanwhile is one batch
CLOSE_WAIT = 30.0  # seconds the end of a run waits for the last batch
_METRICS_PER_BATCH = 1000  # MLflow's limits on one log_batch
_PARAMS_PER_BATCH = 100


class MlflowExport:
    """Sends each hypothesis's score and the run's usage to the MLflow tracking store at `uri`
    (as MLflow takes it: sqlite:///mlflow.db, http://host:5000, databricks, ...), in the
    experiment `$MLFLOW_EXPERIMENT_NAME` (default: the task's name). Subscribe it to a run's
    events and `close` it when the run ends."""

    def __init__(self, uri: str) -> None:
        if importlib.util.find_spec("mlflow") is None:
            raise MissingDependencyError("mlflow-skinny", "mlflow")
        self.uri = uri
        self._process: subprocess.Popen[str] | None = None
        self._relay: threading.Thread | None = None
        self._stop_reason = ""
        self._run_dir = Path()
        self._warned = False

    def __call__(self, event: Event) -> None:
        """Take one of the run's events (this returns at once)."""
        if isinstance(event, RunStarted) and self._process is None:
            self._run_dir = event.run_dir
            self._start(event)
        elif isinstance(event, Stopped):
            self._stop_reason = event.reason

    def _start(self, event: RunStarted) -> None:
        command = [sys.executable, "-m", "hone.export", self.uri, str(event.run_dir)]
        here = str(Path(__file__).resolve().parent.parent)  # this hone, however it was found
        paths = os.pathsep.join(filter(None, [here, os.environ.get("PYTHONPATH")]))
        try:
            self._process = subprocess.Popen(
                [*command, event.task, event.model],
                env={**os.environ, "PYTHONPATH": paths},
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
                start_new_session=True,  # Ctrl-C is the run's to handle; the export then ends
            )
        except OSError as exc:
            self._warn(f"the MLflow export to {self.uri} did not start ({exc}); the run goes on")
            return
        stdout = self._process.stdout
        assert stdout is not None
        self._relay = threading.Thread(target=self._relay_warnings, args=(stdout,), daemon=True)
        self._relay.start()

    def _relay_warnings(self, stdout: IO[str]) -> None:
        for line in stdout:  # what the process says is a warning
            self._warn(line.rstrip("\n"))

    def close(self) -> None:
        """Tell the export process the run ended; it sends the rest and ends the MLflow run
        (killed if it takes longer than `CLOSE_WAIT` seconds)."""
        process = self._process
        if process is None:
            return
        assert process.stdin is not None
        with contextlib.suppress(OSError):  # (a process that failed is gone already)
            process.stdin.write(self._stop_reason + "\n")
            process.stdin.close()
        try:
            code = process.wait(CLOSE_WAIT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            self._warn(
                f"the MLflow export to {self.uri} did not finish within {CLOSE_WAIT:.0f} s; "
                f"hone resume {self._run_dir} --mlflow {self.uri} sends the rest"
            )
            code = 0
        if self._relay is not None:
            self._relay.join()
        if code != 0:  # (a warning it printed came first)
            self._warn(f"the MLflow export to {self.uri} ended with exit code {code}")

    def _warn(self, text: str) -> None:
        if not self._warned:  # one line, whatever else goes wrong after it
            self._warned = True
            log.warning("%s", text)


def main(argv: Sequence[str]) -> int:
    """`python -m hone.export URI RUN_DIR TASK MODEL`: follow the run until a line (its stop
    reason) or the end of stdin, then send the rest and end the MLflow run."""
    uri, run_dir, task, model = argv
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    said: list[str] = []
    ended = threading.Event()

    def wait_for_the_end() -> None:
        said.append(sys.stdin.readline().strip())
        ended.set()

    threading.Thread(target=wait_for_the_end, daemon=True).start()
    try:
        _export(uri, Path(run_dir), task, model, ended, said)
    except Exception as exc:
        print(f"the MLflow export to {uri} stopped ({_reason(exc)}); the run goes on", flush=True)
        return 1
    return 0


def _export(
    uri: str, run_dir: Path, task: str, model: str, ended: threading.Event, said: list[str]
) -> None:
    import mlflow  # (its own messages go nowhere: stderr is /dev/null, a failure is one line)
    from mlflow.entities import Metric

    reader = RunReader.open(run_dir)
    try:
        meta = reader.meta()
        ledger = Ledger(meta.objective)
        client = mlflow.MlflowClient(tracking_uri=uri)
        run_id, sent = _find_or_make(client, run_dir, task, model, meta)
        while True:
            final = ended.wait(INTERVAL)
            if not final and not reader.changed(ledger.cursor):
                continue
            ledger.add(reader.delta(ledger.cursor))
            metrics = [
                Metric(key, value, timestamp, step)
                for step, timestamp, values in ledger.settled(final)
                if step not in sent
                for key, value in values.items()
            ]
            for i in range(0, len(metrics), _METRICS_PER_BATCH):
                client.log_batch(run_id, metrics=metrics[i : i + _METRICS_PER_BATCH])
            if final:
                break
        reason = said[0] if said else ""
        if reason:
            client.set_tag(run_id, "hone.stop_reason", reason)
        client.set_terminated(run_id, "FINISHED" if reason else "KILLED")
    finally:
        reader.close()


def _find_or_make(
    client: Any, run_dir: Path, task: str, model: str, meta: RunMeta
) -> tuple[str, set[int]]:
    """This hone run's MLflow run (made, with its params, the first time) and the
    hypotheses it holds."""
    from mlflow.entities import Param

    name = os.environ.get("MLFLOW_EXPERIMENT_NAME") or task
    experiment = client.get_experiment_by_name(name)
    experiment_id = experiment.experiment_id if experiment else client.create_experiment(name)
    key = run_key(run_dir, meta.created)
    found = client.search_runs([experiment_id], f"tags.`hone.run_key` = '{key}'")
    if found:
        run_id: str = found[0].info.run_id
        client.update_run(run_id, status="RUNNING")
        return run_id, {m.step for m in client.get_metric_history(run_id, "llm_calls")}
    tags = {"hone.run_key": key, "hone.run_dir": str(run_dir.resolve())}
    run = client.create_run(experiment_id, tags=tags, run_name=run_dir.name)
    values = [Param(k, v) for k, v in params(meta, model).items()]
    for i in range(0, len(values), _PARAMS_PER_BATCH):
        client.log_batch(run.info.run_id, params=values[i : i + _PARAMS_PER_BATCH])
    return run.info.run_id, set()


class Ledger:
    """Each hypothesis's metrics, worked out from the store's rows as `RunReader.delta`
    brings them: settled in order, once every hypothesis before it is verified."""

    def __init__(self, objective: Objective) -> None:
        self.objective = objective
        self.cursor = Cursor()
        self.next = 1  # the first hypothesis not settled
        self.best: float | None = None
        self._rows: dict[int, Row] = {}
        self._call_ids: list[int] = []  # answered calls, in order
        self._totals: list[tuple[int, int, float]] = []  # (calls, tokens, cost) up to each
        self._last = (0, 0, 0.0)  # the usage at the hypothesis settled last

    def add(self, delta: Row) -> None:
        """Take what `RunReader.delta` read."""
        for call in delta["calls"]:
            if call["error"] is None:
                calls, tokens, cost = self._totals[-1] if self._totals else (0, 0, 0.0)
                tokens += call["prompt_tokens"] + call["completion_tokens"]
                self._call_ids.append(call["id"])
                self._totals.append((calls + 1, tokens, cost + (call["cost"] or 0.0)))
        for row in delta["hypotheses"]:
            if row["id"] >= self.next:
                self._rows[row["id"]] = row

    def settled(self, final: bool = False) -> Iterator[tuple[int, int, dict[str, float]]]:
        """(hypothesis, timestamp in ms, metrics) of each hypothesis newly settled, in order;
        `final`: also those after a pending one (which is left out)."""
        while self.next in self._rows:
            row = self._rows[self.next]
            if row["status"] == "pending" and not final:
                return
            del self._rows[self.next]
            self.next += 1
            if row["status"] == "pending":
                continue
            if row["call"] is not None:
                at = bisect.bisect_right(self._call_ids, row["call"])
                self._last = self._totals[at - 1] if at else (0, 0, 0.0)
            values: dict[str, float] = {}
            if row["score"] is not None:
                values["score"] = row["score"]
                if better(self.objective, row["score"], self.best):
                    self.best = row["score"]
            if self.best is not None:
                values["best_score"] = self.best
            calls, tokens, cost = self._last
            values.update(llm_calls=calls, tokens=tokens, cost_usd=cost)
            yield row["id"], int(row["created"] * 1000), values


def params(meta: RunMeta, model: str) -> dict[str, str]:
    """The MLflow params of a run: task, model, seed, objective, budget, search and model
    settings (as the run began: MLflow keeps a param's first value)."""
    values: dict[str, Any] = {
        "task": meta.task_name,
        "model": model,
        "seed": meta.seed,
        "objective": meta.objective,
    }
    tables = {"budget": meta.budget, "search": meta.search, "model": meta.model}
    for table, settings in tables.items():
        values.update((f"{table}.{k}", v) for k, v in settings.items() if k != "spec")
    return {k: str(v) for k, v in values.items()}


def run_key(run_dir: Path, created: float) -> str:
    """The tag value that names one hone run in MLflow: its folder and when it was made."""
    text = f"{run_dir.resolve()}\n{created!r}"
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


def _reason(exc: BaseException) -> str:
    """An exception as one short line."""
    lines = str(exc).strip().splitlines()
    text = f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__
    return text if len(text) <= 400 else text[:398] + " …"


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
