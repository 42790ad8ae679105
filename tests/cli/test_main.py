"""`hone`'s errors: one line each, no traceback, naming the fix."""

import contextlib
from pathlib import Path

from hone.cli import main


def test_user_errors_are_one_line_without_traceback(tmp_path: Path, capsys) -> None:
    assert main(["run", str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("hone: error: task folder") and "Traceback" not in err
    assert err.count("\n") == 1
    assert main(["show", str(tmp_path)]) == 2
    assert "is not a hone run" in capsys.readouterr().err


def test_unknown_model_is_a_user_error(make_task, tmp_path: Path, capsys) -> None:
    assert main(["run", str(make_task()), "--model", "gpt5", "--run-dir", str(tmp_path / "r")]) == 2
    assert "unknown model 'gpt5'" in capsys.readouterr().err


def test_model_help_and_errors_name_every_backend(make_task, tmp_path: Path, capsys) -> None:
    from hone.models import BACKENDS

    with contextlib.suppress(SystemExit):
        main(["run", "--help"])
    helped = " ".join(capsys.readouterr().out.split())
    code = main(["run", str(make_task()), "--model", "gpt4", "--run-dir", str(tmp_path / "r")])
    error = capsys.readouterr().err
    assert code == 2
    for kind in BACKENDS:  # ensemble: among them
        assert kind + ":" in helped and kind in error
