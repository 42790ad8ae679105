"""Turning a model's answer into a new program, and keeping edits inside the EVOLVE-BLOCK.

Three answer shapes are understood: SEARCH/REPLACE blocks, a full program (or only the
block's new contents) in a fenced code block, and — for completion-style prompts — the body of
the next version of one function. An answer that cannot be applied is rejected with a reason
the model sees next round; nothing here raises for a bad answer.
"""

from __future__ import annotations

import ast
import functools
import re
from dataclasses import dataclass
from typing import Literal

START = "# EVOLVE-BLOCK-START"
END = "# EVOLVE-BLOCK-END"

_FENCE = re.compile(r"```[ \t]*([\w+-]*)[^\n]*\n(.*?)(?:\n```|\Z)", re.DOTALL)
_DIFF = re.compile(r"<{5,9} SEARCH[^\n]*\n(.*?)\n?={5,9}[ \t]*\n(.*?)\n?>{5,9} REPLACE", re.DOTALL)


@dataclass(frozen=True)
class Region:
    """A program split around its EVOLVE-BLOCK: `prefix + body + suffix == program`."""

    prefix: str
    body: str
    suffix: str

    @property
    def marked(self) -> bool:
        """True when the program has EVOLVE-BLOCK markers."""
        return bool(self.prefix or self.suffix)

    def join(self, body: str) -> str:
        """The program with a new block body."""
        if body and not body.endswith("\n") and self.suffix:
            body += "\n"
        return self.prefix + body + self.suffix


@dataclass(frozen=True)
class Edit:
    """The program an answer produced, or why it produced none."""

    program: str | None
    reason: str = ""
    kind: Literal["diff", "full", "block", "function", "none"] = "none"

    @property
    def ok(self) -> bool:
        """True when the answer yielded a program."""
        return self.program is not None


# A marker line in any common comment style: a line comment (# Python, shell, R, Julia;
# // C, Go, Rust; -- Lua, Haskell, SQL; ; Lisp, assembly; % LaTeX, Matlab, Erlang; ! Fortran)
# or a block comment closed on its line (/* */ C, (* *) OCaml, Wolfram, Pascal; <!-- -->
# HTML, Markdown; {- -} Haskell).
_MARKER = re.compile(
    r"(?:#+|//+|--+|;+|%+|!+)\s*EVOLVE-BLOCK-(START|END)(?![\w-]).*"
    r"|/\*\s*EVOLVE-BLOCK-(START|END)\s*\*/"
    r"|\(\*\s*EVOLVE-BLOCK-(START|END)\s*\*\)"
    r"|<!--\s*EVOLVE-BLOCK-(START|END)\s*-->"
    r"|\{-\s*EVOLVE-BLOCK-(START|END)\s*-\}"
)


def _marker(line: str) -> str | None:
    match = _MARKER.fullmatch(line.strip())
    if match is None:
        return None
    return next(group for group in match.groups() if group)


def region(program: str) -> Region:
    """Split a program at its markers; raises ValueError when they are malformed."""
    lines = program.splitlines(keepends=True)
    starts = [i for i, line in enumerate(lines) if _marker(line) == "START"]
    ends = [i for i, line in enumerate(lines) if _marker(line) == "END"]
    if not starts and not ends:
        return Region("", program, "")
    if len(starts) != 1 or len(ends) != 1 or ends[0] < starts[0]:
        raise ValueError(
            "expected one EVOLVE-BLOCK-START line followed by one EVOLVE-BLOCK-END line, found "
            f"{len(starts)} start and {len(ends)} end marker(s)"
        )
    s, e = starts[0], ends[0]
    return Region("".join(lines[: s + 1]), "".join(lines[s + 1 : e]), "".join(lines[e:]))


def apply_answer(parent: str, answer: str) -> Edit:
    """Apply a chat-style answer (SEARCH/REPLACE blocks or a fenced program) to `parent`."""
    parts = region(parent)
    diffs = _DIFF.findall(answer)
    if diffs:
        return _checked(parent, _apply_diffs(parts, diffs))
    code = _code_in(answer)
    if code is None:
        return Edit(
            None,
            "the answer contains no code: reply with a fenced code block holding the whole "
            "program, or with SEARCH/REPLACE blocks",
        )
    return _checked(parent, _apply_full(parts, code))


def _apply_diffs(parts: Region, diffs: list[tuple[str, str]]) -> Edit:
    body = parts.body
    for number, (search, replace) in enumerate(diffs, 1):
        if not search.strip():
            return Edit(None, f"SEARCH block {number} is empty; copy the lines to replace into it")
        count = body.count(search)
        if count == 0:
            outside = parts.prefix + parts.suffix
            if parts.marked and search in outside:
                return Edit(
                    None,
                    f"SEARCH block {number} matches code outside the EVOLVE-BLOCK, "
                    "which may not change",
                )
            return Edit(
                None,
                f"SEARCH block {number} does not match the program exactly; copy the lines "
                "verbatim, including indentation",
            )
        if count > 1:
            return Edit(
                None,
                f"SEARCH block {number} matches {count} places; include more lines to make it unique",
            )
        body = body.replace(search, replace, 1)
    return Edit(parts.join(body), kind="diff")


def _apply_full(parts: Region, code: str) -> Edit:
    if not parts.marked:
        return Edit(code, kind="full")
    try:
        new = region(code)
    except ValueError as exc:
        return Edit(None, f"the answer's EVOLVE-BLOCK markers are malformed: {exc}")
    if not new.marked:
        # Only the block's contents came back; but a whole program without markers is a mistake.
        outside = [line.strip() for line in parts.suffix.splitlines()[1:] if line.strip()]
        if outside and all(line in code for line in outside[:3]):
            return Edit(
                None,
                f"the answer is a whole program without the {START!r}/{END!r} markers; "
                "keep the markers so that only the block changes",
            )
        return Edit(parts.join(code), kind="block")
    for mine, theirs, where in (
        (parts.prefix, new.prefix, "before"),
        (parts.suffix, new.suffix, "after"),
    ):
        if _normal(mine) != _normal(theirs):
            return Edit(
                None,
                f"the answer changes code {where} the EVOLVE-BLOCK, which must stay as it is; "
                "change only the code between the markers",
            )
    return Edit(parts.join(new.body), kind="full")


def _checked(parent: str, edit: Edit) -> Edit:
    if edit.program is None:
        return edit
    try:
        parent_skeleton = _skeleton(parent)
    except SyntaxError:  # not Python (or a parent that never parsed): compare the text
        same = _normal(edit.program) == _normal(parent)
    else:
        try:
            same = _skeleton(edit.program) == parent_skeleton
        except SyntaxError as exc:
            return Edit(
                None, f"the new program does not parse: line {exc.lineno}: {exc.msg}", edit.kind
            )
    if same:
        return Edit(None, "the answer repeats its parent unchanged", edit.kind)
    return edit


def program_key(code: str) -> str:
    """A key equal for programs that differ only in comments, docstrings or layout."""
    try:
        return _skeleton(code)
    except SyntaxError:
        return _normal(code)


@functools.lru_cache(maxsize=256)
def _skeleton(code: str) -> str:
    """`ast.dump` of the program with the leading string of every body (docstrings) dropped."""
    return _dump(ast.parse(code))


def _dump(node: object) -> str:
    # Exactly what ast.dump(node) returns once every `body` list has lost a leading string
    # (`body[1:] or [Pass()]`), in one pass and about three times faster (a new program is
    # keyed on every hypothesis: 3 ms for a 300-line one with ast.walk and ast.dump).
    if isinstance(node, ast.AST):
        cls = type(node)
        fields = []
        for name in node._fields:
            try:
                value = getattr(node, name)
            except AttributeError:
                continue
            if value is None and getattr(cls, name, ...) is None:
                continue
            if name == "body" and isinstance(value, list) and value:
                first = value[0]
                if (
                    isinstance(first, ast.Expr)
                    and isinstance(first.value, ast.Constant)
                    and isinstance(first.value.value, str)
                ):
                    value = value[1:] or [ast.Pass()]
            fields.append(f"{name}={_dump(value)}")
        return f"{cls.__name__}({', '.join(fields)})"
    if isinstance(node, list):
        return f"[{', '.join([_dump(item) for item in node])}]" if node else "[]"
    return repr(node)


def _normal(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.strip().splitlines())


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
            ast.parse(stripped)
        except SyntaxError:
            return None
        return stripped + "\n"
    return None


# -- completion-style (best-shot) edits of one function ---------------------------------------
def function_names(code: str) -> list[str]:
    """Names of the top-level functions in `code`, in order (empty when it does not parse)."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return []
    return [n.name for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]


def function_source(code: str, name: str) -> str | None:
    """The source of top-level function `name` (decorators included), or None."""
    span = _function_span(code, name)
    if span is None:
        return None
    lines = code.splitlines(keepends=True)
    return "".join(lines[span[0] : span[1]])


def replace_function(code: str, name: str, new_source: str) -> str:
    """`code` with top-level function `name` replaced by `new_source`."""
    span = _function_span(code, name)
    if span is None:
        raise ValueError(f"no top-level function {name!r}")
    lines = code.splitlines(keepends=True)
    if not new_source.endswith("\n"):
        new_source += "\n"
    return "".join(lines[: span[0]]) + new_source + "".join(lines[span[1] :])


def _function_span(code: str, name: str) -> tuple[int, int] | None:
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return None
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == name:
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)]) - 1
            return first, node.end_lineno or node.lineno
    return None


def complete_function(parent: str, name: str, signature: str, completion: str) -> Edit:
    """Splice `signature` + the completed body into `parent` as the new function `name`.

    `signature` is the ``def name_vN(...):`` line(s) the prompt ended with; the body ends at the
    first line that is not indented, as in FunSearch's sampler.
    """
    body_lines: list[str] = []
    for line in completion.splitlines():
        if line.strip() and not line[:1].isspace():
            break
        body_lines.append(line)
    body = "\n".join(body_lines).rstrip()
    if not body.strip():
        return Edit(None, "the completion has no function body", "function")
    versioned = re.compile(rf"\b{re.escape(name)}_v\d+\b")
    source = versioned.sub(name, signature.rstrip("\n") + "\n" + body + "\n")
    try:
        ast.parse(source)
    except SyntaxError as exc:
        return Edit(
            None, f"the new function does not parse: line {exc.lineno}: {exc.msg}", "function"
        )
    try:
        program = replace_function(parent, name, source)
    except ValueError as exc:
        return Edit(None, str(exc), "function")
    return _checked(parent, Edit(program, kind="function"))


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
