"""The population's snapshot: a resume reads only what came after it when it matches the
store, and the whole run when it does not."""

import random
from pathlib import Path

import pytest

import hone
from hone import snapshot
from hone.evaluation import Evaluation
from hone.formats import load_task
from hone.novelty import NoveltyFilter
from hone.population import Population
from hone.store import Store
from hone.strategies import Strategy, make_strategy
from hone.task import Task
from hone.testing import ScriptedModel
from hone.tree import Tree
from tests.conftest import PROGRAM

SEARCH = {"strategy": "islands", "islands": 3, "novelty": 0.95}


def _task(tmp_path: Path, **search: object) -> Task:
    task = Task("t", "Make f() return 10.", PROGRAM, tmp_path / "evaluate.py")
    return task.configured(search={**SEARCH, **search})


def _strategy(task: Task) -> Strategy:
    return make_strategy(task.search, task.objective)


def _near(store: Store) -> NoveltyFilter:
    return NoveltyFilter(0.95, codes=store.codes)


def _add(store: Store, rng: random.Random, parent: int | None, placed: bool = True) -> int:
    """One more evaluated hypothesis (a failure now and then) in the store; its id."""
    program = PROGRAM.replace("1.0", repr(rng.uniform(0, 20)))
    parents = (parent,) if parent else ()
    added = store.add_candidate(round=1, tree=Tree.one("program.py", program), parent_ids=parents)
    if rng.random() < 0.2:
        evaluation = Evaluation.failed("error", "NameError: x")
    else:
        evaluation = Evaluation(score=-rng.uniform(0, 10), metrics={"m": rng.random()})
    store.set_evaluation(added, evaluation)
    return added.id


def _register(store: Store, population: Population, strategy: Strategy, ids: list[int]) -> None:
    """Register stored hypotheses as the loop does: added, told, their placements stored."""
    for candidate in store.candidates_by_id(ids):
        placement = strategy.tell(population.add(candidate), population)
        store.set_placements([(candidate.id, placement.as_json())])


def _same(a: Population, b: Population, sa: Strategy, sb: Strategy) -> None:
    """Two populations (and their strategies) hold and choose the same."""
    assert [c.id for c in a.members] == [c.id for c in b.members]
    assert [c.id for c in a.ranked] == [c.id for c in b.ranked]
    assert a.best is not None and b.best is not None and a.best.id == b.best.id
    assert a.children == b.children and a.recent_failures(3) == b.recent_failures(3)
    for seed in range(5):
        one, two = sa.select(a, random.Random(seed)), sb.select(b, random.Random(seed))
        assert one.parent.id == two.parent.id and one.niche == two.niche
        assert [c.id for c in one.inspirations] == [c.id for c in two.inspirations]


@pytest.fixture
def run(tmp_path: Path) -> tuple[Store, Task]:
    """A run of 40 registered hypotheses whose snapshot was written, then 12 more registered
    and 2 verified but never registered (a stop cut them short), as a kill leaves it."""
    task, store = _task(tmp_path), Store.create(tmp_path / "run")
    rng = random.Random(1)
    ids = [_add(store, rng, None)]
    ids += [_add(store, rng, rng.choice(ids)) for _ in range(39)]
    first = snapshot.read_whole(store, task, _strategy(task), _near(store))
    store.set_placements(first.placements)
    snapshot.Snapshots(store, task, first.population, first.strategy).write()
    later = [_add(store, rng, rng.choice(ids)) for _ in range(12)]
    _register(store, first.population, first.strategy, later)
    _add(store, rng, ids[0]), _add(store, rng, ids[1])
    return store, task


def test_a_resume_reads_the_snapshot_and_only_what_came_after_it(run, monkeypatch) -> None:
    """The snapshot matches the store: the population and strategy it holds, told of the
    hypotheses placed after it and of those never registered (placed now), hold and choose
    what a resume reading the whole run does; no hypothesis before the snapshot is read."""
    store, task = run
    read: list[int] = []
    each = store.each_candidate
    monkeypatch.setattr(
        store, "each_candidate", lambda **kw: (read.append(c.id) or c for c in each(**kw))
    )
    restored = snapshot.restore(store, task, _strategy(task), _near(store))
    assert restored.from_snapshot and read == list(range(41, 53))  # (the 12 placed after it)
    assert [i for i, _ in restored.placements] == [53, 54]  # (never registered: placed now)
    monkeypatch.undo()
    store.set_placements(restored.placements)
    whole = snapshot.read_whole(store, task, _strategy(task), _near(store))
    assert whole.placements == [] and not whole.from_snapshot
    _same(restored.population, whole.population, restored.strategy, whole.strategy)
    # the store's methods it held are bound to this run's store again
    fetch, near = restored.population.fetch, restored.population.near_copies
    assert fetch is not None and fetch.__self__ is store  # type: ignore[attr-defined]
    assert isinstance(near, NoveltyFilter) and near.codes.__self__ is store  # type: ignore[union-attr]
    assert fetch([1])[0].tree is not None
    store.close()


def test_a_snapshot_that_does_not_match_the_store_is_set_aside(run, tmp_path: Path) -> None:
    """A store changed under the snapshot, another run's snapshot, other settings, or a
    damaged file: the run is read whole, as if there were none."""
    store, task = run
    path = tmp_path / "run" / snapshot.FILE
    good = path.read_bytes()
    store.conn.execute("UPDATE candidates SET placed = NULL WHERE id = 7")  # (changed under it)
    assert not snapshot.restore(store, task, _strategy(task), _near(store)).from_snapshot
    store.conn.execute("UPDATE candidates SET placed = 7 WHERE id = 7")
    assert snapshot.restore(store, task, _strategy(task), _near(store)).from_snapshot
    other = _task(tmp_path, islands=4)
    assert not snapshot.restore(store, other, _strategy(other), _near(store)).from_snapshot
    path.write_bytes(good[: len(good) // 2])  # (cut short)
    cut = snapshot.restore(store, task, _strategy(task), _near(store))
    assert not cut.from_snapshot and len(cut.population) == 54
    another = Store.create(tmp_path / "another")
    (tmp_path / "another" / snapshot.FILE).write_bytes(good)
    assert not snapshot.restore(another, task, _strategy(task), _near(another)).from_snapshot
    another.close()
    store.close()


def test_a_run_writes_its_snapshot_as_it_stops_and_its_resume_uses_it(
    make_task, tmp_path: Path, monkeypatch
) -> None:
    """`hone.run` leaves a snapshot in the run folder; `hone.resume` goes on from it without
    reading the run whole, and a snapshot written as the run grows (every so many
    hypotheses) stays in step with the store."""
    monkeypatch.setattr(snapshot, "_LEAST", 2)  # (a snapshot every other hypothesis)
    folder = make_task()
    answers = [f"```python\ndef f():\n    return {v}.0\n```" for v in (2, 3, 4, 5, 6)]
    first = hone.run(
        load_task(folder),
        model=ScriptedModel(answers[:3]),
        run_dir=tmp_path / "run",
        budget=hone.Budget(max_llm_calls=3),
    )
    assert (tmp_path / "run" / snapshot.FILE).is_file() and first.best is not None

    def whole(*args: object, **kwargs: object) -> object:
        raise AssertionError("the run was read whole")

    monkeypatch.setattr(snapshot, "read_whole", whole)
    again = hone.resume(tmp_path / "run", budget={"max_llm_calls": 5}, model=ScriptedModel(answers))
    assert again.usage.calls == 5 and again.best is not None and again.best.score == -4.0
    assert [c.id for c in again.history] == list(range(1, 7))
