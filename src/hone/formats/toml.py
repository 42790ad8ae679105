"""hone's own task folder: `task.toml` (instruction, objective, target, settings tables), the
starting program and `evaluate.py` (docs/tasks.md)."""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import fields
from pathlib import Path
from typing import Any

from hone.exceptions import ConfigError, TaskError
from hone.formats import Options, Read, read_program, read_text, top_level_names
from hone.objective import OBJECTIVES
from hone.sandbox import visible
from hone.task import TABLES, Task

_TOP_KEYS = {
    "name",
    "instruction",
    "program",
    "archive",
    "evaluator",
    "objective",
    "target",
    "function",
}


def detect(folder: Path) -> bool:
    """True when the folder holds a task.toml."""
    return (folder / "task.toml").is_file()


def load(folder: Path, options: Options | None = None) -> Read:
    """Load a task folder: task.toml, the starting program and evaluate.py (`options` may
    replace the instruction)."""
    options = options or Options()
    toml_path = folder / "task.toml"
    if not toml_path.is_file():
        raise TaskError(
            f"{str(toml_path)!r} is missing; create it with at least an 'instruction' "
            "(see hone docs tasks), or point hone at an OpenEvolve folder (initial_program.*, "
            "evaluator.py) or a ShinkaEvolve one (initial.<ext>, evaluate.py)"
        )
    if options.config is not None:
        raise TaskError(
            f"--config names an OpenEvolve or ShinkaEvolve config, but {str(folder)!r} is a "
            "hone task folder: its settings are in task.toml"
        )
    try:
        data = tomllib.loads(read_text(toml_path, "task file"))
    except tomllib.TOMLDecodeError as exc:
        raise TaskError(f"{str(toml_path)!r} is not valid TOML: {exc}") from None
    if options.instruction is not None:
        data["instruction"] = options.instruction
    return Read(_from_mapping(data, folder.resolve(), str(toml_path)), "hone")


def _from_mapping(data: dict[str, Any], root: Path, where: str) -> Task:
    unknown = set(data) - _TOP_KEYS - set(TABLES)
    if unknown:
        raise TaskError(
            f"{where!r} has unknown key(s) {sorted(unknown)}; allowed: "
            f"{sorted(_TOP_KEYS | set(TABLES))}"
        )
    instruction = data.get("instruction")
    if not isinstance(instruction, str) or not instruction.strip():
        raise TaskError(
            f"{where!r} needs an 'instruction' string telling the model what to improve"
        )
    objective = data.get("objective", "maximize")
    if objective not in OBJECTIVES:
        raise TaskError(f"{where!r}: objective must be 'maximize' or 'minimize', got {objective!r}")
    program_path = root / _str_key(data, "program", "initial.py", where)
    if not program_path.is_file():
        raise TaskError(
            f"starting program {str(program_path)!r} is missing; create it or set 'program' "
            f"in {where!r}"
        )
    evaluator = root / _str_key(data, "evaluator", "evaluate.py", where)
    tables: dict[str, Any] = {}
    for name, klass in TABLES.items():
        table = data.get(name, {})
        if not isinstance(table, dict):
            raise TaskError(f"{where!r}: [{name}] must be a table")
        allowed = {f.name for f in fields(klass)}
        also = {*klass.ALIASES, *({"target"} if name == "budget" else ())}
        bad = set(table) - allowed - also
        if bad:
            raise TaskError(
                f"{where!r}: unknown key(s) {sorted(bad)} in [{name}]; allowed: {sorted(allowed)}"
            )
        try:
            tables[name] = klass.of(table)
        except ConfigError as exc:
            raise TaskError(f"{where!r}: invalid [{name}]: {exc}") from None
    # (checked when a run starts, with the --read-only paths: hone.sandbox.visible)
    readable = tuple(visible.resolve(path, root) for path in tables["evaluation"].read_only)
    tables["evaluation"] = dataclasses.replace(tables["evaluation"], read_only=readable)
    if tables["model"].prices:
        prices = (root / tables["model"].prices).resolve()
        if not prices.is_file():
            raise TaskError(
                f"{where!r}: [model] prices file {str(prices)!r} is missing (the path is "
                f"relative to the task folder {str(root)!r}); create it or remove the key"
            )
        tables["model"] = dataclasses.replace(tables["model"], prices=str(prices))
    _check_evaluator(evaluator, where, tables["evaluation"].contract)
    if "target" in data:
        target = data["target"]
        if isinstance(target, bool) or not isinstance(target, int | float):
            raise TaskError(f"{where!r}: target must be a number, got {target!r}")
        tables["budget"] = tables["budget"].merged(target=float(target))
    program = read_program(program_path)
    archive = data.get("archive", [])
    if not isinstance(archive, list) or not all(isinstance(a, str) and a for a in archive):
        raise TaskError(
            f"{where!r}: archive must be a list of file names of more starting programs, "
            f"got {archive!r}"
        )
    archived = []
    for name in archive:
        path = root / name
        if not path.is_file():
            raise TaskError(
                f"archive program {str(path)!r} is missing; create it or remove it from "
                f"'archive' in {where!r}"
            )
        archived.append((name, read_program(path)))
    function = data.get("function")
    if function is not None and not isinstance(function, str):
        raise TaskError(f"{where!r}: function must be a string naming the function to evolve")
    return Task(
        name=_str_key(data, "name", root.name, where),
        instruction=instruction.strip(),
        program=program,
        evaluator=evaluator,
        objective=objective,
        function=function,
        archive=tuple(archived),
        program_filename=program_path.name,
        root=root,
        **tables,
    )


def _str_key(data: dict[str, Any], key: str, default: str, where: str) -> str:
    value = data.get(key, default)
    if not isinstance(value, str) or not value:
        raise TaskError(f"{where!r}: {key!r} must be a non-empty string, got {value!r}")
    return value


def _check_evaluator(path: Path, where: str, contract: str) -> None:
    if not path.is_file():
        raise TaskError(
            f"evaluator {str(path)!r} is missing; create it with a function "
            "evaluate(program_path) -> float | dict (see hone docs tasks)"
        )
    names = top_level_names(path)
    if contract == "shinka":  # a script run with --program_path and --results_dir
        return
    if not names & {"evaluate", "evaluate_program", "evaluate_stage1"}:
        raise TaskError(
            f"evaluator {str(path)!r} defines no top-level 'evaluate'; add "
            "def evaluate(program_path): ... returning a float or a dict, or "
            "def evaluate_program(program): ... (see hone docs tasks)"
        )
    if "evaluate_program" in names and "evaluate_stage1" in names:
        raise TaskError(
            f"evaluator {str(path)!r}: cascade stages (evaluate_stage1, ...) go with "
            "evaluate(program_path); inside evaluate_program, run cheap checks first in code"
        )
