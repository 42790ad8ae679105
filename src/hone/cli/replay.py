"""`hone replay`: a --deterministic run again from its recorded answers, compared."""

from __future__ import annotations

import argparse
from pathlib import Path

from hone.cli.view import View


def add_replay_command(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`hone replay`'s arguments."""
    replay = sub.add_parser(
        "replay",
        help="run a --deterministic run again from its recorded model answers and compare",
    )
    replay.add_argument("run_dir", help="the recorded run's folder")
    replay.add_argument("--run-dir", dest="replay_dir", help="where (default: <run_dir>-replay)")
    replay.set_defaults(handler=_replay)


def _replay(args: argparse.Namespace) -> int:
    from hone.replay import replay_async, replay_dir_for

    recorded = Path(args.run_dir).resolve()
    args._run_dir = Path(args.replay_dir) if args.replay_dir else replay_dir_for(recorded)
    view = View()
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
