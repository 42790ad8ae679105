"""`hone export RUN --git DIR`: a run's best lineage as commits on a new branch of a real git
repository (the `git` command line), read back with `git log -p`."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from hone.cli import main
from hone.gitexport import reasoning
from hone.store import Store
from tests.conftest import answer

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")

PATCH = (
    "A larger factor: scale by 3 instead of 2.\n\n```diff\n--- a/helper.py\n+++ b/helper.py\n"
    "@@ -2,3 +2,3 @@\n def scale(x):\n     y = x\n-    return y * 2.0\n+    return y * 3.0\n```\n"
)
PLUGIN = (
    "A plugin adds the rest.\n\n```python plugins/extra.py\ndef bonus():\n    return 7.0\n```\n"
)


def git(repo: Path, *args: str, identity: bool = True) -> str:
    """A git command's output in `repo` (with `identity`, one of its own, whatever the
    machine's)."""
    who = ["-c", "user.name=Tester", "-c", "user.email=t@example.com"] if identity else []
    who += ["-c", "core.autocrlf=false"]
    done = subprocess.run(
        ["git", "-C", str(repo), *who, *args], capture_output=True, text=True, check=True
    )
    return done.stdout


def repository(path: Path, files: dict[str, str]) -> Path:
    """A git repository at `path` with `files` committed on its branch main (none: no commit)."""
    path.mkdir(parents=True)
    git(path, "init", "-q", "-b", "main")
    git(path, "config", "user.name", "Tester")
    git(path, "config", "user.email", "t@example.com")
    for name, text in files.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(text, encoding="utf-8")
    if files:
        git(path, "add", "-A")
        git(path, "commit", "-q", "-m", "the project")
    return path


def scripted_run(task: Path, tmp_path: Path, *answers: str) -> Path:
    """A run of `task` with one hypothesis a round, the model answering `answers` in turn."""
    script = tmp_path / "answers.jsonl"
    script.write_text("".join(json.dumps(a) + "\n" for a in answers), encoding="utf-8")
    run_dir = tmp_path / "r"
    argv = ["run", str(task), "--model", f"scripted:{script}", "--run-dir", str(run_dir)]
    assert main([*argv, "--hypotheses", "1", "--max-llm-calls", str(len(answers))]) == 0
    return run_dir


def test_a_folder_tasks_lineage_is_one_commit_per_hypothesis_on_a_new_branch(
    make_tree_task, tmp_path: Path, capsys
) -> None:
    task = make_tree_task()
    run_dir = scripted_run(task, tmp_path, PATCH, PLUGIN)
    src = {f"src/{p.name}": p.read_text() for p in (task / "src").glob("*.py")}
    repo = repository(tmp_path / "project", {"README.md": "the project\n", **src})
    (repo / "README.md").write_text("my own change, not committed\n")  # (left as it is)
    capsys.readouterr()
    assert main(["export", str(run_dir), "--git", str(repo), "--git-path", "src"]) == 0
    out = capsys.readouterr().out
    assert "3 commit(s), hypotheses #1 to #3, on the new branch hone/r" in out
    subjects = git(repo, "log", "--format=%s", "main..hone/r").splitlines()
    assert subjects == [
        "hone #3 of tree-task: score 0 (from #2)",
        "hone #2 of tree-task: score -7 (from #1)",
        "hone #1 of tree-task: score -8 (the starting program)",
    ]
    log = git(repo, "log", "-p", "--format=@@@%n%B", "main..hone/r").split("@@@\n")[1:]
    third, second, first = log
    assert "A plugin adds the rest." in third and "metrics: value=10" in third
    assert "diff --git a/src/plugins/extra.py b/src/plugins/extra.py\nnew file mode" in third
    assert "+def bonus():\n+    return 7.0\n" in third
    assert second.startswith("hone #2 of tree-task: score -7 (from #1)\n\nmetrics: value=3\n")
    assert "A larger factor: scale by 3 instead of 2.\n\nHone-Hypothesis: 2\n" in second
    assert "```" not in second  # (the prose only: the code is the commit's diff)
    assert "--- a/src/helper.py\n+++ b/src/helper.py\n" in second
    assert "-    return y * 2.0\n+    return y * 3.0\n" in second
    assert "diff --git" not in first  # the repository held the starting program already
    assert git(repo, "show", "hone/r:src/main.py") == src["src/main.py"]  # untouched file
    # nothing the user had is touched: the branch checked out, the index, the work tree
    assert git(repo, "branch", "--show-current").strip() == "main"
    assert git(repo, "status", "--porcelain") == " M README.md\n"
    assert (repo / "README.md").read_text() == "my own change, not committed\n"
    assert not (repo / "src" / "plugins").exists()


def test_a_one_file_tasks_program_goes_to_the_repositorys_root(
    make_task, tmp_path: Path, capsys
) -> None:
    run_dir = scripted_run(make_task(), tmp_path, answer(4.0))
    repo = repository(tmp_path / "empty", {})  # no commit yet: the branch starts with a root
    assert main(["export", str(run_dir), "--git", str(repo), "--branch", "try/four"]) == 0
    assert git(repo, "log", "--format=%s", "try/four").splitlines() == [
        "hone #2 of task: score -6 (from #1)",
        "hone #1 of task: score -9 (the starting program)",
    ]
    assert git(repo, "ls-tree", "--name-only", "try/four").split() == ["initial.py"]
    program = git(repo, "show", "try/four:initial.py")
    assert "    return 4.0\n" in program
    patch = git(repo, "log", "-p", "-1", "--format=%B", "try/four")
    assert "The value should move towards 10." in patch and "-    return 1.0\n" in patch
    assert git(repo, "log", "-1", "--format=%an", "try/four").strip() == "Tester"


def refused(capsys, *argv: str) -> str:
    """The one line a refused export prints (exit code 2, no traceback)."""
    capsys.readouterr()
    assert main(["export", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("hone: error: ") and err.count("\n") == 1 and "Traceback" not in err
    return err.removeprefix("hone: error: ").strip()


def test_each_refusal_is_one_sentence_and_makes_no_branch(
    make_task, tmp_path: Path, capsys
) -> None:
    run_dir = scripted_run(make_task(), tmp_path, answer(4.0))
    plain = tmp_path / "plain"
    plain.mkdir()
    said = refused(capsys, str(run_dir), "--git", str(plain))
    assert said == f"{str(plain)!r} is no git repository (with a work tree); run git init there " \
        "or name another folder"  # fmt: skip
    repo = repository(tmp_path / "repo", {"a.txt": "a\n"})
    git(repo, "branch", "hone/r")
    said = refused(capsys, str(run_dir), "--git", str(repo))
    assert said == f"the branch 'hone/r' exists in {str(repo)!r} already; delete it (git " \
        "branch -D) or name another with --branch"  # fmt: skip
    said = refused(capsys, str(run_dir), "--git", str(repo), "--branch", "bad..name")
    assert said == "'bad..name' is no valid git branch name; name another with --branch"
    said = refused(capsys, str(run_dir), "--git", str(repo), "--branch", "x", "--git-path", "../up")
    assert said == "--git-path: the path '../up' leaves the program folder ('..'); stay inside it"
    assert git(repo, "branch", "--list", "x") == ""
    said = refused(capsys, str(tmp_path / "nothing"), "--git", str(repo), "--branch", "y")
    assert "is not a hone run" in said


def test_a_run_with_no_scored_hypothesis_has_nothing_to_export(tmp_path: Path, capsys) -> None:
    run_dir = tmp_path / "r"
    Store.create(run_dir).close()  # (a run killed before its starting program was scored)
    repo = repository(tmp_path / "repo", {"a.txt": "a\n"})
    said = refused(capsys, str(run_dir), "--git", str(repo))
    assert said == (
        f"the run {str(run_dir)!r} has no scored hypothesis to export; hone show {run_dir} "
        "--failures says why its hypotheses failed"
    )
    assert git(repo, "branch", "--list", "hone/*") == ""


@pytest.mark.parametrize(
    ("answer_text", "expected"),
    [
        ("Idea: go faster.\n\nsrc/a.py\n<<<<<<< SEARCH\nx\n=======\ny\n>>>>>>> REPLACE\n",
         "Idea: go faster."),
        ("1. Idea: cache it.\n2. Proposal:\n\n`src/a.py`:\n```python\nx = 1\n```\n",
         "1. Idea: cache it.\n2. Proposal:"),
        ("Smaller steps.\n--- a/b.c\n+++ b/b.c\n@@ -1 +1 @@\n-a\n+b\n", "Smaller steps."),
        ("```python\nonly code\n```\n", ""),
        ("", ""),
    ],
)  # fmt: skip
def test_reasoning_is_the_prose_before_the_code(answer_text: str, expected: str) -> None:
    assert reasoning(answer_text) == expected


def test_long_reasoning_is_trimmed() -> None:
    text = reasoning("why " * 2000 + "\n```python\nx\n```")
    assert len(text) <= 2000 and text.endswith(" …")


def test_a_folder_inside_the_repository_is_where_the_files_go(
    make_task, tmp_path: Path, monkeypatch
) -> None:
    run_dir = scripted_run(make_task(), tmp_path, answer(4.0))
    repo = tmp_path / "no-identity"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main", identity=False)
    (repo / "tools").mkdir()
    # no identity anywhere: the commits are hone's
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for key in ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL"):
        monkeypatch.delenv(key, raising=False)
    assert main(["export", str(run_dir), "--git", str(repo / "tools"), "--git-path", "f"]) == 0
    listed = git(repo, "ls-tree", "-r", "--name-only", "hone/r", identity=False)
    assert listed == "tools/f/initial.py\n"
    who = git(repo, "log", "-1", "--format=%an <%ae> %cn", "hone/r", identity=False)
    assert who == "hone <hone@localhost> hone\n"


def test_an_executable_file_stays_executable_and_a_link_becomes_a_file(
    make_task, tmp_path: Path
) -> None:
    run_dir = scripted_run(make_task(), tmp_path, answer(4.0))
    repo = repository(tmp_path / "repo", {"a/initial.py": "old\n", "b/other.py": "x\n"})
    (repo / "a" / "initial.py").chmod(0o755)
    (repo / "c").mkdir()
    (repo / "c" / "initial.py").symlink_to("../b/other.py")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "an executable and a link")
    for sub, branch in (("a", "x"), ("c", "y")):
        argv = ["export", str(run_dir), "--git", str(repo), "--git-path", sub, "--branch", branch]
        assert main(argv) == 0
    assert git(repo, "ls-tree", "x", "a/initial.py").startswith("100755 blob ")
    assert git(repo, "ls-tree", "y", "c/initial.py").startswith("100644 blob ")
    assert "return 4.0" in git(repo, "show", "y:c/initial.py")
    assert git(repo, "show", "y:b/other.py") == "x\n"  # (the link's target is untouched)


def test_a_base_model_s_completion_is_code_not_reasoning(make_task, tmp_path: Path) -> None:
    """A best-shot prompt's answer is the body of the function it ends with: code, with no
    prose before it; the commit message carries no reasoning then, not the code."""
    import hone
    from hone.testing import ScriptedModel
    from tests.helpers import task_of

    model = ScriptedModel(["    return 4.0\n"], style="completion")
    hone.run(
        task_of(make_task()),
        model=model,
        run_dir=tmp_path / "r",
        budget=hone.Budget(max_llm_calls=1),
    )
    repo = repository(tmp_path / "repo", {})
    assert main(["export", str(tmp_path / "r"), "--git", str(repo)]) == 0
    assert "    return 4.0\n" in git(repo, "show", "hone/r:initial.py")
    assert git(repo, "log", "-1", "--format=%B", "hone/r") == (
        "hone #2 of task: score -6 (from #1)\n\nmetrics: value=4\n\nHone-Hypothesis: 2\n\n"
    )


def test_the_lineage_exported_is_the_run_s_answer(tmp_path: Path) -> None:
    """The run's answer is the best no check failed (or, with select = "holdout", the best
    held-out one), as hone show prints it and best.py holds: its lineage is exported, not
    that of a program that scored higher in search and failed its strict check."""
    from hone.evaluation import Evaluation
    from hone.meta import RunMeta
    from hone.tree import Tree

    for select, answer_id in (("search", 2), ("holdout", 1)):
        run_dir = tmp_path / f"run-{select}"
        store = Store.create(run_dir, RunMeta(task_name="t", evaluation={"select": select}))
        for i, holdout in ((1, 5.0), (2, 3.0), (3, None)):  # each from the one before
            made = store.add_candidate(
                round=i - 1, tree=Tree.one("p.py", f"x = {i}\n"), parent_ids=(i - 1,)[: i - 1]
            )
            store.set_evaluation(made, Evaluation(score=float(i)))
            if holdout is not None:
                store.add_finding(i, "validate", True, "", score=holdout)
        store.add_finding(3, "verify_strict", False, "x = 3 breaks the rule")
        store.close()
        repo = repository(tmp_path / f"repo-{select}", {})
        assert main(["export", str(run_dir), "--git", str(repo)]) == 0
        tip = f"hone/run-{select}"
        assert git(repo, "show", f"{tip}:p.py") == f"x = {answer_id}\n", select
