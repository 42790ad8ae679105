"""Running untrusted programs: the `Verifier` protocol and the local process pool."""

from __future__ import annotations

from typing import Protocol

from hone.sandbox.pool import ProcessPool, Verified, scrubbed_env


class Verifier(Protocol):
    """Scores one program. Never raises for a bad program: failures are Evaluations."""

    async def verify(self, program: str) -> Verified: ...

    async def close(self) -> None: ...


__all__ = ["ProcessPool", "Verified", "Verifier", "scrubbed_env"]
