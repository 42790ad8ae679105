"""`hone note`: a note that the run's following prompts carry."""

from __future__ import annotations

import argparse


def add_note_command(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`hone note`'s arguments."""
    note = sub.add_parser("note", help="add a note that the run's following prompts carry")
    note.add_argument("run_dir", help="the run's folder (running, or to be resumed)")
    note.add_argument("text", help='what the model should know or try, e.g. "try a lattice"')
    note.set_defaults(handler=_note)


def _note(args: argparse.Namespace) -> int:
    from hone.reflection import add_note

    number, status = add_note(args.run_dir, args.text)
    when = "its next prompts carry it" if status == "running" else "hone resume carries it on"
    print(f"note {number} added to {args.run_dir}; {when}")
    return 0
