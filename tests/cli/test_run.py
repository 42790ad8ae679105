"""`hone run` and `hone resume`, in process and — for kill -9, signals and resume — as a real
subprocess: settings from the command line, read-only paths, several servers."""

import json
import os
import signal
import sqlite3
import subprocess
from pathlib import Path

import pytest

from hone.cli import main
from hone.store import opened
from tests.cli.conftest import write_answers
from tests.conftest import EVALUATOR
from tests.helpers import environment, hone_command, stored, stored_calls, wait_until


def test_run_then_show(make_task, tmp_path: Path, capsys) -> None:
    task = make_task()
    answers = write_answers(tmp_path / "a.jsonl", [3.0, 10.0], whole=True)
    code = main(
        [
            "run",
            str(task),
            "--model",
            f"scripted:{answers}",
            "--run-dir",
            str(tmp_path / "r"),
            "--hypotheses",
            "1",
            "--target",
            "0",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "new best -9" in out and "new best 0" in out
    assert "stopped: reached the target score" in out
    assert "best score 0 " in out
    assert main(["show", str(tmp_path / "r")]) == 0
    shown = capsys.readouterr().out
    assert "best score 0" in shown and "return 10.0" in shown
    assert "3 hypotheses evaluated" in shown
    if os.geteuid() == 0:  # the machines CI runs on: root, namespaces available
        assert "sandbox: no network, private file system, runs as uid" in shown


def test_resources_are_given_as_pairs_and_the_local_executor_says_it_ignores_them(
    make_task, tmp_path: Path, capsys
) -> None:
    argv = ["run", str(make_task()), "--max-llm-calls", "0", "--run-dir", str(tmp_path / "r")]
    asked = "CPU=1, GPU=0.25,memory=2GiB,mylabel=1"
    assert main([*argv, "--resources", asked]) == 0
    assert "the local executor ignores them" in capsys.readouterr().err
    kept = stored(tmp_path / "r" / "hone.db", "SELECT value FROM meta WHERE key = 'evaluation'")
    resources = json.loads(kept)["resources"]
    assert resources == {"CPU": 1, "GPU": 0.25, "memory": "2GiB", "mylabel": 1}
    for bad, said in [
        ("GPU", "--resources takes NAME=AMOUNT pairs separated by commas"),
        ("GPU=lots", "resources GPU must be a number at least 0, got 'lots'"),
    ]:
        assert main([*argv[:-1], str(tmp_path / bad), "--resources", bad]) == 2
        err = capsys.readouterr().err
        assert said in err and err.count("\n") == 1, err


def test_zero_calls_with_a_hosted_model_and_no_key_prints_the_start_score(
    make_task, tmp_path: Path, capsys
) -> None:
    """The issue's start-only check: no model call can be made, so none is built (no key asked)."""
    assert "OPENAI_API_KEY" not in os.environ  # (tests/conftest.py removes it)
    argv = ["run", str(make_task()), "--max-llm-calls", "0", "--model", "openai:x"]
    code = main([*argv, "--run-dir", str(tmp_path / "r")])
    out = capsys.readouterr()
    assert code == 0, out.err
    assert "best score -9 (#1, round 0)" in out.out and "feedback: f() = 1.0" in out.out
    assert "OPENAI_API_KEY" not in out.err
    with sqlite3.connect(tmp_path / "r" / "hone.db") as db:
        assert db.execute("SELECT COUNT(*) FROM llm_calls").fetchone() == (0,)


def test_a_failed_start_says_what_it_left(make_task, tmp_path: Path, capsys, monkeypatch) -> None:
    """A missing key or a bad spec is refused before any folder is made; a starting program
    that fails leaves nothing either (no model call was made: nothing to continue)."""
    monkeypatch.chdir(tmp_path)
    task = make_task()
    assert main(["run", str(task), "--model", "openai:x"]) == 2
    assert "OPENAI_API_KEY is not set" in capsys.readouterr().err
    assert main(["run", str(task), "--model", "scripted:/nonexistent.jsonl"]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert not (tmp_path / "runs").exists() or list((tmp_path / "runs").iterdir()) == []
    broken = make_task(
        evaluator="def evaluate(program_path):\n    raise ValueError('no')\n", name="b"
    )
    answers = write_answers(tmp_path / "a.jsonl", [3.0])
    assert main(["run", str(broken), "--model", f"scripted:{answers}"]) == 2
    err = capsys.readouterr().err
    assert "the starting program 'initial.py' failed to evaluate" in err
    assert "nothing was kept: the run folder 'runs/b-" in err and err.count("\n") == 1
    assert list((tmp_path / "runs").iterdir()) == []
    given = tmp_path / "mine"
    given.mkdir()
    (given / "notes.txt").write_text("mine")
    assert main(["run", str(broken), "--model", f"scripted:{answers}", "--run-dir", "mine"]) == 2
    assert "nothing was kept" in capsys.readouterr().err
    assert sorted(p.name for p in given.iterdir()) == ["notes.txt"]  # the user's folder stays


def test_zero_calls_with_a_model(make_task, tmp_path: Path, capsys) -> None:
    answers = write_answers(tmp_path / "a.jsonl", [])
    code = main(
        [
            "run",
            str(make_task()),
            "--max-llm-calls",
            "0",
            "--run-dir",
            str(tmp_path / "r"),
            "--model",
            f"scripted:{answers}",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "best score -9" in out and "feedback: f() = 1.0" in out and "value=1" in out


def held(make_task, tmp_path: Path, values_from: float) -> tuple[Path, Path]:
    """A task whose evaluator, for f() >= `values_from`, waits while the task folder holds a
    file `.hold` (the one folder of the test's that candidates see): once the hypotheses
    before are evaluated the run stays where it is, whatever the machine's speed, until
    the test removes the file. The task folder and the file. (A hidden file: the task's
    fingerprint leaves it out, so removing it is no change to the task on resume.)"""
    hold = tmp_path / "task" / ".hold"
    wait = (
        "    value = module.run()\n"
        "    import os, time\n"
        f"    while value >= {values_from!r} and os.path.exists({str(hold)!r}):\n"
        "        time.sleep(0.02)\n"
    )
    task = make_task(evaluator=EVALUATOR.replace("    value = module.run()\n", wait))
    assert task == hold.parent
    hold.write_text("the test lets go when this file is gone\n")
    return task, hold


def ok_count(db: Path) -> int:
    return int(stored(db, "SELECT COUNT(*) FROM candidates WHERE status='ok'") or 0)


def test_kill_9_then_resume_loses_nothing_and_pays_nothing_twice(make_task, tmp_path: Path) -> None:
    task, hold = held(make_task, tmp_path, values_from=1.35)  # the fourth answer on
    answers = write_answers(tmp_path / "a.jsonl", [1.0 + i / 10 for i in range(1, 41)], whole=True)
    run_dir, db = tmp_path / "r", tmp_path / "r" / "hone.db"
    command = hone_command(
        "run", str(task), "--model", f"scripted:{answers}", "--run-dir", str(run_dir),
        "--hypotheses", "2", "--workers", "1", "--max-llm-calls", "12",
    )  # fmt: skip
    proc = subprocess.Popen(
        command, env=environment(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:  # the start and the first three answers evaluated, the fourth held: kill -9
        wait_until(lambda: proc.poll() is not None or ok_count(db) >= 4, "4 evaluated")
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    with sqlite3.connect(db) as conn:
        before = {
            row[0]: row[1]
            for row in conn.execute("SELECT id, score FROM candidates WHERE status='ok'")
        }
        calls_before = conn.execute("SELECT COUNT(*) FROM llm_calls").fetchone()[0]
    assert len(before) == 4 and calls_before < 12

    hold.unlink()
    resumed = subprocess.run(
        hone_command("resume", str(run_dir)),
        env=environment(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert resumed.returncode == 0, resumed.stderr
    with sqlite3.connect(db) as conn:
        after = {
            row[0]: row[1]
            for row in conn.execute("SELECT id, score FROM candidates WHERE status='ok'")
        }
        pending = conn.execute("SELECT COUNT(*) FROM candidates WHERE status='pending'").fetchone()[
            0
        ]
    calls = [call["completion"] for call in stored_calls(db)]
    assert all(after[k] == v for k, v in before.items())  # nothing evaluated was lost
    assert len(calls) == 12 and len(set(calls)) == 12  # each prepared answer paid for once
    assert pending == 0
    assert len(after) == 13  # the start and every hypothesis


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_ctrl_c_stops_cleanly_and_resume_finishes(make_task, tmp_path: Path, stop) -> None:
    """Ctrl-C, and SIGTERM and SIGHUP as a service manager or a closed terminal send them."""
    task, hold = held(make_task, tmp_path, values_from=1.35)  # the fourth answer on
    answers = write_answers(tmp_path / "a.jsonl", [1.0 + i / 10 for i in range(1, 11)], whole=True)
    run_dir, db = tmp_path / "r", tmp_path / "r" / "hone.db"
    command = hone_command(
        "run", str(task), "--model", f"scripted:{answers}", "--run-dir", str(run_dir),
        "--hypotheses", "2", "--workers", "1", "--max-llm-calls", "10",
    )  # fmt: skip
    proc = subprocess.Popen(
        command,
        env=environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # started with SIGINT ignored, as a script's background job is: hone must still stop
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )
    try:  # the start and the first three answers evaluated, the fourth held: the signal
        wait_until(lambda: proc.poll() is not None or ok_count(db) >= 4, "4 evaluated")
    finally:
        proc.send_signal(stop)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, f"{out[-2000:]}{err}"
    assert f"Continue with: hone resume {run_dir}" in out
    assert "Traceback" not in err
    assert stored(db, "SELECT value FROM meta WHERE key='status'") == '"interrupted"'
    assert ok_count(db) == 4
    hold.unlink()
    resumed = subprocess.run(
        hone_command("resume", str(run_dir)),
        env=environment(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert resumed.returncode == 0, resumed.stderr
    assert "best score -8 " in resumed.stdout  # the last prepared answer, f() = 2.0
    assert stored(db, "SELECT COUNT(*) FROM llm_calls") == 10
    assert ok_count(db) == 11


def test_patience_off_and_tuning_from_the_command_line(make_task, tmp_path: Path) -> None:
    answers = tmp_path / "a.jsonl"
    answers.write_text(json.dumps("no code") + "\n")
    task = make_task(toml="[budget]\npatience = 3\n")
    argv = ["run", str(task), "--model", f"scripted:{answers}", "--run-dir", str(tmp_path / "r")]
    argv += ["--max-llm-calls", "1", "--patience", "off", "--tune", "--max-evaluations", "4"]
    assert main(argv) == 0
    with sqlite3.connect(tmp_path / "r" / "hone.db") as conn:
        meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
        kinds = dict(conn.execute("SELECT kind, COUNT(*) FROM candidates GROUP BY kind"))
    assert json.loads(meta["budget"])["patience"] is None
    assert json.loads(meta["search"])["tune"] is True
    assert kinds["tune"] == 4  # the start's constant 1.0, tuned within the evaluation budget
    with pytest.raises(SystemExit):
        main([*argv[:2], "--patience", "never"])


# Reads its reference value from a file given by its absolute path (as researchers' evaluators
# do), outside the task folder.
DATA_EVALUATOR = """\
import importlib.util


def evaluate(program_path):
    target = float(open(TARGET).read())
    spec = importlib.util.spec_from_file_location("candidate", program_path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return -abs(module.run() - target)
"""


@pytest.fixture
def home_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """hone's HOME, a temporary folder, with ~/hone-data/target.txt (4)."""
    home = tmp_path / "home"
    (home / "hone-data").mkdir(parents=True)
    (home / "hone-data" / "target.txt").write_text("4")
    monkeypatch.setenv("HOME", str(home))
    return home / "hone-data"


def test_an_evaluator_reads_a_path_declared_read_only_under_the_home(
    make_task, home_data: Path, tmp_path: Path, capsys
) -> None:
    target = home_data / "target.txt"
    task = make_task(evaluator=f"TARGET = {str(target)!r}\n" + DATA_EVALUATOR)
    answers = write_answers(tmp_path / "a.jsonl", [])
    argv = ["run", str(task), "--model", f"scripted:{answers}", "--max-llm-calls", "0"]
    assert main([*argv, "--run-dir", str(tmp_path / "hidden")]) == 1
    out = capsys.readouterr().out
    assert f"No such file or directory: {str(target)!r}" in out  # hidden by the sandbox
    assert (
        f"{str(target)!r} exists outside the sandbox, which gives each evaluation a private "
        "/tmp: put the file in the task folder, or declare its folder read-only ([evaluation] "
        f"read_only = [{str(home_data)!r}], or hone run --read-only {home_data})"
    ) in out
    # ~ as the user typed it (quoted: hone reads it from its HOME, not the shell)
    assert main([*argv, "--run-dir", str(tmp_path / "shown"), "--read-only", "~/hone-data"]) == 0
    assert "best score -3 " in capsys.readouterr().out  # f() = 1, target 4


def test_resume_keeps_the_read_only_paths_the_run_started_with(
    make_task, home_data: Path, tmp_path: Path, capsys
) -> None:
    task = make_task(evaluator=f"TARGET = {str(home_data / 'target.txt')!r}\n" + DATA_EVALUATOR)
    answers = write_answers(tmp_path / "a.jsonl", [2.0, 4.0], whole=True)
    run_dir = tmp_path / "r"
    argv = ["run", str(task), "--model", f"scripted:{answers}", "--run-dir", str(run_dir)]
    assert (
        main([*argv, "--hypotheses", "1", "--max-llm-calls", "1", "--read-only", "~/hone-data"])
        == 0
    )
    with sqlite3.connect(run_dir / "hone.db") as conn:
        meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
    assert json.loads(meta["evaluation"])["read_only"] == [str(home_data)]
    capsys.readouterr()
    assert main(["resume", str(run_dir), "--max-llm-calls", "2"]) == 0
    assert "new best 0 " in capsys.readouterr().out  # f() = 4 read the target in the sandbox
    (home_data / "target.txt").unlink()
    home_data.rmdir()
    assert main(["resume", str(run_dir), "--max-llm-calls", "3"]) == 2
    err = capsys.readouterr().err
    assert f"hone: error: read_only path {str(home_data)!r} does not exist" in err


def test_a_refused_read_only_path_asks_no_model_and_makes_no_run_folder(
    make_task, home_data: Path, tmp_path: Path, capsys
) -> None:
    from tests.faults.server import FaultServer

    (home_data.parent / ".ssh").mkdir()
    server = FaultServer("ok").start()
    try:
        for i, (declared, reason) in enumerate(
            [
                (str(tmp_path / "nowhere"), "does not exist"),
                ("~", "a home directory, where keys and credentials live"),
                ("~/.ssh", "is or lies in .ssh, a place for keys and credentials"),
                (str(tmp_path), "a home directory"),  # a folder above the home
            ]
        ):
            run_dir = tmp_path / f"r{i}"
            argv = ["run", str(make_task(name=f"task{i}")), "--model", "openai:m"]
            argv += ["--base-url", server.url, "--run-dir", str(run_dir), "--read-only", declared]
            assert main(argv) == 2
            err = capsys.readouterr().err
            assert err.count("\n") == 1 and err.startswith("hone: error: read_only path ")
            assert reason in err, err
            assert not run_dir.exists()
    finally:
        server.stop()
    assert server.log == []  # no model request at all


def test_base_url_twice_is_a_pool_and_resume_base_url_replaces_it(
    make_task, tmp_path: Path, capsys
) -> None:
    urls = ["http://127.0.0.1:8080/v1", "http://127.0.0.1:8081/v1"]
    run_dir = tmp_path / "r"
    argv = ["run", str(make_task()), "--model", "openai:m", "--run-dir", str(run_dir)]
    assert main([*argv, "--base-url", urls[0], "--base-url", urls[1], "--max-llm-calls", "0"]) == 0
    with opened(run_dir) as store:
        assert (store.meta().model["base_url"], store.meta().model["base_urls"]) == (None, urls)
    moved = "http://127.0.0.1:9090/v1"
    assert main(["resume", str(run_dir), "--base-url", moved, "--max-llm-calls", "0"]) == 0
    with opened(run_dir) as store:
        assert (store.meta().model["base_url"], store.meta().model["base_urls"]) == (moved, [])
    capsys.readouterr()
