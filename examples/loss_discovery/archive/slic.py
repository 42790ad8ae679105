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
    """SLiC (Zhao et al., 2023; "hinge" in TRL and DiscoPOP): max(0, 1 - beta * rho) per pair.

    Zero, with no gradient, once the margin beta * rho reaches 1.
    """
    beta = 0.05
    rho = (policy_chosen_logps - policy_rejected_logps) - (
        reference_chosen_logps - reference_rejected_logps
    )
    return F.relu(1 - beta * rho)


# EVOLVE-BLOCK-END
