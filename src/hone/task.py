"""A task: what to improve and how it is scored, with the run settings its folder declares."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hone.budget import Budget
from hone.exceptions import ConfigError
from hone.objective import Objective
from hone.settings import EvaluationConfig, ModelConfig, SearchConfig, Table

if TYPE_CHECKING:
    from hone.formats import Options

_LANGUAGES = {
    ".py": "python",
    ".c": "c",
    ".h": "c",
    ".cc": "cpp",
    ".cpp": "cpp",
    ".rs": "rust",
    ".go": "go",
    ".js": "javascript",
    ".ts": "typescript",
    ".java": "java",
    ".jl": "julia",
    ".sh": "bash",
    ".f90": "fortran",
    ".f95": "fortran",
    ".f03": "fortran",
    ".f08": "fortran",
    ".r": "r",
    ".lua": "lua",
    ".hs": "haskell",
    ".swift": "swift",
    ".cu": "cuda",
    ".cxx": "cpp",
    ".wl": "wolfram",
    ".m": "matlab",
    ".sql": "sql",
    ".md": "markdown",
}
TABLES: dict[str, type[Table]] = {
    "budget": Budget,
    "search": SearchConfig,
    "evaluation": EvaluationConfig,
    "model": ModelConfig,
}


@dataclass(frozen=True)
class Task:
    """Instruction, starting program, evaluator, objective, and the run settings (the
    task folder's defaults; `configured` overrides them)."""

    name: str
    instruction: str
    program: str
    evaluator: Path
    objective: Objective = "maximize"
    function: str | None = None  # the function best-shot prompts evolve; default: first in block
    archive: tuple[tuple[str, str], ...] = ()  # more starting programs: (file name, text)
    program_filename: str = "program.py"
    root: Path | None = None
    # the run's seed when the caller gives none (an OpenEvolve config's random_seed); 0 if None
    seed: int | None = None
    # how the folder was read (a config file, the instruction, OpenEvolve's two files), so
    # that resume and replay read it again the same way
    source: Options | None = None
    budget: Budget = field(default_factory=Budget)
    search: SearchConfig = field(default_factory=SearchConfig)
    evaluation: EvaluationConfig = field(default_factory=EvaluationConfig)
    model: ModelConfig = field(default_factory=ModelConfig)

    @property
    def language(self) -> str:
        """The program's language, for code fences: from the file's suffix (python, c, ...)."""
        return language_of(self.program_filename)

    def configured(self, **tables: Table | Mapping[str, Any]) -> Task:
        """A copy with settings overridden, the one way hone does it (for task.toml, the
        command line and Python alike): each keyword names a table (budget, search,
        evaluation, model) and gives a whole table or a mapping of its keys to new values,
        None meaning "leave as it is". Values are type-checked; a bad one is a ConfigError
        naming its key."""
        changes: dict[str, Table] = {}
        for name, values in tables.items():
            if name not in TABLES:
                raise ConfigError(f"unknown settings table {name!r}; use one of {sorted(TABLES)}")
            if isinstance(values, Table):
                changes[name] = values
            else:
                changes[name] = getattr(self, name)._merged(dict(values))
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    @classmethod
    def from_dir(
        cls, path: str | Path, *, config: str | Path | None = None, instruction: str | None = None
    ) -> Task:
        """Load a task folder: hone's (task.toml, the starting program, evaluate.py), or
        OpenEvolve's or ShinkaEvolve's, with `config` naming its YAML config and
        `instruction` replacing what the folder says (docs/migrating.md)."""
        from hone.formats import Options, load_task

        options = Options(Path(config) if config is not None else None, instruction)
        return load_task(Path(path), options)


def language_of(filename: str) -> str:
    """The language of a program file, for code fences (python, c, ...; '' when unknown)."""
    return _LANGUAGES.get(Path(filename).suffix.lower(), "")
