"""`hone examples`: the example tasks that come with hone, listed or copied to edit."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_examples_command(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`hone examples`'s arguments."""
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
