"""Completion-style edits: a completed function put in its place."""

import pytest

from hone.edits import (
    REPEAT,
    complete_function,
)
from tests.edits.conftest import PARENT


def test_complete_function_splices_body_and_stops_at_next_definition() -> None:
    completion = "    return x * 10\n\n\ndef f_v2(x):\n    return 0\n"
    edit = complete_function(PARENT, "f", "def f_v1(x):\n", completion)
    assert edit.ok and edit.kind == "function"
    assert "def f(x):\n    return x * 10\n" in (edit.program or "")
    assert "f_v" not in (edit.program or "")
    assert edit.program is not None and edit.program.endswith("return f(1)\n")


def test_complete_function_renames_recursive_calls() -> None:
    edit = complete_function(PARENT, "f", "def f_v1(x):\n", "    return f_v0(x - 1) if x else 0\n")
    assert edit.ok and "return f(x - 1) if x else 0" in (edit.program or "")


@pytest.mark.parametrize(
    ("completion", "reason"),
    [
        ("", "no function body"),
        ("    return (\n", "does not parse"),
        ("    return x + 1\n", "unchanged"),
    ],
)
def test_complete_function_failures(completion: str, reason: str) -> None:
    edit = complete_function(PARENT, "f", "def f_v1(x):\n", completion)
    assert not edit.ok and reason in edit.reason


PARAMETERS = '''import numpy as np

SIZE = 3


def layout():
    """Points on a ring."""
    # the ring's parameters:
    p = {
        "radius": 0.25,  # from the centre
        "turn": 0.5,
    }
    angles = [2 * np.pi * (k + p["turn"]) / SIZE for k in range(SIZE)]
    scale = p["radius"]
    return [round(scale * np.cos(a), 6) for a in angles]


def run():
    return layout()
'''


def _layout(program: str) -> list[float]:
    namespace: dict[str, object] = {}
    exec(compile(program, "<program>", "exec"), namespace)  # test data: hone's own text
    return namespace["run"]()  # type: ignore[operator, no-any-return]


def test_a_body_that_leaves_out_the_parameters_gets_them_back() -> None:
    """A small model's body starts after `p = {...}` and still reads p: the parent's statements
    up to p's (and the comment above them) go back in front of it."""
    completion = (
        '    angles = [2 * np.pi * (k + p["turn"]) / SIZE for k in range(SIZE)]\n'
        '    return [round(2 * p["radius"] * np.cos(a), 6) for a in angles]\n'
    )
    edit = complete_function(PARAMETERS, "layout", "def layout_v1():\n", completion)
    assert edit.ok and edit.program is not None
    assert "    # the ring's parameters:\n    p = {\n" in edit.program
    assert _layout(edit.program) == [round(2 * x, 6) for x in _layout(PARAMETERS)]


def test_a_body_that_changes_the_first_line_after_the_parameters_gets_them_back() -> None:
    completion = '    return [p["radius"]] * SIZE\n'
    edit = complete_function(PARAMETERS, "layout", "def layout_v1():\n", completion)
    assert edit.ok and _layout(edit.program or "") == [0.25, 0.25, 0.25]


def test_a_body_that_only_leaves_out_the_parameters_repeats_its_parent() -> None:
    completion = (
        '    angles = [2 * np.pi * (k + p["turn"]) / SIZE for k in range(SIZE)]\n'
        '    scale = p["radius"]\n'
        "    return [round(scale * np.cos(a), 6) for a in angles]\n"
    )
    edit = complete_function(PARAMETERS, "layout", "def layout_v1():\n", completion)
    assert not edit.ok and edit.reason == REPEAT


@pytest.mark.parametrize(
    "completion",
    [
        # its own parameters: nothing is missing
        '    p = {"radius": 0.5}\n    return [p["radius"]] * SIZE\n',
        # a name the parent never assigned: left to fail when it runs
        "    return [q] * SIZE\n",
        # p and scale are missing, and the statements that assign both include one the body
        # has (angles = ...): not a run of statements it left out
        '    angles = [2 * np.pi * (k + p["turn"]) / SIZE for k in range(SIZE)]\n'
        "    return [round(2 * scale * np.cos(a), 6) for a in angles]\n",
    ],
    ids=["own-parameters", "never-assigned", "not-a-leading-run"],
)
def test_a_body_is_left_as_it_is_unless_it_left_out_the_first_statements(completion: str) -> None:
    edit = complete_function(PARAMETERS, "layout", "def layout_v1():\n", completion)
    assert edit.ok and edit.program is not None
    assert "# the ring's parameters" not in edit.program
    assert completion in edit.program


def test_names_of_the_module_nested_scopes_and_star_imports() -> None:
    """np and SIZE are the module's; a name read in a nested function counts; after an
    `import *` nothing is known to be missing."""
    nested = "    def radius():\n        return p['radius']\n    return [radius()] * SIZE\n"
    edit = complete_function(PARAMETERS, "layout", "def layout_v1():\n", nested)
    assert edit.ok and _layout(edit.program or "") == [0.25, 0.25, 0.25]
    starred = PARAMETERS.replace("import numpy as np\n", "import numpy as np\nfrom math import *\n")
    edit = complete_function(starred, "layout", "def layout_v1():\n", nested)
    assert (
        edit.ok and "p = {" not in (edit.program or "").split("def layout")[1].split("def run")[0]
    )
