"""Prompt building: completion-style best-shot prompts for base models, chat prompts with a
reasoning step for chat models, and parsing each kind of answer back into a program (a tree:
`hone.edits.apply_tree_answer` for every chat answer, a completed function put back in its
file for best-shot ones)."""

from __future__ import annotations

import dataclasses
import random
from dataclasses import dataclass
from typing import Any, Literal, get_args

from hone.edits import REPEAT, Edit, apply_tree_answer, complete_function
from hone.models.base import Message, Request, Style
from hone.population import TUNE, Candidate
from hone.settings import ModelConfig
from hone.strategies import Selection
from hone.task import Task
from hone.tree import TreeSpec

PromptKind = Literal["improve", "crossover"]  # what a hypothesis's prompt asks
# what a model call is for, kept as its purpose's "kind" (views read it there, never in the
# prompt's text): a hypothesis's prompt, a fix of its answer, or a memory (hone.reflection)
CallKind = Literal["improve", "crossover", "fix", "reflection", "insights"]
PROMPT_KINDS: tuple[PromptKind, ...] = get_args(PromptKind)


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
    path: str | None = None  # completion-style: the file of that function (None: the only one)
    niche: int | None = None  # the strategy's niche (island, cell) the hypothesis belongs to
    kind: PromptKind = "improve"  # or "crossover": combine the parent with a second program
    grammar: str = ""  # GBNF the answer must follow (backends that can: the embedded one)
    heat: float = 0.0  # added to the configured temperature (`heat`: after repeated answers)
    # which files an answer may change and add (the task's)
    spec: TreeSpec = dataclasses.field(default_factory=TreeSpec)

    def request(self, config: ModelConfig, seed: int) -> Request:
        """What the model is sent for this prompt, sampling as `config` says."""
        return Request(
            text=self.text,
            messages=self.messages,
            # (a temperature of 0 asks for the likeliest answer: it stays so)
            temperature=config.temperature + self.heat if config.temperature else 0.0,
            max_tokens=config.max_completion_tokens,
            seed=seed,
            stop=self.stop,
            grammar=self.grammar,
        )

    def purpose(self, fix_of: int | None = None) -> dict[str, Any]:
        """What a call with this prompt is for, stored with it (its kind, `CallKind`; with
        `fix_of`, a fix of that call's answer): the views read the kind there, and a resumed
        run rebuilds the hypothesis of an answer that was stored without one
        (`Prompt.answered`)."""
        kind: CallKind = self.kind if fix_of is None else "fix"
        fixing = {} if fix_of is None else {"fixes": self.kind, "answer_of": fix_of}
        return {
            "kind": kind,
            "parents": list(self.parent_ids),
            "niche": self.niche,
            "function": self.function,
            "signature": self.signature,
            **({"path": self.path} if self.path is not None else {}),
            **fixing,
        }

    @classmethod
    def answered(
        cls, purpose: dict[str, Any], parents: list[Candidate], spec: TreeSpec | None = None
    ) -> Prompt:
        """The prompt (as far as parsing its answer needs) a stored `purpose` describes, for
        a task whose files `spec` describes."""
        kind = purpose.get("fixes", purpose.get("kind"))  # ("hypothesis": an older hone's)
        return cls(
            parent=parents[0],
            shown=tuple(parents),
            function=purpose.get("function"),
            signature=purpose.get("signature") or "",
            path=purpose.get("path"),
            niche=purpose.get("niche"),
            kind=kind if kind in PROMPT_KINDS else "improve",
            spec=spec or TreeSpec(),
        )

    @property
    def parent_ids(self) -> tuple[int, ...]:
        """Ids of every candidate the prompt showed, the edited parent first."""
        return (self.parent.id, *(c.id for c in self.shown if c.id != self.parent.id))


def build_prompt(
    task: Task,
    selection: Selection,
    style: Style,
    memory: str = "",
    *,
    cross: bool = False,
    rng: random.Random | None = None,
) -> Prompt:
    """The prompt for one hypothesis, in the style the model wants; it carries the `memory`
    (insights, the last round's analysis, a person's notes). With `cross`, a chat prompt asks to
    combine the parent with its first inspiration (crossover); best-shot prompts always show
    two versions, of the block `rng` draws when the program has several (None: the first)."""
    prompt = None
    if style == "completion":
        from hone.prompts.completion import best_shot

        prompt = best_shot(task, selection, memory, rng)
    if prompt is None:
        from hone.prompts import chat

        if cross and selection.inspirations:
            prompt = chat.crossover(task, selection, memory)
        else:
            prompt = chat.reflective(task, selection, memory)
    return dataclasses.replace(prompt, niche=selection.niche, spec=task.spec, heat=heat(selection))


REPEAT_HEAT = 0.15  # temperature added for each recent answer that copied an evaluated program
MAX_HEAT = 0.3


def heat(selection: Selection) -> float:
    """What the temperature is raised by: `REPEAT_HEAT` for each of the newest model answers
    that copied a program already evaluated (`Selection.copies`: its parent unchanged or
    another), or each of the selection's recent failures (the model's) that repeated its
    parent, whichever are more, up to `MAX_HEAT`, so that a model landing on known programs
    samples further from them (a small model's commonest failure); none once its newest
    answers are new programs."""
    repeats = sum(f.kind != TUNE and f.evaluation.reason == REPEAT for f in selection.failures)
    return min(REPEAT_HEAT * max(repeats, selection.copies), MAX_HEAT)


@dataclass(frozen=True)
class Prompter:
    """Builds each hypothesis's prompt: a `crossover` share of chat prompts combine two
    programs instead of improving one."""

    task: Task
    crossover: float = 0.0

    def prompt(self, selection: Selection, style: Style, memory: str, rng: random.Random) -> Prompt:
        """The prompt for the programs the strategy selected, in the model's style."""
        cross = self.crossover > 0 and rng.random() < self.crossover
        return build_prompt(self.task, selection, style, memory, cross=cross, rng=rng)


def parse_answer(prompt: Prompt, answer: str) -> Edit:
    """The tree the model's answer yields (or why it yields none)."""
    parent = prompt.parent.tree
    assert parent is not None  # (a prompt shows whole programs: `Selection.whole`)
    if prompt.function is not None:
        path = prompt.path or parent.paths[0]
        edit = complete_function(parent[path], prompt.function, prompt.signature, answer)
        return edit.into(parent, path)
    return apply_tree_answer(parent, answer, prompt.spec)


__all__ = [
    "PROMPT_KINDS",
    "CallKind",
    "Prompt",
    "PromptKind",
    "Prompter",
    "build_prompt",
    "parse_answer",
]
