"""A person's notes: added to a run from outside (`hone note`, the dashboard), carried by every
following prompt of the running or resumed run."""

from pathlib import Path

import pytest

import hone
from hone.exceptions import ConfigError, RunDirError
from hone.models.base import Request
from hone.reflection import PERSON, add_note
from hone.store import opened
from hone.testing import FunctionModel, ScriptedModel
from tests.helpers import block, task_of

NOTE = "try a hexagonal lattice"


def test_a_note_added_during_a_run_reaches_the_following_prompts(make_task, tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    seen: list[str] = []

    def answer(request: Request) -> str:
        seen.append(request.as_text())
        if len(seen) == 3:  # added through a connection of its own, as another process does
            add_note(run_dir, NOTE)
        return block(float(len(seen)))

    hone.run(
        task_of(make_task(), fix=0, max_llm_calls=6), model=FunctionModel(answer), run_dir=run_dir
    )
    assert [NOTE in prompt for prompt in seen] == [False, False, False, True, True, True]
    assert "## Notes from the person running this search\n- " + NOTE in seen[-1]
    with opened(run_dir) as store:
        assert [text for _, text in store.notes(PERSON)] == [NOTE]
        assert store.meta().replay_exact is False  # the prompts depend on when it came


def test_a_note_added_to_a_stopped_run_reaches_the_resumed_runs_prompts(
    make_task, tmp_path: Path
) -> None:
    run_dir = tmp_path / "run"
    first = ScriptedModel([block(2.0), block(3.0)])
    hone.run(task_of(make_task(), fix=0, max_llm_calls=2), model=first, run_dir=run_dir)
    number, status = add_note(run_dir, f"  {NOTE}\n")
    assert number == 1 and status == "stopped"
    then = ScriptedModel([block(2.0), block(3.0), block(4.0)])
    hone.resume(run_dir, budget={"max_llm_calls": 3}, model=then)
    assert all(NOTE not in r.as_text() for r in first.requests)
    assert [NOTE in r.as_text() for r in then.requests] == [True]


def test_a_base_model_gets_the_note_with_the_instruction(make_task, tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    texts: list[str] = []

    def answer(request: Request) -> str:
        texts.append(request.text)
        if len(texts) == 1:
            add_note(run_dir, NOTE)
        return "    return 5.0\n"

    model = FunctionModel(answer, style="completion")
    hone.run(task_of(make_task(), fix=0, max_llm_calls=2), model=model, run_dir=run_dir)
    assert NOTE not in texts[0]
    assert texts[1].startswith(
        '"""Make f() return 10.\n\n## Notes from the person running this search\n- ' + NOTE
    )


def test_a_bad_note_is_one_sentence(make_task, tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    hone.run(task_of(make_task(), fix=0, max_llm_calls=0), model=ScriptedModel([]), run_dir=run_dir)
    with pytest.raises(ConfigError, match="the note is empty"):
        add_note(run_dir, "   ")
    with pytest.raises(ConfigError, match="keep it under 2000"):
        add_note(run_dir, "x" * 2001)
    with pytest.raises(RunDirError, match="is not a hone run"):
        add_note(tmp_path / "nowhere", NOTE)
