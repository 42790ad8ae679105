"""Prompt building: completion-style best-shot prompts for base models, chat prompts with a
reasoning step for chat models, and parsing each kind of answer back into a program."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from hone.edits import Edit, apply_answer, complete_function
from hone.models.base import Message, Style
from hone.store import Candidate
from hone.strategies import Selection
from hone.task import Task


@dataclass(frozen=True)
class Prompt:
    """What the model is asked, and what its answer edits."""

    parent: Candidate
    shown: tuple[Candidate, ...]
    text: str = ""
    messages: tuple[Message, ...] = ()
    stop: tuple[str, ...] = ()
    function: str | None = None  # completion-style: the function being completed
    signature: str = ""  # completion-style: the def line(s) the prompt ends with
    niche: int | None = None  # the strategy's niche (island, cell) the hypothesis belongs to
    kind: str = "improve"  # or "crossover": combine the parent with a second program

    @property
    def parent_ids(self) -> tuple[int, ...]:
        """Ids of every candidate the prompt showed, the edited parent first."""
        return (self.parent.id, *(c.id for c in self.shown if c.id != self.parent.id))


def build_prompt(
    task: Task, selection: Selection, style: Style, memory: str = "", *, cross: bool = False
) -> Prompt:
    """The prompt for one hypothesis, in the style the model wants (chat prompts carry the
    `memory`: insights and the last round's analysis). With `cross`, a chat prompt asks to
    combine the parent with its first inspiration (crossover); best-shot prompts always show
    two versions."""
    prompt = None
    if style == "completion":
        from hone.prompts.completion import best_shot

        prompt = best_shot(task, selection)
    if prompt is None:
        from hone.prompts import chat

        if cross and selection.inspirations:
            prompt = chat.crossover(task, selection, memory)
        else:
            prompt = chat.reflective(task, selection, memory)
    return dataclasses.replace(prompt, niche=selection.niche)


def parse_answer(prompt: Prompt, answer: str) -> Edit:
    """The program the model's answer yields (or why it yields none)."""
    parent = prompt.parent.code or ""
    if prompt.function is not None:
        return complete_function(parent, prompt.function, prompt.signature, answer)
    return apply_answer(parent, answer)


__all__ = ["Prompt", "build_prompt", "parse_answer"]
