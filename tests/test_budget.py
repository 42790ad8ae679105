"""The stop rules as pure functions of the budget and where the run is."""

import pytest

from hone.budget import (
    Budget,
    Progress,
    Usage,
    abandons,
    may_call,
    model_failing,
    round_size,
    stop_reason,
)
from hone.exceptions import ConfigError


def progress(**changes: object) -> Progress:
    values: dict[str, object] = {
        "usage": Usage(3, 100, 50),
        "in_flight": 1,
        "elapsed": 10.0,
        "round": 2,
        "best_round": 1,
        "best": 0.5,
        "opens_round": True,
    }
    return Progress(**{**values, **changes})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("budget", "now", "reason"),
    [
        (Budget(target=0.5), progress(), "target"),
        (Budget(target=0.6), progress(), None),
        (Budget(max_llm_calls=4, patience=None), progress(), "max_llm_calls"),  # 3 + 1 in flight
        (Budget(max_llm_calls=5, patience=None), progress(), None),
        (Budget(max_tokens=150, max_llm_calls=None, patience=None), progress(), "max_tokens"),
        (Budget(max_seconds=10, patience=None), progress(), "max_seconds"),
        (Budget(max_rounds=2, patience=None), progress(), "max_rounds"),
        (Budget(max_rounds=2, patience=None), progress(opens_round=False), None),  # mid-round
        (Budget(patience=1), progress(), "patience"),
        (Budget(patience=2), progress(), None),
        (Budget(patience=1), progress(opens_round=False), None),
    ],
)
def test_stop_reason(budget: Budget, now: Progress, reason: str | None) -> None:
    assert stop_reason(budget, "maximize", now) == reason


def test_time_does_not_wait_for_the_hypotheses_in_flight_and_a_failing_model_comes_first() -> None:
    both = Budget(target=0.5, max_seconds=10, patience=None)
    assert stop_reason(both, "maximize", progress()) == "target"
    assert stop_reason(both, "maximize", progress(running=2)) == "max_seconds"
    assert abandons("max_seconds") and not abandons("target")
    failing = progress(failures=4, width=4, running=3)
    assert stop_reason(Budget(patience=None), "maximize", failing) == "model_failing"
    assert stop_reason(both, "maximize", failing) == "model_failing"
    assert stop_reason(Budget(patience=None), "maximize", progress(failures=3, width=4)) is None
    assert not abandons("model_failing")  # (the run fails once their calls are stored)


def test_target_follows_the_objective() -> None:
    assert stop_reason(Budget(target=0.4), "minimize", progress(best=0.3)) == "target"
    assert (
        stop_reason(Budget(target=0.4), "minimize", progress(best=0.5, opens_round=False)) is None
    )


def test_calls_in_flight_count_and_the_round_size_shrinks_to_the_budget() -> None:
    assert may_call(Budget(max_llm_calls=5), Usage(3), 1)
    assert not may_call(Budget(max_llm_calls=5), Usage(3), 2)
    assert round_size(Budget(max_llm_calls=5), 4, Usage(3), 1) == 2
    assert round_size(Budget(max_llm_calls=None), 4, Usage(3), 1) == 4
    assert model_failing(4, 4) and not model_failing(3, 4)


def test_the_cost_budget_stops_the_run_and_its_calls() -> None:
    spent = progress(usage=Usage(3, 100, 50, 0.25))
    assert stop_reason(Budget(max_cost=0.25, patience=None), "maximize", spent) == "max_cost"
    assert stop_reason(Budget(max_cost=0.30, patience=None), "maximize", spent) is None
    assert not may_call(Budget(max_cost=0.25), Usage(3, 100, 50, 0.25), 0)
    assert may_call(Budget(max_cost=0.30), Usage(3, 100, 50, 0.25), 0)
    assert Usage(1, 10, 5, 0.5).plus(1, 1, 0.25).cost == 0.75
    with pytest.raises(ConfigError, match="max_cost must be at least 0"):
        Budget(max_cost=-1)
