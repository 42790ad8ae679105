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

import importlib
import importlib.util
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # (the worker imports this module: it needs no settings)
    from hone.settings import ContractName

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


def load(contract: ContractName, path: str, settings: Mapping[str, Any]) -> Loaded:
    """The evaluator at `path`, loaded by the contract `contract` names (in the worker); with
    a ``command`` in the settings (`[evaluation] command`), that command is the evaluator
    (`hone.compat.command`) and `path` the task's task.toml."""
    module = "hone.compat.command" if settings.get("command") else CONTRACTS[contract]
    loaded: Loaded = importlib.import_module(module).load(path, settings)
    return loaded


def import_evaluator(path: str) -> ModuleType:
    """Import the evaluator module at `path` (its folder first on `sys.path`, for its own
    imports), once per worker."""
    sys.path.insert(0, str(Path(path).parent))
    spec = importlib.util.spec_from_file_location("hone_task_evaluator", path)
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


__all__ = ["CONTRACTS", "EvaluationResult", "Loaded", "import_evaluator", "load"]
