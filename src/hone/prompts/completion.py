"""FunSearch's best-shot prompt: earlier versions of one function, worst to best, then the
header of the next version for a base model to complete.

A small model evolves one block at a time: of each EVOLVE block of each Python file (the whole
file, when it has none; in a tree of several files, its Python files in path order), the
function `[task] function` when the block defines it, else the block's first function, is a
target, and each prompt evolves one of them, drawn with the loop's seeded generator when there
are several (so a run's choices replay), the only one otherwise. The rest of the target's file
(markers dropped, its other blocks as they are) is the prompt's context.

Each version carries its outcome as comments above it (its score, its first metrics and the
evaluator's feedback, trimmed), and the last failed attempts' reasons come before the versions:
a base model sees why programs scored as they did, as a chat model does."""

from __future__ import annotations

import ast
import contextlib
import random
import re

from hone import syntax
from hone.edits import END, START, Region, blocks, function_names, function_source, region
from hone.objective import signed, wording
from hone.population import TUNE, Candidate
from hone.prompts import Prompt
from hone.strategies import Selection
from hone.task import Task

STOP = ("\ndef ", "\nclass ", "\nif __name__", "\n@")
OUTCOMES = True  # show outcomes and failures (benchmarks/offline_models.py --no-outcomes: off)
METRICS = 4  # of a version's metrics shown (the first plain ones, by name)
FEEDBACK_CHARS = 240  # of a version's feedback
FAILURES = 3  # the last failed attempts shown
REASON_CHARS = 160  # of a failed attempt's reason


def best_shot(
    task: Task, selection: Selection, memory: str = "", rng: random.Random | None = None
) -> Prompt | None:
    """The best-shot prompt, or None when the program has no function to evolve; the `memory`
    (for a base model, a person's notes: it writes no analyses) joins the instruction. `rng`
    draws the block to evolve when there are several (None: the first)."""
    parent = selection.parent
    found = targets(task, parent)
    if not found:
        return None
    path, number, name = found[rng.randrange(len(found))] if rng and len(found) > 1 else found[0]
    code = parent.tree[path] if parent.tree is not None else ""
    versions = _distinct(
        sorted(
            [c for c in (parent, *selection.inspirations) if function_source(_file(c, path), name)],
            key=lambda c: (_rank(task, c), -c.id),
        ),  # worst first, so the parent is the last (best) version
        path,
        name,
    )
    notes = "\n\n" + memory.replace('"""', "'''") if memory else ""
    pieces = [f'"""{task.instruction}{notes}\n"""\n']
    context = _context(code, number, name)
    if context:
        pieces.append(context)
    if OUTCOMES:
        pieces.append(_failures(selection.failures))
    better = wording(task.objective)
    for number, candidate in enumerate(versions):
        source = function_source(_file(candidate, path), name) or ""
        renamed = _rename(source, name, number)
        pieces.append(f"# {name}_v{number} scored {candidate.score:.6g} ({better} is better)\n")
        if OUTCOMES:
            pieces.append(_outcome(candidate))
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
        path=path if parent.tree is not None and len(parent.tree) > 1 else None,
    )


def _distinct(versions: list[Candidate], path: str, name: str) -> list[Candidate]:
    """The versions whose function differs from every better one's (programs of a tree or of
    several blocks may differ elsewhere only: the same function is shown once, the best's)."""
    sources = [function_source(_file(c, path), name) for c in versions]
    return [c for i, c in enumerate(versions) if sources[i] not in sources[i + 1 :]]


def _outcome(candidate: Candidate) -> str:
    """A version's first metrics and its feedback, as comment lines."""
    ev = candidate.evaluation
    plain = sorted((k, v) for k, v in ev.metrics.items() if "." not in k)[:METRICS]
    lines = [", ".join(f"{k}={v:.6g}" for k, v in plain)] if plain else []
    if ev.feedback.strip():
        lines.append("feedback: " + _line(ev.feedback, FEEDBACK_CHARS))
    return "".join(f"# {line}\n" for line in lines)


def _failures(failures: tuple[Candidate, ...]) -> str:
    """The last failed attempts (the model's, not tuning trials'), newest first, and why, as
    comment lines."""
    shown = [f for f in failures if f.kind != TUNE][:FAILURES]
    if not shown:
        return ""
    lines = ["# Recent failed attempts, newest first:"]
    for failure in shown:
        ev = failure.evaluation
        reason = ev.reason or ev.feedback or "no reason recorded"
        lines.append(f"# - {ev.status}: {_line(reason, REASON_CHARS)}")
    return "\n".join(lines) + "\n\n\n"


def _line(text: str, limit: int) -> str:
    """`text` on one line, trimmed to `limit` characters."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 2] + " …"


def targets(task: Task, parent: Candidate) -> list[tuple[str, int, str]]:
    """(path, block number, function name) of each block a prompt may evolve: its function
    `task.function`, else its first one (blocks without one are left out)."""
    tree = parent.tree
    if tree is None:
        return []
    files = tree.paths if len(tree) == 1 else [p for p in tree.paths if p.endswith(".py")]
    found = []
    for path in files:
        for number, body in enumerate(_bodies(tree[path])):
            names = function_names(body)
            name = task.function or (names[0] if names else None)
            if name is not None and name in names:
                found.append((path, number, name))
    return found


def _bodies(code: str) -> tuple[str, ...]:
    """The bodies of a file's EVOLVE blocks (the whole file when it has none; as one block
    when its markers are malformed)."""
    try:
        return blocks(code).bodies
    except ValueError:
        return (code,)


def _file(candidate: Candidate, path: str) -> str:
    tree = candidate.tree
    return tree.get(path, "") if tree is not None else ""


def _block(code: str, number: int) -> Region:
    """The file split around its EVOLVE block `number` (the whole file when it has none)."""
    if number == 0:
        with contextlib.suppress(ValueError):
            return region(code)  # (none or one: the split hone has always made)
    try:
        parts = blocks(code)
    except ValueError:
        return Region("", code, "")
    before = [
        p for pair in zip(parts.fixed[:number], parts.bodies[:number], strict=True) for p in pair
    ]
    after = [
        p
        for pair in zip(parts.fixed[number + 1 : -1], parts.bodies[number + 1 :], strict=True)
        for p in pair
    ]
    return Region(
        "".join(before) + parts.fixed[number],
        parts.bodies[number],
        "".join(after) + parts.fixed[-1],
    )


def _rank(task: Task, c: Candidate) -> float:
    return signed(task.objective, c.score if c.score is not None else 0.0)


def _context(code: str, number: int, name: str) -> str:
    """The program up to and through block `number` without the evolved function; not the
    text after that block, nor the markers."""
    parts = _block(code, number)
    source = function_source(parts.body, name) or ""
    rest = parts.body.replace(source, "", 1) if source else parts.body
    lines = [
        line for line in (parts.prefix + rest).splitlines() if line.strip() not in (START, END)
    ]
    text = "\n".join(lines).strip("\n")
    return text + "\n\n\n" if text.strip() else ""


def _signature(source: str) -> str:
    """The `def` line(s) of a function's source, up to the colon that opens its body."""
    tree = syntax.parse(source)
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
