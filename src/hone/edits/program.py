"""One program's text (`apply_answer`): SEARCH/REPLACE blocks, or a full program (or only the
block's new contents) in a fenced code block; only the blocks' bodies may change. For small
models, the grammar that holds an answer to SEARCH/REPLACE blocks of the block's lines
(`answer_grammar`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Literal

from hone import syntax
from hone.edits.blocks import END, START, Blocks, blocks, region
from hone.edits.edit import REPEAT, Edit, EditKind, Invalid, program_edit
from hone.tree import _normal, _skeleton

_FENCE = re.compile(r"```[ \t]*([\w+-]*)[^\n]*\n(.*?)(?:\n```|\Z)", re.DOTALL)
SEARCH_REPLACE = re.compile(
    r"<{5,9} SEARCH[^\n]*\n(.*?)\n?={5,9}[ \t]*\n(.*?)\n?>{5,9} REPLACE", re.DOTALL
)


_NO_CODE = (
    "the answer contains no code: reply with a fenced code block holding the whole "
    "program, or with SEARCH/REPLACE blocks"
)


def apply_answer(parent: str, answer: str) -> Edit:
    """Apply a chat-style answer (SEARCH/REPLACE blocks or a fenced program) to the text of
    one program, `parent` (the edit's tree names it `PROGRAM_NAME`; `Edit.into` puts it in a
    tree): what `apply_tree_answer` does with an answer that names no file of a one-file
    tree."""
    parts = blocks(parent)
    diffs = SEARCH_REPLACE.findall(answer)
    kind: Literal["diff", "full", "block"] = "diff"
    try:
        if diffs:
            numbered = [(n, search, replace) for n, (search, replace) in enumerate(diffs, 1)]
            program = replaced(parts, numbered, "the program")
        else:
            code = _code_in(answer)
            if code is None:
                return Edit(None, _NO_CODE)
            program, kind = rewritten(parts, code)
    except Invalid as exc:
        return Edit(None, str(exc))
    return checked(parent, program, kind)


def replaced(parts: Blocks, diffs: Sequence[tuple[int, str, str]], whole: str) -> str:
    """The file with each (number, SEARCH, REPLACE) applied inside its blocks, in order."""
    bodies = list(parts.bodies)
    for number, search, replace in diffs:
        if not search.strip():
            raise Invalid(f"SEARCH block {number} is empty; copy the lines to replace into it")
        counts = [body.count(search) for body in bodies]
        if sum(counts) == 0:
            if parts.marked and search in parts.outside:
                raise Invalid(
                    f"SEARCH block {number} matches code outside the EVOLVE-BLOCK, "
                    "which may not change"
                )
            raise Invalid(
                f"SEARCH block {number} does not match {whole} exactly; copy the lines "
                "verbatim, including indentation"
            )
        if sum(counts) > 1:
            raise Invalid(
                f"SEARCH block {number} matches {sum(counts)} places; include more lines to "
                "make it unique"
            )
        at = counts.index(1)
        bodies[at] = bodies[at].replace(search, replace, 1)
    return parts.join(bodies)


def rewritten(parts: Blocks, code: str) -> tuple[str, Literal["full", "block"]]:
    """The file an answer's whole new text (or one block's new body) makes, and which it was."""
    if not parts.marked:
        return code, "full"
    try:
        if len(parts.bodies) == 1:  # the sentences of one-block files, as they always were
            one = region(code)
            new = Blocks((one.prefix, one.suffix), (one.body,))
        else:
            new = blocks(code)
    except ValueError as exc:
        raise Invalid(f"the answer's EVOLVE-BLOCK markers are malformed: {exc}") from None
    if not new.marked:
        if len(parts.bodies) > 1:
            raise Invalid(
                f"the answer has no EVOLVE-BLOCK markers but the file has {len(parts.bodies)} "
                "blocks; send the whole file with its markers, or SEARCH/REPLACE blocks"
            )
        # Only the block's contents came back; but a whole program without markers is a mistake.
        outside = [line.strip() for line in parts.fixed[-1].splitlines()[1:] if line.strip()]
        if outside and all(line in code for line in outside[:3]):
            raise Invalid(
                f"the answer is a whole program without the {START!r}/{END!r} markers; "
                "keep the markers so that only the block changes"
            )
        return parts.join([code]), "block"
    if len(new.bodies) != len(parts.bodies):
        raise Invalid(
            f"the answer has {len(new.bodies)} EVOLVE blocks where the file has "
            f"{len(parts.bodies)}; keep every marker line as it is"
        )
    last = len(parts.fixed) - 1
    for i, (mine, theirs) in enumerate(zip(parts.fixed, new.fixed, strict=True)):
        if _normal(mine) != _normal(theirs):
            where = "before" if i == 0 else "after" if i == last else "between"
            block = "the EVOLVE-BLOCK" if last == 1 else "the EVOLVE blocks"
            raise Invalid(
                f"the answer changes code {where} {block}, which must stay as it is; "
                "change only the code between the markers"
            )
    return parts.join(new.bodies), "full"


def checked(parent: str, program: str, kind: EditKind) -> Edit:
    try:
        parent_skeleton = _skeleton(parent)
    except SyntaxError:  # not Python (or a parent that never parsed): compare the text
        same = _normal(program) == _normal(parent)
    else:
        try:
            same = _skeleton(program) == parent_skeleton
        except SyntaxError as exc:
            return Edit(None, f"the new program does not parse: line {exc.lineno}: {exc.msg}", kind)
    if same:
        return Edit(None, REPEAT, kind)
    return program_edit(program, kind=kind)


def _code_in(answer: str) -> str | None:
    blocks: list[tuple[str, str]] = [
        (lang.lower(), code) for lang, code in _FENCE.findall(answer) if code.strip()
    ]
    python = [code for lang, code in blocks if lang in ("python", "py", "python3", "")]
    if python or blocks:  # Python first; any other language's block otherwise
        code = max(python or [code for _, code in blocks], key=len)
        return code if code.endswith("\n") else code + "\n"
    stripped = answer.strip()
    if stripped and "\n" in stripped:
        try:
            syntax.parse(stripped)
        except SyntaxError:
            return None
        return stripped + "\n"
    return None


def answer_grammar(parent: str) -> str:
    """A GBNF grammar (llama.cpp) for a chat answer to improve `parent`: a line of idea, then
    one or two SEARCH/REPLACE blocks whose SEARCH lines are lines of the parent's EVOLVE block
    (so that they match). No whole programs: small models given the choice copy the program."""
    try:
        body = region(parent).body
    except ValueError:
        body = parent
    lines = sorted({line for line in body.splitlines() if line.strip()})
    copied = " | ".join(_gbnf(line + "\n") for line in lines) or '"\\n"'
    return "\n".join(
        (
            "root ::= idea block block?",
            'idea ::= [^\\n<`] [^\\n]{0,300} "\\n" "\\n"?',
            'block ::= "<<<<<<< SEARCH\\n" search "=======\\n" replace ">>>>>>> REPLACE\\n" "\\n"?',
            'search ::= (copied | "\\n"){1,12}',
            f"copied ::= {copied}",
            'replace ::= ([^>\\n] [^\\n]* "\\n" | "\\n"){0,40}',
        )
    )


def _gbnf(text: str) -> str:
    """`text` as a GBNF string literal."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped.replace(chr(9), chr(92) + "t")}"'
