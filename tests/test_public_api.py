"""What `import hone` offers: pinned, so a change to it is made on purpose."""

import hone


def test_all_is_pinned_and_every_name_loads() -> None:
    assert hone.__all__ == [
        "Budget",
        "Candidate",
        "Evaluation",
        "EvaluationConfig",
        "HoneError",
        "ModelConfig",
        "ReplayResult",
        "RunResult",
        "SearchConfig",
        "Task",
        "UserError",
        "example",
        "replay",
        "replay_async",
        "resume",
        "resume_async",
        "run",
        "run_async",
    ]
    for name in hone.__all__:
        assert getattr(hone, name) is not None
