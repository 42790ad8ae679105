"""Golden tests: the exact prompts hone sends. Change them on purpose, then update these."""

from pathlib import Path

import pytest

from hone.edits import START
from hone.evaluation import Evaluation
from hone.population import Candidate
from hone.prompts import build_prompt, parse_answer
from hone.strategies import Selection
from hone.task import Task
from hone.tree import Tree

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


# Recent failed attempts, newest first:
# - invalid-edit: the answer contains no code


# f_v0 scored -9 (higher is better)
# value=1
# feedback: f() = 1.0
def f_v0():
    """Return a number."""
    return 1.0


# f_v1 scored -6 (higher is better)
# value=4
# feedback: f() = 4.0
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
        1,
        0,
        Tree.one("program.py", PROGRAM),
        Evaluation(score=-9.0, metrics={"value": 1.0}, feedback="f() = 1.0"),
    )
    better = Candidate(
        2,
        1,
        Tree.one("program.py", PROGRAM.replace("return 1.0", "return 4.0")),
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
    parent = Candidate(1, 0, Tree.one("program.py", "X = 1\n"), Evaluation(score=1.0))
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

    parent = Candidate(1, 0, Tree.one("program.py", PROGRAM), Evaluation(score=1.0))
    other = Candidate(
        2, 0, Tree.one("program.py", PROGRAM.replace("1.0", "2.0")), Evaluation(score=2.0)
    )
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


# -- a folder task's prompts: the repository's map, every editable file after its path --------
TREE_CHAT = """## Task
Make the value 10.

Score: higher is better.

## The repository: 5 files, 279 B (* editable: shown in full below; the rest read-only)
  NOTES.md (35 B, context)
* helper.py (123 B): scale, unused
* main.py (101 B): total
  plugins/README (16 B)
  weights.bin (4 B, binary)

## Other good programs
### Program #1 (score -8)
metrics: value=2
feedback: value 2.0
(the files in which it differs from the program to improve)

helper.py
```python helper.py
# EVOLVE-BLOCK-START
def scale(x):
    y = x
    return y * 2.0


def unused(x):
    y = x
    return y
# EVOLVE-BLOCK-END
```

## Context (read-only: do not change these files)

NOTES.md
```markdown NOTES.md
scale() doubles; total() scales 1.
```

## The program to improve
### Program #2 (score -5) — improve this one
metrics: value=5

helper.py
```python helper.py
# EVOLVE-BLOCK-START
def scale(x):
    y = x
    return y * 2.5


def unused(x):
    y = x
    return y
# EVOLVE-BLOCK-END
```

main.py
```python main.py
from helper import scale

# EVOLVE-BLOCK-START
def total():
    return scale(1.0)
# EVOLVE-BLOCK-END
```

## What to do
Improve program #2 (shown last, above). Answer in two parts.
1. Idea: one or two sentences: what to change and why it should score better.
2. Proposal: the change to program #2, as SEARCH/REPLACE blocks, each after the path of its file on a line of its own

helper.py
<<<<<<< SEARCH
(lines copied exactly from that file of program #2)
=======
(their replacement)
>>>>>>> REPLACE

or as a unified diff (--- a/helper.py, +++ b/helper.py, @@ hunks) as git apply takes it, or as a whole file in a fenced block whose info string is its path (```helper.py). In a file with EVOLVE-BLOCK-START and EVOLVE-BLOCK-END markers, change only the code between them. Change only the files shown, or add new files named like plugins/*.py."""


def _tree_selection(task: Task) -> Selection:
    from tests.conftest import TREE_HELPER

    start = Candidate(
        1, 0, task.tree, Evaluation(score=-8.0, metrics={"value": 2.0}, feedback="value 2.0")
    )
    better = task.tree.with_files({"helper.py": TREE_HELPER.replace("y * 2.0", "y * 2.5")})
    return Selection(
        Candidate(2, 1, better, Evaluation(score=-5.0, metrics={"value": 5.0})), (start,)
    )


def test_a_folder_tasks_chat_prompt_is_pinned(make_tree_task) -> None:
    task = Task.from_dir(make_tree_task())
    prompt = build_prompt(task, _tree_selection(task), "chat")
    assert prompt.messages[1].content == TREE_CHAT
    assert prompt.spec == task.spec and prompt.grammar == ""
    edit = parse_answer(
        prompt,
        "main.py\n<<<<<<< SEARCH\n    return scale(1.0)\n=======\n    return scale(4.0)\n>>>>>>> REPLACE\n",
    )
    assert edit.ok and edit.changed == ("main.py",) and edit.tree is not None
    assert edit.tree["helper.py"] == prompt.parent.tree["helper.py"]  # (the parent's, #2's)


def test_context_files_are_shown_as_far_as_the_budget_allows(make_tree_task, monkeypatch) -> None:
    from hone.prompts import chat
    from tests.conftest import TREE_TOML

    root = make_tree_task()
    toml = TREE_TOML.replace('context = ["NOTES.md"]', 'context = ["*.md", "docs/*.txt"]')
    (root / "task.toml").write_text(toml)
    (root / "src" / "docs").mkdir()
    (root / "src" / "docs" / "long.txt").write_text("x" * 500)
    monkeypatch.setattr(chat, "CONTEXT_CHARS", 100)
    task = Task.from_dir(root)
    user = build_prompt(task, _tree_selection(task), "chat").messages[1].content
    assert "NOTES.md\n```markdown NOTES.md\nscale() doubles" in user
    assert "(not shown, for length: docs/long.txt)" in user and "x" * 500 not in user


def test_a_large_tree_is_shown_by_its_blocks_and_the_rest_named(
    make_tree_task, monkeypatch
) -> None:
    from hone.prompts import chat

    monkeypatch.setattr(chat, "TREE_CHARS", 200)  # (the two files are 210 characters)
    task = Task.from_dir(make_tree_task())
    prompt = build_prompt(task, _tree_selection(task), "chat")
    shown = prompt.messages[1].content.split("## The program to improve")[1]
    assert "(2 files, too long to show whole" in shown
    assert (
        "main.py (lines 3-6 of 6: an EVOLVE block; the rest of the file may not change)\n"
        "```python\n# EVOLVE-BLOCK-START\ndef total():\n    return scale(1.0)\n"
        "# EVOLVE-BLOCK-END\n```" in shown
    )
    assert "from helper import scale" not in shown  # (outside the block)
    assert "(not shown, for length: helper.py)" in shown and "def unused" not in shown
    edit = parse_answer(
        prompt,
        "main.py\n<<<<<<< SEARCH\n    return scale(1.0)\n=======\n    return scale(3.0)\n>>>>>>> REPLACE\n",
    )
    assert edit.ok and edit.changed == ("main.py",)


def test_best_shot_evolves_the_first_blocks_function_of_a_tree(make_tree_task) -> None:
    task = Task.from_dir(make_tree_task())
    prompt = build_prompt(task, _tree_selection(task), "completion")
    assert (prompt.function, prompt.path, prompt.signature) == (
        "scale",
        "helper.py",
        "def scale_v2(x):\n",
    )
    assert "def scale_v1(x):\n    y = x\n    return y * 2.5\n" in prompt.text
    assert prompt.purpose()["path"] == "helper.py"
    edit = parse_answer(prompt, "    return x * 5.0\n\n\ndef other():\n    pass\n")
    assert edit.ok and edit.changed == ("helper.py",) and edit.tree is not None
    assert "def scale(x):\n    return x * 5.0\n" in edit.tree["helper.py"]
    assert edit.tree["main.py"] == task.tree["main.py"]


def test_best_shot_shows_a_function_once_when_programs_differ_in_another_file(
    make_tree_task,
) -> None:
    """Two programs of a tree that differ only in main.py have the same scale(): the prompt
    evolving it shows it once, as the better one's version, and names only it a parent."""
    task = Task.from_dir(make_tree_task())
    selection = _tree_selection(task)
    start = selection.inspirations[0]
    assert start.tree is not None
    other = Candidate(
        3, 1, start.tree.with_files({"main.py": start.tree["main.py"].replace("1.0", "2.0")}),
        Evaluation(score=-7.0),
    )  # fmt: skip
    prompt = build_prompt(task, Selection(other, (start,)), "completion")
    assert prompt.function == "scale" and prompt.text.count("return y * 2.0") == 1
    assert "# scale_v0 scored -7 " in prompt.text and "scale_v1(x):\n    y = x" not in prompt.text
    assert prompt.signature == "def scale_v1(x):\n" and prompt.parent_ids == (3,)
    both = build_prompt(task, Selection(other, (selection.parent,)), "completion")
    assert both.parent_ids == (3, 2)  # (versions that differ are both shown)


def test_best_shot_outcomes_are_trimmed_one_line_comments_without_tuning_failures() -> None:
    selection = _selection()
    long = Candidate(
        2,
        1,
        selection.parent.tree,
        Evaluation(
            score=-6.0,
            metrics={"b": 2.0, "a": 1.0, "c": 3.0, "d": 4.0, "e": 5.0, "x.mean": 1.0},
            feedback="line one\nline two " + "w" * 400,
        ),
    )
    tuned = Candidate(4, 1, None, Evaluation.failed("error", "a tuning trial failed"), kind="tune")
    failures = (tuned, *selection.failures, *selection.failures, *selection.failures)
    prompt = build_prompt(TASK, Selection(long, selection.inspirations, failures), "completion")
    comments = [line for line in prompt.text.splitlines() if line.startswith("# ")]
    assert "# a=1, b=2, c=3, d=4" in comments  # the first four plain metrics, by name
    feedback = next(line for line in comments if line.startswith("# feedback: line one line two"))
    assert len(feedback) <= len("# feedback: ") + 240 and feedback.endswith(" …")
    assert "tuning trial" not in prompt.text
    assert comments.count("# - invalid-edit: the answer contains no code") == 3


TWO_BLOCKS = """\
import math

# EVOLVE-BLOCK-START
def first(x):
    return x + 1
# EVOLVE-BLOCK-END


def glue(x):
    return second(first(x))


# EVOLVE-BLOCK-START
def second(x):
    return x * 2
# EVOLVE-BLOCK-END


def run():
    return glue(1)
"""


def test_best_shot_evolves_the_block_its_generator_draws() -> None:
    import random

    task = Task(name="t", instruction="Grow.", program=TWO_BLOCKS, evaluator=Path("e.py"))
    selection = Selection(Candidate(1, 0, task.tree, Evaluation(score=1.0)), ())
    drawn = {
        build_prompt(task, selection, "completion", rng=random.Random(seed)).function
        for seed in range(20)
    }
    assert drawn == {"first", "second"}
    assert build_prompt(task, selection, "completion").function == "first"  # (no generator)
    seed = next(
        s
        for s in range(20)
        if build_prompt(task, selection, "completion", rng=random.Random(s)).function == "second"
    )
    prompt = build_prompt(task, selection, "completion", rng=random.Random(seed))
    assert prompt.signature == "def second_v1(x):\n"
    # the file up to the evolved block is the context (the first block whole, markers
    # dropped); what follows the block is not shown
    assert prompt.text.startswith('"""Grow.\n"""\nimport math\n\ndef first(x):\n')
    assert "\n\ndef glue(x):\n    return second(first(x))\n\n\n# second_v0 scored 1" in prompt.text
    assert "def run():" not in prompt.text and "EVOLVE-BLOCK" not in prompt.text
    edit = parse_answer(prompt, "    return x * 3\n")
    assert edit.ok and edit.tree is not None
    assert edit.tree["program.py"] == TWO_BLOCKS.replace("x * 2", "x * 3")


def test_a_folder_tasks_crossover_prompt_carries_the_map(make_tree_task) -> None:
    task = Task.from_dir(make_tree_task())
    prompt = build_prompt(task, _tree_selection(task), "chat", cross=True)
    assert prompt.kind == "crossover"
    user = prompt.messages[1].content
    assert "\n## The repository: 5 files, 279 B (" in user
    assert "* main.py (101 B): total\n  plugins/README (16 B)\n" in user


def test_answers_that_repeat_their_parent_raise_the_next_prompts_temperature() -> None:
    """Each of the newest failures that repeated its parent (the model's, not a tuning
    trial's) adds 0.15 to the temperature, up to 0.3; other failures add nothing, and a
    temperature of 0 stays 0."""
    from hone.edits import REPEAT
    from hone.settings import ModelConfig

    selection = _selection()
    repeat = Candidate(5, 1, None, Evaluation.failed("invalid-edit", REPEAT))
    tuned = Candidate(6, 1, None, Evaluation.failed("invalid-edit", REPEAT), kind="tune")
    config = ModelConfig(temperature=0.8)

    def temperature(*failures: Candidate, style: str = "completion", hot: float = 0.8) -> float:
        chosen = Selection(selection.parent, selection.inspirations, failures)
        prompt = build_prompt(TASK, chosen, style)  # type: ignore[arg-type]
        return prompt.request(ModelConfig(temperature=hot), seed=0).temperature

    assert config.temperature == temperature(*selection.failures) == temperature(tuned)
    assert temperature(repeat, *selection.failures) == pytest.approx(0.95)
    assert temperature(repeat, repeat, style="chat") == pytest.approx(1.1)
    assert temperature(repeat, repeat, repeat) == pytest.approx(1.1)  # (at most 0.3 more)
    assert temperature(repeat, repeat, hot=0.0) == 0.0
