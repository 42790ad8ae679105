"""The chat prompt: the task, the best programs with their outcomes, recent failures, and an
explicit reasoning step before the proposal."""

from __future__ import annotations

from hone.evaluation import Evaluation
from hone.models.base import Message
from hone.prompts import Prompt
from hone.store import Candidate
from hone.strategies import Selection
from hone.task import Task

SYSTEM = (
    "You improve programs against an automatic evaluator. Each round you see the best "
    "programs so far with their scores, metrics and feedback, and recent failures with their "
    "errors. Think about why programs scored as they did, then propose one concrete improvement."
)

_FORMAT = """Answer in two parts.
1. Analysis: in a few sentences, what made the better programs better, why the failures failed, and what to try next.
2. Proposal: the change to program #{parent}, either as one or more SEARCH/REPLACE blocks

<<<<<<< SEARCH
(lines copied exactly from program #{parent})
=======
(their replacement)
>>>>>>> REPLACE

or as the complete new program in one ```{language} block.{block_rule}"""


def reflective(task: Task, selection: Selection) -> Prompt:
    """The chat prompt for improving `selection.parent`."""
    parent = selection.parent
    better = "higher" if task.objective == "maximize" else "lower"
    lines = [f"## Task\n{task.instruction}\n", f"Score: {better} is better."]
    if task.budget.target is not None:
        lines.append(f"Target score: {task.budget.target:g}.")
    lines.append("\n## Best programs so far")
    for candidate in (parent, *selection.inspirations):
        lines.append(_describe(candidate, task.language, best=candidate is parent))
    if selection.failures:
        lines.append("## Recent failed attempts")
        for failure in selection.failures:
            lines.append(
                f"- attempt #{failure.id} ({failure.evaluation.status}): {_reason(failure)}"
            )
        lines.append("")
    block_rule = (
        " Change only the code between the EVOLVE-BLOCK-START and EVOLVE-BLOCK-END markers."
        if "EVOLVE-BLOCK-START" in (parent.code or "")
        else ""
    )
    lines.append(
        "## What to do\n"
        + _FORMAT.format(parent=parent.id, block_rule=block_rule, language=task.language)
    )
    return Prompt(
        parent=parent,
        shown=(parent, *selection.inspirations),
        messages=(Message("system", SYSTEM), Message("user", "\n".join(lines))),
    )


def _describe(candidate: Candidate, language: str, *, best: bool) -> str:
    ev = candidate.evaluation
    title = f"### Program #{candidate.id} (score {ev.score:.6g})" + (
        " — improve this one" if best else ""
    )
    parts = [title]
    if ev.metrics:
        parts.append("metrics: " + ", ".join(f"{k}={v:.6g}" for k, v in sorted(ev.metrics.items())))
    if ev.feedback:
        parts.append("feedback: " + _clip(ev.feedback, 1500))
    parts.append(f"```{language}\n{(candidate.code or '').rstrip()}\n```\n")
    return "\n".join(parts)


def _reason(candidate: Candidate) -> str:
    ev: Evaluation = candidate.evaluation
    return _clip(ev.reason or ev.feedback or "no reason recorded", 600)


def _clip(text: str, limit: int) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 15] + " …[truncated]"
