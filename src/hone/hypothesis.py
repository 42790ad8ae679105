"""A hypothesis in flight: as it starts (`Launch`) and once the model has answered (`Answer`).

Once stored, a hypothesis is a `hone.population.Candidate`.
"""

from __future__ import annotations

from dataclasses import dataclass

from hone.edits import Edit
from hone.models.base import Completion, Request
from hone.prompts import Prompt
from hone.rounds import Slot


@dataclass(frozen=True)
class Launch:
    """A hypothesis as it starts: its prompt, sampling seed and place in its round."""

    prompt: Prompt
    seed: int
    slot: Slot


@dataclass(frozen=True)
class Answer:
    """A hypothesis between the model's answer and its verification."""

    launch: Launch
    request: Request
    completion: Completion
    call_id: int
    edit: Edit
