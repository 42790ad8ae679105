"""FunSearch's best-shot prompt: earlier versions of one function, worst to best, then the
header of the next version for a base model to complete."""

from __future__ import annotations

import ast
import re

from hone.edits import END, START, function_names, function_source, region
from hone.objective import signed, wording
from hone.population import Candidate
from hone.prompts import Prompt
from hone.strategies import Selection
from hone.task import Task

STOP = ("\ndef ", "\nclass ", "\nif __name__", "\n@")


def best_shot(task: Task, selection: Selection, memory: str = "") -> Prompt | None:
    """The best-shot prompt, or None when the program has no function to evolve; the `memory`
    (for a base model, a person's notes: it writes no analyses) joins the instruction."""
    parent = selection.parent
    code = parent.code or ""
    body = region(code).body
    names = function_names(body)
    name = task.function or (names[0] if names else None)
    if name is None or name not in names:
        return None
    versions = sorted(
        [c for c in (parent, *selection.inspirations) if function_source(c.code or "", name)],
        key=lambda c: (_rank(task, c), -c.id),
    )  # worst first, so the parent is the last (best) version
    notes = "\n\n" + memory.replace('"""', "'''") if memory else ""
    pieces = [f'"""{task.instruction}{notes}\n"""\n']
    context = _context(code, name)
    if context:
        pieces.append(context)
    better = wording(task.objective)
    for number, candidate in enumerate(versions):
        source = function_source(candidate.code or "", name) or ""
        renamed = _rename(source, name, number)
        pieces.append(f"# {name}_v{number} scored {candidate.score:.6g} ({better} is better)\n")
        pieces.append(renamed.rstrip("\n") + "\n\n\n")
    n = len(versions)
    signature = _rename(_signature(function_source(code, name) or ""), name, n)
    header = f'{signature}    """Improved version of `{name}_v{n - 1}`."""\n'
    pieces.append(header)
    return Prompt(
        parent=parent,
        shown=tuple(versions),
        text="".join(pieces),
        stop=STOP,
        function=name,
        signature=signature,
    )


def _rank(task: Task, c: Candidate) -> float:
    return signed(task.objective, c.score if c.score is not None else 0.0)


def _context(code: str, name: str) -> str:
    """The program without the evolved function, the suffix after the block and the markers."""
    parts = region(code)
    source = function_source(parts.body, name) or ""
    rest = parts.body.replace(source, "", 1) if source else parts.body
    lines = [
        line for line in (parts.prefix + rest).splitlines() if line.strip() not in (START, END)
    ]
    text = "\n".join(lines).strip("\n")
    return text + "\n\n\n" if text.strip() else ""


def _signature(source: str) -> str:
    """The `def` line(s) of a function's source, up to the colon that opens its body."""
    tree = ast.parse(source)
    node = tree.body[0]
    assert isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    lines = source.splitlines(keepends=True)
    start = node.lineno - 1
    first_body = node.body[0].lineno - 1
    if first_body > start:
        return "".join(lines[start:first_body])
    return lines[start][: node.body[0].col_offset].rstrip() + "\n"  # a one-line function


def _rename(source: str, name: str, number: int) -> str:
    return re.sub(rf"\b{re.escape(name)}\b", f"{name}_v{number}", source)
