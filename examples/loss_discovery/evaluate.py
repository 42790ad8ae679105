"""Evaluator for loss discovery: DiscoPOP's preference-optimisation loop in miniature, on a CPU.

The candidate defines `loss(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps,
reference_rejected_logps)` returning one loss per preference pair, shape (batch,).

Stage 1 is DiscoPOP's unit test: the loss is called on a batch of realistic log-probabilities and
must return a finite float tensor of shape (batch,) whose gradients are finite. Stage 2 trains a
policy with it and scores the trained policy by its true reward on held-out prompts.

The testbed (a "world", one per seed): a language model over VOCAB tokens whose responses are
LENGTH tokens drawn independently from a prompt-conditioned token distribution, so log p(y|x) is
a sum over tokens as for an LLM. The true reward of a response is the mean over its tokens of
u(x, v) = visible(x, v) + HIDDEN_WEIGHT * hidden(x, v): `visible` is bilinear in the prompt and
the token embedding, `hidden` a fixed random tanh network. The frozen reference ("SFT model") has
logits REFERENCE_SHARPNESS * hidden(x, v) + a bilinear bias; the policy is the reference plus a
trainable bilinear head, zero at the start, which can represent `visible` but not `hidden`. So
pushing the head too far trades the reference's knowledge of `hidden` for `visible`: reward
rises with the KL to the reference and then falls (over-optimisation). Preference pairs are two
responses sampled from the reference per training prompt, labelled by Bradley-Terry with the true
reward. Training: Adam, STEPS steps of BATCH pairs, the mean of the candidate's losses.

Score: the normalised expected true reward on TEST_PROMPTS held-out prompts,
(E_policy[r] - E_reference[r]) / (E_best[r] - E_reference[r]), averaged over WORLDS worlds: 0 is
the reference, 1 the best token every time, below 0 worse than the reference. Expectations are
exact (summed over the vocabulary), not sampled.
"""

from __future__ import annotations

import functools
import math
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import torch
import torch.nn.functional as F

from hone import Evaluation
from hone.evaluation import load_program

torch.set_num_threads(1)

DTYPE = torch.float64
VOCAB = 16
PROMPT_DIM = 8
EMBED_DIM = 8
HIDDEN_UNITS = 32
LENGTH = 64  # tokens per response
TRAIN_PROMPTS = 256
TEST_PROMPTS = 512
PAIRS_PER_PROMPT = 2
HIDDEN_WEIGHT = 2.0  # weight of the reward part the policy head cannot represent
REFERENCE_SHARPNESS = 3.0  # how much the reference knows of that part
PREFERENCE_TEMPERATURE = 0.1  # Bradley-Terry: P(a > b) = sigmoid((r_a - r_b) / temperature)
STEPS = 400
BATCH = 64
LEARNING_RATE = 0.03
WORLDS = 3  # the score is the mean over this many worlds
UNIT_BATCH = 16

Loss = Callable[..., object]
ARGUMENTS = (
    "policy_chosen_logps",
    "policy_rejected_logps",
    "reference_chosen_logps",
    "reference_rejected_logps",
)


class TrainingFailed(Exception):
    """The loss broke training (non-finite loss or gradient, wrong shape, an exception)."""


class World(NamedTuple):
    """One seeded instance of the testbed: prompts, rewards, the reference and the pairs."""

    seed: int
    embeddings: torch.Tensor  # (VOCAB, EMBED_DIM)
    train_prompts: torch.Tensor  # (TRAIN_PROMPTS, PROMPT_DIM)
    reference_train: torch.Tensor  # reference logits, (TRAIN_PROMPTS, VOCAB)
    reference_test: torch.Tensor  # (TEST_PROMPTS, VOCAB)
    test_prompts: torch.Tensor
    reward_test: torch.Tensor  # true per-token reward u(x, v), (TEST_PROMPTS, VOCAB)
    pair_prompt: torch.Tensor  # prompt index of each pair, (pairs,)
    chosen_counts: torch.Tensor  # token counts of the chosen response, (pairs, VOCAB)
    rejected_counts: torch.Tensor
    reference_chosen: torch.Tensor  # reference log-probability of the chosen response, (pairs,)
    reference_rejected: torch.Tensor


@functools.lru_cache(maxsize=16)
def make_world(seed: int) -> World:
    """Build world `seed`: everything is drawn from one generator, so it is reproducible."""
    g = torch.Generator().manual_seed(seed)

    def normal(*shape: int) -> torch.Tensor:
        return torch.randn(*shape, generator=g, dtype=DTYPE)

    embeddings = normal(VOCAB, EMBED_DIM) / math.sqrt(EMBED_DIM)
    visible = normal(PROMPT_DIM, EMBED_DIM) / math.sqrt(PROMPT_DIM)
    bias = 0.5 * normal(PROMPT_DIM, EMBED_DIM) / math.sqrt(PROMPT_DIM)
    w1 = normal(PROMPT_DIM, HIDDEN_UNITS) / math.sqrt(PROMPT_DIM)
    w2 = normal(HIDDEN_UNITS, VOCAB) / math.sqrt(HIDDEN_UNITS)

    def hidden(x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(2 * x @ w1) @ w2

    def reward(x: torch.Tensor) -> torch.Tensor:
        return x @ visible @ embeddings.T + HIDDEN_WEIGHT * hidden(x)

    def reference(x: torch.Tensor) -> torch.Tensor:
        return REFERENCE_SHARPNESS * hidden(x) + x @ bias @ embeddings.T

    train_x, test_x = normal(TRAIN_PROMPTS, PROMPT_DIM), normal(TEST_PROMPTS, PROMPT_DIM)
    ref_train = reference(train_x)
    ref_logp = torch.log_softmax(ref_train, -1)
    u = reward(train_x)
    prompts, chosen, rejected = [], [], []
    for _ in range(PAIRS_PER_PROMPT):
        a, b = (
            F.one_hot(
                torch.multinomial(ref_logp.exp(), LENGTH, replacement=True, generator=g), VOCAB
            )
            .sum(1)
            .to(DTYPE)
            for _ in range(2)
        )
        margin = ((a - b) * u).sum(-1) / LENGTH
        a_wins = torch.rand(TRAIN_PROMPTS, generator=g, dtype=DTYPE) < torch.sigmoid(
            margin / PREFERENCE_TEMPERATURE
        )
        chosen.append(torch.where(a_wins[:, None], a, b))
        rejected.append(torch.where(a_wins[:, None], b, a))
        prompts.append(torch.arange(TRAIN_PROMPTS))
    pair_prompt = torch.cat(prompts)
    chosen_counts, rejected_counts = torch.cat(chosen), torch.cat(rejected)
    return World(
        seed=seed,
        embeddings=embeddings,
        train_prompts=train_x,
        reference_train=ref_train,
        reference_test=reference(test_x),
        test_prompts=test_x,
        reward_test=reward(test_x),
        pair_prompt=pair_prompt,
        chosen_counts=chosen_counts,
        rejected_counts=rejected_counts,
        reference_chosen=(chosen_counts * ref_logp[pair_prompt]).sum(-1),
        reference_rejected=(rejected_counts * ref_logp[pair_prompt]).sum(-1),
    )


def _raised(what: str, exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" (line {frames[-1].lineno}: {frames[-1].line})" if frames else ""
    return f"{what} raised {type(exc).__name__}: {exc}{where}"


def _load_loss(program_path: str) -> Loss | Evaluation:
    try:
        module = load_program(program_path)
    except Exception as exc:
        return Evaluation.failed("error", _raised("importing the program", exc))
    loss = getattr(module, "loss", None)
    if not callable(loss):
        return Evaluation.failed(
            "error", f"the program defines no function loss({', '.join(ARGUMENTS)})"
        )
    return loss


def _check_losses(value: object, batch: int) -> torch.Tensor:
    """The candidate's output as a tensor of shape (batch,), or TrainingFailed saying why not."""
    if not isinstance(value, torch.Tensor):
        raise TrainingFailed(
            f"loss returned a {type(value).__name__}; return a torch tensor of shape ({batch},), "
            "one loss per pair"
        )
    if not value.is_floating_point():
        raise TrainingFailed(f"loss returned a tensor of dtype {value.dtype}; it must be float")
    if tuple(value.shape) != (batch,):
        hint = " (do not reduce it with .mean() or .sum())" if value.dim() == 0 else ""
        raise TrainingFailed(
            f"loss returned shape {tuple(value.shape)} for a batch of {batch} pairs; it must "
            f"return one loss per pair, shape ({batch},){hint}"
        )
    bad = int((~torch.isfinite(value)).sum())
    if bad:
        raise TrainingFailed(f"loss returned NaN or infinity for {bad} of {batch} pairs")
    return value


def unit_test(loss: Loss) -> str:
    """DiscoPOP's check: shape, finite values, finite gradients; TrainingFailed if not."""
    world = make_world(0)
    pick = torch.arange(UNIT_BATCH)
    ref_c, ref_r = world.reference_chosen[pick], world.reference_rejected[pick]
    g = torch.Generator().manual_seed(1)
    cases = {
        "the policy equal to the reference (the start of training)": (ref_c, ref_r),
        "a policy moved away from the reference": (
            ref_c + 10 * torch.randn(UNIT_BATCH, generator=g, dtype=DTYPE),
            ref_r + 10 * torch.randn(UNIT_BATCH, generator=g, dtype=DTYPE),
        ),
    }
    constant = False
    for case, (pol_c, pol_r) in cases.items():
        pol_c = pol_c.clone().requires_grad_(True)
        pol_r = pol_r.clone().requires_grad_(True)
        try:
            value = loss(pol_c, pol_r, ref_c.clone(), ref_r.clone())
        except Exception as exc:
            raise TrainingFailed(_raised(f"loss(...) on {case}", exc)) from None
        try:
            losses = _check_losses(value, UNIT_BATCH)
        except TrainingFailed as exc:
            raise TrainingFailed(f"on {case}: {exc}") from None
        if not losses.requires_grad:
            constant = True
            continue
        try:
            losses.sum().backward()
        except Exception as exc:
            raise TrainingFailed(_raised(f"the backward pass on {case}", exc)) from None
        for name, tensor in zip(ARGUMENTS[:2], (pol_c, pol_r), strict=True):
            if tensor.grad is not None and not bool(torch.isfinite(tensor.grad).all()):
                raise TrainingFailed(
                    f"on {case}: the gradient of the loss with respect to {name} is NaN or infinite"
                )
    if constant:
        return "unit test passed, but the loss does not depend on the policy: training does nothing"
    return "unit test passed: shape, finite losses and finite gradients"


def train(loss: Loss, world: World, steps: int = STEPS) -> torch.Tensor:
    """Train the policy head with `loss` on the world's pairs; return the head."""
    head = torch.zeros(PROMPT_DIM, EMBED_DIM, dtype=DTYPE, requires_grad=True)
    optimizer = torch.optim.Adam([head], lr=LEARNING_RATE)
    g = torch.Generator().manual_seed(world.seed)
    for step in range(steps):
        batch = torch.randint(0, len(world.pair_prompt), (BATCH,), generator=g)
        prompt = world.pair_prompt[batch]
        logits = world.reference_train[prompt] + world.train_prompts[prompt] @ head @ (
            world.embeddings.T
        )
        logp = torch.log_softmax(logits, -1)
        args = (
            (world.chosen_counts[batch] * logp).sum(-1),
            (world.rejected_counts[batch] * logp).sum(-1),
            world.reference_chosen[batch],
            world.reference_rejected[batch],
        )
        where = f"at training step {step + 1} of {steps} (world {world.seed})"
        try:
            losses = _check_losses(loss(*args), BATCH)
        except TrainingFailed as exc:
            raise TrainingFailed(f"{where}: {exc}") from None
        except Exception as exc:
            raise TrainingFailed(_raised(f"loss(...) {where}", exc)) from None
        if not losses.requires_grad:
            continue
        optimizer.zero_grad()
        try:
            losses.mean().backward()
        except Exception as exc:
            raise TrainingFailed(_raised(f"the backward pass {where}", exc)) from None
        if head.grad is not None and not bool(torch.isfinite(head.grad).all()):
            raise TrainingFailed(f"{where}: the gradient became NaN or infinite")
        optimizer.step()
    return head.detach()


def assess(world: World, head: torch.Tensor) -> dict[str, float]:
    """The trained policy on the held-out prompts: true reward, normalised score and KL."""
    with torch.no_grad():
        ref = torch.log_softmax(world.reference_test, -1)
        pol = torch.log_softmax(
            world.reference_test + world.test_prompts @ head @ world.embeddings.T, -1
        )
        u = world.reward_test
        reward = float((pol.exp() * u).sum(-1).mean())
        ref_reward = float((ref.exp() * u).sum(-1).mean())
        best = float(u.max(-1).values.mean())
        kl = LENGTH * float((pol.exp() * (pol - ref)).sum(-1).mean())
    return {
        "score": (reward - ref_reward) / (best - ref_reward),
        "reward": reward,
        "reference_reward": ref_reward,
        "best_reward": best,
        "kl": kl,
    }


def pair_accuracy(world: World, head: torch.Tensor) -> float:
    """Fraction of training pairs where the policy prefers the chosen response more than the
    reference does (rho > 0)."""
    with torch.no_grad():
        logits = world.reference_train + world.train_prompts @ head @ world.embeddings.T
        logp = torch.log_softmax(logits, -1)[world.pair_prompt]
        rho = ((world.chosen_counts - world.rejected_counts) * logp).sum(-1) - (
            world.reference_chosen - world.reference_rejected
        )
    return float((rho > 0).to(DTYPE).mean())


def fitness(loss: Loss, seed: int = 0) -> dict[str, float]:
    """Train with `loss` in worlds seed * WORLDS ... and return the mean figures and each world's.

    Raises TrainingFailed when the loss breaks training.
    """
    per_world = []
    for world_seed in range(seed * WORLDS, (seed + 1) * WORLDS):
        world = make_world(world_seed)
        head = train(loss, world)
        per_world.append({**assess(world, head), "pair_accuracy": pair_accuracy(world, head)})
    mean = {key: sum(w[key] for w in per_world) / WORLDS for key in per_world[0]}
    for i, figures in enumerate(per_world):
        mean.update({f"world{i}.{key}": value for key, value in figures.items()})
    return mean


def _dpo(
    policy_chosen_logps: torch.Tensor,
    policy_rejected_logps: torch.Tensor,
    reference_chosen_logps: torch.Tensor,
    reference_rejected_logps: torch.Tensor,
) -> torch.Tensor:
    rho = (policy_chosen_logps - policy_rejected_logps) - (
        reference_chosen_logps - reference_rejected_logps
    )
    return -F.logsigmoid(0.05 * rho)


def _warm_up() -> None:
    """Build the scored worlds and run torch's one-time set-up (about 1 s) here, at import:
    hone imports the evaluator once per worker and forks each candidate from it."""
    for seed in range(WORLDS):
        make_world(seed)
    train(_dpo, make_world(0), steps=2)


_warm_up()


def evaluate_stage1(program_path: str) -> Evaluation:
    """DiscoPOP's unit test: callable, shape (batch,), finite loss and gradients."""
    loss = _load_loss(program_path)
    if isinstance(loss, Evaluation):
        return loss
    try:
        note = unit_test(loss)
    except TrainingFailed as exc:
        return Evaluation.failed("error", f"unit test failed: {exc}")
    return Evaluation(score=1.0, feedback=note)


def evaluate_stage2(program_path: str) -> Evaluation | dict:
    """Train a policy with the loss and score its true reward on held-out prompts."""
    loss = _load_loss(program_path)
    if isinstance(loss, Evaluation):
        return loss
    try:
        figures = fitness(loss)
    except TrainingFailed as exc:
        return Evaluation.failed("error", f"training failed {exc}")
    components = {
        f"world{i}": {key: figures[f"world{i}.{key}"] for key in ("score", "kl", "pair_accuracy")}
        for i in range(WORLDS)
    }
    feedback = (
        f"normalised true reward {figures['score']:.4f} (0 = the reference, 1 = the best token "
        f"every time; mean of {WORLDS} worlds: "
        + ", ".join(f"{figures[f'world{i}.score']:.3f}" for i in range(WORLDS))
        + f") at KL(policy || reference) {figures['kl']:.1f} nats per response; "
        f"{100 * figures['pair_accuracy']:.1f} % of the training pairs have rho > 0"
    )
    return {
        "combined_score": figures["score"],
        "kl": figures["kl"],
        "reward": figures["reward"],
        "reference_reward": figures["reference_reward"],
        "pair_accuracy": figures["pair_accuracy"],
        "components": components,
        "feedback": feedback,
    }


if __name__ == "__main__":
    import time

    path = sys.argv[1] if len(sys.argv) > 1 else str(Path(__file__).resolve().parent / "initial.py")
    for stage in (evaluate_stage1, evaluate_stage2):
        start = time.perf_counter()
        print(stage.__name__, stage(path), f"{time.perf_counter() - start:.2f} s")
