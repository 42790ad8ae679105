"""`hone show` in the terminal beyond the summary: one hypothesis in full, the failures, and
what the model calls cost, read from the run's store without writing to it."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from hone.exceptions import RunDirError
from hone.inbound import printable
from hone.web.data import RunReader, models, money, price_text, total_cost


def costs(console: Any, run_dir: Path) -> None:
    """The run's cost, and per model its calls, tokens and price."""
    reader = RunReader.open(run_dir)
    try:
        snapshot = reader.snapshot()
    finally:
        reader.close()
    rows = models(snapshot["meta"], snapshot["calls"])
    if not rows:
        return
    per_model = "; ".join(
        f"{r['model']}: {r['calls']} calls, {money(r['cost'])}, {price_text(r)}" for r in rows
    )
    line = f"cost {money(total_cost(snapshot['calls']))} · {per_model}"
    console.print(printable(line), markup=False)


def hypothesis(console: Any, run_dir: Path, number: int) -> int:
    """Hypothesis #`number` in full: outcome, program, diff against its parent, prompt, answer;
    every text from outside (the evaluator's, the model's) printed as text: its control
    characters shown as escapes (`hone.inbound.printable`), not obeyed by the terminal."""
    from rich.rule import Rule
    from rich.syntax import Syntax

    from hone.task import language_of

    reader = RunReader.open(run_dir)
    try:
        meta = reader.meta()
        try:
            h = reader.hypothesis(number)
        except KeyError:
            ids = reader.ids()
            span = f"#{ids[0]} to #{ids[-1]}" if ids else "none yet"
            raise RunDirError(
                f"{str(run_dir)!r} has no hypothesis #{number} (it has {span}); pick one from "
                f"hone show {run_dir} --failures or the dashboard"
            ) from None
    finally:
        reader.close()
    parents = ", ".join(f"#{p}" for p in h["parents"]) or "none (a starting program)"
    outcome = f"score {h['score']:.6g}" if h["score"] is not None else h["status"]
    console.print(
        f"[bold]hypothesis #{h['id']}[/] · round {h['round']} · {outcome} · from {parents}"
        + (" · crossover" if h["crossover"] else "")
    )
    if h["metrics"]:
        metrics = ", ".join(f"{k}={v:.6g}" for k, v in sorted(h["metrics"].items()))
        console.print("metrics: " + printable(metrics), markup=False)
    for label in ("feedback", "reason"):
        if h[label]:
            console.print(f"{label}: {printable(h[label])}", markup=False)
    if h["cached_from"] is not None:
        console.print(f"outcome reused from #{h['cached_from']} (the same program)")
    call = h["call"]
    if call is not None:
        cost = "no price known" if call["cost"] is None else money(call["cost"])
        console.print(
            printable(
                f"model {call['model']} · {call['prompt_tokens']} prompt + "
                f"{call['completion_tokens']} completion tokens · {call['latency']:.2f} s · {cost}"
            ),
            markup=False,
        )
    language = language_of(meta.program_filename) or "text"
    if h["code"] is None and call is not None:
        # An answer that did not apply made no program: no diff to show (against nothing,
        # the whole parent would read as deleted), but what the model returned, first.
        console.print("no program: the answer did not apply; what the model returned is below")
        sections = [
            ("what the model returned", call["completion"], "markdown"),
            ("prompt", call["prompt"], "markdown"),
        ]
    else:
        sections = [
            ("program", h["code"] or "", language),
            ("diff against its parent", h["diff"], "diff"),
        ]
        if call is not None:
            sections += [
                ("prompt", call["prompt"], "markdown"),
                ("answer", call["completion"], "markdown"),
            ]
    for title, shown, lexer in sections:
        text = printable(shown)
        console.print(Rule(title, align="left"))
        if not text:
            console.print("(none)")
        elif console.is_terminal:
            console.print(Syntax(text, lexer, word_wrap=True))
        else:  # piped or redirected: the text, never cropped to a width
            console.out(text, highlight=False, end="" if text.endswith("\n") else "\n")
    return 0


def failures(console: Any, run_dir: Path) -> int:
    """Every failed hypothesis with its status and reason, and the counts by status."""
    from rich.table import Table

    reader = RunReader.open(run_dir)
    try:
        hypotheses = reader.snapshot()["hypotheses"]
    finally:
        reader.close()
    failed = [h for h in hypotheses if h["status"] not in ("ok", "pending")]
    if not failed:
        console.print(f"no failed hypotheses among {len(hypotheses)}")
        return 0
    counts = Counter(h["status"] for h in failed)
    console.print(
        f"{len(failed)} of {len(hypotheses)} hypotheses failed: "
        + ", ".join(f"{k} {v}" for k, v in counts.most_common())
    )
    table = Table("#", "round", "status", "from", "reason")
    for h in failed:
        reason = printable(" ".join((h["reason"] or h["feedback"] or "-").split()))
        parent = f"#{h['parents'][0]}" if h["parents"] else "-"
        table.add_row(str(h["id"]), str(h["round"]), h["status"], parent, reason)
    console.print(table)
    console.print(f"one in full: hone show {run_dir} --hypothesis N")
    return 0
