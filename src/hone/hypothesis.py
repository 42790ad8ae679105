"""A hypothesis in flight: as it starts (`Launch`), once the model has answered (`Answer`), and
as it is stored (`propose`).

Once stored, a hypothesis is a `hone.population.Candidate`.
"""

from __future__ import annotations

from dataclasses import dataclass

from hone.edits import Edit
from hone.evaluation import Evaluation
from hone.models.base import Completion, Request
from hone.population import Candidate, Population
from hone.prompts import Prompt
from hone.rounds import Slot
from hone.store import Store


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


async def propose(
    store: Store, population: Population, prompt: Prompt, edit: Edit, round_: int, call_id: int
) -> Candidate:
    """Store the hypothesis an answer makes before anything depends on it (a stop during the
    near-copy check, which may call an embedding model, leaves it pending for resume); it has
    failed already when the answer holds no applicable edit or a near copy."""
    candidate = store.add_candidate(
        round=round_,
        code=edit.program,
        parent_ids=prompt.parent_ids,
        call_id=call_id,
        evaluation=None if edit.ok else Evaluation.failed("invalid-edit", edit.reason),
        niche=prompt.niche,
    )
    copied = await population.near_copy_failure(edit.program) if edit.program else None
    return candidate if copied is None else store.set_evaluation(candidate, copied)
