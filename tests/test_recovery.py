"""What a run verifies before its cycle: the starting programs, or what a stopped run left."""

import asyncio
from pathlib import Path

import hone
from hone.novelty import NoveltyFilter
from hone.population import Population
from hone.recovery import waiting
from hone.store import Store
from hone.task import Task
from hone.testing import ScriptedModel
from tests.helpers import block, task_of


def answered(store: Store, completion: str, **purpose: object) -> int:
    """Store an answer as a run that stopped before making its hypothesis leaves it."""
    return store.add_call(
        round=2,
        model="scripted",
        prompt="p",
        completion=completion,
        prompt_tokens=1,
        completion_tokens=1,
        started=0.0,
        latency=0.0,
        purpose={"parents": [2], "niche": None, "function": None, "signature": "", **purpose},
    )


def test_a_new_run_starts_from_the_program_and_the_archive(make_task, tmp_path: Path) -> None:
    task = Task.from_dir(make_task())
    task = task.configured(search={"novelty": 0.0})
    store = Store.create(tmp_path / "run", {})
    population = Population(task.objective, NoveltyFilter())
    found = asyncio.run(waiting(task, store, population))
    assert [c.code for c in found] == [task.program, *(code for _, code in task.archive)]
    assert all(c.evaluation.status == "pending" and c.round == 0 for c in found)
    assert asyncio.run(waiting(task, store, population)) == found  # stored once: still pending


def test_answers_stored_without_their_hypothesis_become_theirs_unasked(
    make_task, tmp_path: Path
) -> None:
    task_dir = make_task()
    hone.run(
        task_of(task_dir, max_llm_calls=1),
        model=ScriptedModel([block(2.0)]),
        run_dir=tmp_path / "run",
    )
    store = Store.open(tmp_path / "run")
    plain = answered(store, block(7.0), kind="improve")
    unfixed = answered(store, "no code here", kind="improve")
    fixed = answered(store, block(8.0), kind="fix", fixes="improve", answer_of=unfixed)
    store.close()
    model = ScriptedModel([])
    result = hone.resume(tmp_path / "run", budget={"max_llm_calls": 4}, model=model)
    assert model.requests == []  # nothing asked again
    made = {c.call_id: c for c in result.history if c.call_id in (plain, unfixed, fixed)}
    assert set(made) == {plain, fixed}  # the fixed answer's first version is not a hypothesis
    assert made[plain].score == -3.0 and made[fixed].score == -2.0
    assert made[plain].parent_ids == (2,) and made[plain].round == 2
    assert Store.open(tmp_path / "run").unclaimed_answers() == []
