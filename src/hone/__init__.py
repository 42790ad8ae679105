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
    "Budget": "hone.budget",
    "SearchConfig": "hone.settings",
    "EvaluationConfig": "hone.settings",
    "ModelConfig": "hone.settings",
    "run": "hone.api",
    "run_async": "hone.api",
    "resume": "hone.api",
    "resume_async": "hone.api",
    "RunResult": "hone.session",
    "replay": "hone.replay",
    "replay_async": "hone.replay",
    "ReplayResult": "hone.replay",
    "Candidate": "hone.population",
    "HoneError": "hone.exceptions",
    "UserError": "hone.exceptions",
    "example": "hone.examples",
}
__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:
    from hone.api import resume, resume_async, run, run_async
    from hone.budget import Budget
    from hone.evaluation import Evaluation
    from hone.examples import example
    from hone.exceptions import HoneError, UserError
    from hone.population import Candidate
    from hone.replay import ReplayResult, replay, replay_async
    from hone.session import RunResult
    from hone.settings import EvaluationConfig, ModelConfig, SearchConfig
    from hone.task import Task


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'hone' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
