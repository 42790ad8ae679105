"""kill -9 of hone (or of its process group) at a random moment of a run with 2 workers and
fix calls, then `hone resume`; repeated, with the counts of what went wrong.

    python benchmarks/kill_resume.py [--cases 50] [--first-seed 0]

Each case: a run against a fault server on loopback that answers slowly (a third of the
answers without code, so fix calls happen), evaluations that each start a daemon, a kill, then
a resume to the end. Seeds ending in 2 or 7 kill during parameter tuning (stages of 8 trials),
seeds ending in 4 while the packaged model is first assembled into an empty cache (the resume
then uses the fault server, and the model is assembled again: the part file the kill left must
go), the others 0-3.5 s after the first evaluation (while a candidate runs). Prints, over all cases: evaluated hypotheses before the
kill and after the resume, answers that the kill left without a hypothesis (the resume makes
them hypotheses), stages and part files the kills cut (the teeth), and the counts that must be
0: lost, evaluated twice, paid twice (a request with the same prompt and seed sent again,
hedged requests aside), unclaimed answers, pending hypotheses, candidate processes alive after
the kill, tuning stages split, part files left, model files not whole, failed resumes.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.faults.kill import Outcome, case


def kind_of(seed: int) -> str:
    """Which moment a case kills at: during tuning, during the model's assembly, or a run."""
    return {2: "tuning", 7: "tuning", 4: "assembly"}.get(seed % 10, "run")


def main() -> None:
    """Run the cases and print the counts."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=50)
    parser.add_argument("--first-seed", type=int, default=0)
    args = parser.parse_args()
    began = time.monotonic()
    outcomes: list[Outcome] = []
    seeds = range(args.first_seed, args.first_seed + args.cases)
    for seed in seeds:
        kind = kind_of(seed)
        with tempfile.TemporaryDirectory(prefix="hone-kill-") as where:
            outcome = case(Path(where), seed, kind)
        outcomes.append(outcome)
        flag = "ok " if outcome.clean else "BAD"
        print(f"{flag} seed {seed:3d} {kind:8s}: {outcome.notes[0]}, {outcome.evaluated_before:2d} evaluated "
              f"before, {outcome.evaluated_after:2d} after, {outcome.daemons_before} daemons "
              f"running, {outcome.answers_without_hypothesis} answers without hypothesis",
              flush=True)  # fmt: skip
    kinds = ", ".join(
        f"{k} {sum(kind_of(s) == k for s in seeds)}" for k in ("run", "tuning", "assembly")
    )
    print(f"\n{len(outcomes)} cases ({kinds}) in {time.monotonic() - began:.0f} s")
    for name in (
        "evaluated_before",
        "evaluated_after",
        "daemons_before",
        "answers_without_hypothesis",
        "stages_cut",
        "parts_after_kill",
        "hedged",
        "lost",
        "evaluated_twice",
        "paid_twice",
        "unclaimed",
        "pending",
        "survivors",
        "stages_split",
        "parts_left",
        "model_bad",
    ):
        print(f"{name:28s} {sum(getattr(o, name) for o in outcomes)}")
    failed = [o for o in outcomes if o.resume_failed]
    print(f"{'resumes that failed':28s} {len(failed)}")
    for o in failed[:3]:
        print("   ", o.resume_failed)
    print(f"{'clean cases':28s} {sum(o.clean for o in outcomes)} of {len(outcomes)}")


if __name__ == "__main__":
    main()
