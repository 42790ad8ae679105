"""Reading task folders: hone's own (`task.toml`, `hone.formats.toml`), OpenEvolve's
(`hone.formats.openevolve`) and ShinkaEvolve's (`hone.formats.shinka`).

Adding a format: a module with ``detect(folder) -> bool`` and ``load(folder, options) -> Read``,
and one line in `FORMATS` (the first whose `detect` answers yes reads the folder).
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hone import inbound, syntax
from hone.edits import region
from hone.exceptions import TaskError

if TYPE_CHECKING:
    from hone.task import Task

log = logging.getLogger("hone")

FORMATS: dict[str, str] = {
    "hone": "hone.formats.toml",
    "openevolve": "hone.formats.openevolve",
    "shinka": "hone.formats.shinka",
}


@dataclass(frozen=True)
class Options:
    """What the command line adds to a task folder: a config file (OpenEvolve's config.yaml,
    a ShinkaEvolve YAML), the instruction, or OpenEvolve's program and evaluator files."""

    config: Path | None = None
    instruction: str | None = None
    program: Path | None = None  # with `evaluator`: OpenEvolve's two-file command form
    evaluator: Path | None = None

    def to_json(self) -> dict[str, str | None]:
        """A JSON-ready dict (a run's store keeps it, so resume reads the task the same way)."""
        return {
            "config": str(self.config) if self.config else None,
            "instruction": self.instruction,
            "program": str(self.program) if self.program else None,
            "evaluator": str(self.evaluator) if self.evaluator else None,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> Options:
        """Inverse of `to_json`."""
        data = data or {}

        def path(key: str) -> Path | None:
            return Path(data[key]) if data.get(key) else None

        return cls(path("config"), data.get("instruction"), path("program"), path("evaluator"))


@dataclass(frozen=True)
class Read:
    """A task as a format read it: which format, one line on the settings it took, and the
    warnings (config keys hone does not use)."""

    task: Task
    format: str
    note: str = ""  # one line for people; empty for hone's own format
    warnings: tuple[str, ...] = field(default=())


def read_task(folder: Path, options: Options | None = None) -> Read:
    """The task in `folder` (or in OpenEvolve's program and evaluator files), read by the
    first format that recognises it."""
    options = options or Options()
    read: Read
    if options.program is not None or options.evaluator is not None:
        from hone.formats import openevolve

        read = openevolve.load_files(options)
    elif not folder.exists():
        raise TaskError(f"task folder {str(folder)!r} does not exist; pass a folder with task.toml")
    elif not folder.is_dir():
        raise TaskError(
            f"task folder {str(folder)!r} is not a folder; pass the folder that holds task.toml"
        )
    else:
        modules = {name: importlib.import_module(m) for name, m in FORMATS.items()}
        found = next((m for m in modules.values() if m.detect(folder)), modules["hone"])
        read = found.load(folder, options)  # hone's own format says what is missing
    if options.instruction is not None:
        where = "the instruction given with --instruction"
    elif read.format == "hone":
        where = f"the instruction in {str(folder / 'task.toml')!r}"
    else:
        where = f"the instruction of the task in {str(folder)!r}"
    instruction, warning = checked_instruction(read.task.instruction, where)
    read = dataclasses.replace(
        read,
        task=dataclasses.replace(read.task, instruction=instruction),
        warnings=(*read.warnings, *([warning] if warning else [])),
    )
    if options != Options():  # kept absolute, for resume from any directory
        source = Options(
            _absolute(options.config),
            options.instruction,
            _absolute(options.program),
            _absolute(options.evaluator),
        )
        read = dataclasses.replace(read, task=dataclasses.replace(read.task, source=source))
    return read


def checked_instruction(instruction: str, where: str) -> tuple[str, str]:
    """The instruction as hone keeps it (valid text: `hone.inbound`), and a warning ('' for
    none) when it is long: every prompt carries it whole. TaskError above MAX_INSTRUCTION
    characters (`where` names it: "the instruction in 'task.toml'")."""
    text = inbound.text(instruction)
    size, tokens = len(text), len(text) // 4
    if size > inbound.MAX_INSTRUCTION:
        raise TaskError(
            f"{where} is {size:,} characters; hone takes at most {inbound.MAX_INSTRUCTION:,} "
            "(about 50,000 tokens), as every prompt carries it whole: shorten it"
        )
    if size > inbound.LONG_INSTRUCTION:
        return text, (
            f"{where} is {size:,} characters (about {tokens:,} tokens), and every prompt "
            "carries it whole: more than a small model's context holds"
        )
    return text, ""


def _absolute(path: Path | None) -> Path | None:
    return path.resolve() if path is not None else None


def load_task(folder: Path, options: Options | None = None) -> Task:
    """The task in `folder`; the format's note is logged, and its warnings."""
    read = read_task(folder, options)
    if read.note:
        log.info("%s", read.note)
    for warning in read.warnings:
        log.warning("%s", warning)
    return read.task


def read_text(path: Path, what: str) -> str:
    """A task file's text; one sentence when it cannot be read as UTF-8."""
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise TaskError(
            f"{what} {str(path)!r} is not UTF-8 text (byte {exc.object[exc.start]:#04x} at "
            f"offset {exc.start}); save it as UTF-8"
        ) from None
    except OSError as exc:
        raise TaskError(f"cannot read {what} {str(path)!r} ({exc.strerror})") from None


def read_program(path: Path) -> str:
    """A starting program's text: UTF-8, at most one pair of EVOLVE-BLOCK markers, and a
    Python one must parse."""
    program = read_text(path, "starting program")
    try:
        region(program)
    except ValueError as exc:
        raise TaskError(
            f"starting program {str(path)!r}: {exc}; mark the part that may change with one "
            "pair of EVOLVE-BLOCK-START / EVOLVE-BLOCK-END comment lines, or with none"
        ) from None
    if path.suffix == ".py":
        try:
            syntax.parse(program)
        except SyntaxError as exc:
            raise TaskError(
                f"starting program {str(path)!r} does not parse (line {exc.lineno}: {exc.msg})"
            ) from None
    return program


def read_yaml(path: Path) -> dict[str, Any]:
    """A YAML config file's mapping of settings (an empty file is an empty mapping)."""
    if not path.is_file():
        raise TaskError(f"config {str(path)!r} does not exist")
    import yaml

    try:
        data = yaml.safe_load(read_text(path, "config"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise TaskError(f"config {str(path)!r} is not valid YAML ({where}{problem})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise TaskError(f"config {str(path)!r} must be a YAML mapping of settings")
    return data


def top_level_names(path: Path) -> set[str]:
    """The functions, assignments and imported names at the top level of a Python file."""
    try:
        tree = syntax.parse(read_text(path, "evaluator"))
    except SyntaxError as exc:
        raise TaskError(
            f"evaluator {str(path)!r} does not parse (line {exc.lineno}: {exc.msg})"
        ) from None
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
        elif isinstance(node, ast.ImportFrom):
            names |= {alias.asname or alias.name for alias in node.names}
    return names
