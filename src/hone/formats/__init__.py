"""Reading task folders. Today: hone's own (`task.toml`, `hone.formats.toml`).

Adding a format: a module with ``detect(folder) -> bool`` and ``load(folder) -> Task``, and one
line in `FORMATS` (the first whose `detect` answers yes reads the folder).
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING

from hone.exceptions import TaskError

if TYPE_CHECKING:
    from hone.task import Task

FORMATS: dict[str, str] = {
    "hone": "hone.formats.toml",
}


def load_task(folder: Path) -> Task:
    """The task in `folder`, read by the first format that recognises it."""
    if not folder.exists():
        raise TaskError(f"task folder {str(folder)!r} does not exist; pass a folder with task.toml")
    if not folder.is_dir():
        raise TaskError(
            f"task folder {str(folder)!r} is not a folder; pass the folder that holds task.toml"
        )
    modules = [importlib.import_module(m) for m in FORMATS.values()]
    for module in modules:
        if module.detect(folder):
            task: Task = module.load(folder)
            return task
    task = modules[0].load(folder)  # hone's own format says what is missing
    return task
