"""Running untrusted programs: the `Verifier` protocol and the local process pool.

The pool is imported lazily, so the worker processes (``hone.sandbox.worker``) start without
asyncio and the rest of the parent's machinery.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from hone.sandbox.pool import ProcessPool, Verified, scrubbed_env
    from hone.task import Task


class Verifier(Protocol):
    """Scores one program. Never raises for a bad program: failures are Evaluations."""

    async def verify(self, program: str) -> Verified: ...

    async def close(self) -> None: ...


def make_verifier(task: Task) -> Verifier:
    """The verifier a task's `[evaluation] executor` names: local worker processes or Ray."""
    from hone.sandbox.pool import ProcessPool

    config = task.evaluation
    if config.executor == "ray":
        from hone.sandbox.cluster import RayPool

        root = task.root or task.evaluator.parent
        return RayPool(
            root,
            task.evaluator,
            task.program_filename,
            config,
            task.objective,
            address=config.ray_address,
        )
    return ProcessPool(task.evaluator, task.program_filename, config, task.objective)


def __getattr__(name: str) -> Any:
    if name in ("ProcessPool", "Verified", "scrubbed_env"):
        from hone.sandbox import pool

        return getattr(pool, name)
    raise AttributeError(f"module 'hone.sandbox' has no attribute {name!r}")


__all__ = ["ProcessPool", "Verified", "Verifier", "make_verifier", "scrubbed_env"]
