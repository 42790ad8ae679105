"""The population: best so far, the evaluation cache, the near-copy filter."""

import asyncio

from hone.evaluation import Evaluation
from hone.novelty import NoveltyFilter
from hone.population import Candidate, Population


def c(id: int, code: str, score: float | None, round: int = 1, parents=()) -> Candidate:
    evaluation = Evaluation(score=score) if score is not None else Evaluation.failed("error", "x")
    return Candidate(id, round, code, evaluation, tuple(parents))


def test_best_so_far_follows_the_objective() -> None:
    low = Population.of("minimize", NoveltyFilter(), [c(1, "x = 1", 3.0, 0), c(2, "x = 2", 1.0)])
    assert low.best is not None and low.best.id == 2 and low.best_round == 1
    assert not low.add(c(3, "x = 3", 2.0, 2)).new_best
    assert low.add(c(4, "x = 4", 0.5, 3)).new_best and low.best_round == 3
    assert [m.id for m in low.of_round(1)] == [2] and 4 in low and 9 not in low


def test_the_cache_ignores_comments_and_layout_and_skips_killed_programs() -> None:
    population = Population.of("maximize", NoveltyFilter(), [c(1, "x = 1\n", 1.0)])
    assert population.cached("x  =  1  # the same\n") is not None
    killed = Candidate(2, 1, "y = 2\n", Evaluation.failed("killed", "oom"))
    population.add(killed)
    assert population.cached("y = 2\n") is None  # a killed evaluation says nothing of it


def test_near_copies_are_found_but_exact_copies_are_the_caches() -> None:
    code = "def f(a, b):\n    total = a + b\n    return total * 2 + 1\n"
    population = Population.of("maximize", NoveltyFilter(0.5), [c(1, code, 1.0)])
    near = asyncio.run(population.near_copy(code.replace("* 2 + 1", "* 2 + 3")))
    assert near is not None and near[0] == 1 and 0.5 <= near[1] < 1
    assert asyncio.run(population.near_copy(code + "# comment\n")) is None


def test_what_registering_changed_is_said_once() -> None:
    """`add` says what changed: a new best, an improvement on the edited parent (compared with
    it, not with the best), and the ranking it joined or the equal program it displaced."""
    population = Population.of("maximize", NoveltyFilter(), [c(1, "x = 1", 1.0, 0)])
    population.add(c(2, "x = 2", 5.0, parents=(1,)))
    better = population.add(c(3, "x = 3", 2.0, parents=(1,)))
    assert better.improved_parent and not better.new_best and better.ranks
    assert (better.index, better.displaced) == (2, None)
    worse = population.add(c(4, "x = 4", 0.5, parents=(1,)))
    assert not worse.improved_parent and worse.ranks
    failed = population.add(c(5, "x = 5", None, parents=(1,)))
    assert not failed.improved_parent and not failed.ranks
    copy = population.add(c(6, "x = 3  # again", 2.0, parents=(3,)))
    assert not copy.ranks and not copy.improved_parent  # the same program ranks already
    rescored = population.add(c(7, "x = 3", 2.5, parents=(1,)))
    assert rescored.ranks and rescored.displaced == 3 and population.replaced == 1
    assert [population.improved(population.get(i)) for i in (2, 3, 4, 5, 7)] == [
        True, True, False, False, True,
    ]  # fmt: skip


def test_only_the_best_and_newest_programs_stay_in_memory(tmp_path, monkeypatch) -> None:
    """With a store to fetch from, programs outside the best ARCHIVE and the newest are left
    there, and come back whole when asked for."""
    import hone.population as population_module
    from hone.store import Store

    monkeypatch.setattr(population_module, "ARCHIVE", 10)
    monkeypatch.setattr(population_module, "_RECENT", 5)
    store = Store.create(tmp_path / "run")
    population = Population("maximize", NoveltyFilter(), fetch=store.candidates_by_id)
    for i in range(60):
        added = store.add_candidate(round=i, code=f"x = {i}\n")
        population.add(
            store.set_evaluation(added, Evaluation(score=float(i % 17), feedback=f"#{i}"))
        )
    whole = [c for c in population.members if c.code is not None]
    assert 10 <= len(whole) <= 10 + 5 + 10  # the best ten, the newest, not yet compacted
    lean = next(c for c in population.members if c.stripped)
    assert lean.key and lean.evaluation.feedback  # what strategies need stays
    assert population.full(lean).code == f"x = {lean.id - 1}\n"
    assert population.cached(f"x = {lean.id - 1}\n").code == f"x = {lean.id - 1}\n"
    assert [c.id for c in population.ranked] == sorted(
        (c.id for c in population.ranked), key=lambda i: (-population.get(i).score, i)
    )
