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
    """LRML, the loss DiscoPOP discovered (Lu et al., 2024), per pair, with z = beta * rho:

    (1 - w) * log(1 + exp(-z)) + w * exp(-z), w = sigmoid(z / tau), beta = tau = 0.05: mostly
    DPO's logistic loss while the policy prefers the rejected response, mostly the exponential
    loss once it prefers the chosen one.
    """
    beta = 0.05
    tau = 0.05
    rho = (policy_chosen_logps - policy_rejected_logps) - (
        reference_chosen_logps - reference_rejected_logps
    )
    z = beta * rho
    w = torch.sigmoid(z / tau)
    return (1 - w) * F.softplus(-z) + w * torch.exp(-z)


# EVOLVE-BLOCK-END
