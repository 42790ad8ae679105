"""ShinkaEvolve's task folders: ``initial.<ext>`` (any language) and ``evaluate.py``, which
takes ``--program_path`` and ``--results_dir`` and writes ``metrics.json`` and
``correct.json`` there (`hone.compat.shinka` runs it per candidate, in the sandbox).

The task message comes from ``--instruction``, else a ShinkaEvolve YAML config named with
``--config`` (``evo_config.task_sys_msg``), else the folder's ``run_evo.py`` (a string assigned
to ``task_sys_msg`` or passed as ``task_sys_msg=``, read without running the script). Run
settings written there as literals are read too (docs/migrating.md).
"""

from __future__ import annotations

import ast
import dataclasses
import importlib.util
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hone import syntax
from hone.budget import Budget
from hone.exceptions import ConfigError, TaskError
from hone.formats import Options, Read, read_program, read_yaml
from hone.task import Task

# ShinkaEvolve's order of preference among initial.<ext> files (shinka/cli/run.py), then any
_PRIORITY = (
    ".py", ".go", ".jl", ".rs", ".cpp", ".cc", ".cxx", ".cu", ".swift", ".json",
    ".f90", ".f95", ".f03", ".f08",
)  # fmt: skip
_NAMESPACES = {"evo": "evo", "evo_config": "evo", "db": "db", "db_config": "db"}
_NAMESPACES |= {"job": "job", "job_config": "job"}
_RUNNER = ("max_evaluation_jobs", "max_proposal_jobs", "max_db_workers", "verbose", "debug")
_TIME = re.compile(r"(\d+):(\d{1,2}):(\d{1,2})")
# ShinkaEvolve's own task message when a folder gives none (shinka/defaults.py, 0.0.7)
DEFAULT_TASK_SYS_MSG = (
    "You are an expert optimization and algorithm design assistant. "
    "Improve the program while preserving correctness and immutable regions."
)
# the settings hone reads (run_evo.py's keywords, a YAML's keys without their table)
READ = (
    "task_sys_msg", "num_generations", "patch_types", "init_program_path", "time",
    "max_evaluation_jobs",
)  # fmt: skip


def detect(folder: Path) -> bool:
    """True when the folder holds an initial.<ext> and an evaluate.py that takes
    --program_path and --results_dir."""
    evaluate = folder / "evaluate.py"
    if not evaluate.is_file() or _program_in(folder) is None:
        return False
    text = evaluate.read_text(encoding="utf-8", errors="replace")
    return "program_path" in text and "results_dir" in text


def load(folder: Path, options: Options | None = None) -> Read:
    """Read a ShinkaEvolve folder: the starting program, evaluate.py, and the task message
    and settings from run_evo.py and --config (which wins)."""
    options = options or Options()
    root = folder.resolve()
    evaluate = root / "evaluate.py"
    try:
        tree = syntax.parse(evaluate.read_text(encoding="utf-8"))
    except SyntaxError as exc:
        raise TaskError(
            f"evaluator {str(evaluate)!r} does not parse (line {exc.lineno}: {exc.msg})"
        ) from None
    _check_imports(tree, evaluate)
    took: list[str] = []
    unused: list[str] = []
    settings, unread = _script_settings(root / "run_evo.py")
    source = dict.fromkeys(settings, "run_evo.py")
    if options.config is not None:  # the YAML's settings win over the script's
        configured = _yaml_settings(options.config, unused)
        settings |= configured
        source |= dict.fromkeys(configured, options.config.name)
    where = options.config.name if options.config is not None else "run_evo.py"
    program = _program_in(root)
    assert program is not None  # detect() said so
    if isinstance(settings.get("init_program_path"), str):
        given = root / settings["init_program_path"]
        if not given.is_file():
            raise TaskError(f"{where}: init_program_path {str(given)!r} does not exist")
        if given.resolve() != program.resolve():
            took.append(f"init_program_path {settings['init_program_path']} → starting program")
        program = given
    instruction = options.instruction
    if instruction is None:
        instruction = settings.get("task_sys_msg")
        if isinstance(instruction, str) and instruction.strip():
            took.append(f"task_sys_msg from {source['task_sys_msg']} → instruction")
        else:  # as ShinkaEvolve does
            instruction = DEFAULT_TASK_SYS_MSG
            took.append("instruction: ShinkaEvolve's default task_sys_msg (the folder has none)")
    try:
        tables = _tables(settings, where, took)
    except ConfigError as exc:
        raise TaskError(f"{where}: {exc}") from None
    task = Task(
        name=root.name,
        instruction=instruction.strip(),
        program=read_program(program),
        evaluator=evaluate,
        objective="maximize",
        program_filename="main" + program.suffix,  # the name ShinkaEvolve gives candidates
        root=root,
    ).configured(**tables)
    warnings: tuple[str, ...] = ()
    if unused:
        warnings = (
            f"{options.config}: ShinkaEvolve keys hone does not use: {', '.join(unused)} "
            "(see hone docs migrating)",
        )
    if unread:
        warnings += (
            f"{root / 'run_evo.py'}: ShinkaEvolve settings hone does not use: "
            f"{', '.join(unread)} (see hone docs migrating)",
        )
    note = f"read a ShinkaEvolve task ({program.name}, evaluate.py)" + (
        ": " + ", ".join(took) if took else ""
    )
    return Read(task, "shinka", note, warnings)


def _program_in(folder: Path) -> Path | None:
    found = [p for p in folder.glob("initial.*") if p.is_file() and p.suffix not in (".pyc", "")]
    rank = {suffix: i for i, suffix in enumerate(_PRIORITY)}
    found.sort(key=lambda p: (rank.get(p.suffix, len(rank)), p.name))
    return found[0] if found else None


def _check_imports(tree: ast.Module, evaluate: Path) -> None:
    """A clear error, now, for an evaluator that needs ShinkaEvolve and cannot have it."""
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        for name in names:
            if name.split(".")[0] == "shinka" and importlib.util.find_spec("shinka") is None:
                raise TaskError(
                    f"evaluator {str(evaluate)!r} imports {name!r}, and ShinkaEvolve is not "
                    "installed where hone runs; install it (pip install shinka-evolve) or "
                    "write metrics.json and correct.json without it (hone docs migrating)"
                )


def _yaml_settings(path: Path, unused: list[str]) -> dict[str, Any]:
    """The settings of a ShinkaEvolve YAML config (evo, db, job and runner keys)."""
    data = read_yaml(path)
    settings: dict[str, Any] = {}
    for key, value in data.items():
        namespace = _NAMESPACES.get(key)
        if namespace is None:
            if key in _RUNNER:
                settings[key] = value
            else:
                unused.append(str(key))
            continue
        if not isinstance(value, Mapping):
            raise TaskError(f"config {str(path)!r}: {key} must be a mapping of settings")
        for name, item in value.items():
            settings[f"{namespace}.{name}"] = item
    used = {f"evo.{k}" for k in ("task_sys_msg", "num_generations", "patch_types")}
    used |= {"evo.init_program_path", "job.time", "max_evaluation_jobs"}
    unused += [k for k in settings if k not in used]
    flat = {k.split(".", 1)[-1]: v for k, v in settings.items() if k in used}
    return flat


def _script_settings(script: Path) -> tuple[dict[str, Any], list[str]]:
    """Literal settings in a run_evo.py, read with `ast` (the script is never run): the task
    message and, where written as literals (or as names bound to literals, or, for
    `init_program_path`, a path built from the script's folder), the settings in `READ`; and
    the other settings its ShinkaEvolve calls pass (`EvolutionConfig(...)`, ...), unread."""
    if not script.is_file():
        return {}, []
    try:
        tree = syntax.parse(script.read_text(encoding="utf-8"))
    except (SyntaxError, UnicodeDecodeError):
        return {}, []
    constants: dict[str, Any] = {}
    for statement in tree.body:
        targets: list[ast.expr]
        if isinstance(statement, ast.AnnAssign) and statement.value is not None:
            targets, value = [statement.target], statement.value
        elif isinstance(statement, ast.Assign):
            targets, value = statement.targets, statement.value
        else:
            continue
        for target in targets:
            if isinstance(target, ast.Name):
                if "__file__" in ast.unparse(value):
                    constants[target.id] = "."  # the script's folder: the task folder
                    continue
                literal = _literal(value, constants)
                if literal is not None:
                    constants[target.id] = literal
    settings: dict[str, Any] = {}
    unread: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            call = ast.unparse(node.func).rsplit(".", 1)[-1]
            if not call.endswith(("Config", "Runner")):
                continue
            for keyword in node.keywords:
                name = keyword.arg
                if name is None or name.endswith("_config"):  # (the configs, passed on)
                    continue
                if name == "time" and not call.endswith("JobConfig"):
                    continue
                if name == "eval_program_path":  # what hone runs anyway: evaluate.py here
                    named = _path(keyword.value, constants)
                    if named and (script.parent / named).resolve() == script.parent / "evaluate.py":
                        continue
                if name not in READ:
                    unread.append(f"{call}.{name}")
                    continue
                read = (_path if name == "init_program_path" else _literal)(
                    keyword.value, constants
                )
                if read is not None:
                    settings.setdefault(name, read)
    if "task_sys_msg" not in settings:
        messages = [v for k, v in constants.items() if k.endswith("task_sys_msg")]
        if messages and isinstance(messages[0], str):
            settings["task_sys_msg"] = messages[0]
    return settings, unread


def _path(node: ast.expr, constants: Mapping[str, Any]) -> str | None:
    """A path written as a literal or built from the script's folder (`str(TASK_DIR /
    "initial.py")`, `os.path.join(HERE, "initial.py")`), relative to the task folder."""
    if isinstance(node, ast.Call) and node.args:
        name = ast.unparse(node.func)
        if name in ("str", "Path", "pathlib.Path", "os.fspath") and len(node.args) == 1:
            return _path(node.args[0], constants)
        if name in ("os.path.join", "Path", "pathlib.Path"):
            parts = [_path(arg, constants) for arg in node.args]
            return None if None in parts else str(Path(*(p for p in parts if p)))
        return None
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
        left, right = _path(node.left, constants), _path(node.right, constants)
        return None if left is None or right is None else str(Path(left, right))
    value = _literal(node, constants)
    return value if isinstance(value, str) else None


def _literal(node: ast.expr, constants: Mapping[str, Any]) -> Any:
    if isinstance(node, ast.Name):
        return constants.get(node.id)
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return None


def _tables(settings: Mapping[str, Any], where: str, took: list[str]) -> dict[str, Any]:
    # ShinkaEvolve has no patience rule: its generations run to the end
    budget = dataclasses.replace(Budget(), patience=None)
    search: dict[str, Any] = {}
    evaluation: dict[str, Any] = {"contract": "shinka"}
    generations = settings.get("num_generations")
    if generations is not None:
        if isinstance(generations, bool) or not isinstance(generations, int) or generations < 1:
            raise ConfigError(f"num_generations must be a whole number, got {generations!r}")
        budget = budget.merged(max_llm_calls=generations - 1)
        took.append(f"num_generations {generations} → max_llm_calls {generations - 1}")
    patches = settings.get("patch_types")
    if isinstance(patches, list) and patches:
        kinds = {"diff" if p == "diff" else "full" for p in patches}
        search["edits"] = kinds.pop() if len(kinds) == 1 else "either"
        took.append(f"patch_types → {search['edits']} edits")
    time = settings.get("time")
    if time is not None:
        match = _TIME.fullmatch(str(time))
        if match is None:
            raise ConfigError(f"job time must be written hh:mm:ss, got {time!r}")
        hours, minutes, seconds = (int(g) for g in match.groups())
        evaluation["timeout"] = float(hours * 3600 + minutes * 60 + seconds)
        took.append(f"job time {time} → timeout")
    workers = settings.get("max_evaluation_jobs")
    if workers is not None:
        evaluation["workers"] = workers
        took.append(f"max_evaluation_jobs {workers} → workers")
    return {"budget": budget, "search": search, "evaluation": evaluation}
