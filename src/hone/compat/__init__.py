"""Other tools' evaluator contracts, so that their task folders run unchanged.

`CONTRACTS` names the ways an evaluator can be run and its results read (`[evaluation]
contract`): hone's own (`hone.evaluation.coerce_result`), OpenEvolve's (`hone.compat.openevolve`)
and ShinkaEvolve's (`hone.compat.shinka`). `EvaluationResult` is a small class compatible with
OpenEvolve's, for evaluators that return one without OpenEvolve installed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # (the worker imports this module: it needs no settings)
    from hone.settings import ContractName

CONTRACTS: dict[ContractName, str] = {
    "hone": "hone.evaluation",
    "openevolve": "hone.compat.openevolve",
    "shinka": "hone.compat.shinka",
}


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


__all__ = ["CONTRACTS", "EvaluationResult"]
