"""Variants of stored closed_form_sum best-shot prompts, sampled offline with the embedded model.

    python benchmarks/prompt_variants.py RUN_DIR:CALL [RUN_DIR:CALL ...] [--n 10] [--variants ...]

Each RUN_DIR is a closed_form_sum run folder (its hone.db is only read); CALL indexes its answered
model calls. Every variant of each stored prompt is sampled `--n` times as hone samples the
embedded model (default model, temperature 0.8, 768 tokens, the best-shot stop strings, plus a
stop at a column-0 comment, which ends the function anyway), and each answer's returned formula
is counted as a copy of a version shown, a copy of a formula the run had evaluated before that
call, a new formula (scored with the example's evaluator), or no formula.

Measured 2026-12-06 (f1:5, f0:7 of three 12-call runs; 28 samples per variant): copies were
base 61 %, no docstrings 55 %, FunSearch's docstrings 70 %, "unlike v0, v1" 60 %, "not <the
returned formulas>" 32 % (new formulas 7 → 12 of 20). In 12-call runs the last variant cut
copies (17 of 36 against 22 of 36) but every seed ended at or below main's best: fewer copies
did not mean better formulas, so hone's prompt was left as it was.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import random
import re
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path

from hone.models.base import Request
from hone.models.embedded import EmbeddedModel
from hone.prompts.completion import STOP
from hone.store import Store
from hone.verifiers.math import check_equal

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "closed_form_sum"
FORMULA = re.compile(r"answer\(\) = '([^']*)'")
RETURN = re.compile(r"return\s+(['\"])(.*?)\1")
SHOWN = re.compile(r"(def answer_v\d+\(\) -> str:\n)    \"\"\"(?:.|\n)*?\"\"\"\n")
STUB = re.compile(
    r"def answer_v(\d+)\(\) -> str:\n    \"\"\"Improved version of `answer_v\d+`\.\"\"\"\n$"
)


def load(run: Path, index: int) -> tuple[str, set[str]]:
    """The prompt of answered call `index` and the formulas the run had evaluated before it."""
    call = list(Store.open(run).calls())[index]
    conn = sqlite3.connect(f"file:{run / 'hone.db'}?mode=ro", uri=True)
    seen: set[str] = set()
    rows = "SELECT feedback, reason FROM candidates WHERE created < ?"
    for feedback, reason in conn.execute(rows, (call["started"],)):
        seen.update(FORMULA.findall(feedback or "") + FORMULA.findall(reason or ""))
    return call["prompt"], seen


def _split(prompt: str) -> tuple[str, str, int]:
    match = STUB.search(prompt)
    assert match, "not a closed_form_sum best-shot prompt"
    return prompt[: match.start()], prompt[match.start() :], int(match.group(1))


def no_docstrings(prompt: str) -> str:
    head, stub, _ = _split(prompt)
    return SHOWN.sub(r"\1", head) + stub


def funsearch(prompt: str) -> str:
    """v0 keeps its docstring; version i's becomes 'Improved version of `answer_v(i-1)`.'"""
    head, stub, _ = _split(prompt)

    def docstring(match: re.Match[str]) -> str:
        i = int(re.findall(r"\d+", match.group(1))[0])
        return (
            match.group(0)
            if i == 0
            else match.group(1) + f'    """Improved version of `answer_v{i - 1}`."""\n'
        )

    return SHOWN.sub(docstring, head) + stub


def _stub(prompt: str, say: Callable[[int, list[str]], str]) -> str:
    head, _, n = _split(prompt)
    formulas = list(dict.fromkeys(f for _, f in RETURN.findall(head)))
    return (
        head
        + f'def answer_v{n}() -> str:\n    """Improved version of `answer_v{n - 1}`{say(n, formulas)}"""\n'
    )


def unlike(prompt: str) -> str:
    names = lambda n, _: ", ".join(f"`answer_v{i}`" for i in range(n))  # noqa: E731
    return _stub(
        no_docstrings(prompt),
        lambda n, f: (
            f": a new formula, unlike {names(n, f)} (their feedback says where they are wrong)."
        ),
    )


def named(prompt: str) -> str:
    return _stub(
        no_docstrings(prompt), lambda n, f: ": a new formula, not " + ", ".join(map(repr, f)) + "."
    )


def feedback_above(prompt: str) -> str:
    head, stub, _ = _split(no_docstrings(prompt))
    last = re.findall(r"# feedback: .*\n", head)
    return unlike(head + (last[-1] if last else "") + stub)


VARIANTS: dict[str, Callable[[str], str]] = {
    "base": lambda p: p,
    "no-docstrings": no_docstrings,
    "funsearch": funsearch,
    "unlike": unlike,
    "named": named,
    "feedback-above": feedback_above,
}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("calls", nargs="+", help="RUN_DIR:CALL")
    parser.add_argument("--n", type=int, default=10, help="samples per variant and prompt")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    args = parser.parse_args()
    sys.path.insert(0, str(EXAMPLE))
    import evaluate  # the example's evaluator: its REFERENCE and DOMAIN

    variants = args.variants.split(",")
    model = EmbeddedModel()
    slots = asyncio.Semaphore(model.slots)

    async def sample(text: str, seed: int) -> str:
        async with slots:
            request = Request(
                text=text, temperature=0.8, max_tokens=768, seed=seed, stop=(*STOP, "\n#")
            )
            return (await model.generate(request)).text

    counts = {v: collections.Counter[str]() for v in variants}
    best: dict[str, list[tuple[float, str]]] = {v: [] for v in variants}
    for spec in args.calls:
        run, index = spec.rsplit(":", 1)
        prompt, seen = load(Path(run), int(index))
        shown = {f for _, f in RETURN.findall(_split(prompt)[0])}
        for variant in variants:
            text = VARIANTS[variant](prompt)
            answers = await asyncio.gather(
                *(sample(text, 1000 * int(index) + s) for s in range(args.n))
            )
            for answer in answers:
                count = counts[variant]
                count["samples"] += 1
                match = RETURN.search(answer)
                formula = match.group(2) if match else None
                if formula is None:
                    count["no formula"] += 1
                elif formula in shown or formula in seen:
                    count["copies"] += 1
                else:
                    result = check_equal(
                        formula,
                        evaluate.REFERENCE,
                        [evaluate.n],
                        domain=evaluate.DOMAIN,
                        rng=random.Random(0),
                    )
                    if result.score is None:
                        count["no formula"] += 1
                    else:
                        count["new"] += 1
                        best[variant].append((result.score, formula))
            print(f"{spec} {variant}: {dict(counts[variant])}", flush=True)
    print(
        f"\n{'variant':16} {'samples':>8} {'copies':>13} {'new':>5} {'none':>5}  best new formulas"
    )
    for variant in variants:
        c = counts[variant]
        top = sorted(best[variant], reverse=True)[:2]
        share = 100 * c["copies"] / max(c["samples"], 1)
        print(
            f"{variant:16} {c['samples']:8} {c['copies']:5} ({share:.0f} %) {c['new']:5} {c['no formula']:5}  "
            + "; ".join(f"{s:.4f} {f}" for s, f in top)
        )
    await model.close()


if __name__ == "__main__":
    asyncio.run(main())
