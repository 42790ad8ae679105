"""Test doubles shipped with hone: models whose answers you choose, and a verifier that scores
programs with a function of yours, in this process (for tests of a loop's logic)."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable

from hone.compat import Entry, strict
from hone.evaluation import Evaluation, coerce_result
from hone.executors import Verified
from hone.models.scripted import FunctionModel, ScriptedModel
from hone.tree import Tree


class FunctionVerifier:
    """Scores each program with ``fn(program_text)`` (its `Tree.text`: a one-file program's
    text), which returns what an evaluator may (a float, a dict, an `Evaluation`) or awaits
    it; an exception is an `error` evaluation. `validate` (the held-out score, returning what
    `fn` may) and `verify_strict` (True or False, or with a reason) are the checks of each
    new best (`hone.trust`), given the text too.

    It runs `fn` in hone's own process, with no sandbox and no worker processes: for tests and
    trusted toy tasks only, never for programs a model wrote for real.
    """

    protections = "no sandbox: an in-process test double"

    def __init__(
        self,
        fn: Callable[[str], object | Awaitable[object]],
        *,
        validate: Callable[[str], object] | None = None,
        verify_strict: Callable[[str], object] | None = None,
    ) -> None:
        self.fn = fn
        self.programs: list[str] = []  # every program verified, in order
        self._checks: dict[Entry, Callable[[str], object]] = {}
        if validate is not None:
            self._checks["validate"] = validate
        if verify_strict is not None:
            self._checks["verify_strict"] = strict(verify_strict)
        self.checks: tuple[Entry, ...] = tuple(self._checks)

    def start(self) -> None:
        """Nothing to start."""

    async def verify(self, program: Tree, entry: Entry = "evaluate") -> Verified:
        """The function's verdict on `program` (or that of the check `entry`)."""
        text = program.text
        if entry == "evaluate":
            self.programs.append(text)
        fn = self.fn if entry == "evaluate" else self._checks[entry]
        try:
            result = fn(text)
            if inspect.isawaitable(result):
                result = await result
        except Exception as exc:
            return Verified(Evaluation.failed("error", f"{type(exc).__name__}: {exc}"))
        return Verified(coerce_result(result))

    async def close(self) -> None:
        """Nothing to release."""


__all__ = ["FunctionModel", "FunctionVerifier", "ScriptedModel"]
