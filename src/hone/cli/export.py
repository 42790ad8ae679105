"""`hone export --git`: the best hypothesis's lineage as commits on a new branch."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_export_command(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`hone export`'s arguments."""
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
