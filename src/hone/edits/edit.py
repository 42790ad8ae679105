"""`Edit`: the tree an answer produced and the files it changed, or the one sentence why not."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from hone.tree import Tree

REPEAT = "the answer repeats its parent unchanged"  # why an answer that changes nothing fails
EditKind = Literal["diff", "patch", "full", "block", "function", "mixed", "none"]
PROGRAM_NAME = "program.py"  # the file an edit of one program's text is named (`apply_answer`)


@dataclass(frozen=True)
class Edit:
    """The tree an answer produced and the files it changed, or why it produced none."""

    tree: Tree | None
    reason: str = ""
    # diff: SEARCH/REPLACE; patch: unified diff; full/block: a whole file or block; function:
    # a completed function; mixed: several of these
    kind: EditKind = "none"
    changed: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """True when the answer yielded a tree."""
        return self.tree is not None

    @property
    def program(self) -> str | None:
        """The new program's text, when the tree is one file (else None)."""
        if self.tree is None or len(self.tree) != 1:
            return None
        return self.tree.text

    def into(self, parent: Tree, path: str) -> Edit:
        """This edit of one program's text (`apply_answer`, `complete_function`) as the file
        `path` of `parent`."""
        if self.program is None:
            return Edit(None, self.reason, self.kind)
        return Edit(parent.with_files({path: self.program}), kind=self.kind, changed=(path,))


def program_edit(program: str | None, reason: str = "", kind: EditKind = "none") -> Edit:
    """An edit of one program's text: its new text, or why there is none."""
    if program is None:
        return Edit(None, reason, kind)
    return Edit(Tree.one(PROGRAM_NAME, program), reason, kind, (PROGRAM_NAME,))


class Invalid(Exception):
    """Why an answer cannot be applied: one sentence, caught where the edit's value is made."""
