"""What a run shows as it goes and when it stops: the live status line, the new bests, the
summary; shared by `hone run`, `resume` and `replay` (and `hone show`'s lines of a best)."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hone.budget import Usage
from hone.credit import Credit, of_bests
from hone.events import (
    Event,
    Finding,
    HypothesisEvaluated,
    NewBest,
    RoundStarted,
    RunStarted,
    Stopped,
)
from hone.inbound import printable

if TYPE_CHECKING:
    from hone.population import Candidate


class View:
    """Renders loop events: a live status line on a terminal, plain lines otherwise."""

    def __init__(self) -> None:
        from rich.console import Console

        self.console = Console(highlight=False, soft_wrap=True)
        self.live: Any = None
        self.started = time.monotonic()
        self.round = 0
        self.calls = 0
        self.tokens = 0
        self.cost = 0.0
        self.best: float | None = None
        self.credit: Credit | None = None  # the gain by whom it was made (`hone.credit`)
        self.bests: list[Candidate] = []  # the new bests so far, in order
        self.statuses: Counter[str] = Counter()
        self.first: Any = None
        self.run_dir: Path | None = None
        self.resumed = False
        self.new_calls: int | None = None  # the run's calls when this invocation began
        self.calls_text = ""  # at the end: the calls by what they were for

    def drive(self, work: Any, run_dir: Path | None, again: str = "") -> Any:
        """Run `work` with this view; its result, or the exit code when interrupted or when a
        run's result has no best program. `again` is the command that takes up an interrupted
        run (default: hone resume; `run_dir` None: the folder the run said it started in)."""
        try:
            result = asyncio.run(work)
        except KeyboardInterrupt:
            self._stop_live()
            run_dir = run_dir or self.run_dir
            if run_dir is None:  # stopped before the run had a folder
                self.console.print("\ninterrupted while the run was starting")
                return 130
            self.console.print(
                "\ninterrupted; everything evaluated is saved. Continue with: "
                + (again or f"hone resume {run_dir}")
            )
            return 130
        finally:
            self._stop_live()
        if hasattr(result, "best"):
            return 0 if result.best is not None else 1
        return result

    def on_event(self, event: Event) -> None:
        if isinstance(event, RunStarted):
            self.run_dir, self.resumed = event.run_dir, event.resumed
            if event.resumed:
                from hone.store import opened

                with opened(event.run_dir) as store:
                    self.new_calls = store.usage().requests
            verb = "resuming" if event.resumed else "run"
            self.console.print(
                f"hone {verb} [bold]{event.task}[/] with {event.model} in {event.run_dir}"
            )
            if self.console.is_terminal:
                from rich.live import Live

                self.live = Live(
                    self._status(), console=self.console, refresh_per_second=4, transient=True
                )
                self.live.start()
        elif isinstance(event, RoundStarted):
            self.round = event.round
        elif isinstance(event, HypothesisEvaluated):
            self.calls, self.tokens = event.usage.requests, event.usage.tokens
            self.cost = event.usage.cost
            self.statuses[event.candidate.evaluation.status] += 1
            self.first = self.first or event.candidate
        elif isinstance(event, NewBest):
            c = event.candidate
            self.best = c.score
            self.bests.append(c)
            self.credit = of_bests(self.bests)
            held = f" · held-out {c.holdout:.6g}" if c.holdout is not None else ""
            self.console.print(f"  new best {c.score:.6g}{held}  (#{c.id}, round {c.round})")
        elif isinstance(event, Finding):
            c = event.candidate
            what = "" if event.check == "overfitting" else f"#{c.id} not verified ({event.check}): "
            self.console.print(f"  {what}{printable(event.text)}", markup=False)
        elif isinstance(event, Stopped):
            self._stop_live()
            self._summary(event)
        if self.live is not None:
            self.live.update(self._status())

    def _status(self) -> str:
        if self.credit is not None and self.credit.best == self.best:
            best = self.credit.text  # best 2.2442: model 0.0231, tuning 0.0135
        else:
            best = f"best {self.best:.6g}" if self.best is not None else "best -"
        elapsed = time.monotonic() - self.started
        calls = self.calls_text or f"calls {self.calls}"
        return (
            f"round {self.round} · {calls} · {best} · tokens {self.tokens} · "
            + (f"cost ${self.cost:.4f} · " if self.cost else "")
            + f"{elapsed:.0f} s · "
            + ", ".join(f"{k} {v}" for k, v in sorted(self.statuses.items()))
        )

    def _stop_live(self) -> None:
        if self.live is not None:
            self.live.stop()
            self.live = None

    def _summary(self, event: Stopped) -> None:
        """The run's figures when it stops, for the whole run (a resumed one's earlier rounds
        and calls included), with what its calls were for."""
        if event.best is not None and event.best.score is not None:
            self.best = event.best.score
        usage = event.usage
        self.tokens, self.cost = usage.tokens, usage.cost
        kinds: dict[str, int] = {}
        searched = None  # the best in search (of a run whose every best failed a check too)
        if self.run_dir is not None:
            from hone.store import opened

            with opened(self.run_dir) as store:
                self.round = max(self.round, store.last_round())
                kinds = store.call_kinds()
                meta = store.meta()
                objective = meta.objective
                # (as hone show credits it: in SQL, resumed ones too, none that failed a check)
                self.credit = of_bests(store.bests(objective))
                searched = store.best(objective, meta.evaluation.get("select", "search"))
        self.calls_text = calls_text(usage, kinds)
        from hone.web.data import STOP_TEXT

        reason = STOP_TEXT.get(event.reason, event.reason)
        self.console.print(f"stopped: {reason} · {self._status()}", markup=False)
        if event.reason == "max_llm_calls" and self.resumed and self.new_calls == usage.requests:
            self.console.print(
                f"(max_llm_calls counts the whole run, its {usage.requests} calls so far "
                f"included: hone resume {self.run_dir} --max-llm-calls {usage.requests + 10} "
                "makes 10 more)",
                markup=False,
            )
        best = event.best
        if best is None and self.run_dir is not None and searched is not None:
            self.console.print(f"{NO_ANSWER} (hone show {self.run_dir} says what they found)")
            return
        if best is None:
            self.console.print("no program scored")
            if self.first is not None:
                print_evaluation(self.console, self.first)
            return
        self.console.print(f"[bold]{best_line(best)}[/] (#{best.id}, round {best.round})")
        print_evaluation(self.console, best)


NO_ANSWER = "no answer: every scored program failed a check of new bests"


def best_line(best: Any) -> str:
    """'best score 3.1', or with its held-out score 'best: search 3.1, held-out 3.35'."""
    if best.holdout is None:
        return f"best score {best.score:.6g}"
    return f"best: search {best.score:.6g}, held-out {best.holdout:.6g}"


def calls_text(usage: Usage, kinds: dict[str, int]) -> str:
    """'8 calls (4 hypotheses, 4 fix calls)': the model calls and what they were for."""
    names = {
        "hypothesis": ("hypothesis", "hypotheses"),
        "fix": ("fix call", "fix calls"),
        "reflection": ("reflection", "reflections"),
        "insights": ("insights call", "insights calls"),
    }
    order = [*names, *sorted(k for k in kinds if k not in names)]
    parts = [
        f"{kinds[k]} {names.get(k, (k or 'other',) * 2)[kinds[k] != 1]}"
        for k in order
        if kinds.get(k)
    ]
    failed = f"; {usage.failed} failed" if usage.failed else ""
    total = usage.requests
    detail = f" ({', '.join(parts)}{failed})" if len(parts) > 1 or failed else ""
    return f"{total} call{'s' * (total != 1)}{detail}"


def print_evaluation(console: Any, candidate: Any) -> None:
    """A hypothesis's metrics, feedback and reason: the evaluator's text, printed as text
    (its escape sequences shown, not obeyed)."""
    ev = candidate.evaluation
    if ev.metrics:
        metrics = ", ".join(f"{k}={v:.6g}" for k, v in sorted(ev.metrics.items()))
        console.print("metrics: " + printable(metrics), markup=False)
    if ev.feedback:
        console.print("feedback: " + printable(ev.feedback), markup=False)
    if not ev.ok:
        console.print(f"failed ({ev.status}): {printable(ev.reason)}", markup=False)
