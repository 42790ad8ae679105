"""The read-only paths a task declares: where they resolve, which are refused and why, and the
hint a failure gets when it missed a file the sandbox hides."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from hone.exceptions import ConfigError
from hone.sandbox import visible


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A home of its own for hone's process (~ is read from HOME)."""
    home = tmp_path / "home"
    (home / "datasets" / "weibull").mkdir(parents=True)
    (home / "datasets" / "weibull" / "items.txt").write_text("3 45")
    monkeypatch.setenv("HOME", str(home))
    return home


def test_paths_resolve_against_the_home_and_the_base(home: Path, tmp_path: Path) -> None:
    base = tmp_path / "task"
    assert visible.resolve("~/datasets/weibull", base) == str(home / "datasets" / "weibull")
    assert visible.resolve("data", base) == str(base / "data")
    assert visible.resolve("../shared/./x", base) == str(tmp_path / "shared" / "x")
    assert visible.resolve("/scratch/assets/", base) == "/scratch/assets"
    (tmp_path / "link").symlink_to(home / "datasets")
    # (a link is kept as written: the sandbox shows the path the evaluator opens)
    assert visible.resolve("../link", base) == str(tmp_path / "link")


def test_a_declared_folder_or_file_that_exists_is_accepted(home: Path, tmp_path: Path) -> None:
    paths = visible.checked(
        ["~/datasets/weibull", "~/datasets/weibull/items.txt", "~/datasets/weibull/"],
        tmp_path,
        {tmp_path / "runs" / "r": "the run's own folder"},
    )
    weibull = str(home / "datasets" / "weibull")
    assert paths == (weibull, weibull + "/items.txt")  # each once


@pytest.mark.parametrize(
    ("declared", "reason"),
    [
        ("nowhere", "does not exist"),
        ("~", r"would show .*/home, a home directory, where keys and credentials live"),
        (".", r"would show .*/home, a home directory"),  # a folder above the home
        ("/", r"would show /root, a home directory"),
        ("/root", r"would show /root, a home directory"),
        ("/home", r"would show /home, a home directory"),
        ("/tmp", r"would cover the private /tmp the sandbox gives each evaluation"),
        ("/dev", r"would cover the private /dev/shm"),
        ("~/.ssh", r"is or lies in \.ssh, a place for keys and credentials"),
        ("~/.aws/credentials", r"is or lies in \.aws"),
        ("~/.config/gcloud", r"is or lies in \.config/gcloud"),
        ("~/.docker/config.json", r"is or lies in \.docker/config\.json"),
        ("~/.netrc", r"is or lies in \.netrc"),
        ("someone", r"holds \.ssh, a place for keys and credentials"),  # another home
        ("keys-link", r"is or lies in \.ssh"),  # a link into one
        ("runs", r"would show the run's own folder '.*/runs/r' to evaluations"),
        ("runs/r/sub", r"would show the run's own folder"),
    ],
)
def test_a_declared_path_is_refused_with_its_reason(
    home: Path, tmp_path: Path, declared: str, reason: str
) -> None:
    for folder in (".ssh", ".aws", ".config/gcloud", ".docker"):
        (home / folder).mkdir(parents=True)
    for file in (".aws/credentials", ".docker/config.json", ".netrc"):
        (home / file).write_text("key")
    (tmp_path / "someone" / ".ssh").mkdir(parents=True)
    (tmp_path / "keys-link").symlink_to(home / ".ssh")
    (tmp_path / "runs" / "r" / "sub").mkdir(parents=True)
    guarded = {tmp_path / "runs" / "r": "the run's own folder"}
    with pytest.raises(ConfigError) as raised:
        visible.checked([declared], tmp_path, guarded)
    message = str(raised.value)
    assert message.startswith("read_only path '"), message
    assert re.search(reason, message), message
    assert message.count(". ") == 0 and "\n" not in message  # one sentence


def test_the_hint_names_the_hidden_place_and_the_fix(tmp_path: Path) -> None:
    data = tmp_path / "hone-data"
    data.mkdir()
    (data / "target.txt").write_text("10")
    target = str(data / "target.txt")
    python = (
        f"FileNotFoundError: [Errno 2] No such file or directory: {target!r} "
        "(at evaluate.py:4 in evaluate)"
    )
    sentence = visible.hint(python, [])
    assert sentence == (
        f"{target!r} exists outside the sandbox, which gives each evaluation a private /tmp: "
        "put the file in the task folder, or declare its folder read-only ([evaluation] "
        f"read_only = [{str(data)!r}], or hone run --read-only {data})"
    )
    shell = f"the command exited with status 1:\ncat: {target}: No such file or directory"
    assert visible.hint(shell, []) == sentence
    go = f"open {data}: no such file or directory"  # a folder: declared itself
    assert f"--read-only {data})" in visible.hint(go, [])


@pytest.mark.parametrize(
    "text",
    [
        "FileNotFoundError: [Errno 2] No such file or directory: '{missing}'",  # not here either
        "FileNotFoundError: [Errno 2] No such file or directory: '{shown}'",  # bound back
        "PermissionError: [Errno 13] Permission denied: '{target}'",  # not a missing file
        "ValueError: bad line in {target}",
        "FileNotFoundError: [Errno 2] No such file or directory: '{secret}'",
        "FileNotFoundError: [Errno 2] No such file or directory: '/tmp'",
        "FileNotFoundError: [Errno 2] No such file or directory: '{elsewhere}'",  # not hidden
        "cat: /tmp/../proc/self/status: No such file or directory",  # not hidden either
    ],
)
def test_no_hint_unless_a_hidden_file_exists_here(tmp_path: Path, text: str) -> None:
    (tmp_path / "target.txt").write_text("10")
    (tmp_path / "shown").mkdir()
    (tmp_path / "shown" / "f").write_text("x")
    (tmp_path / ".ssh").mkdir()
    (tmp_path / ".ssh" / "id_rsa").write_text("key")
    filled = text.format(
        missing=tmp_path / "missing.txt",
        shown=tmp_path / "shown" / "f",
        target=tmp_path / "target.txt",
        secret=tmp_path / ".ssh" / "id_rsa",
        elsewhere="/proc/self/status",
    )
    assert visible.hint(filled, [str(tmp_path / "shown")]) == ""


def test_the_hint_looks_up_few_paths(tmp_path: Path) -> None:
    """A candidate that prints many missing paths costs hone a few look-ups, no more."""
    (tmp_path / "real.txt").write_text("x")
    missing = [f"cat: {tmp_path}/gone-{i}: No such file or directory" for i in range(10_000)]
    found = f"cat: {tmp_path}/real.txt: No such file or directory"
    assert visible.hint("\n".join([found, *missing]), [])
    assert visible.hint("\n".join([*missing[:8], found]), []) == ""


def test_a_file_in_a_home_suggests_a_folder_of_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The file's folder is the home itself: declaring it would be refused, so the hint does
    not suggest it."""
    home = tmp_path / "home"
    home.mkdir()
    (home / "target.txt").write_text("10")
    monkeypatch.setenv("HOME", str(home))
    sentence = visible.hint(f"No such file or directory: '{home}/target.txt'", [])
    assert "move it to a folder of its own and declare that one read-only" in sentence
    assert os.fspath(home) + ")" not in sentence
