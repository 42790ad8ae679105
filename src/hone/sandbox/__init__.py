"""Running untrusted programs: the `Verifier` protocol and the local process pool.

The pool is imported lazily, so the worker processes (``hone.sandbox.worker``) start without
asyncio and the rest of the parent's machinery.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from hone.sandbox.pool import ProcessPool, Verified, scrubbed_env


class Verifier(Protocol):
    """Scores one program. Never raises for a bad program: failures are Evaluations."""

    async def verify(self, program: str) -> Verified: ...

    async def close(self) -> None: ...


def __getattr__(name: str) -> Any:
    if name in ("ProcessPool", "Verified", "scrubbed_env"):
        from hone.sandbox import pool

        return getattr(pool, name)
    raise AttributeError(f"module 'hone.sandbox' has no attribute {name!r}")


__all__ = ["ProcessPool", "Verified", "Verifier", "scrubbed_env"]
