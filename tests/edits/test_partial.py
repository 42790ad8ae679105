"""What small models send instead of a whole one-block file (`hone.edits.partial`), through
`apply_answer`: the answers are Qwen2.5-Coder-0.5B's on the peers' circle_packing folders
(benchmarks/peers_real_model.py's proxy log), shortened."""

from hone.edits import apply_answer
from tests.edits.conftest import PARENT


def test_whole_program_without_markers_changes_the_block() -> None:
    new = PARENT.replace("# EVOLVE-BLOCK-START\n", "").replace("# EVOLVE-BLOCK-END\n", "")
    edit = apply_answer(PARENT, f"```python\n{new.replace('x + 1', 'x + 2')}```")
    assert edit.ok and edit.kind == "block"
    assert edit.program == PARENT.replace("x + 1", "x + 2")


def test_whole_program_without_markers_changing_code_after_is_rejected() -> None:
    new = PARENT.replace("# EVOLVE-BLOCK-START\n", "").replace("# EVOLVE-BLOCK-END\n", "")
    edit = apply_answer(PARENT, f"```python\n{new.replace('f(1)', 'f(5)')}```")
    assert not edit.ok and "after the EVOLVE-BLOCK" in edit.reason


# Answers of Qwen2.5-Coder-0.5B to chat prompts on the peers' circle_packing folders
# (benchmarks/peers_real_model.py's proxy log), shortened: the program's shape is theirs.
PACKING = """\
# EVOLVE-BLOCK-START
\"\"\"Constructor-based circle packing for n=26 circles\"\"\"

import numpy as np


def construct_packing():
    centers = np.zeros((26, 2))
    radii = compute_max_radii(centers)
    return centers, radii


def compute_max_radii(centers):
    return np.ones(centers.shape[0]) * 0.01


# EVOLVE-BLOCK-END


# This part remains fixed (not evolved)
def run_packing():
    \"\"\"Run the circle packing constructor for n=26\"\"\"
    centers, radii = construct_packing()
    return centers, radii, np.sum(radii)
"""
FIXED = PACKING[PACKING.index("# EVOLVE-BLOCK-END") :]


def test_a_block_from_its_start_marker_without_an_end_replaces_what_it_defines() -> None:
    """The block from its START line, the END and the rest left out, and the import the
    block needs dropped: the functions it gives replace the block's, its import stays."""
    answer = """### Idea
The proposed solution places larger circles at the center.

### Proposal
```python
# EVOLVE-BLOCK-START
def construct_packing():
    centers = np.full((26, 2), 0.5)
    radii = compute_max_radii(centers)
    return centers, radii


def compute_max_radii(centers):
    return np.ones(centers.shape[0]) * 0.02
```
"""
    edit = apply_answer(PACKING, answer)
    assert edit.ok and edit.kind == "block"
    program = edit.program or ""
    assert "import numpy as np" in program and "np.full((26, 2), 0.5)" in program
    assert "* 0.02" in program and "* 0.01" not in program and program.endswith(FIXED)


def test_a_block_that_gives_one_function_keeps_the_others() -> None:
    answer = """The proposal to change the function to `construct_packing` is as follows:
```python
# EVOLVE-BLOCK-START
\"\"\"Constructor-based circle packing for n=26 circles\"\"\"

import numpy as np


def construct_packing():
    centers = np.full((26, 2), 0.25)
    radii = compute_max_radii(centers)
    return centers, radii
```
"""
    edit = apply_answer(PACKING, answer)
    assert edit.ok and edit.kind == "block"
    program = edit.program or ""
    assert "np.full((26, 2), 0.25)" in program and "def compute_max_radii" in program
    assert program.count("import numpy as np") == 1 and program.endswith(FIXED)


def test_a_program_up_to_the_end_marker_without_the_start_adds_its_imports() -> None:
    """The whole program with its START line dropped (and a comment outside the block): the
    block gets the new code and the new import, the code after it stays the file's."""
    answer = """We can make the `construct_packing` function as follows:

```python
import numpy as np
from scipy.optimize import minimize

def construct_packing():
    centers = minimize(lambda c: 0.0, np.zeros(52)).x.reshape(26, 2)
    radii = compute_max_radii(centers)
    return centers, radii
# EVOLVE-BLOCK-END


def run_packing():
    \"\"\"Run the circle packing constructor for n=26\"\"\"
    centers, radii = construct_packing()
    return centers, radii, np.sum(radii)
```

This change uses `scipy.optimize.minimize`."""
    edit = apply_answer(PACKING, answer)
    assert edit.ok and edit.kind == "block"
    program = edit.program or ""
    assert "import numpy as np\nfrom scipy.optimize import minimize\n" in program
    assert "minimize(lambda" in program and "def compute_max_radii" in program
    assert program.endswith(FIXED)  # its comment as the file has it


def test_a_program_up_to_the_end_marker_that_changes_the_code_after_is_rejected() -> None:
    answer = (
        "```python\ndef construct_packing():\n    return 1, 2\n"
        + FIXED.replace("np.sum(radii)", "2.635")
        + "```"
    )
    edit = apply_answer(PACKING, answer)
    assert not edit.ok and "after the EVOLVE-BLOCK" in edit.reason


def test_a_whole_program_that_drops_comments_after_the_block_keeps_the_files() -> None:
    new = PACKING.replace("* 0.01", "* 0.03").replace(
        "# This part remains fixed (not evolved)\n", ""
    )
    edit = apply_answer(PACKING, f"```python\n{new}```")
    assert edit.ok and edit.program == PACKING.replace("* 0.01", "* 0.03")


def test_a_whole_program_without_markers_or_the_comment_after_the_block() -> None:
    """The cut is at the first code line after the block: run_packing stays outside it."""
    new = PACKING.replace("* 0.01", "* 0.04").replace("# EVOLVE-BLOCK-START\n", "")
    new = new.replace("# EVOLVE-BLOCK-END\n", "").replace(
        "# This part remains fixed (not evolved)\n", ""
    )
    edit = apply_answer(PACKING, f"```python\n{new}```")
    assert edit.ok and edit.kind == "block"
    assert edit.program == PACKING.replace("* 0.01", "* 0.04")
