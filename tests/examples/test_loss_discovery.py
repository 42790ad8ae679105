"""The loss-discovery example: DiscoPOP's unit test as stage 1, training as stage 2."""

from __future__ import annotations

import textwrap
from pathlib import Path
from types import ModuleType

import pytest

import hone
from hone.evaluation import coerce_result, load_program
from hone.task import Task
from hone.testing import ScriptedModel

torch = pytest.importorskip("torch")

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "loss_discovery"
REFERENCES = ("dpo", "slic", "ipo", "kto", "lrml")
HEADER = "import torch\nimport torch.nn.functional as F\n\n\n"
SIGNATURE = "def loss(policy_chosen_logps, policy_rejected_logps, ref_chosen, ref_rejected):\n"
RHO = "    rho = (policy_chosen_logps - policy_rejected_logps) - (ref_chosen - ref_rejected)\n"


def write(tmp_path: Path, body: str, header: str = HEADER) -> str:
    path = tmp_path / "candidate.py"
    path.write_text(header + textwrap.dedent(body), encoding="utf-8")
    return str(path)


def dpo_with(beta: float, sign: float = 1.0):
    def loss(pc, pr, rc, rr):
        return -torch.nn.functional.logsigmoid(sign * beta * ((pc - pr) - (rc - rr)))

    return loss


@pytest.fixture(scope="module")
def evaluator() -> ModuleType:
    return load_program(EXAMPLE / "evaluate.py")


@pytest.fixture(scope="module")
def fitness(evaluator: ModuleType) -> dict[str, dict[str, float]]:
    """Each reference loss, and a loss that does nothing, scored as hone scores them."""
    result = {
        name: evaluator.fitness(load_program(EXAMPLE / "archive" / f"{name}.py").loss)
        for name in REFERENCES
    }
    result["nothing"] = evaluator.fitness(lambda pc, pr, rc, rr: 0.0 * (pc - pr))
    return result


def test_task_folder_is_complete() -> None:
    task = Task.from_dir(EXAMPLE)
    assert task.objective == "maximize" and task.function == "loss"
    assert task.evaluation.cascade_thresholds == (1.0,)
    assert [name for name, _ in task.archive] == [
        "archive/slic.py",
        "archive/ipo.py",
        "archive/kto.py",
    ]
    for name in REFERENCES:
        source = (EXAMPLE / "archive" / f"{name}.py").read_text(encoding="utf-8").splitlines()
        assert "# EVOLVE-BLOCK-START" in source and "# EVOLVE-BLOCK-END" in source, name
    assert (EXAMPLE / "README.md").is_file()


def test_the_starting_program_is_dpo_and_the_archive_shares_its_frame() -> None:
    """Same imports and markers everywhere, so code moves between them (F is always there)."""
    start = (EXAMPLE / "initial.py").read_text(encoding="utf-8")
    assert start == (EXAMPLE / "archive" / "dpo.py").read_text(encoding="utf-8")
    head = start.split("# EVOLVE-BLOCK-START")[0]
    for name in REFERENCES:
        source = (EXAMPLE / "archive" / f"{name}.py").read_text(encoding="utf-8")
        assert source.split("# EVOLVE-BLOCK-START")[0] == head, name
        assert source.endswith("# EVOLVE-BLOCK-END\n"), name


@pytest.mark.parametrize("name", ["initial", *(f"archive/{n}" for n in REFERENCES)])
def test_reference_losses_pass_the_unit_test(evaluator: ModuleType, name: str) -> None:
    result = evaluator.evaluate_stage1(str(EXAMPLE / f"{name}.py"))
    assert result.ok and result.score == 1.0, result.reason
    assert result.feedback == "unit test passed: shape, finite losses and finite gradients"


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (SIGNATURE + RHO + "    return -F.logsigmoid(0.05 * rho).mean()\n", "shape ()"),
        (SIGNATURE + RHO + "    return -F.logsigmoid(0.05 * rho)[:, None]\n", "shape (16, 1)"),
        (SIGNATURE + RHO + "    return rho[:8]\n", "shape (8,)"),
        (SIGNATURE + "    return 0.5\n", "loss returned a float"),
        (SIGNATURE + RHO + "    return (rho > 0).long()\n", "dtype torch.int64"),
        (SIGNATURE + RHO + "    return torch.log(rho)\n", "NaN or infinity"),
        (SIGNATURE + RHO + "    return rho * float('nan')\n", "NaN or infinity for 16 of 16"),
        (
            SIGNATURE + "    return torch.sqrt(policy_chosen_logps - policy_chosen_logps)\n",
            "gradient of the loss with respect to policy_chosen_logps is NaN",
        ),
        (
            SIGNATURE + RHO + "    raise ValueError('no idea')\n",
            "raised ValueError: no idea (line 7: raise ValueError('no idea'))",
        ),
        (SIGNATURE + RHO + "    policy_chosen_logps += 1\n    return rho\n", "raised RuntimeError"),
        ("def dpo_loss(a, b, c, d):\n    return a - b\n", "defines no function loss("),
        ("def loss(a, b, c, d)\n    return a - b\n", "importing the program raised SyntaxError"),
    ],
)
def test_broken_losses_fail_the_unit_test(
    evaluator: ModuleType, tmp_path: Path, body: str, fragment: str
) -> None:
    result = evaluator.evaluate_stage1(write(tmp_path, body))
    assert not result.ok and result.status == "error"
    assert result.score is None
    assert fragment in result.reason, result.reason


def test_a_loss_that_fails_only_while_training_is_rejected_with_the_step(
    evaluator: ModuleType, tmp_path: Path
) -> None:
    """log(100 - rho) is finite on the unit test's batch, NaN once training pushes rho past 100."""
    program = write(tmp_path, SIGNATURE + RHO + "    return torch.log(100 - rho)\n")
    assert evaluator.evaluate_stage1(program).ok
    result = evaluator.evaluate_stage2(program)
    assert not result.ok and result.status == "error"
    assert result.reason.startswith("training failed at training step ")
    assert "(world 0): loss returned NaN or infinity for " in result.reason


def test_a_constant_loss_passes_the_unit_test_with_a_warning(
    evaluator: ModuleType, tmp_path: Path
) -> None:
    result = evaluator.evaluate_stage1(write(tmp_path, SIGNATURE + "    return ref_chosen * 0\n"))
    assert result.ok
    assert "does not depend on the policy" in result.feedback


def test_a_loss_that_does_nothing_keeps_the_references_reward(
    fitness: dict[str, dict[str, float]],
) -> None:
    nothing = fitness["nothing"]
    assert nothing["score"] == 0.0 and nothing["kl"] == 0.0
    assert nothing["reward"] == nothing["reference_reward"]


def test_the_reference_losses_improve_on_the_reference_and_differ(
    fitness: dict[str, dict[str, float]],
) -> None:
    scores = {name: fitness[name]["score"] for name in REFERENCES}
    assert all(0.2 < score < 1.0 for score in scores.values()), scores
    assert max(scores.values()) - min(scores.values()) > 0.1, scores
    assert all(fitness[name]["reward"] > fitness[name]["reference_reward"] for name in REFERENCES)


def test_the_reference_losses_rank_as_measured(fitness: dict[str, dict[str, float]]) -> None:
    """Measured on worlds 0-2 (README): SLiC 0.389, DPO 0.374, LRML 0.302, KTO 0.296,
    IPO 0.263; KL to the reference: LRML 105, DPO 96, SLiC 86, KTO 30, IPO 7.6."""
    s = {name: fitness[name]["score"] for name in REFERENCES}
    assert s["slic"] > s["dpo"] > max(s["lrml"], s["kto"]) >= min(s["lrml"], s["kto"]) > s["ipo"]
    kl = {name: fitness[name]["kl"] for name in REFERENCES}
    assert kl["ipo"] < 10 < kl["kto"] < 50 < min(kl["dpo"], kl["slic"], kl["lrml"])
    assert s["dpo"] == pytest.approx(0.374111, abs=1e-4)
    assert s["slic"] == pytest.approx(0.389174, abs=1e-4)


def test_the_score_is_reproducible(evaluator: ModuleType, fitness: dict) -> None:
    evaluator.make_world.cache_clear()
    again = evaluator.fitness(load_program(EXAMPLE / "archive" / "dpo.py").loss)
    assert again == fitness["dpo"]


def test_pushing_toward_the_rejected_answers_lowers_the_reward(evaluator: ModuleType) -> None:
    result = evaluator.fitness(dpo_with(0.05, sign=-1.0))
    assert result["score"] < -0.5
    assert result["reward"] < result["reference_reward"]
    assert result["pair_accuracy"] < 0.3


def test_over_optimisation_reward_rises_then_falls_with_the_kl(evaluator: ModuleType) -> None:
    """DPO's beta sets how far the policy moves: too far (beta 0.005) loses reward."""
    runs = [evaluator.fitness(dpo_with(beta)) for beta in (0.005, 0.1, 2.0)]
    far, middle, near = runs
    assert far["kl"] > middle["kl"] > near["kl"]
    assert middle["score"] > near["score"] > 0
    assert middle["score"] > far["score"] + 0.3


def test_the_score_is_the_sampled_true_reward_of_the_trained_policy(
    evaluator: ModuleType,
) -> None:
    """Sample tokens from the trained policy and average their true reward."""
    world = evaluator.make_world(0)
    head = evaluator.train(dpo_with(0.05), world)
    figures = evaluator.assess(world, head)
    logits = world.reference_test + world.test_prompts @ head @ world.embeddings.T
    g = torch.Generator().manual_seed(0)
    tokens = torch.multinomial(torch.softmax(logits, -1), 200, replacement=True, generator=g)
    sampled = float(world.reward_test.gather(1, tokens).mean())
    assert sampled == pytest.approx(figures["reward"], abs=0.03)
    normalised = (sampled - figures["reference_reward"]) / (
        figures["best_reward"] - figures["reference_reward"]
    )
    assert normalised == pytest.approx(figures["score"], abs=0.03)


def test_stage2_reports_the_score_kl_and_worlds(evaluator: ModuleType) -> None:
    result = evaluator.evaluate_stage2(str(EXAMPLE / "initial.py"))
    evaluation = coerce_result(result)
    assert evaluation.ok
    assert evaluation.score == pytest.approx(0.374111, abs=1e-4)
    assert evaluation.metrics["kl"] > 0
    assert {f"world{i}.score" for i in range(3)} <= set(evaluation.metrics)
    assert evaluation.feedback.startswith("normalised true reward 0.3741 ")


@pytest.mark.slow  # about 10 s: two sandbox workers import torch
def test_the_cascade_in_the_sandbox_evaluates_the_start_and_the_archive(tmp_path: Path) -> None:
    """What `hone run examples/loss_discovery --max-llm-calls 0` does, plus one broken answer."""
    task = Task.from_dir(EXAMPLE)
    broken = (
        "```python\n"
        + (EXAMPLE / "initial.py")
        .read_text(encoding="utf-8")
        .replace("return -F.logsigmoid(beta * rho)", "return -F.logsigmoid(beta * rho).mean()")
        + "```\n"
    )
    result = hone.run(
        task,
        model=ScriptedModel([broken]),
        run_dir=tmp_path / "run",
        budget=task.budget.merged(max_llm_calls=1),
    )
    by_code = {c.code: c for c in result.history}
    start = by_code[task.program].evaluation
    assert start.ok and start.metrics["stages_passed"] == 2
    assert start.score == pytest.approx(0.374111, abs=1e-4)
    scores = {name: by_code[code].score for name, code in task.archive}
    assert scores["archive/slic.py"] == pytest.approx(0.389174, abs=1e-4)
    assert result.best_score == pytest.approx(0.389174, abs=1e-4)
    failed = [c.evaluation for c in result.history if not c.evaluation.ok]
    assert len(failed) == 1 and failed[0].metrics["stages_passed"] == 0
    assert "unit test failed" in failed[0].reason and "shape ()" in failed[0].reason
