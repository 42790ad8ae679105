"""Domain randomisation for MountainCar-v0: the physics ranges a policy is trained under."""

# Reward-aware physics prior (DrEureka's RAPP), written by `python examples/reward_design/rapp.py
# --write`: for each parameter alone, the range in which policies trained on the nominal car with
# the hand-written reward still reach the flag in at least 80 % of episodes (nominal values:
# force 0.001, gravity 0.0025, max_speed 0.07, action_noise 0). Swept over force 0.0005-0.0015,
# gravity 0.00125-0.00375, max_speed 0.035-0.105, action_noise 0-0.3.
RAPP_RANGES = {
    "force": (0.0007, 0.0015),
    "gravity": (0.00125, 0.0035),
    "max_speed": (0.049, 0.105),
    "action_noise": (0.0, 0.3),
}


# EVOLVE-BLOCK-START
def randomisation():
    """Return {parameter: (low, high)}; each training episode draws every listed parameter
    uniformly from its range. Parameters left out stay at their nominal values.

    Parameters: force (motor strength), gravity (slope steepness), max_speed (speed limit),
    action_noise (probability that the motor does a random action instead of the chosen one).
    """
    return {}


# EVOLVE-BLOCK-END
