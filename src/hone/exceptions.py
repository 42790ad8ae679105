"""Every exception hone raises on purpose.

A failing *candidate* is never an exception: it is an `Evaluation` with a status.
Exceptions are for user mistakes and for hone's own faults::

    HoneError
    ├── UserError            a mistake the user can fix; the CLI prints the message, no traceback
    │   ├── TaskError        a bad task folder: missing file, invalid task.toml, unknown key
    │   ├── ConfigError      a bad option: unknown model spec, negative budget, ...
    │   ├── RunDirError      a run directory that does not exist, is not a run, or is in use
    │   ├── StorageError     the run's database or the model cache cannot be written (a
    │   │                    full or read-only disk)
    │   ├── ReplayError      a replay asked the model what the recorded run never asked
    │   ├── TaskChangedError a resumed run's task files changed since it started
    │   └── MissingDependencyError   an optional package is not installed
    ├── ModelError           a model backend failed (server unreachable, timeout, bad answer)
    └── CandidateError       inside a trusted evaluator: a call into the candidate failed;
                             uncaught, it becomes the candidate's failed Evaluation
"""

from __future__ import annotations


class HoneError(Exception):
    """Base class of every error hone raises on purpose."""


class UserError(HoneError):
    """A mistake the user can fix; its message names the problem and the fix."""


class TaskError(UserError):
    """The task folder or its task.toml is invalid."""


class ConfigError(UserError):
    """An option or setting is invalid."""


class RunDirError(UserError):
    """A run directory is missing, not a hone run, or already in use."""


class StorageError(UserError):
    """The run's database or hone's model cache cannot be written: a full or read-only disk."""


class ReplayError(UserError):
    """A replay diverged from its recorded run (the task, its evaluator or hone changed)."""


class TaskChangedError(UserError):
    """The task a run is resumed on changed since the run started (`hone.fingerprint`)."""


class MissingDependencyError(UserError):
    """An optional dependency is not installed."""

    def __init__(self, package: str, extra: str | None = None) -> None:
        install = f"pip install 'hone[{extra}]'" if extra else f"pip install {package}"
        super().__init__(f"the optional package {package!r} is not installed; run: {install}")


class ModelError(HoneError):
    """A model backend failed to answer."""


class CandidateError(HoneError):
    """A call into a sandboxed candidate failed (raised, hung, crashed or sent garbage).

    Raised inside a trusted evaluator (``evaluate_program``); when the evaluator does not catch
    it, the candidate's evaluation fails with `status` and `reason`.
    """

    def __init__(self, status: str, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
