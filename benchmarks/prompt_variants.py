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

Measured 2026-12-07 (f1:5, f0:7, f2:8; n=10 each, 30 samples per variant), generic stub wordings
that keep the shown docstrings: "fixes" = ": fixes what the feedback above says is wrong, keeping
what is right.", "correction" = ": adds the correction the feedback above asks for.", "-above" =
the best version's feedback line moved to just above the stub, "-named" = "; not <formulas>".
Columns: copies, new formulas, new above their parent (beyond its 6 shown decimals), best new
per prompt f1/f0/f2 (parents 0.8147/0.9441/0.9586), new of the form n**4/4 + a*n**3 + b*n**2:

    base               16 (53 %)  11  0  0.788/0.944/0.934  0
    named               8 (27 %)  19  0  0.546/0.944/0.921  0
    fixes              20 (67 %)  10  1  0.406/0.944/0.922  0
    fixes-above        18 (60 %)  12  0  0.203/0.944/0.922  0
    fixes-named        19 (63 %)   9  1  0.851/0.944/0.948  0
    fixes-above-named  19 (63 %)  11  0  0.606/0.944/0.922  0
    correction         13 (43 %)  10  1      -/0.944/0.971  0
    correction-above    7 (23 %)  18  3  0.839/0.948/0.958  0
    correction-named    6 (20 %)  20  1  0.796/0.948/0.948  0

"fixes" copies more than base; "correction-above" copies least without naming formulas and gave
the most new formulas above their parent (3 of 18), but those are added constants (+ 1/12, + 1)
and no answer in any variant had the tunable form: the wording moves copies, not the formula's form.
"""

from __future__ import annotations

import argparse
import ast
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
RETURN = re.compile(r"^\s+return (.+)$", re.MULTILINE)
SHOWN = re.compile(r"(def answer_v\d+\(\) -> str:\n)    \"\"\"(?:.|\n)*?\"\"\"\n")
SCORED = re.compile(r"# answer_v\d+ scored ([0-9.]+)")
STUB = re.compile(
    r"def answer_v(\d+)\(\) -> str:\n    \"\"\"Improved version of `answer_v\d+`\.\"\"\"\n$"
)


def _joined(node: ast.expr) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _joined(node.left), _joined(node.right)
        return None if left is None or right is None else left + right
    return None


def returns(text: str) -> list[str]:
    """The strings the text's return statements return (literals, possibly joined with +)."""
    found = []
    for line in RETURN.findall(text):
        try:
            value = _joined(ast.parse(line.strip(), mode="eval").body)
        except SyntaxError:
            continue
        if value is not None:
            found.append(value)
    return found


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
    formulas = list(dict.fromkeys(returns(head)))
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


FIXES = ": fixes what the feedback above says is wrong, keeping what is right."
CORRECTION = ": adds the correction the feedback above asks for."


def _move_feedback(prompt: str) -> str:
    """Moves the best (last shown) version's feedback line to just above the stub."""
    head, stub, _ = _split(prompt)
    lines = re.findall(r"# feedback: .*\n", head)
    if not lines:
        return prompt
    at = head.rfind(lines[-1])
    return head[:at] + head[at + len(lines[-1]) :] + lines[-1] + stub


def _generic(say: str, above: bool, avoid: bool) -> Callable[[str], str]:
    """A task-independent stub docstring pointing at the feedback, the start's docstrings kept."""

    def variant(prompt: str) -> str:
        return _stub(
            _move_feedback(prompt) if above else prompt,
            lambda _, f: say[:-1] + "; not " + ", ".join(map(repr, f)) + "." if avoid else say,
        )

    return variant


def tunable(formula: str) -> bool:
    """Whether the formula reads n**4/4 + a*n**3 + b*n**2 term by term (what tuning finishes)."""
    import sympy

    n = sympy.Symbol("n")
    try:
        terms = sympy.Add.make_args(sympy.sympify(formula.replace("^", "**"), locals={"n": n}))
    except (sympy.SympifyError, TypeError, SyntaxError):
        return False
    powers: dict[int, sympy.Expr] = {}
    for term in terms:
        coefficient, rest = term.as_coeff_Mul()
        power = sympy.degree(rest, n) if rest.is_polynomial(n) else -1
        if rest != n**power or power in powers:
            return False
        powers[int(power)] = coefficient
    return set(powers) == {2, 3, 4} and powers[4] == sympy.Rational(1, 4)


VARIANTS: dict[str, Callable[[str], str]] = {
    "base": lambda p: p,
    "no-docstrings": no_docstrings,
    "funsearch": funsearch,
    "unlike": unlike,
    "named": named,
    "feedback-above": feedback_above,
    "fixes": _generic(FIXES, above=False, avoid=False),
    "fixes-above": _generic(FIXES, above=True, avoid=False),
    "fixes-named": _generic(FIXES, above=False, avoid=True),
    "fixes-above-named": _generic(FIXES, above=True, avoid=True),
    "correction": _generic(CORRECTION, above=False, avoid=False),
    "correction-above": _generic(CORRECTION, above=True, avoid=False),
    "correction-named": _generic(CORRECTION, above=False, avoid=True),
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
        shown = set(returns(_split(prompt)[0]))
        parent = max(map(float, SCORED.findall(prompt)))
        for variant in variants:
            new: list[str] = []
            text = VARIANTS[variant](prompt)
            answers = await asyncio.gather(
                *(sample(text, 1000 * int(index) + s) for s in range(args.n))
            )
            for answer in answers:
                count = counts[variant]
                count["samples"] += 1
                formula = next(iter(returns(answer)), None)
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
                        # the prompt shows scores to 6 decimals: a rewrite of the parent is not above it
                        count["above parent"] += result.score > parent + 5e-7
                        count["tunable"] += tunable(formula)
                        best[variant].append((result.score, formula))
                        new.append(f"{result.score:.4f} {formula}")
            print(
                f"{spec} {variant}: {dict(counts[variant])}", *sorted(new), sep="\n  ", flush=True
            )
    print(
        f"\n{'variant':18} {'samples':>7} {'copies':>13} {'new':>4} {'>parent':>7} "
        f"{'tunable':>7} {'none':>4}  best new formulas"
    )
    for variant in variants:
        c = counts[variant]
        top = sorted(best[variant], reverse=True)[:2]
        share = 100 * c["copies"] / max(c["samples"], 1)
        print(
            f"{variant:18} {c['samples']:7} {c['copies']:5} ({share:3.0f} %) {c['new']:4} "
            f"{c['above parent']:7} {c['tunable']:7} {c['no formula']:4}  "
            + "; ".join(f"{s:.4f} {f}" for s, f in top)
        )
    await model.close()


if __name__ == "__main__":
    asyncio.run(main())
