"""The checks of each new best: held-out validation (hidden from the search's sandbox),
strict re-checks, the overfitting note, and the run's answer."""

import json
import sqlite3
import textwrap
from pathlib import Path

import pytest

import hone
from hone.cli import main
from hone.evaluation import Evaluation
from hone.events import Event, Finding, NewBest
from hone.exceptions import ConfigError
from hone.population import Candidate
from hone.store import Store, opened
from hone.testing import FunctionVerifier, ScriptedModel
from hone.tree import Tree
from hone.trust import OVERFITTING, answer, defined_checks
from tests.helpers import before_views, block, task_of, value_of

# f() should return 10 in search; the held-out data says 7 (so 10 overfits the search's data)
EVALUATOR = """\
import os
from hone.evaluation import load_program

HERE = os.path.dirname(os.path.abspath(__file__))


def evaluate(program_path):
    return -abs(load_program(program_path).run() - 10)


def validate(program_path):
    with open(os.path.join(HERE, "holdout", "target.txt")) as f:
        target = float(f.read())
    return -abs(load_program(program_path).run() - target)
"""

# Reads the held-out data every way it can: by its path, by listing its folder, and after
# trying to take away what covers it; returns 1 more than the held-out target.
HOSTILE = """\
def f():
    import ctypes, os
    folder = os.path.join({folder!r}, "holdout")
    seen = os.listdir(folder)
    libc = ctypes.CDLL(None, use_errno=True)
    detached = libc.umount2(folder.encode(), 2)
    print("listed", seen, "umount2", detached, ctypes.get_errno())
    with open(os.path.join(folder, "target.txt")) as data:
        return float(data.read()) + 1
"""


@pytest.fixture
def holdout_task(make_task):
    root = make_task('[evaluation]\nholdout = ["holdout"]\nworkers = 1\n', evaluator=EVALUATOR)
    (root / "holdout").mkdir()
    (root / "holdout" / "target.txt").write_text("7\n")
    return root


def test_the_held_out_score_is_stored_beside_the_search_score_and_overfitting_said(
    holdout_task: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    events: list[Event] = []
    model = ScriptedModel([block(7.0), block(10.0)])
    result = hone.run(
        task_of(holdout_task),
        model=model,
        run_dir=tmp_path / "run",
        budget=hone.Budget(max_llm_calls=2),
        on_event=events.append,
    )
    assert [(c.score, c.holdout) for c in result.history] == [
        (-9.0, -6.0),
        (-3.0, 0.0),
        (0.0, -3.0),
    ]
    assert result.best is not None and (result.best.id, result.best.holdout) == (3, -3.0)
    bests = [(e.candidate.id, e.candidate.holdout) for e in events if isinstance(e, NewBest)]
    assert bests == [(1, -6.0), (2, 0.0), (3, -3.0)]  # each with its held-out score
    [found] = [e for e in events if isinstance(e, Finding)]
    assert found.check == OVERFITTING and "#3 beats #2 in search" in found.text
    with opened(tmp_path / "run") as store:
        assert [text for _, text in store.notes(OVERFITTING)] == [found.text]
    assert main(["show", str(tmp_path / "run")]) == 0
    shown = capsys.readouterr().out
    assert "best: search 0, held-out -3 (#3, round 2)" in shown
    assert "the search may be overfitting: #3 beats #2" in shown


def test_a_candidate_cannot_read_the_held_out_data_while_it_is_searched(
    holdout_task: Path, tmp_path: Path
) -> None:
    searched_hostile(holdout_task, tmp_path / "run")


def searched_hostile(task_folder: Path, run_dir: Path) -> None:
    """Search the task in `task_folder` (its held-out target is 7, in holdout/) with HOSTILE:
    the validation of the start reads the data, the hostile candidate does not."""
    hostile = "```python\n" + HOSTILE.format(folder=str(task_folder)) + "```"
    result = hone.run(
        task_of(task_folder),
        model=ScriptedModel([hostile]),
        run_dir=run_dir,
        budget=hone.Budget(max_llm_calls=1),
    )
    start, hostile_one = result.history
    assert start.holdout == -6.0  # the validation read the data
    assert hostile_one.score is None and hostile_one.holdout is None
    assert "No such file or directory" in hostile_one.evaluation.reason
    assert "target.txt" in hostile_one.evaluation.reason
    assert "listed [] umount2 -1" in hostile_one.output  # an empty folder it cannot uncover
    assert result.best is not None and result.best.id == 1


# Where a candidate could leave something for a later one: the writable temporary folders and
# its HOME. CARRY copies the held-out target there when it can read it (in its validation:
# 8, else 7); FETCH scores 10 with what it finds there, and fails when it finds nothing.
PLACES = '("/tmp", "/var/tmp", "/dev/shm", "/run/lock", os.path.expanduser("~"))'
CARRY = f"""\
def f():
    import os
    try:
        with open(os.path.join({{folder!r}}, "holdout", "target.txt")) as data:
            target = data.read()
    except OSError:
        return 7.0
    for place in {PLACES}:
        try:
            with open(os.path.join(place, "hone-carried.txt"), "w") as out:
                out.write(target)
        except OSError:
            pass
    return 8.0
"""
FETCH = f"""\
def f():
    import os
    for place in {PLACES}:
        try:
            with open(os.path.join(place, "hone-carried.txt")) as found:
                return float(found.read()) + 3
        except OSError:
            pass
    raise RuntimeError("found nothing an earlier candidate left")
"""


def test_a_candidate_finds_nothing_an_earlier_one_carried_out_of_its_validation(
    holdout_task: Path, tmp_path: Path
) -> None:
    """The held-out data a candidate copies while it is validated (the one run that shows
    it) is not there for a later candidate of the search, nor left on this machine."""
    answers = [f"```python\n{code.format(folder=str(holdout_task))}```" for code in (CARRY, FETCH)]
    result = hone.run(
        task_of(holdout_task),
        model=ScriptedModel(answers),
        run_dir=tmp_path / "run",
        budget=hone.Budget(max_llm_calls=2),
    )
    _, carry, fetch = result.history
    assert (carry.score, carry.holdout) == (-3.0, -1.0)  # it read the data when validated
    assert fetch.score is None and fetch.evaluation.status == "error"
    assert "found nothing an earlier candidate left" in fetch.evaluation.reason
    assert not any(Path(p, "hone-carried.txt").exists() for p in ("/tmp", "/var/tmp", "/dev/shm"))


def _checked_run(tmp_path: Path, make_task, select: str = "search", **checks: object):
    verifier = FunctionVerifier(lambda code: -abs(value_of(code) - 10), **checks)  # type: ignore[arg-type]
    task = task_of(make_task()).configured(evaluation={"select": select})
    events: list[Event] = []
    result = hone.run(
        task,
        model=ScriptedModel([block(7.0), block(10.0)]),
        run_dir=tmp_path / "run",
        budget=hone.Budget(max_llm_calls=2),
        verifier=verifier,
        on_event=events.append,
    )
    return result, events


def test_select_holdout_answers_with_the_best_held_out_score(make_task, tmp_path: Path) -> None:
    result, _ = _checked_run(
        tmp_path, make_task, "holdout", validate=lambda code: -abs(value_of(code) - 7)
    )
    assert result.best is not None and (result.best.id, result.best.holdout) == (2, 0.0)
    assert (tmp_path / "run" / "best.py").read_text() == result.best.code


def test_a_best_that_fails_the_strict_check_is_not_the_answer(make_task, tmp_path: Path) -> None:
    def strict(code: str) -> tuple[bool, str]:
        value = value_of(code)
        return value != 10.0, f"f() = {value} is exactly the bar"

    result, events = _checked_run(tmp_path, make_task, verify_strict=strict)
    assert [c.verified for c in result.history] == [True, True, False]
    assert result.best is not None and result.best.id == 2  # #3 scores best, but fails
    assert "return 7.0" in (tmp_path / "run" / "best.py").read_text()
    assert [e.candidate.id for e in events if isinstance(e, NewBest)] == [1, 2]
    [found] = [e for e in events if isinstance(e, Finding)]
    assert (found.candidate.id, found.check) == (3, "verify_strict")
    assert found.text == "f() = 10.0 is exactly the bar"
    with sqlite3.connect(tmp_path / "run" / "hone.db") as db:
        rows = db.execute("SELECT candidate_id, check_name, passed FROM findings").fetchall()
    assert rows == [(1, "verify_strict", 1), (2, "verify_strict", 1), (3, "verify_strict", 0)]


def test_the_best_programs_are_validated_at_the_end(make_task, tmp_path: Path) -> None:
    # the third answer is no new best (7 is better), so only the end validates it
    verifier = FunctionVerifier(
        lambda code: -abs(value_of(code) - 10), validate=lambda code: -abs(value_of(code) - 7)
    )
    task = task_of(make_task()).configured(evaluation={"validate_top": 2})
    result = hone.run(
        task,
        model=ScriptedModel([block(9.0), block(8.0), block(2.0)]),
        run_dir=tmp_path / "run",
        budget=hone.Budget(max_llm_calls=3),
        verifier=verifier,
    )
    assert [(c.score, c.holdout) for c in result.history] == [
        (-9.0, -6.0),
        (-1.0, -2.0),
        (-2.0, -1.0),  # second best: validated at the end
        (-8.0, None),  # neither a new best nor among the best two
    ]


def test_checks_are_found_in_the_evaluator_and_the_validator_without_running_them(
    tmp_path: Path,
) -> None:
    evaluator = tmp_path / "evaluate.py"
    evaluator.write_text("raise SystemExit\ndef evaluate(p): ...\ndef verify_strict(p): ...\n")
    validator = tmp_path / "validate.py"
    validator.write_text("def evaluate(p): ...\n")
    assert defined_checks(evaluator, None) == ("verify_strict",)
    assert defined_checks(evaluator, validator) == ("validate", "verify_strict")
    validator.write_text("def helper(): ...\n")
    assert defined_checks(evaluator, validator) == ("verify_strict",)
    assert defined_checks(evaluator, validator, command=True) == ("validate", "verify_strict")


def test_a_validator_file_scores_the_held_out_data(make_task, tmp_path: Path) -> None:
    root = make_task('[evaluation]\nvalidator = "check/validate.py"\nworkers = 1\n')
    (root / "check").mkdir()
    (root / "check" / "validate.py").write_text(
        textwrap.dedent("""\
            from hone.evaluation import load_program

            def evaluate(program_path):
                return {"score": load_program(program_path).run() * 2, "feedback": "doubled"}
        """)
    )
    result = hone.run(
        task_of(root, max_llm_calls=0), model=ScriptedModel([]), run_dir=tmp_path / "run"
    )
    assert result.best is not None and result.best.holdout == 2.0


@pytest.mark.parametrize(
    ("holdout", "says"),
    [('["missing"]', "does not exist"), ('["src/data"]', "lies in the program folder")],
)
def test_a_holdout_path_that_cannot_be_hidden_is_refused(
    make_task, tmp_path: Path, holdout: str, says: str
) -> None:
    root = make_task(f'program = "src"\n[evaluation]\nholdout = {holdout}\n')
    (root / "src" / "data").mkdir(parents=True)
    (root / "src" / "main.py").write_text("def f():\n    return 1.0\n")
    with pytest.raises(ConfigError, match=says):
        hone.run(hone.Task.from_dir(root), model=ScriptedModel([]), run_dir=tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_answer_leaves_out_what_failed_a_check() -> None:
    def made(id_: int, score: float, holdout: float | None, verified: bool | None):
        tree = Tree.one("p.py", f"x = {id_}\n")
        return Candidate(id_, 0, tree, Evaluation(score=score), holdout=holdout, verified=verified)

    pool = [made(1, 1.0, 5.0, True), made(2, 3.0, None, False), made(3, 2.0, 1.0, None)]
    assert [answer(pool, "maximize").id, answer(pool, "maximize", "holdout").id] == [3, 1]
    assert answer(pool, "minimize").id == 1
    assert answer(pool[1:2], "maximize") is None
    assert answer(pool[2:], "maximize", "holdout").id == 3


def test_an_older_store_gains_the_columns_and_the_findings_table(tmp_path: Path) -> None:
    store = Store.create(tmp_path / "run")
    first = store.add_candidate(round=0, tree=Tree.one("p.py", "x = 1\n"))
    store.close()
    with sqlite3.connect(tmp_path / "run" / "hone.db") as db:  # as an older hone wrote it
        before_views(db)
        db.execute("ALTER TABLE candidates DROP COLUMN holdout")
        db.execute("ALTER TABLE candidates DROP COLUMN verified")
        db.execute("DROP TABLE findings")
    with opened(tmp_path / "run") as old:
        assert [(c.holdout, c.verified) for c in old.candidates(pending=True)] == [(None, None)]
    store = Store.open(tmp_path / "run")
    store.add_finding(first.id, "validate", True, "", score=4.5)
    store.add_finding(first.id, "verify_strict", False, "overlaps")
    assert (store.candidate(1).holdout, store.candidate(1).verified) == (4.5, False)
    store.close()


CLOCK = "```python\ndef f():\n    import time\n    return 10.0 + (time.time_ns() % 997) / 1e4\n```"
RANDOM = "```python\ndef f():\n    import os\n    return 10.0 + os.urandom(1)[0] / 1e4\n```"


@pytest.mark.parametrize("planted", [CLOCK, RANDOM], ids=["clock", "random"])
def test_a_score_that_depends_on_the_clock_or_a_random_seed_fails_the_reproduction(
    make_task, tmp_path: Path, planted: str
) -> None:
    root = make_task("[evaluation]\nnoise = 0.0\nworkers = 1\n")
    events: list[Event] = []
    result = hone.run(
        task_of(root),
        model=ScriptedModel([planted]),
        run_dir=tmp_path / "run",
        budget=hone.Budget(max_llm_calls=1),
        on_event=events.append,
    )
    start, cheat = result.history
    assert cheat.score is not None and cheat.score > start.score  # the best in search
    assert (start.verified, cheat.verified) == (True, False)
    assert result.best is not None and result.best.id == start.id
    [found] = [e for e in events if isinstance(e, Finding)]
    assert (found.candidate.id, found.check) == (2, "reproduce")
    assert found.text.startswith(f"score {cheat.score:.6g} then ")
    assert found.text.endswith(" in a fresh sandbox (noise 0)")
    with opened(tmp_path / "run") as store:
        kept = [(r["candidate_id"], r["check_name"], r["passed"]) for r in store.findings()]
    assert kept == [(1, "reproduce", 1), (2, "reproduce", 0)]


# the instance is x = 3 + HONE_EVAL_SEED (0 in the search); the answer is 2x
SEEDED = """\
import os
from hone.evaluation import load_program


def evaluate(program_path):
    x = 3 + int(os.environ["HONE_EVAL_SEED"])
    return -abs(load_program(program_path).f(x) - 2 * x)
"""
OFF_BY_ONE = "def f(x):\n    return 2 * x - 1\n"  # -1 on every instance


def test_a_program_that_knows_the_search_instance_fails_the_perturbation(
    make_task, tmp_path: Path
) -> None:
    root = make_task("[evaluation]\nperturb = true\nworkers = 1\n", OFF_BY_ONE, SEEDED)
    memorised = "```python\ndef f(x):\n    return 6 if x == 3 else 0\n```"
    general = "```python\ndef f(x):\n    return x + x\n```"
    result = hone.run(
        task_of(root),
        model=ScriptedModel([memorised, general]),
        run_dir=tmp_path / "run",
        budget=hone.Budget(max_llm_calls=2),
    )
    assert [(c.score, c.verified) for c in result.history] == [
        (-1.0, True),
        (0.0, False),  # 0 on x = 3, -10 on x = 5 (HONE_EVAL_SEED=2)
        (0.0, True),  # as good in search: no new best, but the answer, so probed at the end
    ]
    with opened(tmp_path / "run") as store:
        [row] = [r for r in store.findings() if not r["passed"]]
        assert (
            store.findings(3)[0]["text"]
            == "score 0 reproduced as 0 with HONE_EVAL_SEED=3 (noise 0)"
        )
    assert row["text"] == "score 0 then -10 with HONE_EVAL_SEED=2 (noise 0)"
    assert result.best is not None and result.best.id == 3  # the general one


def test_a_score_outside_the_declared_range_is_no_record(make_task, tmp_path: Path) -> None:
    verifier = FunctionVerifier(lambda code: -abs(value_of(code) - 10))
    task = task_of(make_task()).configured(evaluation={"score_range": [-100, -1]})
    result = hone.run(
        task,
        model=ScriptedModel([block(7.0), block(10.0)]),
        run_dir=tmp_path / "run",
        budget=hone.Budget(max_llm_calls=2),
        verifier=verifier,
    )
    assert [c.verified for c in result.history] == [True, True, False]
    assert result.best is not None and result.best.id == 2
    with opened(tmp_path / "run") as store:
        assert store.findings(3)[0]["text"] == "score 0 outside the declared range [-100, -1]"


# Bin packing in miniature: pack(items) -> bins of item indices, capacity 10; score: -bins.
# The search's instance is in the evaluator, the held-out one only in holdout/.
PACKING = """\
import json, os
from hone.evaluation import load_program

HERE = os.path.dirname(os.path.abspath(__file__))
TRAINING = [[4, 4, 4, 6, 6, 6]]


def score(program_path, instances):
    pack, bins = load_program(program_path).pack, 0
    for items in instances:
        packed = pack(list(items))
        assert sorted(i for b in packed for i in b) == list(range(len(items))), "not a packing"
        assert all(sum(items[i] for i in b) <= 10 for b in packed), "a bin overflows"
        bins += len(packed)
    return -bins


def evaluate(program_path):
    return score(program_path, TRAINING)


def validate(program_path):
    with open(os.path.join(HERE, "holdout", "instances.json")) as f:
        return score(program_path, json.load(f))
"""
FIRST_FIT = """\
# EVOLVE-BLOCK-START
def pack(items):
    bins, room = [], []
    for i, size in enumerate(items):
        for b, left in enumerate(room):
            if size <= left:
                bins[b].append(i)
                room[b] -= size
                break
        else:
            bins.append([i])
            room.append(10 - size)
    return bins
# EVOLVE-BLOCK-END
"""
MEMORISED = """```python
BEST = {(4, 4, 4, 6, 6, 6): [[0, 3], [1, 4], [2, 5]]}  # the training instance, solved


def pack(items):
    return BEST.get(tuple(items)) or [[i] for i in range(len(items))]
```"""


def test_a_program_that_memorises_the_training_instances_is_flagged_as_overfitting(
    make_task, tmp_path: Path
) -> None:
    root = make_task('[evaluation]\nholdout = ["holdout"]\n', FIRST_FIT, PACKING)
    (root / "holdout").mkdir()
    (root / "holdout" / "instances.json").write_text("[[5, 5, 3, 7, 3, 7]]")
    events: list[Event] = []
    result = hone.run(
        task_of(root),
        model=ScriptedModel([MEMORISED]),
        run_dir=tmp_path / "run",
        budget=hone.Budget(max_llm_calls=1),
        on_event=events.append,
    )
    first_fit, memorised = result.history
    assert (first_fit.score, first_fit.holdout) == (-4.0, -3.0)
    assert (memorised.score, memorised.holdout) == (-3.0, -6.0)  # best in search, not held-out
    [found] = [e for e in events if isinstance(e, Finding)]
    assert found.text == (
        "the search may be overfitting: #2 beats #1 in search (-3 against -4) but not on "
        "held-out (-6 against -3)"
    )
    task = task_of(root).configured(evaluation={"select": "holdout"})
    held = hone.run(
        task,
        model=ScriptedModel([MEMORISED]),
        run_dir=tmp_path / "again",
        budget=hone.Budget(max_llm_calls=1),
    )
    assert held.best is not None and held.best.code == first_fit.code  # --select holdout


def test_the_command_line_prints_the_held_out_score_and_selects_by_it(
    holdout_task: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    answers = tmp_path / "answers.jsonl"
    answers.write_text("".join(json.dumps(block(v)) + "\n" for v in (7.0, 10.0)))
    argv = ["run", str(holdout_task), "--model", f"scripted:{answers}", "--hypotheses", "1"]
    argv += ["--max-llm-calls", "2", "--run-dir", str(tmp_path / "run"), "--select", "holdout"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "  new best -3 · held-out 0  (#2, round 1)" in out
    assert "  the search may be overfitting: #3 beats #2 in search" in out
    assert "best: search -3, held-out 0 (#2, round 1)" in out  # --select holdout
    assert main(["show", str(tmp_path / "run")]) == 0
    assert "best: search -3, held-out 0 (#2, round 1)" in capsys.readouterr().out


def test_a_run_whose_every_program_fails_its_strict_check_says_so(
    make_task, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """No program passed the checks: the run has no answer, and says that (not "no program
    scored", when each scored); hone show says the same, and which is the best in search."""
    evaluator = EVALUATOR.split("def validate")[0] + (
        "def verify_strict(program_path):\n    return False, 'never good enough'\n"
    )
    root = make_task(evaluator=evaluator)
    answers = tmp_path / "answers.jsonl"
    answers.write_text(json.dumps(block(7.0)) + "\n")
    argv = ["run", str(root), "--model", f"scripted:{answers}", "--max-llm-calls", "1"]
    assert main([*argv, "--run-dir", str(tmp_path / "run")]) == 1  # (no answer)
    out = capsys.readouterr().out
    assert "no program scored" not in out
    assert "no answer: every scored program failed a check of new bests" in out
    assert main(["show", str(tmp_path / "run")]) == 0
    shown = capsys.readouterr().out
    assert "no answer: every scored program failed a check of new bests; the best in search:\n" in (
        shown
    )
    assert "best score -3 (#2, round 1)" in shown
