"""A preference-optimisation loss (hone's examples/loss_discovery, after DiscoPOP)."""

import torch
import torch.nn.functional as F


# EVOLVE-BLOCK-START
def loss(
    policy_chosen_logps: torch.Tensor,
    policy_rejected_logps: torch.Tensor,
    reference_chosen_logps: torch.Tensor,
    reference_rejected_logps: torch.Tensor,
) -> torch.Tensor:
    """KTO (Ethayarajh et al., 2024) for pairs, as TRL's kto_pair: chosen half + rejected half.

    Each response's log-ratio to the reference is compared with the batch's mean log-ratio of
    the other kind, clamped at 0 and without gradient (KTO's reference point z0).
    """
    beta = 0.05
    chosen = policy_chosen_logps - reference_chosen_logps
    rejected = policy_rejected_logps - reference_rejected_logps
    chosen_kl = chosen.mean().clamp(min=0).detach()
    rejected_kl = rejected.mean().clamp(min=0).detach()
    return (1 - F.sigmoid(beta * (chosen - rejected_kl))) + (
        1 - F.sigmoid(beta * (chosen_kl - rejected))
    )


# EVOLVE-BLOCK-END
