"""Confinement of untrusted programs: namespaces, limits, a scrubbed environment
(`isolation`), the evaluation worker that runs each candidate confined (`worker`), a
candidate's tree laid over the read-only base folder (`materialise`), and the
trusted-evaluator channel to a confined candidate (`program`, `codec`); here, what they all
use: `write_all` and `describe`.

Where evaluations run (local workers, Ray) is `hone.executors`'. Nothing here imports asyncio:
the workers start fast.
"""

from __future__ import annotations

import os
import traceback
from pathlib import Path

_HERE = os.path.dirname(__file__)  # as the frames of this package's modules name it


def write_all(fd: int, data: bytes) -> None:
    """Write all of `data` to a file descriptor (a pipe takes it in parts)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def describe(exc: BaseException) -> str:
    """The exception and the innermost frames of its traceback outside the sandbox's own code
    (the evaluator's and the candidate's), as the model and a person read it."""
    frames = [
        f for f in traceback.extract_tb(exc.__traceback__) if os.path.dirname(f.filename) != _HERE
    ][-3:]
    where = "; ".join(f"{Path(f.filename).name}:{f.lineno} in {f.name}" for f in frames)
    message = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    return f"{message} (at {where})" if where else message
