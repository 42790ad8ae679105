"""The cycle end to end with scripted models: stop rules, persistence, resume, determinism."""

import asyncio
import dataclasses
import json
import random
import sqlite3
import subprocess
from pathlib import Path

import pytest

import hone
from hone.budget import Budget
from hone.cli import main
from hone.exceptions import ModelError, UserError
from hone.loop import Loop
from hone.models.base import Request
from hone.store import Store, opened
from hone.task import Task
from hone.testing import FunctionModel, ScriptedModel
from hone.tree import Tree
from tests.conftest import EVALUATOR, PROGRAM, answer
from tests.faults.server import FaultServer
from tests.helpers import (
    FakeClock,
    block,
    environment,
    hone_command,
    stored_calls,
    task_of,
    value_of,
)


def run(
    task_dir: Path, tmp_path: Path, model, width: int = 2, fix: int = 0, **budget
) -> hone.RunResult:
    """Run with `width` hypotheses in flight (1 makes the order of events deterministic) and
    `fix` fix attempts per failed edit (none unless a test is about them)."""
    task = task_of(task_dir, width, fix, **budget)
    return hone.run(task, model=model, run_dir=tmp_path / "run", seed=1)


def test_stops_at_target_and_keeps_everything(make_task, tmp_path: Path) -> None:
    model = ScriptedModel([block(4.0), block(10.0), block(99.0)])
    result = run(make_task(), tmp_path, model, width=1, target=0.0)
    assert result.stop_reason == "target"
    assert result.best is not None and result.best.score == 0.0
    assert "return 10.0" in (result.best.code or "")
    assert len(model.requests) == 2  # the second hypothesis reaches the target: no third
    assert [c.score for c in result.history] == [-9.0, -6.0, 0.0]
    assert result.history[1].parent_ids == (1,)
    assert (tmp_path / "run" / "best.py").read_text() == result.best.code
    assert "network" in result.sandbox  # what protected the candidates is part of the result
    with sqlite3.connect(tmp_path / "run" / "hone.db") as db:
        assert db.execute("SELECT COUNT(*) FROM llm_calls").fetchone()[0] == 2
        assert db.execute("SELECT COUNT(*) FROM candidates WHERE status='ok'").fetchone()[0] == 3


def test_patience_stops_a_run_that_no_longer_improves(make_task, tmp_path: Path) -> None:
    # Round 1 improves; afterwards the SEARCH text no longer matches the parent.
    model = FunctionModel(lambda request: answer(2.0))
    result = run(make_task(), tmp_path, model, patience=2)
    assert result.stop_reason == "patience"
    assert max(c.round for c in result.history) == 3
    assert result.best is not None and result.best.score == -8.0
    rejected = [c for c in result.history if c.evaluation.status == "invalid-edit"]
    assert rejected and all("does not match" in c.evaluation.reason for c in rejected)


@pytest.mark.parametrize(
    ("budget", "reason", "calls"),
    [
        ({"max_llm_calls": 5}, "max_llm_calls", 5),
        ({"max_rounds": 2}, "max_rounds", 4),
        ({"max_tokens": 1}, "max_tokens", 2),
    ],
)
def test_budgets_stop_the_run(
    make_task, tmp_path: Path, budget: dict, reason: str, calls: int
) -> None:
    counter = iter(range(1, 1000))
    model = FunctionModel(lambda request: answer(float(next(counter)) / 10))
    result = run(make_task(), tmp_path, model, **budget)
    assert result.stop_reason == reason
    assert result.usage.calls == calls == len(model.requests)


def test_a_slow_model_call_does_not_hold_back_the_others(make_task, tmp_path: Path) -> None:
    release = asyncio.Event()
    counter = iter(range(1, 1000))

    async def answers(request: Request) -> str:
        n = next(counter)
        if n == 1:
            await release.wait()  # the first call hangs until five others were stored
        elif n == 6:
            release.set()
        return answer(float(n))

    result = run(make_task(), tmp_path, FunctionModel(answers), max_llm_calls=6)
    assert result.usage.calls == 6
    order = [call["completion"] for call in stored_calls(tmp_path / "run" / "hone.db")]
    assert "return 1.0" in order[-1]  # stored last: the others did not wait for it
    rounds = sorted(c.round for c in result.history if c.round > 0)
    assert rounds == [1, 1, 2, 2, 3, 3]  # a round is every two hypotheses started


def test_an_identical_program_is_not_evaluated_twice(make_task, tmp_path: Path) -> None:
    same = "```python\ndef f():\n    # the same program, commented\n    return 2.0\n```"
    model = ScriptedModel([block(3.0), block(2.0), same])
    result = run(make_task(), tmp_path, model, width=1, max_llm_calls=3)
    _start, better, worse, again = result.history
    assert again.cached_from == worse.id and worse.cached_from is None
    assert again.evaluation.score == worse.evaluation.score == -8.0
    assert again.evaluation.seconds == 0.0 < worse.evaluation.seconds
    assert again.parent_ids[0] == better.id  # not a copy of its parent: a cache hit


def test_answers_that_copy_evaluated_programs_raise_the_next_prompts_temperature(
    make_task, tmp_path: Path
) -> None:
    """An answer that copies a program evaluated before (a cache hit, not only its parent
    unchanged) adds 0.15 to the next prompts' temperature for each of the two newest answers
    that did, and a new program takes it back down."""
    same = "```python\ndef f():\n    # the same program, commented\n    return 2.0\n```"
    model = ScriptedModel([block(3.0), block(2.0), same, same, block(5.0), block(6.0)])
    result = run(make_task(), tmp_path, model, width=1, max_llm_calls=6)
    copies = [c.cached_from is not None or c.evaluation.status != "ok" for c in result.history]
    assert copies == [False, False, False, True, True, False, False]
    heats = [round(r.temperature - Request.temperature, 2) for r in model.requests]
    assert heats == [0.0, 0.0, 0.0, 0.15, 0.3, 0.15]


def run_on(clock: FakeClock, task: Task, tmp_path: Path, model) -> hone.RunResult:
    """A run whose time budget reads `clock`, its candidates verified in this process."""
    from hone.session import Session, run_meta
    from hone.testing import FunctionVerifier

    verifier = FunctionVerifier(lambda program: -abs(value_of(program) - 10))
    store = Store.create(tmp_path / "run", run_meta(task, 1))
    return asyncio.run(Session(task, store, 1, model=model, executor=verifier, clock=clock).drive())


def test_the_time_budget_reads_the_injected_clock(make_task, tmp_path: Path) -> None:
    clock, counter = FakeClock(), iter(range(1, 1000))

    def answers(request: Request) -> str:
        n = next(counter)
        if n == 3:
            clock.advance(60)  # the third answer takes a minute
        return block(float(n + 1))

    task = task_of(make_task(), width=1, max_seconds=60)
    result = run_on(clock, task, tmp_path, FunctionModel(answers))
    assert result.stop_reason == "max_seconds"
    assert result.usage.calls == 3 and [c.score for c in result.history] == [-9, -8, -7, -6]


def test_when_time_is_up_the_hypotheses_in_flight_are_not_waited_for(
    make_task, tmp_path: Path
) -> None:
    clock, counter = FakeClock(), iter(range(1000))

    async def answers(request: Request) -> str:
        n = next(counter)
        if n == 1:  # time runs out while this answer is awaited, and it never comes
            clock.advance(60)
            await asyncio.Event().wait()
        return block(4.0)

    task = task_of(make_task(), width=2, max_seconds=60)
    result = run_on(clock, task, tmp_path, FunctionModel(answers))
    assert result.stop_reason == "max_seconds"
    assert [c.score for c in result.history] == [-9.0, -6.0]  # the other answer counts
    assert result.usage.calls == 1


def test_a_model_call_past_its_deadline_is_a_model_error(make_task, tmp_path: Path) -> None:
    async def slow(request: Request) -> str:
        await asyncio.sleep(10)
        return answer(2.0)

    task = Task.from_dir(make_task())
    task = dataclasses.replace(task, model=dataclasses.replace(task.model, timeout=0.2))
    with pytest.raises(ModelError, match=r"did not answer within 0.2 s"):
        hone.run(task, model=FunctionModel(slow), run_dir=tmp_path / "run")
    assert [c.score for c in Store.open(tmp_path / "run").candidates()] == [-9.0]


def test_a_failed_edit_goes_back_once_with_its_error(make_task, tmp_path: Path) -> None:
    wrong = "<<<<<<< SEARCH\n    return 7.0\n=======\n    return 3.0\n>>>>>>> REPLACE\n"
    model = ScriptedModel([wrong, answer(3.0), wrong, wrong])
    result = run(make_task(), tmp_path, model, width=1, fix=1, max_llm_calls=4)
    fixed, dropped = result.history[1:]
    assert fixed.evaluation.ok and fixed.score == -7.0  # the second answer applied
    second = model.requests[1].messages
    assert second[-2].role == "assistant" and second[-2].content == wrong
    assert second[-1].role == "user" and "does not match the program exactly" in second[-1].content
    assert dropped.evaluation.status == "invalid-edit"  # its fix failed too: dropped
    assert "does not match" in dropped.evaluation.reason
    assert result.usage.calls == 4 and len(result.history) == 3
    with sqlite3.connect(tmp_path / "run" / "hone.db") as db:  # each call says what it was for
        rows = db.execute("SELECT id, purpose FROM llm_calls ORDER BY id").fetchall()
    purposes = [json.loads(p) for _, p in rows]
    assert [p["kind"] for p in purposes] == ["improve", "fix", "improve", "fix"]
    assert purposes[1]["fixes"] == "improve" and purposes[1]["answer_of"] == rows[0][0]


def test_zero_calls_evaluates_the_start_only(make_task, tmp_path: Path) -> None:
    model = ScriptedModel([])
    result = run(make_task(), tmp_path, model, max_llm_calls=0)
    assert result.stop_reason == "max_llm_calls"
    assert result.best is not None and result.best.score == -9.0
    assert result.best.evaluation.feedback == "f() = 1.0"
    assert model.requests == []


def test_the_archive_is_evaluated_with_the_start_and_seeds_the_prompts(
    make_task, tmp_path: Path
) -> None:
    task_dir = make_task('archive = ["more/seven.py", "more/broken.py"]')
    (task_dir / "more").mkdir()
    (task_dir / "more" / "seven.py").write_text(PROGRAM.replace("return 1.0", "return 7.0"))
    (task_dir / "more" / "broken.py").write_text(PROGRAM.replace("return 1.0", "return 1 / 0"))
    model = ScriptedModel([block(8.0)])
    result = run(task_dir, tmp_path, model, width=1, max_llm_calls=1)
    assert [c.id for c in result.history[:3]] == [1, 2, 3]  # in the archive's order
    assert [c.score for c in result.history[:3]] == [-9.0, -3.0, None]
    assert result.history[2].evaluation.status == "error"  # a failing entry is data
    assert all(c.round == 0 and c.call_id is None for c in result.history[:3])
    # The first prompt builds on the best of them, the archive's seven.
    assert "return 7.0" in (model.requests[0].text or model.requests[0].as_text())
    assert result.best is not None and result.best.score == -2.0
    assert result.history[3].parent_ids == (2, 1)  # the best two, best first


def test_garbage_answers_are_recorded_and_the_run_goes_on(make_task, tmp_path: Path) -> None:
    model = FunctionModel(lambda request: "\x00 not code at all }}}")
    result = run(make_task(), tmp_path, model, max_llm_calls=4)
    assert result.stop_reason == "max_llm_calls"
    failed = [c for c in result.history if c.round > 0]
    assert len(failed) == 4
    assert all(c.evaluation.status == "invalid-edit" for c in failed)
    assert all("no code" in c.evaluation.reason for c in failed)


def test_failures_go_back_to_the_model(make_task, tmp_path: Path) -> None:
    answers = [
        "```python\ndef f():\n    raise RuntimeError('boom')\n```",
        answer(3.0),
        answer(5.0),
        answer(6.0),
    ]
    model = ScriptedModel(answers)
    run(make_task(), tmp_path, model, width=1, max_llm_calls=4)
    second = model.requests[1].as_text()
    assert "RuntimeError: boom" in second
    assert "(error)" in second


def test_model_failing_every_call_stops_with_the_model_error(make_task, tmp_path: Path) -> None:
    def broken(request: Request) -> str:
        raise ModelError("cannot reach the model server at http://127.0.0.1:9; is it running?")

    with pytest.raises(ModelError, match="cannot reach"):
        run(make_task(), tmp_path, FunctionModel(broken))
    store = Store.open(tmp_path / "run")
    assert [c.score for c in store.candidates()] == [-9.0]  # the start is kept
    assert store.meta().status == "failed" and "cannot reach" in store.meta().error
    with sqlite3.connect(tmp_path / "run" / "hone.db") as db:
        failed = db.execute("SELECT COUNT(*) FROM llm_calls WHERE error IS NOT NULL").fetchone()
    assert failed == (2,)  # the round's two failed calls, and no more


def test_failing_start_is_a_user_error_naming_the_file(make_task, tmp_path: Path) -> None:
    task_dir = make_task(
        program="def f():\n    return 1.0\n\ndef run():\n    raise KeyError('x')\n"
    )
    with pytest.raises(
        UserError, match=r"starting program 'initial.py' failed to evaluate \(error: KeyError"
    ):
        run(task_dir, tmp_path, ScriptedModel([answer(2.0)]))


def test_resume_evaluates_pending_hypotheses_without_calling_the_model(
    make_task, tmp_path: Path
) -> None:
    task_dir = make_task()
    run(task_dir, tmp_path, ScriptedModel([answer(2.0), answer(3.0)]), max_llm_calls=2)
    # Simulate a crash between a model answer and its evaluation.
    store = Store.open(tmp_path / "run")
    call = store.add_call(
        round=2,
        model="scripted",
        prompt="p",
        completion="c",
        prompt_tokens=1,
        completion_tokens=1,
        started=0.0,
        latency=0.0,
    )
    program = Task.from_dir(task_dir).program.replace("return 1.0", "return 9.0")
    store.add_candidate(
        round=2, tree=Tree.one("program.py", program), parent_ids=(3,), call_id=call
    )
    store.close()
    model = ScriptedModel([])
    result = hone.resume(tmp_path / "run", budget={"max_llm_calls": 3}, model=model)
    assert model.requests == []
    assert result.best is not None and result.best.score == -1.0
    assert result.usage.calls == 3
    assert Store.open(tmp_path / "run").candidates(pending=True) == []


def test_same_seed_same_choices(make_task, tmp_path: Path) -> None:
    """The seed decides which parents each hypothesis is given."""

    def parents(seed: int, where: str) -> list[tuple[int, ...]]:
        model = FunctionModel(lambda r: block(float(r.seed % 7)))
        # Without the barrier, which parent a hypothesis gets depends on what finished first.
        task = task_of(task_dir, 2, max_llm_calls=8).configured(search={"deterministic": True})
        result = hone.run(task, model=model, run_dir=tmp_path / where, seed=seed)
        return [c.parent_ids for c in result.history if c.parent_ids]

    task_dir = make_task()
    chosen = parents(3, "a")
    assert len(set(chosen)) > 1  # (a choice was made)
    assert parents(3, "b") == chosen
    assert parents(4, "c") != chosen


def test_a_run_directory_is_never_overwritten(make_task, tmp_path: Path) -> None:
    task_dir = make_task()
    run(task_dir, tmp_path, ScriptedModel([]), max_llm_calls=0)
    with pytest.raises(hone.UserError, match="already holds a run"):
        run(task_dir, tmp_path, ScriptedModel([]), max_llm_calls=0)


def test_the_strategy_places_each_hypothesis_in_its_niche(make_task, tmp_path: Path) -> None:
    counter = iter(range(1, 1000))
    model = FunctionModel(lambda request: block(float(next(counter))))
    task = Task.from_dir(make_task())
    task = dataclasses.replace(
        task,
        budget=Budget(max_llm_calls=8, patience=None),
        search=dataclasses.replace(task.search, strategy="islands", islands=2, fix_attempts=0),
    )
    result = hone.run(task, model=model, run_dir=tmp_path / "run", seed=3)
    niches = [c.niche for c in result.history]
    assert niches[0] is None and set(niches[1:]) <= {0, 1} and len(niches) == 9
    stored = Store.open(tmp_path / "run").candidates()
    assert [c.niche for c in stored] == niches  # kept, so a resumed run sees the same islands


def test_reflection_after_each_round_and_insights_every_n(make_task, tmp_path: Path) -> None:
    counter = iter(range(1, 1000))

    def model(request: Request) -> str:
        text = request.as_text()
        n = next(counter)
        if "Analyse this round" in text:
            return f"- ANALYSIS-{n}: larger values scored better"
        if "Condense the insights" in text:
            return f"- INSIGHTS-{n}"
        return block(float(n))

    fm = FunctionModel(model)
    task = Task.from_dir(make_task())
    task = dataclasses.replace(
        task,
        budget=Budget(max_llm_calls=8, patience=None),
        search=dataclasses.replace(
            task.search, hypotheses_per_round=1, reflection=True, insights_every=2, fix_attempts=0
        ),
    )
    result = hone.run(task, model=fm, run_dir=tmp_path / "run")
    kinds = [
        "analysis"
        if "Analyse this round" in r.as_text()
        else "insights"
        if "Condense" in r.as_text()
        else "hypothesis"
        for r in fm.requests
    ]
    assert kinds == [
        "hypothesis", "analysis",
        "hypothesis", "analysis", "insights",
        "hypothesis", "analysis",
        "hypothesis",
    ]  # fmt: skip
    assert result.usage.calls == 8  # the analyses count against the budget
    hypotheses = [r.as_text() for r, k in zip(fm.requests, kinds, strict=True) if k == "hypothesis"]
    second, third, fourth = hypotheses[1:]
    assert "ANALYSIS-2" in second
    assert "INSIGHTS-5" in third and "ANALYSIS-4" not in third  # condensed into the insights
    assert "INSIGHTS-5" in fourth and "ANALYSIS-7" in fourth  # insights plus the newer analysis
    store = Store.open(tmp_path / "run")
    assert [r for r, _ in store.notes("reflection")] == [1, 2, 3]
    assert store.notes("insights") == [(2, "- INSIGHTS-5")]


@pytest.mark.parametrize("rate", [0.0, 0.5, 1.0])
def test_crossover_rate_is_the_share_of_hypotheses_that_combine_two(
    make_task, tmp_path: Path, rate: float
) -> None:
    counter = iter(range(2, 1000))  # 1.0 would be the start again
    model = FunctionModel(lambda r: block(float(next(counter))))
    task = Task.from_dir(make_task())
    task = dataclasses.replace(
        task,
        budget=Budget(max_llm_calls=40, patience=None),
        search=dataclasses.replace(
            task.search, hypotheses_per_round=1, crossover=rate, fix_attempts=0
        ),
    )
    result = hone.run(task, model=model, run_dir=tmp_path / "run", seed=2)
    crossed = ["Combine programs" in r.as_text() for r in model.requests]
    assert not crossed[0]  # one program only: nothing to combine
    share = sum(crossed[1:]) / len(crossed[1:])
    assert share == rate if rate in (0.0, 1.0) else 0.25 < share < 0.75
    for candidate, was_crossed in zip(result.history[1:], crossed, strict=True):
        if was_crossed:
            assert len(candidate.parent_ids) == 2
    with sqlite3.connect(tmp_path / "run" / "hone.db") as db:  # the call says what it was for
        query = "SELECT json_extract(purpose, '$.kind') FROM llm_calls ORDER BY id"
        kinds = [kind for (kind,) in db.execute(query)]
    assert kinds == ["crossover" if c else "improve" for c in crossed]


def _children() -> list[str]:
    """Pids of this process's children (none when no worker process was started)."""
    found: list[str] = []
    for thread in Path("/proc/self/task").iterdir():
        found += (thread / "children").read_text().split()
    return found


def test_the_loop_built_by_hand_with_a_verifier_double(make_task, tmp_path: Path) -> None:
    """Every collaborator passed in: a scripted model, an in-process verifier, no workers."""
    from hone.models.metered import Metered
    from hone.novelty import NoveltyFilter
    from hone.population import Population
    from hone.prompts import Prompter
    from hone.prompts.fix import Fixer
    from hone.recovery import waiting
    from hone.reflection import Memory
    from hone.rounds import Rounds
    from hone.strategies import TopK
    from hone.testing import FunctionVerifier

    task = Task.from_dir(make_task()).configured(budget={"max_llm_calls": 3, "patience": None})
    store = Store.create(tmp_path / "run")
    verifier = FunctionVerifier(lambda program: -abs(float(program.split("return ")[1][:4]) - 10))
    model = Metered(store, timeout=5, model=ScriptedModel([block(4.0), block(12.0), block(9.0)]))
    rng, events = random.Random(0), []
    loop = Loop(
        task=task,
        model=model,
        fix=Fixer(model, task.budget, attempts=0),
        verifier=verifier,
        store=store,
        strategy=TopK(),
        prompter=Prompter(task),
        population=Population(task.objective, NoveltyFilter()),
        memory=Memory(task, store, model, rng),
        rounds=Rounds(1, deterministic=False, last_round=0),
        rng=rng,
        emit=events.append,
    )

    async def go() -> str:
        await loop.start(await waiting(task, store, loop.population))
        return await loop.run()

    assert asyncio.run(go()) == "max_llm_calls"
    assert _children() == []  # nothing was started to verify
    assert len(verifier.programs) == 4 and "return 12.0" in verifier.programs[2]
    assert [c.score for c in loop.population.members] == [-9.0, -6.0, -2.0, -1.0]
    assert loop.population.best is not None and loop.population.best.score == -1.0
    assert [c.score for c in store.candidates()] == [-9.0, -6.0, -2.0, -1.0]  # all stored
    assert [type(e).__name__ for e in events].count("NewBest") == 4
    assert model.usage.calls == 3 and store.usage().calls == 3


def test_hone_run_takes_a_verifier_double_instead_of_the_sandbox(make_task, tmp_path: Path) -> None:
    from hone.testing import FunctionVerifier

    task_dir = make_task(evaluator="def evaluate(path):\n    raise RuntimeError('sandboxed')\n")
    verifier = FunctionVerifier(lambda program: 2.0 if "return 5.0" in program else 1.0)
    with pytest.raises(UserError, match="RuntimeError: sandboxed"):  # the real evaluator
        run(task_dir, tmp_path, ScriptedModel([block(3.0)]), width=1, max_llm_calls=1)
    task = Task.from_dir(task_dir).configured(budget={"max_llm_calls": 2, "patience": None})
    model = ScriptedModel([block(3.0), block(5.0)])
    result = hone.run(task, model=model, run_dir=tmp_path / "double", verifier=verifier)
    assert [c.score for c in result.history] == [1.0, 1.0, 2.0]
    assert result.sandbox == FunctionVerifier.protections  # what confined them: nothing
    assert _children() == []


def test_deterministic_rounds_with_the_double_ignore_timing(make_task, tmp_path: Path) -> None:
    """Model answers and verifications that finish in random order give the same history."""
    from hone.testing import FunctionVerifier

    def history(seed: int, where: str) -> list[tuple[object, ...]]:
        delays = random.Random(seed)

        async def answers(request: Request) -> str:
            await asyncio.sleep(delays.random() / 50)
            return block(float(request.seed % 13))

        async def score(program: str) -> float:
            await asyncio.sleep(delays.random() / 50)
            return -abs(float(program.split("return ")[1][:4]) - 10)

        task = Task.from_dir(task_dir).configured(
            budget={"max_llm_calls": 12, "patience": None},
            search={"hypotheses_per_round": 4, "deterministic": True},
        )
        result = hone.run(
            task,
            model=FunctionModel(answers),
            run_dir=tmp_path / where,
            verifier=FunctionVerifier(score),
            seed=1,
        )
        return [(c.round, c.parent_ids, c.code, c.score) for c in result.history]

    task_dir = make_task()
    assert history(0, "a") == history(1, "b")  # other delays, the same run


def test_failed_calls_count_against_the_call_budget(make_task, tmp_path: Path) -> None:
    """max_llm_calls is a number of requests: a call that fails (here the second, past its
    deadline) is not made again on top of the budget; before, 3 made 4 requests."""
    asked: list[int] = []

    async def answer_or_stall(request: Request) -> str:
        asked.append(1)
        if len(asked) == 2:
            await asyncio.sleep(30)  # past the 1 s deadline: a failed call
        return block(float(len(asked)))

    task = Task.from_dir(make_task("[model]\ntimeout = 1\n"))
    task = dataclasses.replace(
        task,
        budget=Budget(max_llm_calls=3, patience=None),
        search=dataclasses.replace(task.search, hypotheses_per_round=2, fix_attempts=0),
    )
    result = hone.run(task, model=FunctionModel(answer_or_stall), run_dir=tmp_path / "run")
    assert len(asked) == 3 and result.stop_reason == "max_llm_calls"
    assert (result.usage.calls, result.usage.failed, result.usage.requests) == (2, 1, 3)


# -- folder tasks: a hypothesis is a tree -----------------------------------------------------
def test_one_answer_edits_two_files_and_scores_better(make_tree_task, tmp_path: Path) -> None:
    from tests.conftest import named

    start = Task.from_dir(make_tree_task()).tree
    both = (
        "Scale by more, from a larger start.\n\n"
        + named("main.py", "    return scale(1.0)", "    return scale(2.0)")
        + "\n"
        + named("helper.py", "    return y * 2.0", "    return y * 2.5")
    )
    result = run(make_tree_task(name="t"), tmp_path, ScriptedModel([both]), 1, max_llm_calls=1)
    first, second = result.history
    assert (first.score, second.score) == (-8.0, -5.0)  # value 2, then 2.0 x 2.5
    assert second.tree == start.with_files(
        {
            "main.py": start["main.py"].replace("scale(1.0)", "scale(2.0)"),
            "helper.py": start["helper.py"].replace("y * 2.0", "y * 2.5"),
        }
    )
    assert result.best is not None and result.best.id == second.id
    assert second.code is None  # (two files: no one program's text)
    best = tmp_path / "run" / "best"
    assert sorted(p.name for p in best.iterdir()) == ["helper.py", "main.py"]
    assert (best / "helper.py").read_text() == second.tree["helper.py"]


def test_a_unified_diff_and_a_new_file_the_evaluator_imports(
    make_tree_task, tmp_path: Path
) -> None:
    diff = (
        "A larger factor.\n\n```diff\n--- a/helper.py\n+++ b/helper.py\n@@ -2,3 +2,3 @@\n"
        " def scale(x):\n     y = x\n-    return y * 2.0\n+    return y * 3.0\n```\n"
    )
    plugin = "A bonus.\n\n```python plugins/extra.py\ndef bonus():\n    return 7.0\n```\n"
    model = ScriptedModel([diff, plugin])
    result = run(make_tree_task(), tmp_path, model, width=1, max_llm_calls=2)
    start, patched, added = result.history
    assert patched.score == -7.0 and patched.tree is not None  # value 3
    assert patched.tree.changed(start.tree or {}) == {
        "helper.py": (start.tree or {})["helper.py"].replace("y * 2.0", "y * 3.0")
    }
    assert added.parent_ids[0] == patched.id and added.score == 0.0  # 3 + the plugin's 7
    assert added.tree is not None and added.tree["plugins/extra.py"].endswith("return 7.0\n")
    assert (tmp_path / "run" / "best" / "plugins" / "extra.py").is_file()


TREE_REFUSALS = [
    (
        ("nowhere.py", "    return 1", "    return 2"),
        "nowhere.py is not a file of the program, and new files may only be added as "
        "plugins/*.py (the editable files: helper.py, main.py)",
    ),
    (
        ("NOTES.md", "scale() doubles", "scale() triples"),
        "NOTES.md may not be changed: it is context, shown read-only (the editable files: "
        "helper.py, main.py)",
    ),
    (
        ("main.py", "from helper import scale", "from helper import scale as s"),
        "in main.py, SEARCH block 1 matches code outside the EVOLVE-BLOCK, which may not change",
    ),
    (
        ("helper.py", "    y = x", "    y = -x"),
        "in helper.py, SEARCH block 1 matches 2 places; include more lines to make it unique",
    ),
    (
        ("../evaluate.py", "def evaluate", "def evaluated"),
        "the path '../evaluate.py' leaves the program folder ('..'); stay inside it",
    ),
    (
        ("outside/evil.py", "", "x = 1"),
        "outside/evil.py goes through the symbolic link outside, which leads outside the "
        "program folder",
    ),
]


def test_each_bad_edit_is_an_invalid_edit_with_its_sentence(
    make_tree_task, tmp_path: Path, capsys
) -> None:
    from tests.conftest import named

    root = make_tree_task()
    (tmp_path / "elsewhere").mkdir()
    (root / "src" / "outside").symlink_to(tmp_path / "elsewhere")
    answers = [named(*edit) for edit, _ in TREE_REFUSALS]
    result = run(root, tmp_path, ScriptedModel(answers), 1, max_llm_calls=len(answers))
    failed = result.history[1:]
    assert [c.evaluation.status for c in failed] == ["invalid-edit"] * len(TREE_REFUSALS)
    assert [c.evaluation.reason for c in failed] == [why for _, why in TREE_REFUSALS]
    assert all(c.tree is None for c in failed) and not list((tmp_path / "elsewhere").iterdir())
    with opened(tmp_path / "run") as store:  # (what hone show reads)
        assert [c.evaluation.reason for c in store.candidates()[1:]] == [
            w for _, w in TREE_REFUSALS
        ]
    assert main(["show", str(tmp_path / "run"), "--failures"]) == 0
    assert "nowhere.py is not a file of the program" in capsys.readouterr().out


def test_a_folder_task_runs_offline_through_best_shot_prompts_one_block_at_a_time(
    make_tree_task, tmp_path: Path
) -> None:
    """The completion path (the embedded models'): each prompt asks for one function of one
    file, drawn among the tree's blocks (helper.py's scale, main.py's total); the completed
    function goes back into that file only."""
    asked: list[str] = []

    def complete(request: Request) -> str:
        header = [line for line in request.text.splitlines() if line.startswith("def ")][-1]
        asked.append(header.split("_v")[0].removeprefix("def "))
        n = len(asked)  # (each answer a new program: a repeat would be no hypothesis)
        return (
            f"    return x * {4 + n}.0\n" if asked[-1] == "scale" else f"    return scale({n}.0)\n"
        )

    model = FunctionModel(complete, style="completion")
    result = run(make_tree_task(), tmp_path, model, width=1, max_llm_calls=6)
    assert len(asked) == 6 and set(asked) == {"scale", "total"}  # (both blocks, seed 1)
    start, *hypotheses = result.history
    by_id = {c.id: c for c in result.history}
    for function, hypothesis in zip(asked, hypotheses, strict=True):
        assert hypothesis.evaluation.ok, hypothesis.evaluation.reason
        assert hypothesis.tree is not None
        parent = by_id[hypothesis.parent_ids[0]].tree or Tree()
        changed = set(hypothesis.tree.changed(parent))
        assert changed <= {"helper.py" if function == "scale" else "main.py"}, function
    assert start.score == -8.0 and result.best is not None and result.best.score > -8.0
    with opened(tmp_path / "run") as store:
        purposes = [json.loads(row["purpose"]) for row in store.calls()]
    assert [p["function"] for p in purposes] == asked
    assert {p.get("path") for p in purposes} == {"helper.py", "main.py"}


def test_a_refused_tree_edit_goes_back_once_with_its_sentence(
    make_tree_task, tmp_path: Path
) -> None:
    from tests.conftest import named

    bad = named("nowhere.py", "    return 1", "    return 2")
    good = named("helper.py", "    return y * 2.0", "    return y * 5.0")
    model = ScriptedModel([bad, good])
    result = run(make_tree_task(), tmp_path, model, width=1, fix=1, max_llm_calls=2)
    fixed = model.requests[1].messages[-1].content
    assert fixed.startswith("Your answer could not be applied: nowhere.py is not a file of")
    assert "SEARCH/REPLACE blocks after the file's path" in fixed
    assert result.history[-1].score == -5.0 and result.usage.calls == 2  # value 5


@pytest.mark.slow
def test_many_in_flight_each_answer_stored_once_and_the_server_kept_full(
    make_task, tmp_path: Path
) -> None:
    """32 hypotheses in flight, 8 workers, at most 16 requests at a server that takes 1 s per
    answer: the run ends on its budget, every answered call is exactly one stored hypothesis
    (none pending, none twice), and the server was answering 16 at once, never more: the
    loop's own work does not serialise the calls, and the pool's limit holds."""
    server = FaultServer("ok", delay=1.0).start()
    slow = EVALUATOR.replace(
        "    value = module.run()", "    time.sleep(0.2)\n    value = module.run()"
    )
    task = make_task("[search]\nfix_attempts = 0\n", evaluator="import time\n" + slow)
    run_dir = tmp_path / "run"
    command = hone_command(
        "run", str(task), "--model", "openai:m", "--base-url", server.url,
        "--run-dir", str(run_dir), "--max-llm-calls", "64", "--hypotheses", "32",
        "--workers", "8", "--max-in-flight", "16", "--patience", "off",
    )  # fmt: skip
    try:
        done = subprocess.run(
            command, env=environment(), capture_output=True, text=True, timeout=600
        )
    finally:
        server.stop()
    assert done.returncode == 0, done.stderr
    with sqlite3.connect(run_dir / "hone.db") as db:
        stop = json.loads(dict(db.execute("SELECT key, value FROM meta"))["stop_reason"])
        calls = [row[0] for row in db.execute("SELECT id FROM llm_calls WHERE error IS NULL")]
        made = [row[0] for row in db.execute("SELECT call_id FROM candidates")]
        statuses = {row[0] for row in db.execute("SELECT status FROM candidates")}
    assert stop == "max_llm_calls"
    assert len(calls) == 64 == len(server.answered())
    assert sorted(c for c in made if c is not None) == sorted(calls)  # each once, none lost
    assert made.count(None) == 1 and "pending" not in statuses  # (None: the start)
    assert server.most_in_flight == 16
