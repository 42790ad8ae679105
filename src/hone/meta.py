"""A run's metadata: what its store keeps of the task and settings it was started with, and how
it stands (`RunStatus`). The store reads and writes it (`Store.meta`, `Store.set_meta`); the
command line, the dashboard, replay, resume and the MLflow export read it from there.

A store written by an older hone lacks the newer keys (their defaults stand in); keys this hone
does not know (a newer hone's, another tool's) are kept in `extra` and written back unchanged.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from hone.budget import StopReason
from hone.objective import Objective
from hone.settings import Style

# created: stored, starting (verifying the starting programs, loading the model); running: the
# loop runs; (for both, whether a process still drives it: `Store.in_use`); stopped: a stop rule
# fired; interrupted: Ctrl-C or a signal; failed: an error ended it
RunStatus = Literal["created", "running", "stopped", "interrupted", "failed"]
RESUMABLE: tuple[RunStatus, ...] = ("interrupted", "failed")  # and any with no process behind


@dataclass(frozen=True)
class RunMeta:
    """What a run's store records of it (one row of the store's `meta` table per field)."""

    task_name: str = ""
    task_dir: str | None = None  # the task folder it was read from (None: built in Python)
    task_source: dict[str, Any] | None = None  # the options to read it again (formats.Options)
    program_filename: str = "program.py"
    seed: int = 0
    objective: Objective = "maximize"
    budget: dict[str, Any] = field(default_factory=dict)  # the settings tables, as dicts
    search: dict[str, Any] = field(default_factory=dict)
    evaluation: dict[str, Any] = field(default_factory=dict)
    model: dict[str, Any] = field(default_factory=dict)
    status: RunStatus = "created"
    stop_reason: StopReason | None = None  # when stopped
    error: str = ""  # when failed: why
    schema_version: int | None = None  # the store's, set as it is created
    created: float = 0.0  # when the store was created (seconds since the epoch)
    model_style: Style | None = None  # the prompts the model got (set once it is loaded)
    sandbox: str = ""  # the protections its candidates ran under
    replay_exact: bool = True  # False: interrupted, resumed, steered or stopped by time
    replay_of: str | None = None  # the run this one replays
    prices: dict[str, Any] = field(default_factory=dict)  # by model name (models.prices)
    rng_state: list[Any] | None = None  # the generator's state (Store.save_random_state)
    # the task's files as the run started or last accepted them (hone.fingerprint); None: a
    # store from before fingerprints
    task_fingerprint: dict[str, Any] | None = None
    accepted_changes: list[dict[str, Any]] = field(
        default_factory=list
    )  # resumes of an edited task
    tune_stage: dict[str, Any] | None = None  # the tuning stage under way (hone.tuning.Stage)
    extra: dict[str, Any] = field(default_factory=dict)  # keys this hone does not know

    @classmethod
    def from_json(cls, values: Mapping[str, Any]) -> RunMeta:
        """The metadata from the store's entries (decoded JSON, by key)."""
        known = {f.name for f in dataclasses.fields(cls)} - {"extra"}
        given = {k: v for k, v in values.items() if k in known and v is not None}
        if given.get("objective") not in ("maximize", "minimize"):
            given.pop("objective", None)
        if "replay_exact" in given:
            given["replay_exact"] = given["replay_exact"] is not False
        extra = {k: v for k, v in values.items() if k not in known}
        return cls(**given, extra=extra)

    def as_json(self) -> dict[str, Any]:
        """The entries the store keeps (the unknown keys as they came)."""
        values = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        extra = values.pop("extra")
        return {**extra, **values}

    def resumable(self, running: bool) -> bool:
        """True when the run ended before a stop rule (`running`: a process drives it now)."""
        return self.status in RESUMABLE or (self.status in ("created", "running") and not running)


__all__ = ["RESUMABLE", "RunMeta", "RunStatus"]
