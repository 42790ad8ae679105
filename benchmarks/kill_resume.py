"""kill -9 of hone (or of its process group) at a random moment of a run with 2 workers and
fix calls, then `hone resume`; repeated, with the counts of what went wrong.

    python benchmarks/kill_resume.py [--cases 50] [--first-seed 0]

Each case: a run against a fault server on loopback that answers slowly (a third of the
answers without code, so fix calls happen), evaluations that each start a daemon, a kill
0-3.5 s after the first evaluation (while a candidate runs), then a resume to the end.
Prints, over all cases: evaluated hypotheses before the kill and after the resume, answers
that the kill left without a hypothesis (the resume makes them hypotheses), and the counts
that must be 0: lost, evaluated twice, paid twice (a request with the same prompt and seed
sent again), unclaimed answers, pending hypotheses, candidate processes alive after the
kill, failed resumes.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.faults.kill import Outcome, case


def main() -> None:
    """Run the cases and print the counts."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=50)
    parser.add_argument("--first-seed", type=int, default=0)
    args = parser.parse_args()
    began = time.monotonic()
    outcomes: list[Outcome] = []
    for seed in range(args.first_seed, args.first_seed + args.cases):
        with tempfile.TemporaryDirectory(prefix="hone-kill-") as where:
            outcome = case(Path(where), seed)
        outcomes.append(outcome)
        flag = "ok " if outcome.clean else "BAD"
        print(f"{flag} seed {seed:3d}: {outcome.notes[0]}, {outcome.evaluated_before:2d} evaluated "
              f"before, {outcome.evaluated_after:2d} after, {outcome.daemons_before} daemons "
              f"running, {outcome.answers_without_hypothesis} answers without hypothesis",
              flush=True)  # fmt: skip
    print(f"\n{len(outcomes)} cases in {time.monotonic() - began:.0f} s")
    for name in (
        "evaluated_before",
        "evaluated_after",
        "daemons_before",
        "answers_without_hypothesis",
        "lost",
        "evaluated_twice",
        "paid_twice",
        "unclaimed",
        "pending",
        "survivors",
    ):
        print(f"{name:28s} {sum(getattr(o, name) for o in outcomes)}")
    failed = [o for o in outcomes if o.resume_failed]
    print(f"{'resumes that failed':28s} {len(failed)}")
    for o in failed[:3]:
        print("   ", o.resume_failed)
    print(f"{'clean cases':28s} {sum(o.clean for o in outcomes)} of {len(outcomes)}")


if __name__ == "__main__":
    main()
