"""`hone docs`: the documentation that comes with hone, in the terminal."""

from __future__ import annotations

import argparse


def add_docs_command(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`hone docs`'s arguments."""
    docs = sub.add_parser("docs", help="the documentation that comes with hone, in the terminal")
    docs.add_argument("name", nargs="?", help="a document (models, tasks, ...); none: the list")
    docs.set_defaults(handler=_docs)


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
