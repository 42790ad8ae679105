"""The command line: `hone run | resume | show | export | replay | note | dashboard | report |
examples | serve | docs`."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
import threading
import time
import typing
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hone.budget import Usage
from hone.credit import Credit, of_bests
from hone.events import (
    Event,
    Finding,
    HypothesisEvaluated,
    NewBest,
    RoundStarted,
    RunStarted,
    Stopped,
)
from hone.exceptions import ConfigError, ModelError, UserError
from hone.inbound import printable
from hone.models import spec_usage
from hone.settings import ExecutorName, Selection, StrategyName

if TYPE_CHECKING:
    from hone.formats import Read
    from hone.population import Candidate


def entrypoint() -> None:
    """Console-script entry point."""
    sys.exit(main())


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    _log_to_stderr()
    try:
        with _signals_stop_like_ctrl_c():
            result: int = args.handler(args)
        return result
    except UserError as exc:
        print(f"hone: error: {printable(str(exc))}", file=sys.stderr)
        return 2
    except ModelError as exc:  # (a server's message may hold anything: printed as text)
        again = f"; the run is saved: continue it with hone resume {args._run_dir}"
        print(
            f"hone: model error: {printable(str(exc))}"
            + (again if getattr(args, "_run_dir", None) else ""),
            file=sys.stderr,
        )
        return 1


def _log_to_stderr() -> None:
    """hone's warnings as one line each, `hone: warning: ...`, and what is worth knowing once
    (`hone: assembled ...`, the first run with a packaged model) as `hone: ...`."""
    log = logging.getLogger("hone")
    if not log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(_OneLine())
        log.addHandler(handler)
        log.setLevel(logging.WARNING)
        logging.getLogger("hone.models.packaged").setLevel(logging.INFO)


class _OneLine(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        level = "" if record.levelno <= logging.INFO else f"{record.levelname.lower()}: "
        return printable(f"hone: {level}{record.getMessage()}")


@contextlib.contextmanager
def _signals_stop_like_ctrl_c() -> Iterator[None]:
    """SIGTERM and SIGHUP stop a run as Ctrl-C does: status recorded, one line, resumable.
    SIGINT gets Python's own handler even when hone started with it ignored (a background job
    of a script, a parent that ignores it): otherwise `kill -INT` and `kill -TERM` were ignored
    and the run went on to its end."""
    import os
    import signal

    def interrupt(signum: int, frame: object) -> None:
        os.kill(os.getpid(), signal.SIGINT)  # what asyncio turns into a clean cancellation

    if threading.current_thread() is not threading.main_thread():
        yield  # (main() called from a thread: signals are the main thread's to handle)
        return
    previous = {s: signal.signal(s, interrupt) for s in (signal.SIGTERM, signal.SIGHUP)}
    previous[signal.SIGINT] = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def _parser() -> argparse.ArgumentParser:
    from hone import __version__

    parser = argparse.ArgumentParser(
        prog="hone",
        description="Self-improving language-model loops against a verifier. Start with: "
        "hone examples; hone run circle_packing; hone docs.",
    )
    parser.add_argument("--version", action="version", version=f"hone {__version__}")
    sub = parser.add_subparsers(dest="command")
    run = sub.add_parser(
        "run",
        help="start a run on a task folder (hone's, OpenEvolve's or ShinkaEvolve's)",
        description="Start a run on a task folder: hone's (task.toml), OpenEvolve's "
        "(initial_program.*, evaluator.py, config.yaml) or ShinkaEvolve's (initial.<ext>, "
        "evaluate.py); or OpenEvolve's form, hone run initial_program.py evaluator.py "
        "--config config.yaml.",
    )
    run.add_argument(
        "task",
        help="task folder, or the name of a packaged example (hone examples lists them), or, "
        "with a second argument, OpenEvolve's starting program",
    )
    run.add_argument(
        "evaluator", nargs="?", help="OpenEvolve's form: the evaluator file after the program"
    )
    run.add_argument(
        "--config",
        help="an OpenEvolve config.yaml or a ShinkaEvolve YAML config (relative to the current "
        "directory or the task folder)",
    )
    run.add_argument(
        "--instruction", help="what the model is told to improve (replaces the folder's)"
    )
    run.add_argument("--model", help=f"the model: {spec_usage()} (default: embedded)")
    run.add_argument(
        "--base-url",
        action="append",
        metavar="URL",
        help="server URL for openai:/anthropic: models; give it again for each server of the "
        "same model, one pool (hone docs models: Several servers)",
    )
    run.add_argument(
        "--model-timeout",
        type=float,
        help="seconds a model call may take (default: 300; the embedded model: 1200)",
    )
    _in_flight_arg(run)
    run.add_argument("--run-dir", help="where to store the run (default: runs/<task>-<time>)")
    run.add_argument(
        "--seed",
        type=int,
        help="seed for every random choice (default: an OpenEvolve config's random_seed, else 0)",
    )
    run.add_argument("--hypotheses", type=int, help="hypotheses per round")
    run.add_argument(
        "--strategy",
        choices=typing.get_args(StrategyName),
        help="how parents are chosen (default: the task's, else top-k)",
    )
    run.add_argument("--workers", type=int, help="parallel evaluation processes (default: CPUs)")
    run.add_argument("--timeout", type=float, help="seconds per evaluation before it is killed")
    run.add_argument(
        "--read-only",
        action="append",
        metavar="PATH",
        help="a file or folder the evaluator and the candidates may read in the sandbox, at its "
        "path, read-only (repeatable; adds to the task's [evaluation] read_only; see "
        "hone docs security)",
    )
    run.add_argument(
        "--executor",
        choices=typing.get_args(ExecutorName),
        help="where evaluations run: worker processes here (default) or actors on Ray",
    )
    run.add_argument(
        "--ray-address",
        help="with --executor ray: 'auto' or ray://HOST:10001 joins a cluster (default: start "
        "Ray on this machine)",
    )
    run.add_argument(
        "--resources",
        metavar="NAME=AMOUNT,...",
        help="with --executor ray: what each evaluation asks of a node, e.g. "
        "CPU=1,GPU=0.25,memory=2GiB,mylabel=1 (replaces the task's [evaluation] resources)",
    )
    run.add_argument(
        "--deterministic",
        action="store_true",
        default=None,
        help="rounds with a barrier, so that `hone replay` can reproduce the run exactly",
    )
    run.add_argument(
        "--prices", help="TOML file of model prices, USD per million tokens (hone docs models)"
    )
    run.add_argument(
        "--tune",
        action=argparse.BooleanOptionalAction,
        help="tune the constants of the most promising programs (default: the task's [search] tune)",
    )
    run.add_argument(
        "--select",
        choices=typing.get_args(Selection),
        help="the run's answer: the best search score (default) or, of the programs validated "
        "on held-out data, the best held-out score (hone docs tasks)",
    )
    _mlflow_arg(run)
    _budget_args(run)
    run.set_defaults(handler=_run)
    resume = sub.add_parser("resume", help="continue a stopped or killed run")
    resume.add_argument("run_dir", help="the run's folder")
    resume.add_argument("--model", help="another model than the run's (the same spec forms)")
    resume.add_argument(
        "--base-url",
        action="append",
        metavar="URL",
        help="another server URL (the run's server moved); again for each of several",
    )
    resume.add_argument("--model-timeout", type=float, help="seconds a model call may take")
    resume.add_argument(
        "--accept-changed-task",
        action="store_true",
        help="go on although the task's files changed since the run started (recorded; "
        "hone show says after which hypothesis the scores stop being comparable)",
    )
    _in_flight_arg(resume)
    _mlflow_arg(resume)
    _budget_args(resume, resume=True)
    resume.set_defaults(handler=_resume)
    show = sub.add_parser("show", help="show a run: best program, score, history")
    show.add_argument("run_dir", help="the run's folder")
    shown = show.add_mutually_exclusive_group()
    shown.add_argument(
        "--hypothesis", type=int, metavar="N", help="one hypothesis: code, diff, prompt, answer"
    )
    shown.add_argument("--failures", action="store_true", help="every failed hypothesis, why")
    show.set_defaults(handler=_show)
    export = sub.add_parser(
        "export",
        help="write the best hypothesis's lineage as commits on a new branch of a git repository",
        description="Write the best hypothesis's lineage (its first parents, from the starting "
        "program) as commits on a new branch of the git repository at DIR, one per hypothesis, "
        "each message holding its score, metrics and the model's reasoning. The work tree, the "
        "index and the checked-out branch are left as they are; review the branch like a pull "
        "request (git log -p BRANCH).",
    )
    export.add_argument("run_dir", help="the run's folder")
    export.add_argument(
        "--git",
        required=True,
        metavar="DIR",
        help="the git repository (or a folder in it) where the program's files go",
    )
    export.add_argument(
        "--git-path",
        default="",
        metavar="SUB",
        help="a folder under DIR where the files go instead (default: DIR itself)",
    )
    export.add_argument(
        "--branch", metavar="NAME", help="the new branch's name (default: hone/<run folder>)"
    )
    export.set_defaults(handler=_export)
    note = sub.add_parser("note", help="add a note that the run's following prompts carry")
    note.add_argument("run_dir", help="the run's folder (running, or to be resumed)")
    note.add_argument("text", help='what the model should know or try, e.g. "try a lattice"')
    note.set_defaults(handler=_note)
    dashboard = sub.add_parser("dashboard", help="a live web view of runs, on 127.0.0.1")
    dashboard.add_argument(
        "runs",
        nargs="*",
        help="run folders, or folders of runs such as runs/ (default: every run in ./runs)",
    )
    dashboard.add_argument("--port", type=int, default=8765, help="port (default 8765; 0: any)")
    dashboard.set_defaults(handler=_dashboard)
    report = sub.add_parser(
        "report", help="write a run, or several side by side, as one self-contained HTML file"
    )
    report.add_argument(
        "runs", nargs="+", metavar="run_dir", help="run folders, or folders of runs (runs/)"
    )
    report.add_argument(
        "-o",
        "--output",
        help="the HTML file (default: <run_dir>/report.html for one run, ./report.html for "
        "several)",
    )
    report.set_defaults(handler=_report)
    replay = sub.add_parser(
        "replay",
        help="run a --deterministic run again from its recorded model answers and compare",
    )
    replay.add_argument("run_dir", help="the recorded run's folder")
    replay.add_argument("--run-dir", dest="replay_dir", help="where (default: <run_dir>-replay)")
    replay.set_defaults(handler=_replay)
    examples = sub.add_parser(
        "examples",
        help="list the example tasks that come with hone, or copy one to change it",
        description="The example tasks that ship with hone: hone run NAME runs one (when no "
        "folder of that name is here); hone examples copy NAME [DIR] makes an editable copy.",
    )
    action = examples.add_subparsers(dest="action")
    copy = action.add_parser("copy", help="copy an example into a folder of its own to edit")
    copy.add_argument("name", help="the example (hone examples lists them)")
    copy.add_argument("dir", nargs="?", help="the new folder (default: ./NAME)")
    examples.set_defaults(handler=_examples)
    serve = sub.add_parser(
        "serve",
        help="serve the embedded model over an OpenAI-compatible API on 127.0.0.1",
        description="Serve a packaged model (or a GGUF file) with llama.cpp's server on "
        "127.0.0.1, for hone run TASK --model openai:local --base-url http://127.0.0.1:PORT/v1 "
        "(hone sends it no more requests at once than it has slots). Ctrl-C stops it.",
    )
    serve.add_argument(
        "--model", help="a packaged model's name (qwen-coder-0.5b, ...) or a GGUF file "
        "(default: the embedded default)",
    )  # fmt: skip
    serve.add_argument("--port", type=int, default=8080, help="port (default 8080)")
    serve.add_argument(
        "--slots", type=int, default=2, help="requests generated at once (default 2)"
    )
    serve.add_argument(
        "--ctx", type=int, default=8192, help="tokens of context over all slots (default 8192)"
    )
    serve.set_defaults(handler=_serve)
    docs = sub.add_parser("docs", help="the documentation that comes with hone, in the terminal")
    docs.add_argument("name", nargs="?", help="a document (models, tasks, ...); none: the list")
    docs.set_defaults(handler=_docs)
    return parser


def _in_flight_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--max-in-flight",
        type=int,
        metavar="N",
        help="model requests sent at once, at most (default: as many as the server says it "
        "serves, e.g. hone serve's slots; else no limit)",
    )


def _mlflow_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--mlflow",
        metavar="URI",
        help="export each hypothesis's score and the run's usage to MLflow at URI, e.g. "
        "sqlite:///mlflow.db or http://host:5000 (needs hone[mlflow]; hone docs mlflow)",
    )


def _budget_args(p: argparse.ArgumentParser, *, resume: bool = False) -> None:
    g = p.add_argument_group(
        "stop rules (override the run's; calls, rounds, tokens and cost count the whole run)"
        if resume
        else "stop rules (override task.toml)"
    )
    g.add_argument(
        "--max-llm-calls",
        type=int,
        help="model calls in all, failed ones and fix calls included"
        + ("; the run's earlier calls count too (40 after 20 makes 20 more)" if resume else "")
        + "; 0: evaluate the start only",
    )
    g.add_argument("--max-rounds", type=int, help="rounds in all")
    g.add_argument("--max-tokens", type=int, help="prompt + completion tokens in all")
    g.add_argument("--max-seconds", type=float, help="wall-clock seconds for this invocation")
    g.add_argument("--max-cost", type=float, help="USD of model calls in all (hone docs models)")
    g.add_argument(
        "--patience",
        type=_patience,
        help="stop after this many rounds without improvement (0 or off: no limit)",
    )
    g.add_argument("--target", type=float, help="stop once the best score reaches this")
    g.add_argument(
        "--max-evaluations", type=int, help="parameter-tuning trials in all ([search] tune)"
    )


def _patience(text: str) -> int:
    """--patience N, or off (0: no limit)."""
    if text.strip().lower() == "off":
        return 0
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a whole number or 'off', got {text!r}"
        ) from None


def _budget(args: argparse.Namespace) -> dict[str, Any]:
    keys: tuple[str, ...] = ("max_llm_calls", "max_rounds", "max_tokens", "max_seconds")
    keys += ("max_cost", "patience", "target", "max_evaluations")
    return {k: getattr(args, k) for k in keys if getattr(args, k) is not None}


def _read(args: argparse.Namespace) -> Read:
    """The task the arguments name, as its format read it (`hone.formats.Read`)."""
    from hone.exceptions import TaskError
    from hone.formats import Options, read_task

    first = Path(args.task)
    if not args.evaluator and not first.exists():
        from hone import examples

        packaged = examples.lookup(args.task)
        if packaged is not None:
            print(
                f"hone: no folder {args.task!r} here: running the example that comes with hone "
                f"({packaged}); hone examples copy {packaged.relative_to(examples.ROOT)} makes "
                "a copy to edit",
                file=sys.stderr,
            )
            first = packaged
    folder = first.parent if args.evaluator else first
    config = None
    if args.config:
        config = Path(args.config)
        if not config.exists() and (folder / config).exists():
            config = folder / config  # ShinkaEvolve names configs relative to the task folder
    if args.evaluator:
        options = Options(config, args.instruction, first, Path(args.evaluator))
    elif first.is_file():
        raise TaskError(
            f"{str(first)!r} is a file; pass a task folder, or OpenEvolve's two files: "
            "hone run initial_program.py evaluator.py --config config.yaml"
        )
    else:
        options = Options(config, args.instruction)
    return read_task(folder, options)


def _read_only(task: Any, paths: list[str] | None) -> tuple[str, ...] | None:
    """The task's read-only paths and those of --read-only, relative to the current folder
    (None: no --read-only, the task's stand)."""
    from hone.sandbox.visible import resolve

    if not paths:
        return None
    return (*task.evaluation.read_only, *(resolve(p, Path.cwd()) for p in paths))


def _resources(text: str | None) -> dict[str, float | str] | None:
    """--resources CPU=1,GPU=0.25,memory=2GiB as a table (amounts are checked by the settings)."""
    if text is None:
        return None
    table: dict[str, float | str] = {}
    for pair in filter(None, (p.strip() for p in text.split(","))):
        name, sep, amount = (part.strip() for part in pair.partition("="))
        if not sep or not name or not amount:
            raise ConfigError(
                f"--resources takes NAME=AMOUNT pairs separated by commas, e.g. "
                f"CPU=1,GPU=0.25,memory=2GiB; got {pair!r}"
            )
        try:
            table[name] = float(amount)
        except ValueError:
            table[name] = amount  # (memory's "2GiB"; any other key refuses it by name)
    return table


def _run(args: argparse.Namespace) -> int:
    from hone.api import run_async

    read = _read(args)
    for warning in read.warnings:
        print(f"hone: warning: {warning}", file=sys.stderr)
    task = read.task.configured(
        budget=_budget(args),
        search={
            "hypotheses_per_round": args.hypotheses,
            "strategy": args.strategy,
            "deterministic": args.deterministic,
            "tune": args.tune,
        },
        evaluation={
            "workers": args.workers,
            "timeout": args.timeout,
            "executor": args.executor,
            "ray_address": args.ray_address,
            "resources": _resources(args.resources),
            "read_only": _read_only(read.task, args.read_only),
            "select": args.select,
        },
        model={
            "timeout": args.model_timeout,
            "prices": str(Path(args.prices).resolve()) if args.prices else None,
            "max_in_flight": args.max_in_flight,
        },
    )
    view = _View()
    if read.note:
        view.console.print(read.note, markup=False)

    def on_event(event: Event) -> None:
        if isinstance(event, RunStarted):  # (the folder is made once the run can start)
            args._run_dir = event.run_dir
        view.on_event(event)

    return int(
        view.drive(
            run_async(
                task,
                model=args.model,
                base_url=args.base_url,
                run_dir=Path(args.run_dir) if args.run_dir else None,
                seed=args.seed,
                on_event=on_event,
                mlflow=args.mlflow,
            ),
            None,
        )
    )


def _resume(args: argparse.Namespace) -> int:
    from hone.api import resume_async

    args._run_dir = Path(args.run_dir)
    view = _View()
    return int(
        view.drive(
            resume_async(
                args.run_dir,
                budget=_budget(args),
                model=args.model,
                base_url=args.base_url,
                settings={
                    "model": {"timeout": args.model_timeout, "max_in_flight": args.max_in_flight}
                },
                on_event=view.on_event,
                mlflow=args.mlflow,
                accept_changed_task=args.accept_changed_task,
            ),
            args._run_dir,
        )
    )


def _replay(args: argparse.Namespace) -> int:
    from hone.replay import replay_async, replay_dir_for

    recorded = Path(args.run_dir).resolve()
    args._run_dir = Path(args.replay_dir) if args.replay_dir else replay_dir_for(recorded)
    view = _View()
    outcome = view.drive(
        replay_async(recorded, replay_dir=args._run_dir, on_event=view.on_event),
        args._run_dir,
        again=f"hone replay {recorded} (into a new folder)",
    )
    if isinstance(outcome, int):
        return outcome
    count = len(outcome.result.history)
    if outcome.identical:
        view.console.print(
            f"[bold]the replay is identical[/] to {recorded}: {count} hypotheses, the same "
            "programs, parents and scores"
        )
        return 0
    view.console.print(f"[bold]the replay differs[/] from {recorded}:", markup=True)
    for line in outcome.differences:
        view.console.print(f"  {line}", markup=False)
    return 1


class _View:
    """Renders loop events: a live status line on a terminal, plain lines otherwise."""

    def __init__(self) -> None:
        from rich.console import Console

        self.console = Console(highlight=False, soft_wrap=True)
        self.live: Any = None
        self.started = time.monotonic()
        self.round = 0
        self.calls = 0
        self.tokens = 0
        self.cost = 0.0
        self.best: float | None = None
        self.credit: Credit | None = None  # the gain by whom it was made (`hone.credit`)
        self.bests: list[Candidate] = []  # the new bests so far, in order
        self.statuses: Counter[str] = Counter()
        self.first: Any = None
        self.run_dir: Path | None = None
        self.resumed = False
        self.new_calls: int | None = None  # the run's calls when this invocation began
        self.calls_text = ""  # at the end: the calls by what they were for

    def drive(self, work: Any, run_dir: Path | None, again: str = "") -> Any:
        """Run `work` with this view; its result, or the exit code when interrupted or when a
        run's result has no best program. `again` is the command that takes up an interrupted
        run (default: hone resume; `run_dir` None: the folder the run said it started in)."""
        try:
            result = asyncio.run(work)
        except KeyboardInterrupt:
            self._stop_live()
            run_dir = run_dir or self.run_dir
            if run_dir is None:  # stopped before the run had a folder
                self.console.print("\ninterrupted while the run was starting")
                return 130
            self.console.print(
                "\ninterrupted; everything evaluated is saved. Continue with: "
                + (again or f"hone resume {run_dir}")
            )
            return 130
        finally:
            self._stop_live()
        if hasattr(result, "best"):
            return 0 if result.best is not None else 1
        return result

    def on_event(self, event: Event) -> None:
        if isinstance(event, RunStarted):
            self.run_dir, self.resumed = event.run_dir, event.resumed
            if event.resumed:
                from hone.store import opened

                with opened(event.run_dir) as store:
                    self.new_calls = store.usage().requests
            verb = "resuming" if event.resumed else "run"
            self.console.print(
                f"hone {verb} [bold]{event.task}[/] with {event.model} in {event.run_dir}"
            )
            if self.console.is_terminal:
                from rich.live import Live

                self.live = Live(
                    self._status(), console=self.console, refresh_per_second=4, transient=True
                )
                self.live.start()
        elif isinstance(event, RoundStarted):
            self.round = event.round
        elif isinstance(event, HypothesisEvaluated):
            self.calls, self.tokens = event.usage.requests, event.usage.tokens
            self.cost = event.usage.cost
            self.statuses[event.candidate.evaluation.status] += 1
            self.first = self.first or event.candidate
        elif isinstance(event, NewBest):
            c = event.candidate
            self.best = c.score
            self.bests.append(c)
            self.credit = of_bests(self.bests)
            held = f" · held-out {c.holdout:.6g}" if c.holdout is not None else ""
            self.console.print(f"  new best {c.score:.6g}{held}  (#{c.id}, round {c.round})")
        elif isinstance(event, Finding):
            c = event.candidate
            what = "" if event.check == "overfitting" else f"#{c.id} not verified ({event.check}): "
            self.console.print(f"  {what}{printable(event.text)}", markup=False)
        elif isinstance(event, Stopped):
            self._stop_live()
            self._summary(event)
        if self.live is not None:
            self.live.update(self._status())

    def _status(self) -> str:
        if self.credit is not None and self.credit.best == self.best:
            best = self.credit.text  # best 2.2442: model 0.0231, tuning 0.0135
        else:
            best = f"best {self.best:.6g}" if self.best is not None else "best -"
        elapsed = time.monotonic() - self.started
        calls = self.calls_text or f"calls {self.calls}"
        return (
            f"round {self.round} · {calls} · {best} · tokens {self.tokens} · "
            + (f"cost ${self.cost:.4f} · " if self.cost else "")
            + f"{elapsed:.0f} s · "
            + ", ".join(f"{k} {v}" for k, v in sorted(self.statuses.items()))
        )

    def _stop_live(self) -> None:
        if self.live is not None:
            self.live.stop()
            self.live = None

    def _summary(self, event: Stopped) -> None:
        """The run's figures when it stops, for the whole run (a resumed one's earlier rounds
        and calls included), with what its calls were for."""
        if event.best is not None and event.best.score is not None:
            self.best = event.best.score
        usage = event.usage
        self.tokens, self.cost = usage.tokens, usage.cost
        kinds: dict[str, int] = {}
        searched = None  # the best in search (of a run whose every best failed a check too)
        if self.run_dir is not None:
            from hone.store import opened

            with opened(self.run_dir) as store:
                self.round = max(self.round, store.last_round())
                kinds = store.call_kinds()
                meta = store.meta()
                objective = meta.objective
                # (as hone show credits it: in SQL, resumed ones too, none that failed a check)
                self.credit = of_bests(store.bests(objective))
                searched = store.best(objective, meta.evaluation.get("select", "search"))
        self.calls_text = _calls_text(usage, kinds)
        from hone.web.data import STOP_TEXT

        reason = STOP_TEXT.get(event.reason, event.reason)
        self.console.print(f"stopped: {reason} · {self._status()}", markup=False)
        if event.reason == "max_llm_calls" and self.resumed and self.new_calls == usage.requests:
            self.console.print(
                f"(max_llm_calls counts the whole run, its {usage.requests} calls so far "
                f"included: hone resume {self.run_dir} --max-llm-calls {usage.requests + 10} "
                "makes 10 more)",
                markup=False,
            )
        best = event.best
        if best is None and self.run_dir is not None and searched is not None:
            self.console.print(f"{NO_ANSWER} (hone show {self.run_dir} says what they found)")
            return
        if best is None:
            self.console.print("no program scored")
            if self.first is not None:
                _print_evaluation(self.console, self.first)
            return
        self.console.print(f"[bold]{_best_line(best)}[/] (#{best.id}, round {best.round})")
        _print_evaluation(self.console, best)


NO_ANSWER = "no answer: every scored program failed a check of new bests"


def _best_line(best: Any) -> str:
    """'best score 3.1', or with its held-out score 'best: search 3.1, held-out 3.35'."""
    if best.holdout is None:
        return f"best score {best.score:.6g}"
    return f"best: search {best.score:.6g}, held-out {best.holdout:.6g}"


def _calls_text(usage: Usage, kinds: dict[str, int]) -> str:
    """'8 calls (4 hypotheses, 4 fix calls)': the model calls and what they were for."""
    names = {
        "hypothesis": ("hypothesis", "hypotheses"),
        "fix": ("fix call", "fix calls"),
        "reflection": ("reflection", "reflections"),
        "insights": ("insights call", "insights calls"),
    }
    order = [*names, *sorted(k for k in kinds if k not in names)]
    parts = [
        f"{kinds[k]} {names.get(k, (k or 'other',) * 2)[kinds[k] != 1]}"
        for k in order
        if kinds.get(k)
    ]
    failed = f"; {usage.failed} failed" if usage.failed else ""
    total = usage.requests
    detail = f" ({', '.join(parts)}{failed})" if len(parts) > 1 or failed else ""
    return f"{total} call{'s' * (total != 1)}{detail}"


def _print_evaluation(console: Any, candidate: Any) -> None:
    """A hypothesis's metrics, feedback and reason: the evaluator's text, printed as text
    (its escape sequences shown, not obeyed)."""
    ev = candidate.evaluation
    if ev.metrics:
        metrics = ", ".join(f"{k}={v:.6g}" for k, v in sorted(ev.metrics.items()))
        console.print("metrics: " + printable(metrics), markup=False)
    if ev.feedback:
        console.print("feedback: " + printable(ev.feedback), markup=False)
    if not ev.ok:
        console.print(f"failed ({ev.status}): {printable(ev.reason)}", markup=False)


SHOWN_ROUNDS = 40  # the last rounds `hone show` lists (a long run has many thousands)


def _show(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.markup import escape
    from rich.syntax import Syntax
    from rich.table import Table

    from hone.objective import Objective
    from hone.store import opened
    from hone.task import language_of
    from hone.web.data import status_text

    console = Console(highlight=False, soft_wrap=True, emoji=False)  # (openai:m: is no emoji)
    if args.hypothesis is not None or args.failures:
        from hone import views

        if args.failures:
            return views.failures(console, Path(args.run_dir))
        return views.hypothesis(console, Path(args.run_dir), args.hypothesis)
    with opened(Path(args.run_dir)) as store:  # (worked out in SQL: a long run's are not read)
        meta = store.meta()
        objective: Objective = meta.objective
        counts = store.counts()
        top = store.best(objective, meta.evaluation.get("select", "search"))
        start = store.first() if top is None else None
        rounds, all_rounds = store.rounds(objective, SHOWN_ROUNDS)
        usage = store.usage()
        failed_calls = store.failed_calls()
        running = store.in_use()
        nodes, retried = store.spread()
        new_bests = store.bests(objective)
    pending = counts.get("pending", 0)
    evaluated = sum(counts.values()) - pending
    status = status_text(meta, running=running)
    name, spec = (escape(printable(str(v))) for v in (meta.task_name, meta.model.get("spec")))
    console.print(
        f"run of [bold]{name}[/] ({escape(printable(status))}) · model {spec} · seed {meta.seed}"
    )
    if meta.resumable(running):
        console.print(f"continue it with: hone resume {args.run_dir}", markup=False)
    if meta.sandbox:
        console.print(f"sandbox: {meta.sandbox}", markup=False)
    from hone.fingerprint import accepted

    for line in accepted(meta):
        console.print(line, markup=False)
    if meta.replay_of:
        console.print(f"a replay of {meta.replay_of}")
    elif meta.search.get("deterministic"):
        exact = meta.replay_exact
        console.print(
            "deterministic: "
            + (
                f"hone replay {args.run_dir} reproduces it"
                if exact
                else "interrupted, resumed or stopped by time, so not replayable"
            )
        )
    failed = f" ({failed_calls} more failed)" if failed_calls else ""
    console.print(
        f"{evaluated} hypotheses evaluated, {pending} pending · {usage.calls} model "
        f"calls{failed} · {usage.tokens} tokens"
    )
    if nodes:
        console.print(
            f"on Ray: evaluated on {nodes} nodes; {retried} evaluations lost with their node "
            "and tried again on another"
        )
    from hone import views

    views.costs(console, Path(args.run_dir))
    views.endpoints(console, Path(args.run_dir))
    if top is None:
        console.print("no program scored")
        if start is not None:
            _print_evaluation(console, start)
        return 1
    if top.verified is False:  # (store.best: the best in search, when none passed)
        console.print(f"{NO_ANSWER}; the best in search:", markup=False)
    console.print(f"[bold]{_best_line(top)}[/] (#{top.id}, round {top.round})")
    console.print(of_bests(new_bests).gain, markup=False)
    _print_evaluation(console, top)
    views.findings(console, Path(args.run_dir))
    if console.is_terminal:
        language = language_of(meta.program_filename) or "text"
        code = printable(top.tree.text if top.tree is not None else "")
        console.print(Syntax(code, language, line_numbers=False, word_wrap=True))
    else:  # piped or redirected: the program, never cropped to a width
        text = top.tree.text if top.tree is not None else ""
        console.out(printable(text), highlight=False, end="")
    table = Table("round", "hypotheses", "ok", "failed", "round best", "best so far")
    for round_, count, scored, round_best, best_so_far in rounds:
        table.add_row(
            str(round_),
            str(count),
            str(scored),
            str(count - scored),
            f"{round_best:.6g}" if round_best is not None else "-",
            f"{best_so_far:.6g}" if best_so_far is not None else "-",
        )
    console.print(table)
    if all_rounds > len(rounds):
        console.print(
            f"(the last {len(rounds)} of {all_rounds} rounds; every one: hone report "
            f"{args.run_dir})"
        )
    failures = {k: v for k, v in counts.items() if k not in ("ok", "pending")}
    if failures:
        console.print("failures: " + ", ".join(f"{k} {v}" for k, v in sorted(failures.items())))
    return 0


def _export(args: argparse.Namespace) -> int:
    from hone.gitexport import export

    done = export(Path(args.run_dir), Path(args.git), sub=args.git_path, branch=args.branch)
    first, last = done.commits[0][0], done.commits[-1][0]
    where = f"{done.where}/" if done.where else "its root"
    print(
        f"{len(done.commits)} commit(s), hypotheses #{first} to #{last}, on the new branch "
        f"{done.branch} of {args.git} (files at {where}); review it with: git -C {args.git} "
        f"log -p {done.branch}"
    )
    return 0


def _note(args: argparse.Namespace) -> int:
    from hone.reflection import add_note

    number, status = add_note(args.run_dir, args.text)
    when = "its next prompts carry it" if status == "running" else "hone resume carries it on"
    print(f"note {number} added to {args.run_dir}; {when}")
    return 0


def _dashboard(args: argparse.Namespace) -> int:
    from hone.web.app import bind, make_app, serve  # needs hone[dashboard]
    from hone.web.report import run_folders

    runs = run_folders([Path(r) for r in args.runs]) if args.runs else _runs_here()
    app = make_app(runs)
    sock = bind(args.port)
    url = f"http://127.0.0.1:{sock.getsockname()[1]}/"
    print(f"dashboard of {len(runs)} run(s) at {url} (Ctrl-C stops it)", flush=True)
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is how it stops
        serve(app, sock)
    return 0


def _runs_here() -> list[Path]:
    from hone.exceptions import RunDirError

    runs = sorted(p.parent for p in Path("runs").glob("*/hone.db"))
    if not runs:
        raise RunDirError("no runs in ./runs; name the run folders: hone dashboard RUN [RUN ...]")
    return runs


def _examples(args: argparse.Namespace) -> int:
    from hone import examples

    if args.action == "copy":
        copied = examples.copy(args.name, Path(args.dir) if args.dir else None)
        print(f"copied the example {args.name} to {copied}; run it with: hone run {copied}")
        return 0
    names = examples.names()
    width = max(len(n) for n in names)
    for name in names:
        print(f"{name:<{width}}  {examples.summary(name)}")
    print(
        "\nhone run NAME runs one (e.g. hone run circle_packing --max-llm-calls 12); "
        "hone examples copy NAME [DIR] makes a copy to edit"
    )
    return 0


def _serve(args: argparse.Namespace) -> int:
    from hone.models import server

    running, serving = server.start(args.model, port=args.port, slots=args.slots, ctx=args.ctx)

    def ready() -> None:
        print(
            f"serving {serving.model} at {serving.url} with {serving.slots} slots (requests "
            f"generated at once; {serving.threads} thread{'s' * (serving.threads > 1)}); use "
            f"it with: hone run TASK --model openai:local --base-url {serving.url} (Ctrl-C stops "
            "it)",
            flush=True,
        )

    try:
        server.wait_for_stop(ready)
    finally:
        del running
    return 0


def _docs(args: argparse.Namespace) -> int:
    from hone import manual

    if args.name is None:
        for name in manual.names():
            print(f"{name:<13} {manual.title(name)}")
        print(f"\nhone docs NAME shows one; the files are in {manual.ROOT.resolve()}")
        return 0
    text = manual.page(args.name).read_text(encoding="utf-8")
    from rich.console import Console
    from rich.markdown import Markdown

    console = Console(highlight=False, soft_wrap=True)
    if console.is_terminal:
        console.print(Markdown(text))
    else:  # piped: the Markdown as it is
        console.out(text, highlight=False, end="")
    return 0


def _report(args: argparse.Namespace) -> int:
    from hone.web.report import run_folders, write_report

    runs = run_folders([Path(r) for r in args.runs])
    default = runs[0] / "report.html" if len(runs) == 1 else Path("report.html")
    output = Path(args.output) if args.output else default
    size = write_report(runs, output)
    what = "the run" if len(runs) == 1 else f"{len(runs)} runs"
    print(
        f"report of {what} written to {output} ({size / 1024:.0f} KB); it opens offline in a "
        "browser"
    )
    return 0
