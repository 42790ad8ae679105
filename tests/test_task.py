from pathlib import Path

import pytest

from hone.exceptions import TaskError
from hone.task import Task


def test_loads_folder_with_defaults_and_overrides(make_task) -> None:
    root = make_task(
        """
        objective = "minimize"
        target = 0.5
        [budget]
        max_llm_calls = 7
        patience = 3
        [evaluation]
        timeout = 5
        [model]
        name = "openai:some-model"
        """
    )
    task = Task.from_dir(root)
    assert task.name == "task"
    assert task.instruction == "Make f() return 10."
    assert task.objective == "minimize"
    assert task.budget.max_llm_calls == 7 and task.budget.patience == 3
    assert task.budget.target == 0.5
    assert task.evaluation.timeout == 5
    assert task.model.spec == "openai:some-model"
    assert "def f():" in task.program


def test_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(TaskError, match="does not exist"):
        Task.from_dir(tmp_path / "nope")


def test_missing_toml(tmp_path: Path) -> None:
    with pytest.raises(TaskError, match=r"task\.toml.*is missing"):
        Task.from_dir(tmp_path)


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("instrution = 'typo'\n", r"unknown key\(s\) \['instrution'\]"),
        ("[budget]\nmax_calls = 3\n", r"unknown key\(s\) \['max_calls'\] in \[budget\]"),
        ("objective = 'biggest'\n", "objective must be 'maximize' or 'minimize'"),
        ("[budget]\nmax_llm_calls = -1\n", "max_llm_calls must be at least 0"),
        ("target = 'high'\n", "target must be a number"),
        ("this is = not toml\n", "is not valid TOML"),
    ],
)
def test_bad_toml_is_one_clear_error(make_task, toml: str, message: str) -> None:
    root = make_task(toml)
    with pytest.raises(TaskError, match=message):
        Task.from_dir(root)


def test_missing_instruction(make_task) -> None:
    root = make_task()
    (root / "task.toml").write_text("objective = 'maximize'\n")
    with pytest.raises(TaskError, match="needs an 'instruction'"):
        Task.from_dir(root)


def test_missing_evaluator(make_task) -> None:
    root = make_task()
    (root / "evaluate.py").unlink()
    with pytest.raises(TaskError, match=r"evaluator .*evaluate\.py.* is missing"):
        Task.from_dir(root)


def test_evaluator_without_evaluate(make_task) -> None:
    root = make_task(evaluator="def score(path):\n    return 1.0\n")
    with pytest.raises(TaskError, match="defines no top-level 'evaluate'"):
        Task.from_dir(root)


def test_starting_program_that_does_not_parse(make_task) -> None:
    root = make_task(program="def f(:\n")
    with pytest.raises(TaskError, match="does not parse"):
        Task.from_dir(root)


def test_missing_program_names_the_setting(make_task) -> None:
    root = make_task('program = "start.py"\n')
    with pytest.raises(TaskError, match=r"start\.py.* is missing; create it or set 'program'"):
        Task.from_dir(root)


def test_archive_lists_more_starting_programs(make_task) -> None:
    root = make_task('archive = ["a.py"]')
    (root / "a.py").write_text("def f():\n    return 2.0\n")
    task = Task.from_dir(root)
    assert task.archive == (("a.py", "def f():\n    return 2.0\n"),)


@pytest.mark.parametrize(
    ("toml", "files", "message"),
    [
        ('archive = ["missing.py"]', {}, "archive program .*missing.py' is missing"),
        ('archive = "a.py"', {"a.py": "x = 1\n"}, "archive must be a list"),
        ('archive = ["a.py"]', {"a.py": "def f(:\n"}, "a.py' does not parse"),
    ],
)
def test_a_bad_archive_is_a_clear_error(make_task, toml: str, files: dict, message: str) -> None:
    root = make_task(toml)
    for name, text in files.items():
        (root / name).write_text(text)
    with pytest.raises(TaskError, match=message):
        Task.from_dir(root)


def test_read_only_paths_are_read_from_the_task_folder_and_the_home(
    make_task, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Relative paths are the task folder's, ~ is the user's home; whether they exist is
    checked when a run starts (hone.session.checked_read_only), with --read-only's."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    root = make_task(
        'evaluator = "eval/evaluate.py"\n[evaluation]\n'
        'read_only = ["shared", "../data/x.txt", "~/datasets", "/srv/assets"]'
    )
    (root / "eval").mkdir()
    (root / "evaluate.py").rename(root / "eval" / "evaluate.py")
    task = Task.from_dir(root)
    assert task.evaluation.read_only == (
        str(root / "shared"),
        str(tmp_path / "data" / "x.txt"),
        str(tmp_path / "home" / "datasets"),
        "/srv/assets",
    )


def test_read_paths_is_the_old_name_of_read_only(make_task) -> None:
    root = make_task('[evaluation]\nread_paths = ["shared"]')
    assert Task.from_dir(root).evaluation.read_only == (str(root / "shared"),)
    both = make_task('[evaluation]\nread_paths = ["a"]\nread_only = ["b"]', name="both")
    with pytest.raises(TaskError, match=r"read_paths and read_only name one setting"):
        Task.from_dir(both)
