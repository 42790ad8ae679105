"""The chat prompt: the task, the best programs with their outcomes, recent failures, and an
explicit reasoning step before the proposal."""

from __future__ import annotations

import contextlib

from hone.edits import answer_grammar, region
from hone.evaluation import Evaluation
from hone.models.base import Message
from hone.objective import wording
from hone.population import TUNE, Candidate
from hone.prompts import Prompt
from hone.strategies import Selection
from hone.task import Task

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


def _proposal(task: Task, target: Candidate, lead: str = "") -> str:
    return _PROPOSAL[task.search.edits].format(
        lead=lead, target=target.id, language=task.language, block_rule=_block_rule(target)
    )


def reflective(task: Task, selection: Selection, memory: str = "") -> Prompt:
    """The chat prompt for improving `selection.parent`: other good programs (their EVOLVE
    blocks) and recent failures first, the parent last, next to what to do (FunSearch,
    OpenEvolve: models, small ones most, edit the program shown last)."""
    parent = selection.parent
    lines = _header(task, memory)
    if selection.inspirations:
        lines.append("\n## Other good programs")
        for candidate in selection.inspirations:
            lines.append(_describe(candidate, task.language, best=False, block_only=True))
    failures = [f for f in selection.failures if f.kind != TUNE]  # tuning's are not the model's
    if failures:
        lines.append("## Recent failed attempts")
        for failure in failures:
            lines.append(
                f"- attempt #{failure.id} ({failure.evaluation.status}): {_reason(failure, 300)}"
            )
        lines.append("")
    lines.append(("" if selection.inspirations or failures else "\n") + "## The program to improve")
    lines.append(_describe(parent, task.language, best=True))
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
    lines = _header(task, memory)
    lines.append("\n## Two good programs")
    lines += [_describe(c, task.language, best=False) for c in (first, second)]
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
    if not task.model.grammar or task.search.edits == "full":
        return ""
    return answer_grammar(parent.code or "")


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


def _describe(candidate: Candidate, language: str, *, best: bool, block_only: bool = False) -> str:
    ev = candidate.evaluation
    title = f"### Program #{candidate.id} (score {ev.score:.6g})" + (
        " — improve this one" if best else ""
    )
    code = (candidate.code or "").rstrip()
    if block_only and "EVOLVE-BLOCK-START" in code:
        with contextlib.suppress(ValueError):
            code = region(code).body.rstrip()
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
    parts.append(f"```{language}\n{code}\n```\n")
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
    lines.append("## Best program so far\n" + _describe(best, task.language, best=False))
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


def fix(messages: tuple[Message, ...], answer: str, reason: str) -> tuple[Message, ...]:
    """The conversation that sends an answer that could not be applied back with its error."""
    return (*messages, Message("assistant", answer), Message("user", FIX.format(reason=reason)))


FIX = (
    "Your answer could not be applied: {reason}. Answer again with the corrected change, "
    "as SEARCH/REPLACE blocks that copy the current program's lines exactly, or as the "
    "whole program in one fenced code block."
)
