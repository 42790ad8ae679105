"""What a run verifies before its cycle starts: a new run's starting programs; a stopped run's
hypotheses stored but never verified, and the answers it stored without their hypothesis
(made into theirs now, never asked again: nothing is paid for twice)."""

from __future__ import annotations

import json

from hone.hypothesis import propose
from hone.population import Candidate, Population
from hone.prompts import Prompt, parse_answer
from hone.store import Store
from hone.task import Task


async def waiting(task: Task, store: Store, population: Population) -> list[Candidate]:
    """The hypotheses to verify before the cycle, in the order they are registered."""
    pending = store.candidates(pending=True)
    if not population.members and not pending:
        programs = (task.program, *(code for _, code in task.archive))
        pending = [store.add_candidate(round=0, code=p) for p in programs]
    for row in store.unclaimed_answers():
        purpose = json.loads(row["purpose"])
        parents = [population.full(population.get(i)) for i in purpose["parents"]]
        prompt = Prompt.answered(purpose, parents)  # (with their programs: the answer edits them)
        edit = parse_answer(prompt, row["completion"])
        pending.append(await propose(store, population, prompt, edit, row["round"], row["id"]))
    return pending
