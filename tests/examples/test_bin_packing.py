"""The bin-packing example: it evolves on generated training instances, and its held-out
validation (OR3, Weibull 5k) reproduces FunSearch's best-fit figures."""

from __future__ import annotations

import importlib.util
import json
import sys
import textwrap
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "bin_packing"


def load_evaluator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bin_packing_evaluate", EXAMPLE / "evaluate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_program(tmp_path: Path, body: str) -> str:
    path = tmp_path / "candidate.py"
    path.write_text("import numpy as np\n\n\n" + textwrap.dedent(body), encoding="utf-8")
    return str(path)


@pytest.fixture(scope="module")
def evaluator() -> ModuleType:
    return load_evaluator()


@pytest.fixture(scope="module")
def best_fit(evaluator: ModuleType) -> dict:
    return evaluator.validate(str(EXAMPLE / "initial.py"))


def test_task_folder_is_complete() -> None:
    for name in ("task.toml", "initial.py", "evaluate.py", "README.md"):
        assert (EXAMPLE / name).is_file(), name
    for name in ("or3.json", "weibull_5k.json"):
        assert (EXAMPLE / "holdout" / name).is_file(), name
    assert (EXAMPLE / "data" / "train.json").is_file()
    source = (EXAMPLE / "initial.py").read_text(encoding="utf-8").splitlines()
    assert "# EVOLVE-BLOCK-START" in source
    assert "# EVOLVE-BLOCK-END" in source


def test_best_fit_reproduces_funsearch_figures(best_fit: dict) -> None:
    assert "error" not in best_fit
    assert round(best_fit["or3_excess_pct"], 2) == 5.37
    assert round(best_fit["weibull_excess_pct"], 2) == 3.98
    assert best_fit["or3_mean_bins"] == pytest.approx(212.0)
    assert best_fit["weibull_mean_bins"] == pytest.approx(2067.0)
    expected = (best_fit["or3_excess_pct"] + best_fit["weibull_excess_pct"]) / 2
    assert best_fit["combined_score"] == pytest.approx(expected)
    assert "OR3: 5.37 % excess (212.00 bins vs L1 201.20)" in best_fit["feedback"]
    assert "Weibull 5k: 3.98 % excess (2067.00 bins vs L1 1987.80)" in best_fit["feedback"]


def test_first_fit_scores_differently(
    evaluator: ModuleType, tmp_path: Path, best_fit: dict
) -> None:
    program = write_program(
        tmp_path,
        """
        def priority(item, bins):
            return -np.arange(len(bins), dtype=float)
        """,
    )
    result = evaluator.validate(program)
    assert "error" not in result
    assert result["combined_score"] != pytest.approx(best_fit["combined_score"])
    assert result["combined_score"] >= best_fit["combined_score"]


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ("return np.zeros(len(bins) + 1)", "shape"),
        ("return 1.0", "shape"),
        ("return np.full(len(bins), np.nan)", "non-finite"),
        ("return np.full(len(bins), np.inf)", "non-finite"),
        ("return ['a'] * len(bins)", "not numeric"),
    ],
)
def test_invalid_priorities_give_an_error(
    evaluator: ModuleType, tmp_path: Path, body: str, fragment: str
) -> None:
    program = write_program(tmp_path, f"def priority(item, bins):\n    {body}\n")
    result = evaluator.evaluate(program)
    assert result["combined_score"] == 100.0
    assert fragment in result["error"]


def test_missing_function_gives_an_error(evaluator: ModuleType, tmp_path: Path) -> None:
    program = write_program(tmp_path, "def heuristic(item, bins):\n    return bins\n")
    result = evaluator.evaluate(program)
    assert result["combined_score"] == 100.0
    assert "priority" in result["error"]


def test_candidate_cannot_corrupt_the_bins(evaluator: ModuleType, tmp_path: Path) -> None:
    """The heuristic gets a copy: writing into it does not change the packing."""
    program = write_program(
        tmp_path,
        """
        def priority(item, bins):
            score = -(bins - item)
            bins[:] = 0.0
            return score
        """,
    )
    result = evaluator.validate(program)
    assert round(result["or3_excess_pct"], 2) == 5.37


def test_the_search_evolves_on_training_instances_drawn_as_the_held_out_ones_are(
    evaluator: ModuleType,
) -> None:
    search = evaluator.evaluate(str(EXAMPLE / "initial.py"))
    assert round(search["or_excess_pct"], 2) == 5.32 and search["or_mean_bins"] == 209.8
    assert round(search["weibull_excess_pct"], 2) == 4.22 and search["weibull_mean_bins"] == 2112
    assert round(search["combined_score"], 2) == 4.77  # the README's search figure
    sets = evaluator.training()
    held = evaluator.held_out()
    for key, capacity, sizes in (("or", 150, (20, 100)), ("weibull", 100, (1, 100))):
        instances = list(sets[key].values())
        assert all(i["capacity"] == capacity for i in instances)
        items = [x for i in instances for x in i["items"]]
        assert sizes[0] <= min(items) and max(items) <= sizes[1]
    training = {tuple(i["items"]) for s in sets.values() for i in s.values()}
    assert not training & {tuple(i["items"]) for s in held.values() for i in s.values()}
    # the held-out sets' own sizes come from the same ranges: the generator draws as they do
    assert min(x for i in held["or3"].values() for x in i["items"]) >= 20


def test_the_training_instances_are_what_the_generator_writes() -> None:
    spec = importlib.util.spec_from_file_location("bin_generate", EXAMPLE / "data" / "generate.py")
    assert spec is not None and spec.loader is not None
    generate = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generate)
    written = (EXAMPLE / "data" / "train.json").read_text(encoding="utf-8")
    assert written == json.dumps(generate.training()) + "\n"


def one_answer(answer: str, run_dir: Path) -> Any:
    """A run of the example with one model answer, one at a time, no tuning."""
    import hone
    from hone.testing import ScriptedModel

    task = hone.Task.from_dir(EXAMPLE).configured(
        budget={"max_llm_calls": 1, "patience": None},
        search={"tune": False, "hypotheses_per_round": 1},
        evaluation={"workers": 1},
    )
    return hone.run(task, model=ScriptedModel([answer]), run_dir=run_dir)


def test_no_search_evaluation_can_read_the_held_out_instances(tmp_path: Path) -> None:
    peek = (  # the EVOLVE-BLOCK of a candidate that looks for OR3 while it is searched
        "```python\ndef priority(item, bins):\n"
        f"    open({str(EXAMPLE / 'holdout' / 'or3.json')!r}).read()\n"
        "    return -(bins - item)\n```"
    )
    result = one_answer(peek, tmp_path / "run")
    start, peeking = result.history
    assert round(start.score or 0, 2) == 4.77 and round(start.holdout or 0, 2) == 4.68
    assert peeking.score is None and "No such file or directory" in peeking.evaluation.reason


# A candidate that packs as best fit but, at import, makes the evaluator's count 10 bins fewer
# (the candidate shares the evaluator's process: it finds the evaluator among the modules).
FORGED = """\
import sys

import numpy as np

for module in list(sys.modules.values()):
    counted = getattr(module, "pack", None)
    if callable(counted) and hasattr(module, "INVALID_SCORE"):
        module.pack = lambda priority, items, capacity, counted=counted: (
            counted(priority, items, capacity) - 10
        )


def priority(item, bins):
    return -(bins - item)
"""


def test_the_strict_re_check_packs_again_and_catches_a_forged_count(
    evaluator: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert evaluator.verify_strict(str(EXAMPLE / "initial.py")) == (
        True,
        "exact: 12 training instances packed again, the same bins",
    )
    monkeypatch.setattr(evaluator, "pack", evaluator.pack)  # (put back after the forgery)
    monkeypatch.setitem(sys.modules, evaluator.__name__, evaluator)  # (as hone's worker has it)
    forged = tmp_path / "forged.py"
    forged.write_text(FORGED, encoding="utf-8")
    assert round(evaluator.evaluate(str(forged))["combined_score"], 2) == 2.01  # best fit: 4.77
    passed, reason = evaluator.verify_strict(str(forged))
    assert not passed
    # (imported twice here, by evaluate and by the re-check: 20 bins fewer than the 209 packed)
    assert reason == "train_or_00: the search counted 189 bins, the re-simulation 209"


def test_hone_does_not_answer_with_a_forged_count(tmp_path: Path) -> None:
    from hone.store import opened

    block = FORGED.split("\n\n\ndef priority")[0].replace("import numpy as np\n\n", "")
    answer = "```python\n" + block + "\n\ndef priority(item, bins):\n    return -(bins - item)\n```"
    result = one_answer(answer, tmp_path / "run")
    start, forged = result.history
    assert forged.score is not None and start.score is not None and forged.score < start.score
    assert (start.verified, forged.verified) == (True, False)
    assert result.best is not None and result.best.id == start.id
    with opened(tmp_path / "run") as store:
        failed = [(r["check_name"], r["text"]) for r in store.findings() if not r["passed"]]
    assert failed == [
        ("verify_strict", "train_or_00: the search counted 199 bins, the re-simulation 209")
    ]
