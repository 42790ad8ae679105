"""`hone replay`: run a recorded run again from its recorded model answers, and compare.

A run started with ``[search] deterministic = true`` (``hone run --deterministic``) registers
its hypotheses in an order that does not depend on timing, and one seed drives every random
choice. Replaying it with the same task, seed and settings, the model's answers taken from the
run's store instead of the model, and every hypothesis verified again, must give the same
hypotheses with the same scores: a check that a result is reproducible, and that an evaluator
is deterministic.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections import defaultdict, deque
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from hone.events import EventHandler
from hone.exceptions import ReplayError, RunDirError
from hone.executors import Executor
from hone.fingerprint import fingerprint
from hone.models.base import Completion, Request, Style
from hone.models.prices import Pricing
from hone.population import Candidate
from hone.session import RunResult, Session, checked_read_only, run_meta, task_from_meta
from hone.store import Store, opened


@dataclass(frozen=True)
class ReplayResult:
    """The replay's run and how it differs from the recorded one (nothing, ideally)."""

    recorded: Path
    result: RunResult
    differences: tuple[str, ...]

    @property
    def identical(self) -> bool:
        """True when every hypothesis came out as recorded."""
        return not self.differences


def replay(
    run_dir: str | Path,
    *,
    replay_dir: str | Path | None = None,
    on_event: EventHandler | None = None,
    verifier: Executor | None = None,
) -> ReplayResult:
    """Replay the run in `run_dir` into `replay_dir` (default: <run_dir>-replay)."""
    return asyncio.run(
        replay_async(run_dir, replay_dir=replay_dir, on_event=on_event, verifier=verifier)
    )


async def replay_async(
    run_dir: str | Path,
    *,
    replay_dir: str | Path | None = None,
    on_event: EventHandler | None = None,
    verifier: Executor | None = None,
) -> ReplayResult:
    """Async form of `replay`."""
    recorded = Path(run_dir).resolve()
    with opened(recorded) as store:
        meta = store.meta()
        calls = [
            (
                row["prompt"],
                row["seed"],
                Completion(
                    row["completion"], row["prompt_tokens"], row["completion_tokens"], row["model"]
                ),
            )
            for row in store.calls()
        ]
        original = store.candidates()
    if not meta.search.get("deterministic"):
        raise RunDirError(
            f"{str(recorded)!r} was not run with --deterministic, so the order of its "
            "hypotheses depended on timing and cannot be replayed; start runs that must be "
            "replayable with hone run --deterministic"
        )
    if not meta.replay_exact:
        raise RunDirError(
            f"{str(recorded)!r} was interrupted, stopped by its time budget or resumed, so a "
            "replay cannot know where each of its rounds ended; replay runs that went from "
            "start to a stop rule (calls, rounds, tokens, patience, target) in one go"
        )
    if meta.model_style is None:
        raise RunDirError(f"{str(recorded)!r} never got as far as its first model call")
    task = task_from_meta(meta)
    calls_cap = len(calls)
    if task.budget.max_llm_calls is not None:
        calls_cap = min(calls_cap, task.budget.max_llm_calls)
    # Wall time differs from run to run: the replay stops by the recorded number of calls.
    task = dataclasses.replace(
        task, budget=dataclasses.replace(task.budget, max_seconds=None, max_llm_calls=calls_cap)
    )
    model = ReplayModel(calls, style=meta.model_style, name=f"replay of {meta.model['spec']}")
    target = Path(replay_dir) if replay_dir is not None else replay_dir_for(recorded)
    task = checked_read_only(task, recorded, target)
    seed = meta.seed
    kept = dataclasses.replace(
        run_meta(task, seed), replay_of=str(recorded), task_fingerprint=fingerprint(task)
    )
    store = Store.create(target, kept)
    free = Pricing(local_server=True)  # recorded answers cost nothing again
    session = Session(
        task, store, seed, model=model, executor=verifier, on_event=on_event, pricing=free
    )
    result = await session.drive()
    return ReplayResult(recorded, result, differences(original, list(result.history)))


def differences(recorded: list[Candidate], replayed: list[Candidate]) -> tuple[str, ...]:
    """How the replayed hypotheses differ from the recorded ones, in order (nine, then how many
    more)."""
    found = []
    for old, new in zip(recorded, replayed, strict=False):
        for what in ("round", "parent_ids", "code", "score"):
            a, b = getattr(old, what), getattr(new, what)
            if a != b:
                shown = "differs" if what == "code" else f"{a!r} recorded, {b!r} replayed"
                found.append(f"hypothesis #{old.id}: {what} {shown}")
                break
        else:
            if old.evaluation.status != new.evaluation.status:
                found.append(
                    f"hypothesis #{old.id}: status {old.evaluation.status!r} recorded, "
                    f"{new.evaluation.status!r} replayed"
                )
    if len(recorded) != len(replayed):
        found.append(f"{len(recorded)} hypotheses recorded, {len(replayed)} replayed")
    if len(found) > 10:
        found[9:] = [f"… and {len(found) - 9} more differences"]
    return tuple(found)


def replay_dir_for(run_dir: Path) -> Path:
    """<run_dir>-replay, made unique."""
    path, n = run_dir.with_name(run_dir.name + "-replay"), 1
    while path.exists():
        n += 1
        path = run_dir.with_name(f"{run_dir.name}-replay-{n}")
    return path


class ReplayModel:
    """Answers each request with the completion a recorded run got for the same prompt and
    sampling seed (in the recorded order when it was asked more than once): `hone replay`."""

    def __init__(
        self,
        recorded: Iterable[tuple[str, int | None, Completion]],
        *,
        style: Style,
        name: str = "replay",
    ) -> None:
        self.answers: defaultdict[tuple[str, int | None], deque[Completion]] = defaultdict(deque)
        for prompt, seed, completion in recorded:
            self.answers[prompt, seed].append(completion)
        self.style: Style = style
        self.name = name
        self.calls = 0

    async def generate(self, request: Request) -> Completion:
        """The recorded answer to this prompt; ReplayError when the run asked nothing like it."""
        self.calls += 1
        answers = self.answers.get((request.as_text(), request.seed))
        if not answers:
            raise ReplayError(
                f"model call {self.calls} of the replay sends a prompt the recorded run never "
                "sent (or sent fewer times), so the two runs diverged; the task folder, its "
                "evaluator or hone changed since the run was recorded"
            )
        return answers.popleft()

    async def close(self) -> None:
        """Nothing to release."""
