"""hone: self-improving language-model loops against a verifier.

The public names load lazily so that `hone` starts fast (the CLI and the evaluation workers
import it on every start).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "Task": "hone.task",
    "Evaluation": "hone.evaluation",
    "Budget": "hone.config",
    "SearchConfig": "hone.config",
    "EvaluationConfig": "hone.config",
    "ModelConfig": "hone.config",
    "run": "hone.api",
    "resume": "hone.api",
    "RunResult": "hone.api",
    "replay": "hone.replay",
    "ReplayResult": "hone.replay",
    "Candidate": "hone.store",
    "HoneError": "hone.exceptions",
    "UserError": "hone.exceptions",
}
__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:
    from hone.api import RunResult, resume, run
    from hone.config import Budget, EvaluationConfig, ModelConfig, SearchConfig
    from hone.evaluation import Evaluation
    from hone.exceptions import HoneError, UserError
    from hone.replay import ReplayResult, replay
    from hone.store import Candidate
    from hone.task import Task


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'hone' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
