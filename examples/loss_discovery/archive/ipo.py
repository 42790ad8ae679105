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
    """IPO (Azar et al., 2023): (rho - 1 / (2 * beta))**2 per pair.

    Pulls rho to a fixed target (10 nats) instead of pushing it to infinity.
    """
    beta = 0.05
    rho = (policy_chosen_logps - policy_rejected_logps) - (
        reference_chosen_logps - reference_rejected_logps
    )
    target = torch.full_like(rho, 1 / (2 * beta))
    return F.mse_loss(rho, target, reduction="none")


# EVOLVE-BLOCK-END
