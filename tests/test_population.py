"""The population: best so far, the evaluation cache, the near-copy filter."""

import asyncio
import dataclasses

from hone.evaluation import Evaluation
from hone.novelty import NoveltyFilter
from hone.population import TUNE, Candidate, Population
from hone.tree import Tree


def c(id: int, code: str, score: float | None, round: int = 1, parents=()) -> Candidate:
    evaluation = Evaluation(score=score) if score is not None else Evaluation.failed("error", "x")
    return Candidate(id, round, Tree.one("program.py", code), evaluation, tuple(parents))


def test_best_so_far_follows_the_objective() -> None:
    low = Population.of("minimize", NoveltyFilter(), [c(1, "x = 1", 3.0, 0), c(2, "x = 2", 1.0)])
    assert low.best is not None and low.best.id == 2 and low.best_round == 1
    assert not low.add(c(3, "x = 3", 2.0, 2)).new_best
    assert low.add(c(4, "x = 4", 0.5, 3)).new_best and low.best_round == 3
    assert [m.id for m in low.of_round(1)] == [2] and 4 in low and 9 not in low


def test_the_cache_ignores_comments_and_layout_and_skips_killed_programs() -> None:
    population = Population.of("maximize", NoveltyFilter(), [c(1, "x = 1\n", 1.0)])
    assert population.cached(Tree.one("program.py", "x  =  1  # the same\n")) is not None
    killed = Candidate(2, 1, Tree.one("program.py", "y = 2\n"), Evaluation.failed("killed", "oom"))
    population.add(killed)
    assert (
        population.cached(Tree.one("program.py", "y = 2\n")) is None
    )  # a killed evaluation says nothing of it


def test_near_copies_are_found_but_exact_copies_are_the_caches() -> None:
    code = "def f(a, b):\n    total = a + b\n    return total * 2 + 1\n"
    population = Population.of("maximize", NoveltyFilter(0.5), [c(1, code, 1.0)])
    near = asyncio.run(
        population.near_copy(Tree.one("program.py", code.replace("* 2 + 1", "* 2 + 3")))
    )
    assert near is not None and near[0] == 1 and 0.5 <= near[1] < 1
    assert asyncio.run(population.near_copy(Tree.one("program.py", code + "# comment\n"))) is None


def test_copies_count_the_newest_model_answers_that_copied_an_evaluated_program() -> None:
    """A cache hit, a near copy and a repeat of the parent count; the start and tuning
    trials do not; only the newest two model answers are looked at."""
    from hone.edits import REPEAT

    def failed(id: int, status, reason: str = "x", kind: str = "") -> Candidate:
        return Candidate(id, 1, None, Evaluation.failed(status, reason), (1,), kind=kind)

    population = Population.of("maximize", NoveltyFilter(), [c(1, "x = 1", 1.0)])
    population.add(dataclasses.replace(c(2, "x = 1", 1.0, parents=(1,)), cached_from=1))
    assert population.copies == 1
    population.add(failed(3, "invalid-edit", REPEAT, kind=TUNE))
    assert population.copies == 1
    population.add(failed(4, "duplicate"))
    population.add(failed(5, "invalid-edit", REPEAT))
    assert population.copies == 2
    population.add(failed(6, "error"))
    population.add(c(7, "x = 7", 0.5, parents=(1,)))
    assert population.copies == 0


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
        added = store.add_candidate(round=i, tree=Tree.one("program.py", f"x = {i}\n"))
        population.add(
            store.set_evaluation(added, Evaluation(score=float(i % 17), feedback=f"#{i}"))
        )
    whole = [c for c in population.members if c.code is not None]
    assert 10 <= len(whole) <= 10 + 5 + 10  # the best ten, the newest, not yet compacted
    lean = next(c for c in population.members if c.stripped)
    assert lean.key and lean.evaluation.feedback  # what strategies need stays
    assert population.full(lean).code == f"x = {lean.id - 1}\n"
    found = population.cached(Tree.one("program.py", f"x = {lean.id - 1}\n"))
    assert found is not None and found.code == f"x = {lean.id - 1}\n"
    assert [c.id for c in population.ranked] == sorted(
        (c.id for c in population.ranked), key=lambda i: (-population.get(i).score, i)
    )


def _filled(tmp_path, monkeypatch, n: int, archive: int = 10, recent: int = 5):
    """A store of n evaluated hypotheses (every seventh failed, scores repeating so that some
    programs come again and displace their earlier selves) registered into two populations:
    one with the store to read from, one holding everything in memory."""
    import hone.population as population_module
    from hone.store import Store

    monkeypatch.setattr(population_module, "ARCHIVE", archive)
    monkeypatch.setattr(population_module, "_RECENT", recent)
    monkeypatch.setattr(population_module, "_FAILURES_KEPT", 3)
    store = Store.create(tmp_path / "run")
    lean = Population(
        "maximize", NoveltyFilter(), fetch=store.candidates_by_id, lean=store.lean_by_id
    )
    whole = Population("maximize", NoveltyFilter())
    for i in range(n):
        code = f"x = {i % 40}\n"  # (programs come again: the cache and the ranking dedupe)
        added = store.add_candidate(round=i // 4, tree=Tree.one("program.py", code),
                                    parent_ids=(max(i - 3, 1),) if i else ())  # fmt: skip
        evaluation = (
            Evaluation.failed("error", f"#{i}")
            if i % 7 == 3
            else Evaluation(score=float((i * 13) % 29), metrics={"m": i / n})
        )
        candidate = store.set_evaluation(added, evaluation)
        one, two = lean.add(candidate), whole.add(candidate)
        assert (one.new_best, one.improved_parent, one.ranks, one.displaced) == (
            two.new_best, two.improved_parent, two.ranks, two.displaced,
        )  # fmt: skip
    return store, lean, whole


def test_a_long_run_keeps_only_what_strategies_draw_from_and_reads_the_rest(
    tmp_path, monkeypatch
) -> None:
    """With a store, the candidates held in memory stay bounded however long the run (the
    best ARCHIVE, the newest, the newest failures), yet the population answers as one holding
    everything does: members, ranking, cache, parents, rounds, failures."""
    store, lean, whole = _filled(tmp_path, monkeypatch, 400)
    assert lean.held <= 10 + 5 + 3 + 1 + 10 + 2  # (the rest left since the last compaction)
    assert whole.held == 400
    assert [c.id for c in lean.members] == [c.id for c in whole.members]
    assert [c.id for c in lean.members[100:110]] == list(range(101, 111))
    assert [c.id for c in lean.ranked] == [c.id for c in whole.ranked[:10]]
    assert [c.id for c in lean.ranking()] == [c.id for c in whole.ranked]
    assert lean.replaced == whole.replaced > 0
    old = lean.get(2)  # (long left in the store: read back by id, as compaction leaves it)
    assert old.stripped and old.evaluation == whole.get(2).evaluation
    assert lean.full(old).code == whole.get(2).code
    for i in (1, 5, 39):
        program = Tree.one("program.py", f"x = {i}\n")
        found, expected = lean.cached(program), whole.cached(program)
        assert found is not None and expected is not None and found.id == expected.id
    assert [lean.ranks(c) for c in lean.members] == [whole.ranks(c) for c in whole.members]
    assert [lean.improved(c) for c in lean.members] == [whole.improved(c) for c in whole.members]
    assert lean.children == whole.children and lean.children[7] == whole.children[7] > 0
    assert [c.id for c in lean.recent_failures(5)] == [c.id for c in whole.recent_failures(5)]
    assert [c.id for c in lean.of_round(3)] == [c.id for c in whole.of_round(3)]  # (old round)
    assert [c.id for c in lean.of_round(99)] == [c.id for c in whole.of_round(99)]
    assert 9999 not in lean and 400 in lean
    store.close()


def test_programs_of_one_hash_stay_apart(tmp_path, monkeypatch) -> None:
    """Program keys are found by a hash of 63 bits; should two keys share one, each program
    keeps its own cache entry and ranking (the id found is checked against the key)."""
    import hone.population as population_module

    monkeypatch.setattr(population_module, "_hash", lambda key: 12345)
    store, lean, whole = _filled(tmp_path, monkeypatch, 120)
    for i in range(40):
        found = lean.cached(Tree.one("program.py", f"x = {i}\n"))
        assert found is not None and found.code == f"x = {i}\n"
    assert [c.id for c in lean.ranking()] == [c.id for c in whole.ranked]
    store.close()


def test_a_best_program_read_back_whole_stays_whole(tmp_path, monkeypatch) -> None:
    """A resumed run registers its hypotheses without their programs; one of the best that a
    prompt brought back whole (`full`) stays whole, so the next prompt reads nothing."""
    store, _, _ = _filled(tmp_path, monkeypatch, 60)
    ids = [c.id for c in store.each_candidate(lean=True)]
    resumed = Population.of(
        "maximize", NoveltyFilter(), store.lean_by_id(ids), store.candidates_by_id, store.lean_by_id
    )
    best = resumed.ranked[0]
    assert best.stripped and resumed.full(best).code is not None
    read: list[int] = []
    monkeypatch.setattr(resumed, "fetch", lambda ids: read.extend(ids) or [])
    assert resumed.full(resumed.ranked[0]).code == resumed.full(resumed.get(best.id)).code
    assert read == [] and resumed.ranked[0].id == best.id
    store.close()
