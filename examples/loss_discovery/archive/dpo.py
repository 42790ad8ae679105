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
    """DPO (Rafailov et al., 2023): -log sigmoid(beta * rho), one loss per pair, shape (batch,).

    rho is how much more the policy prefers the chosen response over the rejected one than the
    reference does, in nats; training minimises the mean of the losses.
    """
    beta = 0.05
    rho = (policy_chosen_logps - policy_rejected_logps) - (
        reference_chosen_logps - reference_rejected_logps
    )
    return -F.logsigmoid(beta * rho)


# EVOLVE-BLOCK-END
