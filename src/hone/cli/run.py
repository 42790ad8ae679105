"""`hone run` and `hone resume`: the task and the settings the arguments name, and the run
driven with the view."""

from __future__ import annotations

import argparse
import sys
import typing
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hone.cli.view import View
from hone.events import Event, RunStarted
from hone.exceptions import ConfigError
from hone.models import spec_usage
from hone.settings import ExecutorName, Selection, StrategyName

if TYPE_CHECKING:
    from hone.formats import Read


def add_run_command(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`hone run`'s arguments."""
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


def add_resume_command(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`hone resume`'s arguments."""
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
    view = View()
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
    view = View()
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
