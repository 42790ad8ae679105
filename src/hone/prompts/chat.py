"""The chat prompt: the task, the best programs with their outcomes, recent failures, and an
explicit reasoning step before the proposal.

A one-file task's programs are shown as one fenced program each. A folder task's (a tree,
`hone.tree`) are shown file by file, each after its path and fenced with the path in the info
string, with the answer forms that name their files (SEARCH/REPLACE blocks after the path, a
unified diff, whole files) and, before them, a map of the program folder (`hone.prompts.
repomap`: every file, its size and the names it defines) and the task's `context` files,
read-only, as far as `CONTEXT_CHARS` allows."""

from __future__ import annotations

import contextlib
import functools

from hone.edits import answer_grammar, region
from hone.evaluation import Evaluation
from hone.models.base import Message
from hone.objective import wording
from hone.population import TUNE, Candidate
from hone.prompts import Prompt
from hone.prompts.repomap import repository_map
from hone.strategies import Selection
from hone.task import Task, language_of
from hone.tree import Tree, TreeSpec, files_under, read_text

METRICS_SHOWN = 40  # of one program's metrics in a prompt (and rows of its component table)
SYSTEM = (
    "You improve programs against an automatic evaluator. Each round you see the best "
    "programs so far with their scores, metrics and feedback, and recent failures with their "
    "errors. Think about why programs scored as they did, then propose one concrete improvement."
)

_FORMAT = """Improve program #{parent} (shown last, above). Answer in two parts.
1. Idea: one or two sentences: what to change and why it should score better.
2. Proposal: the change to program #{parent}, {proposal}"""

# How a proposal is written, by `[search] edits`: {lead} follows "SEARCH/REPLACE blocks".
_PROPOSAL = {
    "either": """preferably as SEARCH/REPLACE blocks{lead}, each changing one function

<<<<<<< SEARCH
(lines copied exactly from program #{target})
=======
(their replacement)
>>>>>>> REPLACE

or, for a larger change, as the complete new program in one ```{language} block.{block_rule}""",
    "diff": """as one or more SEARCH/REPLACE blocks{lead}

<<<<<<< SEARCH
(lines copied exactly from program #{target})
=======
(their replacement)
>>>>>>> REPLACE

Copy the SEARCH lines exactly, indentation included.{block_rule}""",
    "full": """as the complete new program in one ```{language} block.{block_rule}""",
}


# How a folder task's proposal is written: edits that name their files.
_TREE_SEARCH = """SEARCH/REPLACE blocks{lead}, each after the path of its file on a line of its own

{example}
<<<<<<< SEARCH
(lines copied exactly from that file of program #{target})
=======
(their replacement)
>>>>>>> REPLACE"""
_TREE_DIFF = "a unified diff (--- a/{example}, +++ b/{example}, @@ hunks) as git apply takes it"
_TREE_WHOLE = "a whole file in a fenced block whose info string is its path (```{example})"
_TREE_PROPOSAL = {
    "either": "as " + _TREE_SEARCH + "\n\nor as " + _TREE_DIFF + ", or as " + _TREE_WHOLE + ".",
    "diff": "as " + _TREE_SEARCH + "\n\nor as " + _TREE_DIFF + ". Copy the SEARCH lines exactly, "
    "indentation included.",
    "full": "as " + _TREE_WHOLE + ", one block per file it changes.",
}
CONTEXT_CHARS = 16_000  # of a folder task's context files in one prompt; the rest are named


def _proposal(task: Task, target: Candidate, lead: str = "") -> str:
    if task.folder:
        example = target.tree.paths[0] if target.tree else "src/example.py"
        text = _TREE_PROPOSAL[task.search.edits].format(
            lead=lead, target=target.id, example=example
        )
        return text + _tree_rules(task, target)
    return _PROPOSAL[task.search.edits].format(
        lead=lead, target=target.id, language=task.language, block_rule=_block_rule(target)
    )


def _tree_rules(task: Task, target: Candidate) -> str:
    """What a folder task's answer may change: only the blocks of files that have them, the
    files shown, new files where `new_files` allows."""
    rules = []
    if any("EVOLVE-BLOCK-START" in text for text in (target.tree or {}).values()):
        rules.append(
            "In a file with EVOLVE-BLOCK-START and EVOLVE-BLOCK-END markers, change only the "
            "code between them."
        )
    if task.spec.new_files:
        rules.append(
            "Change only the files shown, or add new files named like "
            + ", ".join(task.spec.new_files)
            + "."
        )
    else:
        rules.append("Change only the files shown; no new file may be added.")
    return " " + " ".join(rules)


def reflective(task: Task, selection: Selection, memory: str = "") -> Prompt:
    """The chat prompt for improving `selection.parent`: other good programs (their EVOLVE
    blocks) and recent failures first, the parent last, next to what to do (FunSearch,
    OpenEvolve: models, small ones most, edit the program shown last)."""
    parent = selection.parent
    lines = _header(task, memory) + _map(task, parent.tree)
    if selection.inspirations:
        lines.append("\n## Other good programs")
        for candidate in selection.inspirations:
            if task.folder:
                lines.append(_describe_tree(candidate, best=False, against=parent.tree))
            else:
                lines.append(_describe(candidate, task.language, best=False, block_only=True))
    failures = [f for f in selection.failures if f.kind != TUNE]  # tuning's are not the model's
    if failures:
        lines.append("## Recent failed attempts")
        for failure in failures:
            lines.append(
                f"- attempt #{failure.id} ({failure.evaluation.status}): {_reason(failure, 300)}"
            )
        lines.append("")
    if task.folder:
        lines += _context(task, parent.tree)
    lines.append(("" if selection.inspirations or failures else "\n") + "## The program to improve")
    lines.append(_shown(task, parent, best=True))
    lines.append(
        "## What to do\n" + _FORMAT.format(parent=parent.id, proposal=_proposal(task, parent))
    )
    return Prompt(
        parent=parent,
        shown=(parent, *selection.inspirations),
        messages=(Message("system", SYSTEM), Message("user", "\n".join(lines))),
        grammar=_grammar(task, parent),
    )


_CROSSOVER = """Combine programs #{first} and #{second} into one better program: keep what made each of them score well, drop what held them back. Answer in two parts.
1. Analysis: in a few sentences, what each program does well and how the two ideas fit together.
2. Proposal: the new program, {proposal}"""


def crossover(task: Task, selection: Selection, memory: str = "") -> Prompt:
    """The chat prompt for combining `selection.parent` with its first inspiration."""
    first, second = selection.parent, selection.inspirations[0]
    lines = _header(task, memory) + _map(task, first.tree)
    if task.folder:
        lines += _context(task, first.tree)
    lines.append("\n## Two good programs")
    lines += [_shown(task, c, best=False) for c in (first, second)]
    text = _CROSSOVER.format(
        first=first.id,
        second=second.id,
        proposal=_proposal(task, first, f" that edit program #{first.id}"),
    )
    return Prompt(
        parent=first,
        shown=(first, second),
        messages=(
            Message("system", SYSTEM),
            Message("user", "\n".join([*lines, "## What to do", text])),
        ),
        kind="crossover",
    )


def _grammar(task: Task, parent: Candidate) -> str:
    """The answer grammar, built only when `[model] grammar` asks for it (it costs a pass over
    the parent on every prompt, and only the embedded model reads it)."""
    if not task.model.grammar or task.search.edits == "full" or parent.code is None:
        return ""  # (a tree of several files: answers name their files, which it cannot say)
    return answer_grammar(parent.code)


def _header(task: Task, memory: str) -> list[str]:
    lines = [f"## Task\n{task.instruction}\n", f"Score: {wording(task.objective)} is better."]
    if task.budget.target is not None:
        lines.append(f"Target score: {task.budget.target:g}.")
    if memory:
        lines.append(f"\n{memory}")
    return lines


def _block_rule(parent: Candidate) -> str:
    if "EVOLVE-BLOCK-START" in (parent.code or ""):
        return " Change only the code between the EVOLVE-BLOCK-START and EVOLVE-BLOCK-END markers."
    return ""


def _shown(task: Task, candidate: Candidate, *, best: bool) -> str:
    """A program whole: a one-file task's fenced, a folder task's file by file."""
    if task.folder:
        return _describe_tree(candidate, best=best)
    return _describe(candidate, task.language, best=best)


def _describe(candidate: Candidate, language: str, *, best: bool, block_only: bool = False) -> str:
    code = (candidate.tree.text if candidate.tree is not None else "").rstrip()
    if block_only and "EVOLVE-BLOCK-START" in code:
        with contextlib.suppress(ValueError):
            code = region(code).body.rstrip()
    return _outcome(candidate, best) + f"\n```{language}\n{code}\n```\n"


def _describe_tree(candidate: Candidate, *, best: bool, against: Tree | None = None) -> str:
    """A folder task's program: each file after its path, fenced with the path in the info
    string (`against`: only the files that differ from that tree's, an inspiration's)."""
    tree = candidate.tree or Tree()
    files = tree.changed(against) if against is not None else dict(tree)
    parts = [_outcome(candidate, best)]
    if against is not None:
        parts.append(
            "(the files in which it differs from the program to improve)"
            if files
            else "(its files are those of the program to improve)"
        )
    parts += [_fenced(path, text) for path, text in files.items()]
    return "\n".join(parts) + "\n"


def _fenced(path: str, text: str) -> str:
    """One file after its path, in a fence with the path in the info string (and a longer
    fence when the text holds one)."""
    ticks = "`" * max(3, max((len(run) + 1 for run in _ticks(text)), default=3))
    language = language_of(path)
    info = f"{language} {path}" if language else path
    return f"\n{path}\n{ticks}{info}\n{text.rstrip()}\n{ticks}"


def _ticks(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip().startswith("```")]


def _map(task: Task, tree: Tree | None) -> list[str]:
    """A folder task's repository map (`hone.prompts.repomap`): every file of the program
    folder, its size and the names it defines; none for a one-file task."""
    if not task.folder or tree is None:
        return []
    return ["\n" + repository_map(task.spec, tree).rstrip("\n")]


def _context(task: Task, tree: Tree | None) -> list[str]:
    """The task's context files, read-only, as far as `CONTEXT_CHARS` allows (the rest are
    named); none when the task has no `context` globs."""
    files = context_files(task.spec, tuple(tree.paths) if tree is not None else ())
    if not files:
        return []
    lines, left, unshown = ["## Context (read-only: do not change these files)"], CONTEXT_CHARS, []
    for path, text in files:
        if len(text) > left:
            unshown.append(path)
            continue
        left -= len(text)
        lines.append(_fenced(path, text))
    if unshown:
        lines.append("(not shown, for length: " + ", ".join(unshown) + ")")
    return [*lines, ""]


@functools.lru_cache(maxsize=8)
def context_files(spec: TreeSpec, editable: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """The text files of the program folder that `spec.context` names (not the `editable`
    ones), in path order (read once)."""
    if spec.base is None or not spec.context:
        return ()
    found = []
    for path in files_under(spec.base):
        if path in editable or not spec.is_context(path):
            continue
        text = read_text(spec.base / path)
        if text is not None:
            found.append((path, text))
    return tuple(found)


def _outcome(candidate: Candidate, best: bool) -> str:
    """A program's title, metrics, component table and feedback."""
    ev = candidate.evaluation
    title = f"### Program #{candidate.id} (score {ev.score:.6g})" + (
        " — improve this one" if best else ""
    )
    parts = [title]
    plain = sorted((k, v) for k, v in ev.metrics.items() if "." not in k)
    if plain:
        shown = ", ".join(f"{k}={v:.6g}" for k, v in plain[:METRICS_SHOWN])
        more = f", … and {len(plain) - METRICS_SHOWN} more" if len(plain) > METRICS_SHOWN else ""
        parts.append("metrics: " + shown + more)
    table = component_table(ev.metrics)
    if table:
        parts.append(table)
    if ev.feedback:
        parts.append("feedback: " + _clip(ev.feedback, 800 if best else 300))
    return "\n".join(parts)


def component_table(metrics: dict[str, float]) -> str:
    """Metrics named "<component>.<statistic>" as a compact table, a row per component."""
    rows: dict[str, dict[str, float]] = {}
    for key, value in metrics.items():
        if "." in key:
            component, stat = key.split(".", 1)
            rows.setdefault(component, {})[stat] = value
    if not rows:
        return ""
    if len(rows) > METRICS_SHOWN:  # the first components (by name) only
        rows = dict(sorted(rows.items())[:METRICS_SHOWN])
    stats = sorted({s for row in rows.values() for s in row})[:12]
    lines = ["| component | " + " | ".join(stats) + " |", "|---" * (len(stats) + 1) + "|"]
    for component in sorted(rows):
        cells = [f"{rows[component][s]:.4g}" if s in rows[component] else "" for s in stats]
        lines.append(f"| {component} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _reason(candidate: Candidate, limit: int = 600) -> str:
    ev: Evaluation = candidate.evaluation
    return _clip(ev.reason or ev.feedback or "no reason recorded", limit)


def _clip(text: str, limit: int) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 15] + " …[truncated]"


def reflection(
    task: Task, hypotheses: list[Candidate], best: Candidate, memory: str
) -> tuple[Message, ...]:
    """Ask for a short analysis of one round (ReEvo's short-term reflection)."""
    lines = [f"## Task\n{task.instruction}\n", f"Score: {wording(task.objective)} is better."]
    if memory:
        lines.append(memory)
    lines.append("## Best program so far\n" + _shown(task, best, best=False))
    lines.append("## This round's hypotheses")
    for c in hypotheses:
        ev = c.evaluation
        outcome = f"score {ev.score:.6g}" if c.score is not None else f"{ev.status}: {_reason(c)}"
        lines.append(f"- #{c.id} (from #{c.parent_ids[0] if c.parent_ids else '-'}): {outcome}")
    lines.append(
        "\n" + REFLECT + " Write at most five short bullet points: what worked, what failed and "
        "why, and what to try next."
    )
    return (Message("system", SYSTEM), Message("user", "\n".join(lines)))


def condensation(task: Task, analyses: list[str], insights: str) -> tuple[Message, ...]:
    """Ask to condense the analyses into a lasting insights memory (long-term reflection)."""
    lines = [f"## Task\n{task.instruction}\n"]
    if insights:
        lines.append(f"## Insights so far\n{insights}\n")
    lines.append("## Analyses of the latest rounds")
    lines.extend(f"- {_clip(a, 800)}" for a in analyses)
    lines.append(
        "\n" + CONDENSE + " Keep what held up, drop what did not, at most eight bullet points."
    )
    return (Message("system", SYSTEM), Message("user", "\n".join(lines)))


REFLECT = "Analyse this round for the next one."
CONDENSE = (
    "Condense the insights and analyses into one list of insights for the rest of the search."
)


TUNING_NOTES = "## What parameter tuning found (an optimiser tried other values of the constants)"
_TUNING_SHOWN = 2  # the newest tuning stages a prompt carries


def tuning_notes(notes: list[str]) -> str:
    """What the latest parameter-tuning stages found, as a prompt section."""
    if not notes:
        return ""
    return TUNING_NOTES + "\n" + "\n".join(f"- {_clip(n, 600)}" for n in notes[-_TUNING_SHOWN:])


PERSON_NOTES = "## Notes from the person running this search"
_PERSON_SHOWN = 5  # the newest notes a prompt carries


def person_notes(notes: list[str]) -> str:
    """The notes a person added to the run (the newest few), as a prompt section."""
    if not notes:
        return ""
    shown = notes[-_PERSON_SHOWN:]
    return PERSON_NOTES + "\n" + "\n".join(f"- {_clip(n, 800)}" for n in shown)


def fix(
    messages: tuple[Message, ...], answer: str, reason: str, *, tree: bool = False
) -> tuple[Message, ...]:
    """The conversation that sends an answer that could not be applied back with its error
    (`tree`: a folder task's, whose edits name their files)."""
    text = (FIX_TREE if tree else FIX).format(reason=reason)
    return (*messages, Message("assistant", answer), Message("user", text))


FIX = (
    "Your answer could not be applied: {reason}. Answer again with the corrected change, "
    "as SEARCH/REPLACE blocks that copy the current program's lines exactly, or as the "
    "whole program in one fenced code block."
)
FIX_TREE = (
    "Your answer could not be applied: {reason}. Answer again with the corrected change, "
    "as edits that name their files: SEARCH/REPLACE blocks after the file's path that copy "
    "its lines exactly, a unified diff, or whole files in fenced blocks whose info string is "
    "the path."
)
