"""Search strategies: given this population and this seed, these parents."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from hone.evaluation import Evaluation
from hone.exceptions import ConfigError
from hone.population import Candidate
from hone.settings import SearchConfig
from hone.strategies import TopK, make_strategy
from hone.strategies.islands import Islands
from hone.strategies.map_elites import MapElites
from hone.strategies.weighted import Weighted
from hone.tree import Tree


def cand(
    id: int,
    score: float | None,
    *,
    parent: int | None = None,
    niche: int | None = None,
    **metrics: float,
) -> Candidate:
    evaluation = (
        Evaluation(score=score, metrics=metrics)
        if score is not None
        else Evaluation.failed("error", "boom")
    )
    return Candidate(
        id=id,
        round=0 if parent is None else 1,
        tree=Tree.one("program.py", f"def f():\n    return {id}\n"),
        evaluation=evaluation,
        parent_ids=() if parent is None else (parent,),
        niche=niche,
    )


def test_weighted_prefers_good_programs_but_rewards_unused_ones() -> None:
    population = [cand(1, 1.0), cand(2, 5.0), cand(3, 4.9), cand(4, 0.0)]
    population += [cand(10 + i, None, parent=2) for i in range(6)]  # #2 was tried six times
    weights = {c.id: w for c, w in Weighted("maximize").weights(population)}
    assert weights[3] > weights[2] > weights[4]  # #3 is nearly as good and never tried
    assert weights[1] > weights[4]
    draws = Counter(
        Weighted("maximize").select(population, random.Random(s)).parent.id for s in range(400)
    )
    assert draws[3] == max(draws.values())
    assert draws[4] < draws[1] < draws[3]


def test_weighted_draws_are_reproducible_and_respect_minimize() -> None:
    population = [cand(1, 3.0), cand(2, 1.0), cand(3, 2.0)]
    picks = [Weighted("minimize").select(population, random.Random(7)).parent.id for _ in range(2)]
    assert picks[0] == picks[1]
    weights = {c.id: w for c, w in Weighted("minimize").weights(population)}
    assert weights[2] > weights[3] > weights[1]


def test_islands_keep_lineages_apart() -> None:
    start = cand(1, 0.0)
    population = [start, cand(2, 5.0, parent=1, niche=0), cand(3, 1.0, parent=1, niche=1)]
    strategy = Islands("maximize", count=2, reset_every=100)
    islands = strategy.members(population)
    assert [c.id for c in islands[0]] == [1, 2] and [c.id for c in islands[1]] == [1, 3]
    chosen = {}
    for seed in range(20):
        selection = strategy.select(population, random.Random(seed))
        chosen[selection.niche] = selection.parent.id
    assert chosen == {0: 2, 1: 3}  # each island improves its own best, not the global best


def test_islands_reset_the_weaker_half_from_a_survivor() -> None:
    population = [cand(1, 0.0)]
    scores = {0: [1.0, 2.0], 1: [9.0, 8.0], 2: [3.0, 4.0], 3: [0.5, 0.1]}
    next_id = 2
    for round_ in range(2):
        for island in range(4):
            population.append(cand(next_id, scores[island][round_], parent=1, niche=island))
            next_id += 1
    strategy = Islands("maximize", count=4, reset_every=8)
    islands = strategy.members(population)  # the 8th placement triggered the reset
    bests = [max(c.score or 0 for c in island) for island in islands]
    assert bests[1] == 9.0 and bests[2] == 4.0  # the stronger half is untouched
    assert len(islands[1]) == 3 and len(islands[2]) == 3
    for weak in (0, 3):  # re-seeded with one survivor's best
        assert [c.id for c in islands[weak]] in ([population[2].id], [population[7].id])


def test_map_elites_keeps_the_best_of_each_cell_and_picks_cells_uniformly() -> None:
    population = [
        cand(1, 1.0, size=1.0),
        cand(2, 3.0, size=1.5),  # same cell as #1, better: the elite
        cand(3, 2.0, size=5.0),
        cand(4, 0.5, size=9.0),
        cand(5, 9.0),  # no feature: not in the grid
    ]
    strategy = MapElites("maximize", {"size": [0, 10, 5]}, k=2)
    assert {cell: c.id for cell, c in strategy.elites(population).items()} == {
        (0,): 2,
        (2,): 3,
        (4,): 4,
    }
    parents = Counter(strategy.select(population, random.Random(s)).parent.id for s in range(300))
    assert set(parents) == {2, 3, 4} and min(parents.values()) > 60
    selection = strategy.select(population, random.Random(0))
    assert len(selection.inspirations) == 1
    assert selection.inspirations[0].id in {2, 3, 4} - {selection.parent.id}


def test_map_elites_ranges_can_follow_the_values_seen() -> None:
    """{metric: [bins]}: min-max scaled over the population, as OpenEvolve scales features."""
    population = [cand(1, 1.0, size=100.0), cand(2, 2.0, size=150.0), cand(3, 3.0, size=200.0)]
    strategy = MapElites("maximize", {"size": [4]})
    assert {c.id: cell for cell, c in strategy.elites(population).items()} == {
        1: (0,),
        2: (2,),
        3: (3,),  # the top of the range is in the last bin
    }
    alone = MapElites("maximize", {"size": [4]}).elites(population[:1])
    assert list(alone) == [(2,)]  # one value: the middle, as OpenEvolve puts it


def test_map_elites_built_in_features() -> None:
    """complexity (characters), score and diversity come from the program when the evaluator
    does not report them; a metric of the same name wins."""
    short = Candidate(1, 0, Tree.one("p.py", "x = 1\n"), Evaluation(score=1.0))
    long = Candidate(2, 0, Tree.one("p.py", "x = 1\n" + "y = [2, 3]\n" * 20), Evaluation(score=3.0))
    reported = Candidate(
        3, 0, Tree.one("p.py", "x = 2\n"), Evaluation(score=2.0, metrics={"complexity": 999.0})
    )
    population = [short, long, reported]
    by_size = MapElites("maximize", {"complexity": [0, 1000, 10]}).elites(population)
    assert {c.id: cell for cell, c in by_size.items()} == {1: (0,), 2: (2,), 3: (9,)}
    by_score = MapElites("maximize", {"score": [1, 3, 2]}).elites(population)
    assert {c.id: cell for cell, c in by_score.items()} == {1: (0,), 2: (1,)}  # 2 beats 3

    def distance(a: str, b: str) -> float:  # length, lines, characters used
        return (
            0.1 * abs(len(a) - len(b))
            + 10 * abs(a.count("\n") - b.count("\n"))
            + 0.5 * len(set(a) ^ set(b))
        )

    strategy = MapElites("maximize", {"diversity": [0, 200, 4]})
    codes = {c.id: c.code or "" for c in population}
    expected = (distance(codes[2], codes[1]) + distance(codes[2], codes[3])) / 2
    assert strategy._value("diversity", long, population) == pytest.approx(expected)
    assert strategy._value("diversity", short, population) == pytest.approx(
        (distance(codes[1], codes[2]) + distance(codes[1], codes[3])) / 2
    )
    assert strategy.cell(long, population) == (3,)  # far from both: beyond 200
    assert strategy.cell(short, population) == (2,)


def test_make_strategy_and_settings() -> None:
    assert isinstance(make_strategy(SearchConfig(), "maximize"), TopK)
    assert isinstance(
        make_strategy(SearchConfig(strategy="islands", islands=3), "minimize"), Islands
    )
    with pytest.raises(ConfigError, match="strategy must be one of 'top-k'"):
        SearchConfig(strategy="evolve-harder")
    with pytest.raises(ConfigError, match="needs \\[search\\] features"):
        SearchConfig(strategy="map-elites")
    with pytest.raises(ConfigError, match="low < high"):
        SearchConfig(strategy="map-elites", features={"x": [3, 1, 4]})


def test_power_law_weights_by_rank_only() -> None:
    population = [cand(1, 10.0), cand(2, 9.9), cand(3, -50.0)]
    weights = {c.id: w for c, w in Weighted("maximize", power=1.0).weights(population)}
    assert weights == {1: 1.0, 2: 0.5, 3: pytest.approx(1 / 3)}
    assert isinstance(make_strategy(SearchConfig(strategy="power-law"), "maximize"), Weighted)


def test_pareto_front_and_choice() -> None:
    from hone.strategies.pareto import Pareto

    population = [
        cand(1, 0.0, speed=1.0, size=10.0),  # dominated by #2
        cand(2, 0.0, speed=2.0, size=10.0),
        cand(3, 0.0, speed=1.0, size=5.0),  # smaller: on the front
        cand(4, 0.0, speed=3.0, size=20.0),  # fastest: on the front
        cand(5, 0.0, speed=0.5, size=30.0),  # dominated by everything
        cand(6, 0.0),  # reports no objectives
    ]
    strategy = Pareto("maximize", {"speed": "maximize", "size": "minimize"}, k=2)
    assert [c.id for c in strategy.front(population)] == [2, 3, 4]
    parents = Counter(strategy.select(population, random.Random(s)).parent.id for s in range(300))
    assert set(parents) == {2, 3, 4} and min(parents.values()) > 70
    assert len(strategy.select(population, random.Random(0)).inspirations) == 1
    with pytest.raises(ConfigError, match="two or more"):
        SearchConfig(strategy="pareto", objectives={"speed": "maximize"})
    with pytest.raises(ConfigError, match="'maximize' or 'minimize'"):
        SearchConfig(strategy="pareto", objectives={"a": "up", "b": "maximize"})


def _growing_run(seed: int, n: int, founders: tuple[int, ...] = ()) -> list[Candidate]:
    """A run's hypotheses: repeated programs, failures, islands, two metrics; the ids in
    `founders` are on no island (starting programs, tuning trials of one)."""
    rng = random.Random(seed)
    found = [cand(1, 0.0, x=0.5, y=0.5)]
    for i in range(2, n + 1):
        score = None if rng.random() < 0.2 else round(rng.uniform(0, 10), 1)
        program = f"def f():\n    return {rng.randrange(n // 3)}\n"  # copies come back
        evaluation = (
            Evaluation(score=score, metrics={"x": rng.random(), "y": rng.random()})
            if score is not None
            else Evaluation.failed("error", "boom")
        )
        niche = None if i in founders else rng.randrange(3)
        found.append(Candidate(i, i // 4, Tree.one("p.py", program), evaluation, (1,), niche=niche))
    return found


@pytest.mark.parametrize(
    "name", ["top-k", "weighted", "power-law", "islands", "map-elites", "pareto"]
)
def test_told_as_hypotheses_come_is_the_same_as_worked_out_anew(name: str) -> None:
    """A strategy told of each hypothesis as it is registered chooses what it would choose
    from the whole population at once (what a resumed run does), and keeps its state up to
    date as it is told (a choice does not go back over the population)."""
    from hone.novelty import NoveltyFilter
    from hone.population import Population

    search = SearchConfig(
        strategy=name,
        islands=3,
        reset_every=15,
        features={"x": [0.0, 1.0, 4.0], "y": [4.0]},
        objectives={"x": "maximize", "y": "minimize"},
    )
    # founders: an archive program at first, tuning trials of a founder later (in a row)
    run = _growing_run(5, 300, founders=(2, 90, 150, 151, 152, 230))
    growing = Population("maximize", NoveltyFilter())
    following = make_strategy(search, "maximize")
    for step, candidate in enumerate(run):
        following.tell(growing.add(candidate), growing)
        state = getattr(following, "state", getattr(following, "grid", None))
        assert state is None or (state.of, state.told) == (growing, step + 1)
        if step % 7 == 0 or step == len(run) - 1:
            anew = make_strategy(search, "maximize")
            for seed in (step, step + 1):
                a = following.select(growing, random.Random(seed))
                b = anew.select(list(run[: step + 1]), random.Random(seed))
                assert (a.parent.id, [c.id for c in a.inspirations], a.niche) == (
                    b.parent.id,
                    [c.id for c in b.inspirations],
                    b.niche,
                ), (name, step)
                assert [c.id for c in a.failures] == [c.id for c in b.failures]


def _told(search: SearchConfig, run: list[Candidate]) -> tuple[object, list[dict[str, object]]]:
    """The strategy told of every hypothesis of `run` in order, and each placement's JSON."""
    from hone.novelty import NoveltyFilter
    from hone.population import Population

    population = Population("maximize", NoveltyFilter())
    strategy = make_strategy(search, "maximize")
    placements = [strategy.tell(population.add(c), population).as_json() for c in run]
    return strategy, placements


def test_map_elites_placements_redraw_the_grid_it_keeps() -> None:
    """Replaying the placements (the last grid worked out anew, then each elite since), as
    the dashboard does, gives the grid the strategy keeps, also with ranges that follow the
    values and the diversity feature, which redo the grid as they change."""
    search = SearchConfig(
        strategy="map-elites", features={"x": [4.0], "y": [0.0, 1.0, 3.0], "diversity": [2.0]}
    )
    run = _growing_run(7, 200)
    for upto in (1, 30, 200):
        strategy, placements = _told(search, run[:upto])
        assert isinstance(strategy, MapElites)
        cells: dict[tuple[int, ...], int] = {}
        for candidate, placed in zip(run, placements, strict=False):
            if "grid" in placed:
                cells = {tuple(e["cell"]): e["id"] for e in placed["grid"]}  # type: ignore[attr-defined]
            elif placed.get("elite"):
                cells[tuple(placed["cell"])] = candidate.id  # type: ignore[arg-type]
        assert cells == {cell: c.id for cell, c in strategy.elites(run[:upto]).items()}
    redone = [p for p in placements if "grid" in p]
    assert 1 < len(redone) < len(run) / 2  # as a range grows or a copy rescores, not always
    failed = next(p for c, p in zip(run, placements, strict=True) if c.score is None)
    assert set(failed) <= {"elite", "ranges", "grid"} and failed["elite"] is False  # no cell
    last = placements[-1]
    assert set(last["features"]) == {"diversity", "x", "y"}  # type: ignore[arg-type]
    diversity, x, y = last["ranges"]  # type: ignore[misc]  # (in name order)
    assert (diversity[2], x[2], y) == (2, 4, (0.0, 1.0, 3))  # x follows the values seen
    assert 0 < x[0] < x[1] < 1


def test_pareto_placements_redraw_the_front_it_keeps() -> None:
    search = SearchConfig(strategy="pareto", objectives={"x": "maximize", "y": "minimize"})
    run = _growing_run(3, 150)
    strategy, placements = _told(search, run)
    front: set[int] = set()
    for candidate, placed in zip(run, placements, strict=True):
        if "members" in placed:
            front = set(placed["members"])  # type: ignore[call-overload]
            continue
        front -= set(placed.get("dominated", ()))  # type: ignore[call-overload]
        if placed["front"]:
            front.add(candidate.id)
    assert sorted(front) == [c.id for c in strategy.front(run)]  # type: ignore[attr-defined]
    assert any(p.get("dominated") for p in placements)


def test_islands_placements_say_the_island_and_the_resets() -> None:
    search = SearchConfig(strategy="islands", islands=3, reset_every=15)
    run = _growing_run(5, 100)
    strategy, placements = _told(search, run)
    assert placements[0] == {"founder": True, "rebuilt": False}
    assert [p.get("island") for p in placements[1:]] == [c.niche for c in run[1:]]
    resets = [(i, p["resets"]) for i, p in enumerate(placements) if "resets" in p]
    assert [i for i, _ in resets] == [15, 30, 45, 60, 75, 90]  # every 15 placed (#1 is a founder)
    for _, done in resets:  # the weaker one of three, from a survivor's best
        [reset] = done  # type: ignore[misc]
        assert reset["island"] != reset["donor"] and reset["seed"] is not None
    assert isinstance(strategy, Islands)
    last = resets[-1][1][0]  # type: ignore[index]
    assert strategy.members(run)[last["island"]][0].id == last["seed"]


def test_a_feature_or_objective_that_is_not_finite_places_no_program() -> None:
    """An evaluator's inf or nan (kept as a metric) puts that program on no cell and off the
    front, instead of stretching a range to infinity (an OverflowError) or hiding the others."""
    from hone.strategies.pareto import Pareto

    population = [
        cand(1, 1.0, x=0.5, y=1.0),
        cand(2, 2.0, x=float("nan"), y=float("inf")),
        cand(3, 3.0, x=0.9, y=0.5),
    ]
    follows = MapElites("maximize", {"x": [4.0], "y": [0.0, 2.0, 2.0]})
    assert {c.id: cell for cell, c in follows.elites(population).items()} == {1: (0, 1), 3: (3, 0)}
    _, placements = _told(
        SearchConfig(strategy="map-elites", features={"x": [4.0], "y": [0.0, 2.0, 2.0]}),
        population,
    )
    assert "cell" not in placements[1] and set(placements[1]["features"]) == {"x", "y"}  # type: ignore[arg-type]
    front = Pareto("maximize", {"x": "maximize", "y": "minimize"}).front(population)
    assert [c.id for c in front] == [3]
