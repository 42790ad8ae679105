"""`hone show`: a run's best program, score and history (one hypothesis, the failures:
`hone.views`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from hone.cli.view import NO_ANSWER, best_line, print_evaluation
from hone.credit import of_bests
from hone.inbound import printable


def add_show_command(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`hone show`'s arguments."""
    show = sub.add_parser("show", help="show a run: best program, score, history")
    show.add_argument("run_dir", help="the run's folder")
    shown = show.add_mutually_exclusive_group()
    shown.add_argument(
        "--hypothesis", type=int, metavar="N", help="one hypothesis: code, diff, prompt, answer"
    )
    shown.add_argument("--failures", action="store_true", help="every failed hypothesis, why")
    show.set_defaults(handler=_show)


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
            print_evaluation(console, start)
        return 1
    if top.verified is False:  # (store.best: the best in search, when none passed)
        console.print(f"{NO_ANSWER}; the best in search:", markup=False)
    console.print(f"[bold]{best_line(top)}[/] (#{top.id}, round {top.round})")
    console.print(of_bests(new_bests).gain, markup=False)
    print_evaluation(console, top)
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
