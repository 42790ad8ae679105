"""Golden tests: the exact prompts hone sends. Change them on purpose, then update these."""

from pathlib import Path

from hone.edits import START
from hone.evaluation import Evaluation
from hone.population import Candidate
from hone.prompts import build_prompt, parse_answer
from hone.strategies import Selection
from hone.task import Task

PROGRAM = '''import math

# EVOLVE-BLOCK-START
def f():
    """Return a number."""
    return 1.0
# EVOLVE-BLOCK-END


def run():
    return f()
'''

BEST_SHOT = '''"""Make f() return 10.
"""
import math


# f_v0 scored -9 (higher is better)
def f_v0():
    """Return a number."""
    return 1.0


# f_v1 scored -6 (higher is better)
def f_v1():
    """Return a number."""
    return 4.0


def f_v2():
    """Improved version of `f_v1`."""
'''

CHAT_USER = '''## Task
Make f() return 10.

Score: higher is better.

## Other good programs
### Program #1 (score -9)
metrics: value=1
feedback: f() = 1.0
```python
def f():
    """Return a number."""
    return 1.0
```

## Recent failed attempts
- attempt #3 (invalid-edit): the answer contains no code

## The program to improve
### Program #2 (score -6) — improve this one
metrics: value=4
feedback: f() = 4.0
```python
import math

# EVOLVE-BLOCK-START
def f():
    """Return a number."""
    return 4.0
# EVOLVE-BLOCK-END


def run():
    return f()
```

## What to do
Improve program #2 (shown last, above). Answer in two parts.
1. Idea: one or two sentences: what to change and why it should score better.
2. Proposal: the change to program #2, preferably as SEARCH/REPLACE blocks, each changing one function

<<<<<<< SEARCH
(lines copied exactly from program #2)
=======
(their replacement)
>>>>>>> REPLACE

or, for a larger change, as the complete new program in one ```python block. Change only the code between the EVOLVE-BLOCK-START and EVOLVE-BLOCK-END markers.'''


CHAT_CROSSOVER = '''## Task
Make f() return 10.

Score: higher is better.

## Two good programs
### Program #2 (score -6)
metrics: value=4
feedback: f() = 4.0
```python
import math

# EVOLVE-BLOCK-START
def f():
    """Return a number."""
    return 4.0
# EVOLVE-BLOCK-END


def run():
    return f()
```

### Program #1 (score -9)
metrics: value=1
feedback: f() = 1.0
```python
import math

# EVOLVE-BLOCK-START
def f():
    """Return a number."""
    return 1.0
# EVOLVE-BLOCK-END


def run():
    return f()
```

## What to do
Combine programs #2 and #1 into one better program: keep what made each of them score well, drop what held them back. Answer in two parts.
1. Analysis: in a few sentences, what each program does well and how the two ideas fit together.
2. Proposal: the new program, preferably as SEARCH/REPLACE blocks that edit program #2, each changing one function

<<<<<<< SEARCH
(lines copied exactly from program #2)
=======
(their replacement)
>>>>>>> REPLACE

or, for a larger change, as the complete new program in one ```python block. Change only the code between the EVOLVE-BLOCK-START and EVOLVE-BLOCK-END markers.'''


def _selection() -> Selection:
    worse = Candidate(
        1, 0, PROGRAM, Evaluation(score=-9.0, metrics={"value": 1.0}, feedback="f() = 1.0")
    )
    better = Candidate(
        2,
        1,
        PROGRAM.replace("return 1.0", "return 4.0"),
        Evaluation(score=-6.0, metrics={"value": 4.0}, feedback="f() = 4.0"),
    )
    failed = Candidate(3, 1, None, Evaluation.failed("invalid-edit", "the answer contains no code"))
    return Selection(better, (worse,), (failed,))


TASK = Task(name="t", instruction="Make f() return 10.", program=PROGRAM, evaluator=Path("e.py"))


def test_best_shot_prompt_is_pinned() -> None:
    prompt = build_prompt(TASK, _selection(), "completion")
    assert prompt.text == BEST_SHOT
    assert prompt.function == "f" and prompt.signature == "def f_v2():\n"
    assert prompt.parent.id == 2 and prompt.parent_ids == (2, 1)
    assert "\ndef " in prompt.stop


def test_best_shot_answer_becomes_the_parent_with_a_new_function() -> None:
    prompt = build_prompt(TASK, _selection(), "completion")
    edit = parse_answer(prompt, "    return 10.0\n\n\ndef f_v3():\n    return 0\n")
    assert edit.ok
    assert edit.program == PROGRAM.replace(
        '    """Return a number."""\n    return 1.0', "    return 10.0"
    )
    assert START in (edit.program or "")


def test_chat_prompt_is_pinned() -> None:
    prompt = build_prompt(TASK, _selection(), "chat")
    system, user = prompt.messages
    assert system.role == "system" and "improve programs" in system.content
    assert user.role == "user" and user.content == CHAT_USER


def test_completion_style_falls_back_to_chat_without_a_function() -> None:
    task = Task(name="t", instruction="x", program="X = 1\n", evaluator=Path("e.py"))
    parent = Candidate(1, 0, "X = 1\n", Evaluation(score=1.0))
    prompt = build_prompt(task, Selection(parent), "completion")
    assert prompt.messages and prompt.function is None


def test_minimize_objective_is_stated() -> None:
    import dataclasses

    task = dataclasses.replace(TASK, objective="minimize")
    assert "(lower is better)" in build_prompt(task, _selection(), "completion").text
    assert "lower is better" in build_prompt(task, _selection(), "chat").messages[1].content


def test_per_component_statistics_become_a_table() -> None:
    from hone.evaluation import coerce_result
    from hone.prompts.chat import component_table

    ev = coerce_result(
        {
            "score": 3.0,
            "success": 0.5,
            "components": {"speed": {"mean": 1.25, "max": 2.0}, "energy": {"mean": -0.5}},
        }
    )
    assert ev.metrics == {"success": 0.5, "speed.mean": 1.25, "speed.max": 2.0, "energy.mean": -0.5}
    assert component_table(ev.metrics) == (
        "| component | max | mean |\n|---|---|---|\n| energy |  | -0.5 |\n| speed | 2 | 1.25 |"
    )


def test_crossover_prompt_combines_the_parent_with_its_first_inspiration() -> None:
    prompt = build_prompt(TASK, _selection(), "chat", cross=True)
    user = prompt.messages[1].content
    assert user == CHAT_CROSSOVER
    assert prompt.kind == "crossover" and prompt.parent_ids == (2, 1)
    assert "Combine programs #2 and #1" in user
    assert "### Program #2 (score -6)\n" in user and "### Program #1 (score -9)\n" in user
    assert "return 4.0" in user and "return 1.0" in user
    assert "improve this one" not in user and "Recent failed attempts" not in user
    # SEARCH/REPLACE blocks edit the first program.
    edit = parse_answer(
        prompt, "<<<<<<< SEARCH\n    return 4.0\n=======\n    return 5.0\n>>>>>>> REPLACE"
    )
    assert edit.ok and "return 5.0" in (edit.program or "")


def test_crossover_needs_a_second_program_and_a_chat_model() -> None:
    alone = Selection(_selection().parent)
    assert build_prompt(TASK, alone, "chat", cross=True).kind == "improve"
    assert build_prompt(TASK, _selection(), "completion", cross=True).kind == "improve"


REFLECTION_USER = '''## Task
Make f() return 10.

Score: higher is better.
## Insights from earlier rounds
- small steps help
## Best program so far
### Program #2 (score -6)
metrics: value=4
feedback: f() = 4.0
```python
import math

# EVOLVE-BLOCK-START
def f():
    """Return a number."""
    return 4.0
# EVOLVE-BLOCK-END


def run():
    return f()
```

## This round's hypotheses
- #2 (from #-): score -6
- #3 (from #-): invalid-edit: the answer contains no code

Analyse this round for the next one. Write at most five short bullet points: what worked, what failed and why, and what to try next.'''

CONDENSATION_USER = """## Task
Make f() return 10.

## Insights so far
- small steps help

## Analyses of the latest rounds
- raising the constant helped
- SEARCH text must match exactly

Condense the insights and analyses into one list of insights for the rest of the search. Keep what held up, drop what did not, at most eight bullet points."""

FIX_USER = (
    "Your answer could not be applied: the SEARCH text does not match program #2. Answer "
    "again with the corrected change, as SEARCH/REPLACE blocks that copy the current "
    "program's lines exactly, or as the whole program in one fenced code block."
)


def test_reflection_prompt_is_pinned() -> None:
    from hone.prompts import chat

    selection = _selection()
    hypotheses = [selection.parent, *selection.failures]
    memory = "## Insights from earlier rounds\n- small steps help"
    system, user = chat.reflection(TASK, hypotheses, selection.parent, memory)
    assert system.content == chat.SYSTEM
    assert user.role == "user" and user.content == REFLECTION_USER


def test_condensation_prompt_is_pinned() -> None:
    from hone.prompts import chat

    analyses = ["raising the constant helped", "SEARCH text must match exactly"]
    system, user = chat.condensation(TASK, analyses, "- small steps help")
    assert system.content == chat.SYSTEM
    assert user.content == CONDENSATION_USER


def test_fix_prompt_is_pinned() -> None:
    from hone.models import Message
    from hone.prompts import chat

    asked = (Message("system", chat.SYSTEM), Message("user", "improve #2"))
    messages = chat.fix(asked, "my answer", "the SEARCH text does not match program #2")
    assert messages[:2] == asked
    assert messages[2] == Message("assistant", "my answer")
    assert messages[3] == Message("user", FIX_USER)


NOTES = "## Notes from the person running this search\n- try a hexagonal lattice\n- keep it short"


def test_a_persons_notes_are_pinned_in_the_chat_prompt() -> None:
    from hone.prompts import chat

    memory = chat.person_notes(["try a hexagonal lattice", "keep it short"])
    assert memory == NOTES
    user = build_prompt(TASK, _selection(), "chat", memory).messages[1].content
    assert user == CHAT_USER.replace(
        "Score: higher is better.\n", "Score: higher is better.\n\n" + NOTES + "\n", 1
    )


def test_a_persons_notes_join_the_instruction_of_the_best_shot_prompt() -> None:
    prompt = build_prompt(TASK, _selection(), "completion", NOTES)
    assert prompt.text == BEST_SHOT.replace(
        '"""Make f() return 10.\n"""',
        '"""Make f() return 10.\n\n' + NOTES + '\n"""',
        1,
    )
    quoted = build_prompt(TASK, _selection(), "completion", 'say """hi"""').text
    assert quoted.startswith("\"\"\"Make f() return 10.\n\nsay '''hi'''\n\"\"\"\n")


def test_only_the_newest_five_notes_are_carried() -> None:
    from hone.prompts import chat

    section = chat.person_notes([f"note {i}" for i in range(8)])
    assert "note 2" not in section and section.endswith("- note 7")
    assert section.count("\n- ") == 5


def test_chat_prompts_ask_for_the_edits_the_task_wants() -> None:
    """`[search] edits`: OpenEvolve's diff_based_evolution and ShinkaEvolve's patch_types."""
    ask = CHAT_USER[CHAT_USER.index("2. Proposal:") :]
    diff = TASK.configured(search={"edits": "diff"})
    assert (
        build_prompt(diff, _selection(), "chat")
        .messages[1]
        .content.endswith(
            "2. Proposal: the change to program #2, as one or more SEARCH/REPLACE blocks\n\n"
            "<<<<<<< SEARCH\n(lines copied exactly from program #2)\n=======\n(their replacement)\n"
            ">>>>>>> REPLACE\n\nCopy the SEARCH lines exactly, indentation included. Change only "
            "the code between the EVOLVE-BLOCK-START and EVOLVE-BLOCK-END markers."
        )
    )
    full = TASK.configured(search={"edits": "full"})
    assert (
        build_prompt(full, _selection(), "chat")
        .messages[1]
        .content.endswith(
            "2. Proposal: the change to program #2, as the complete new program in one ```python "
            "block. Change only the code between the EVOLVE-BLOCK-START and EVOLVE-BLOCK-END markers."
        )
    )
    crossed = build_prompt(full, _selection(), "chat", cross=True).messages[1].content
    assert crossed.endswith("2. Proposal: the new program, as the complete new program in one ```python block. Change only the code between the EVOLVE-BLOCK-START and EVOLVE-BLOCK-END markers.")  # fmt: skip
    assert ask.startswith("2. Proposal: the change to program #2, preferably as SEARCH/REPLACE")


def test_a_prompts_purpose_says_its_kind_and_brings_the_prompt_back() -> None:
    """The stored purpose marks what a call was for (the views read it there); a resumed run
    rebuilds the prompt of an answer from it, an older hone's "hypothesis" purpose too."""
    from hone.prompts import Prompt

    parent = Candidate(1, 0, PROGRAM, Evaluation(score=1.0))
    other = Candidate(2, 0, PROGRAM.replace("1.0", "2.0"), Evaluation(score=2.0))
    crossed = Prompt(parent, (parent, other), niche=3, kind="crossover")
    assert crossed.purpose()["kind"] == "crossover" and crossed.purpose()["parents"] == [1, 2]
    fix = crossed.purpose(fix_of=7)
    assert (fix["kind"], fix["fixes"], fix["answer_of"]) == ("fix", "crossover", 7)
    for purpose, kind, niche in [
        (fix, "crossover", 3),
        (Prompt(parent, (parent,)).purpose(), "improve", None),
        ({"kind": "hypothesis", "parents": [1], "niche": 2}, "improve", 2),
    ]:
        again = Prompt.answered(purpose, [parent, other])
        assert (again.kind, again.niche, again.parent.id) == (kind, niche, 1)
