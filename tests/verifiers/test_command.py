"""The command verifier: builds, runs, metrics from stdout or a file, and every failure."""

import contextlib
import sys
import time
from pathlib import Path

from hone.verifiers.command import build_and_run, last_json_object, run


def script(tmp_path: Path, body: str) -> list[str]:
    path = tmp_path / "prog.py"
    path.write_text(body)
    return [sys.executable, str(path)]


def test_metrics_from_the_last_json_line_of_stdout(tmp_path: Path) -> None:
    argv = script(
        tmp_path,
        'print("warming up")\nprint(\'{"score": 0.5}\')\nprint(\'{"score": 2.5, "n": 3, "feedback": "fine"}\')\n',
    )
    ev = build_and_run(argv, cwd=tmp_path)
    assert ev.ok and ev.score == 2.5 and ev.metrics == {"n": 3.0} and ev.feedback == "fine"


def test_metrics_from_a_file(tmp_path: Path) -> None:
    argv = script(tmp_path, 'open("m.json", "w").write(\'{"combined_score": 7}\')\n')
    ev = build_and_run(argv, cwd=tmp_path, metrics_from="m.json")
    assert ev.ok and ev.score == 7.0
    missing = build_and_run(script(tmp_path, "pass\n"), cwd=tmp_path, metrics_from="m2.json")
    assert missing.status == "invalid-output" and "m2.json" in missing.reason


def test_a_failing_build_shows_the_compiler_errors(tmp_path: Path) -> None:
    (tmp_path / "bad.c").write_text("int main(void) { return undefined_name; }\n")
    ev = build_and_run(["./bad"], build=["cc", "-o", "bad", "bad.c"], cwd=tmp_path)
    assert ev.status == "error"
    assert ev.reason.startswith("the build exited with status 1")
    assert "undefined_name" in ev.reason and "undefined_name" in ev.feedback


def test_a_c_program_builds_and_reports(tmp_path: Path) -> None:
    (tmp_path / "ok.c").write_text(
        '#include <stdio.h>\nint main(void) { printf("{\\"score\\": %d}\\n", 6 * 7); }\n'
    )
    ev = build_and_run(["./ok"], build=["cc", "-O2", "-o", "ok", "ok.c"], cwd=tmp_path)
    assert ev.ok and ev.score == 42.0


def test_crash_timeout_and_garbage_are_failed_evaluations(tmp_path: Path) -> None:
    crash = build_and_run(
        script(tmp_path, "import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)\n")
    )
    assert crash.status == "error" and "killed by SIGSEGV" in crash.reason
    exit3 = build_and_run(
        script(tmp_path, "import sys\nprint('bad input', file=sys.stderr)\nsys.exit(3)\n")
    )
    assert (
        exit3.status == "error"
        and "exited with status 3" in exit3.reason
        and "bad input" in exit3.reason
    )
    garbage = build_and_run(script(tmp_path, "print('score: 5')\n"))
    assert garbage.status == "invalid-output" and "score: 5" in garbage.reason


def test_a_hung_command_and_its_children_are_killed(tmp_path: Path) -> None:
    body = "import os, time\nif os.fork() == 0:\n    print('child', os.getpid(), flush=True)\ntime.sleep(60)\n"
    ran = run(script(tmp_path, body), timeout=0.5)
    assert ran.returncode is None and ran.seconds < 5
    child = Path(f"/proc/{ran.stdout.split()[1]}")
    deadline = time.monotonic() + 5  # SIGKILL was sent to the group; give it time to die
    while child.exists() and time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            if child.joinpath("stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                break
        time.sleep(0.01)
    else:
        assert not child.exists(), "the child of a hung command survived"
    assert (
        build_and_run(script(tmp_path, "import time\ntime.sleep(60)\n"), timeout=0.5).status
        == "timeout"
    )


def test_last_json_object() -> None:
    assert last_json_object('{"a": 1}\n{broken\n[1, 2]\n') == {"a": 1}
    assert last_json_object("nothing here") is None
