"""Turning a model's answer into a new program or tree, and keeping edits inside the
EVOLVE blocks.

A file may hold any number of EVOLVE blocks, in any comment style `_MARKER` knows (`blocks`);
where it has some, only their bodies may change, whatever the answer's shape. A file without
markers may change anywhere.

One program (`apply_answer`): SEARCH/REPLACE blocks, a full program (or only the block's new
contents) in a fenced code block, and — for completion-style prompts — the body of the next
version of one function (`complete_function`).

An answer that cannot be applied is rejected with a reason the model sees next round;
nothing here raises for a bad answer.

One module per part: `blocks` (EVOLVE blocks), `edit` (`Edit`), `program` (one program's
text, and the grammar of its answers), `trees` (answers that name their files), `function` (completion-style edits of one
function), `folder` (`read_tree`). The names the rest of hone uses are here.
"""

from hone.edits.blocks import END, START, Blocks, Region, blocks, region
from hone.edits.edit import PROGRAM_NAME, REPEAT, Edit, EditKind
from hone.edits.folder import read_tree
from hone.edits.function import (
    complete_function,
    function_names,
    function_source,
    replace_function,
)
from hone.edits.program import answer_grammar, apply_answer
from hone.edits.trees import apply_tree_answer
from hone.tree import program_key as program_key  # where it always was
from hone.tree import same_program as same_program

__all__ = [
    "END",
    "PROGRAM_NAME",
    "REPEAT",
    "START",
    "Blocks",
    "Edit",
    "EditKind",
    "Region",
    "answer_grammar",
    "apply_answer",
    "apply_tree_answer",
    "blocks",
    "complete_function",
    "function_names",
    "function_source",
    "program_key",
    "read_tree",
    "region",
    "replace_function",
    "same_program",
]
