"""Evaluator contracts: how a task's evaluator is loaded, run and its results read.

`CONTRACTS` maps each `[evaluation] contract` name (`hone.settings.ContractName`) to its module:
hone's own (`hone.compat.hone`), OpenEvolve's (`hone.compat.openevolve`) and ShinkaEvolve's
(`hone.compat.shinka`), so that the peers' task folders run unchanged. Each module has one
entry point, ``load(path, settings) -> Loaded``, called only in the evaluation worker
(`hone.sandbox.worker`), never in hone's own process. Adding a contract: a module with `load`,
one line in `CONTRACTS` and its name in `ContractName`.

`EvaluationResult` is a small class compatible with OpenEvolve's, for evaluators that return
one without OpenEvolve installed.
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

if TYPE_CHECKING:  # (the worker imports this module: it needs no settings)
    from hone.settings import ContractName

# what a worker may be asked to run on a candidate: the evaluator's score, or one of the
# checks of a new best (hone.trust): the held-out score, the strict re-check
Entry: TypeAlias = Literal["evaluate", "validate", "verify_strict"]
CHECKS: tuple[Entry, ...] = ("validate", "verify_strict")

_EVALUATOR = "hone_task_evaluator"  # the module name the task's evaluator is imported as

CONTRACTS: dict[ContractName, str] = {
    "hone": "hone.compat.hone",
    "openevolve": "hone.compat.openevolve",
    "shinka": "hone.compat.shinka",
}


@dataclass(frozen=True)
class Loaded:
    """A loaded evaluator and how the worker runs it.

    `trusted` False: ``evaluate(program_path)`` runs confined, in the same process as the
    candidate (which can therefore forge its result). `trusted` True: ``evaluate(program)``
    runs unconfined and the candidate in a confined process of its own, reached through
    `hone.sandbox.program.Program`; only data crosses.
    """

    evaluate: Callable[[Any], object]
    trusted: bool = False
    # the checks it defines (`CHECKS`), each run untrusted on a program path
    checks: Mapping[Entry, Callable[[Any], object]] = field(default_factory=dict)


def load(contract: ContractName, path: str, settings: Mapping[str, Any]) -> Loaded:
    """The evaluator at `path`, loaded by the contract `contract` names (in the worker); with
    a ``command`` in the settings (`[evaluation] command`), that command is the evaluator
    (`hone.compat.command`) and `path` the task's task.toml; with `settings["checks"]`, the
    checks it (or `settings["validator"]`, or the command's ``validate_command``) defines too."""
    module = "hone.compat.command" if settings.get("command") else CONTRACTS[contract]
    loaded: Loaded = importlib.import_module(module).load(path, settings)
    if not settings.get("checks"):
        return loaded
    found = {**loaded.checks, **checks(settings.get("validator") or "")}
    return dataclasses.replace(loaded, checks=found)


def checks(validator: str) -> dict[Entry, Callable[[Any], object]]:
    """The checks of a new best the evaluator defines (imported already, by its contract),
    and those of the validator file, which win; its `evaluate` is its `validate` when it
    defines no `validate`."""
    found: dict[Entry, Callable[[Any], object]] = {}
    modules = [sys.modules.get(_EVALUATOR)]
    if validator:
        modules.append(import_evaluator(validator, "hone_task_validator"))
    for module in modules:
        for entry in CHECKS:
            function = getattr(module, entry, None)
            if entry == "validate" and module is not modules[0] and not callable(function):
                function = getattr(module, "evaluate", None)
            if callable(function):
                found[entry] = function
    if "verify_strict" in found:
        found["verify_strict"] = strict(found["verify_strict"])
    return found


def strict(verify: Callable[[Any], object]) -> Callable[[Any], object]:
    """`verify_strict` as an evaluation: score 1 when it returned true (or (true, reason)),
    0 when false, with its reason as feedback; anything else is invalid output."""
    from hone.evaluation import Evaluation

    def run(program_path: Any) -> object:
        value = verify(program_path)
        passed, reason = value if isinstance(value, tuple) and len(value) == 2 else (value, "")
        if not isinstance(passed, bool) and type(passed).__name__ != "bool_":
            return Evaluation.failed(
                "invalid-output",
                f"verify_strict returned {type(value).__name__}; return True or False, or "
                "(True/False, reason)",
            )
        return Evaluation(score=1.0 if passed else 0.0, feedback=str(reason))

    return run


def import_evaluator(path: str, name: str = _EVALUATOR) -> ModuleType:
    """Import the evaluator module at `path` (its folder first on `sys.path`, for its own
    imports), once per worker."""
    sys.path.insert(0, str(Path(path).parent))
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path!r}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@dataclass
class EvaluationResult:
    """Metrics and artifacts, as an OpenEvolve evaluator returns them: the artifacts (text,
    bytes, or anything printable) are shown to the model as feedback."""

    metrics: dict[str, Any]
    artifacts: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, metrics: dict[str, Any]) -> EvaluationResult:
        """A result with these metrics and no artifacts."""
        return cls(metrics=dict(metrics))

    def to_dict(self) -> dict[str, Any]:
        """The metrics."""
        return self.metrics

    def has_artifacts(self) -> bool:
        """True when there is at least one artifact."""
        return bool(self.artifacts)

    def get_artifact_keys(self) -> list[str]:
        """The artifacts' names."""
        return list(self.artifacts)

    def get_artifact_size(self, key: str) -> int:
        """The size of one artifact: bytes of its UTF-8 text, or of its printed form."""
        if key not in self.artifacts:
            return 0
        value = self.artifacts[key]
        if isinstance(value, bytes):
            return len(value)
        if isinstance(value, str):
            return len(value.encode("utf-8"))
        return len(str(value))

    def get_total_artifact_size(self) -> int:
        """The size of all artifacts together."""
        return sum(self.get_artifact_size(key) for key in self.artifacts)


__all__ = [
    "CHECKS",
    "CONTRACTS",
    "Entry",
    "EvaluationResult",
    "Loaded",
    "import_evaluator",
    "load",
]
