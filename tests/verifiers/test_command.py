"""The command verifier: builds, runs, metrics from stdout or a file, and every failure."""

import contextlib
import shutil
import sys
from pathlib import Path

import pytest

from hone.verifiers.command import (
    build_and_run,
    last_json_object,
    output_excerpt,
    run,
    run_commands,
)
from tests.helpers import wait_until

needs_cc = pytest.mark.skipif(shutil.which("cc") is None, reason="needs a C compiler")


def dead(process: Path) -> bool:
    """Whether the process at /proc/PID has ended (gone, or a zombie not yet reaped)."""
    with contextlib.suppress(OSError):
        return process.joinpath("stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    return not process.exists()


def script(tmp_path: Path, body: str, name: str = "prog.py") -> list[str]:
    path = tmp_path / name
    path.write_text(body)
    return [sys.executable, str(path)]


def test_metrics_from_the_last_json_line_of_stdout(tmp_path: Path) -> None:
    argv = script(
        tmp_path,
        "print('warming up')\n"
        "print('{\"score\": 0.5}')\n"
        'print(\'{"score": 2.5, "n": 3, "feedback": "fine"}\')\n'
        "print('done')\n",
    )
    ev = run_commands(tmp_path, None, argv)
    assert ev.ok and ev.score == 2.5 and ev.metrics == {"n": 3.0} and ev.feedback == "fine"


def test_metrics_from_a_file(tmp_path: Path) -> None:
    argv = script(
        tmp_path, "open('m.json', 'w').write('{\"combined_score\": 7, \"k\": 1}')\nprint('{}')\n"
    )
    ev = run_commands(tmp_path, None, argv, metrics_from="m.json")
    assert ev.ok and ev.score == 7.0 and ev.metrics == {"k": 1.0}
    missing = run_commands(
        tmp_path, None, script(tmp_path, "print('hi')\n"), metrics_from="m2.json"
    )
    assert missing.status == "invalid-output"
    assert missing.reason.startswith("m2.json: the program did not write it")
    assert missing.reason.endswith("hi")
    garbled = run_commands(
        tmp_path,
        None,
        script(tmp_path, "open('m3.json', 'w').write('score=1')\n"),
        metrics_from="m3.json",
    )
    assert garbled.status == "invalid-output" and "m3.json: is not JSON" in garbled.reason
    listed = run_commands(
        tmp_path,
        None,
        script(tmp_path, "open('m4.json', 'w').write('[1]')\n"),
        metrics_from="m4.json",
    )
    assert listed.status == "invalid-output" and "must be a JSON object, got list" in listed.reason


def test_output_without_metrics_is_invalid_output(tmp_path: Path) -> None:
    garbage = run_commands(tmp_path, None, script(tmp_path, "print('score: 5')\n"))
    assert garbage.status == "invalid-output"
    assert "printed no JSON object line" in garbage.reason and "score: 5" in garbage.reason
    silent = run_commands(tmp_path, None, script(tmp_path, "pass\n"))
    assert silent.status == "invalid-output" and "(nothing)" in silent.reason
    no_score = run_commands(tmp_path, None, script(tmp_path, "print('{\"speed\": 3}')\n"))
    assert no_score.status == "invalid-output"
    assert "no 'score' or 'combined_score' key (keys: ['speed'])" in no_score.reason
    nan = run_commands(tmp_path, None, script(tmp_path, "print('{\"score\": NaN}')\n"))
    assert nan.status == "invalid-output" and "not a finite number" in nan.reason


def test_an_error_key_fails_the_candidate(tmp_path: Path) -> None:
    argv = script(tmp_path, 'print(\'{"score": 0, "error": "wrong answer for 7"}\')\n')
    ev = run_commands(tmp_path, None, argv)
    assert ev.status == "error" and ev.reason == "wrong answer for 7"


@needs_cc
def test_a_failing_build_shows_the_compiler_errors(tmp_path: Path) -> None:
    (tmp_path / "bad.c").write_text(
        "#include <stdio.h>\n\nint main(void) {\n    return undefined_name;\n}\n"
    )
    ev = run_commands(tmp_path, ["cc", "-o", "bad", "bad.c"], ["./bad"])
    assert ev.status == "error"
    assert ev.reason.startswith("the build exited with status 1:\n")
    assert "bad.c:4:12: error:" in ev.reason  # file:line:column of the first error
    assert "undefined_name" in ev.reason and "undeclared" in ev.reason
    assert "undefined_name" in ev.feedback
    assert not (tmp_path / "bad").exists()


@needs_cc
def test_a_c_program_builds_and_reports(tmp_path: Path) -> None:
    (tmp_path / "ok.c").write_text(
        '#include <stdio.h>\nint main(void) { printf("{\\"score\\": %d}\\n", 6 * 7); }\n'
    )
    ev = run_commands(tmp_path, ["cc", "-O2", "-o", "ok", "ok.c"], ["./ok"])
    assert ev.ok and ev.score == 42.0


@needs_cc
def test_a_crashing_c_program(tmp_path: Path) -> None:
    (tmp_path / "crash.c").write_text(
        '#include <stdio.h>\nint main(void) {\n    fprintf(stderr, "about to crash\\n");\n'
        "    volatile int *p = 0;\n    return *p;\n}\n"
    )
    ev = run_commands(tmp_path, ["cc", "-o", "crash", "crash.c"], ["./crash"])
    assert ev.status == "error"
    assert ev.reason == "the program was killed by SIGSEGV:\nabout to crash"


def test_non_zero_exit_and_a_missing_program(tmp_path: Path) -> None:
    exit3 = run_commands(
        tmp_path,
        None,
        script(tmp_path, "import sys\nprint('bad input', file=sys.stderr)\nsys.exit(3)\n"),
    )
    assert exit3.status == "error"
    assert exit3.reason == "the program exited with status 3:\nbad input"
    missing = run_commands(tmp_path, None, ["./no-such-program"])
    assert missing.status == "error"
    assert "the program exited with status 127" in missing.reason
    assert "cannot start './no-such-program'" in missing.reason


def test_a_hung_command_and_its_children_are_killed(tmp_path: Path) -> None:
    """Cut at the timeout, not after the program's sleep: neither it nor its child lived to
    write the marker each writes after its sleep, and the child is gone."""
    body = (
        "import os, sys, time\n"
        "if os.fork() == 0:\n"
        "    print('child', os.getpid(), flush=True)\n"
        "time.sleep(60)\n"
        "open(sys.argv[1] + str(os.getpid()), 'w').close()\n"
    )
    ran = run([*script(tmp_path, body), str(tmp_path / "slept-")], timeout=0.5)
    assert ran.returncode is None and not ran.ok
    assert not list(tmp_path.glob("slept-*"))  # (run would have waited for the first marker)
    child = Path(f"/proc/{ran.stdout.split()[1]}")
    wait_until(lambda: dead(child), "the child of a hung command to die")  # SIGKILL was sent
    ev = run_commands(
        tmp_path, None, script(tmp_path, "import time\ntime.sleep(60)\n"), timeout=0.5
    )
    assert ev.status == "timeout"
    assert ev.reason == "the program did not finish within 0.5 s"


def test_a_hung_build_is_a_timeout_of_the_build(tmp_path: Path) -> None:
    sleeper = script(tmp_path, "import time\ntime.sleep(60)\n", "build.py")
    ev = run_commands(tmp_path, sleeper, ["true"], timeout=30, build_timeout=0.3)
    assert ev.status == "timeout" and ev.reason.startswith("the build did not finish within 0.3 s")


def test_a_child_holding_the_output_open_does_not_hang_the_verifier(tmp_path: Path) -> None:
    body = (
        "import os, sys, time\n"
        "if os.fork() == 0:\n"
        "    time.sleep(60)\n"
        "    open(sys.argv[1], 'w').close()\n"
        "print('{\"score\": 1}')\n"
    )
    slept = tmp_path / "slept"
    ran = run([*script(tmp_path, body), str(slept)], timeout=0.5)
    assert ran.returncode is None and '{"score": 1}' in ran.stdout
    assert not slept.exists()  # cut at the timeout, not after the child's sleep


def test_output_is_capped_but_keeps_its_start_and_end(tmp_path: Path) -> None:
    body = (
        "import sys\n"
        "print('first line')\n"
        "for _ in range(2000):\n"
        "    sys.stdout.write('x' * 999 + '\\n')\n"
        "print('{\"score\": 3}')\n"
    )
    ran = run(script(tmp_path, body), max_output=10_000)
    assert ran.ok
    assert len(ran.stdout) < 11_000
    assert ran.stdout.startswith("first line")
    assert "bytes of output dropped" in ran.stdout
    assert last_json_object(ran.stdout) == {"score": 3}


def test_input_goes_to_stdin(tmp_path: Path) -> None:
    body = "import json, sys\ndata = sys.stdin.read()\nprint(json.dumps({'score': len(data)}))\n"
    text = "abc\n" * 100_000  # more than a pipe holds
    ev = run_commands(tmp_path, None, script(tmp_path, body), input=text)
    assert ev.ok and ev.score == len(text)
    ignores = run(["true"], input=text)  # a program that never reads its input
    assert ignores.ok


def test_build_and_run_is_run_commands_with_cwd(tmp_path: Path) -> None:
    argv = script(tmp_path, "open('m.json', 'w').write('{\"score\": 4}')\n")
    assert build_and_run(argv, cwd=tmp_path, metrics_from="m.json").score == 4.0
    assert (tmp_path / "m.json").exists()


def test_last_json_object() -> None:
    assert last_json_object('{"a": 1}\n{broken\n[1, 2]\n') == {"a": 1}
    assert last_json_object('{"a": 1}\n  {"b": 2}  \ntrailing text\n') == {"b": 2}
    assert last_json_object("nothing here") is None


def test_output_excerpt_starts_at_the_first_error() -> None:
    text = "\n".join(f"note {i}" for i in range(500)) + "\nprog.c:3:1: error: oops\n" + "y" * 9000
    excerpt = output_excerpt(text, limit=200)
    assert excerpt.startswith("prog.c:3:1: error: oops") and excerpt.endswith("…")
    assert output_excerpt("short") == "short"
    tail = output_excerpt("a" * 100 + "END", limit=10)
    assert tail.endswith("END") and len(tail) <= 11


def test_correct_json_says_whether_the_program_failed(tmp_path: Path) -> None:
    """ShinkaEvolve's layout: correct.json for validity, nested metrics in metrics.json."""
    writes = (
        "import json\n"
        "json.dump({'correct': %s, 'error': %r}, open('correct.json', 'w'))\n"
        "json.dump({'combined_score': 0.5, 'public': {'speed': 2, 'note': 'fast'},"
        " 'private': {'secret': 7}, 'text_feedback': ['one', 'two'],"
        " 'timing': {'mean': 0.25, 'label': 'x'}, 'error': 'only a warning'},"
        " open('metrics.json', 'w'))\n"
        "raise SystemExit(%d)\n"
    )
    good = run_commands(
        tmp_path,
        None,
        script(tmp_path, writes % ("True", None, 1)),  # the exit status does not matter
        metrics_from="metrics.json",
        correct_from="correct.json",
    )
    assert good.ok and good.score == 0.5
    assert good.metrics == {"speed": 2.0, "timing.mean": 0.25}  # private is not there
    assert good.feedback == "note: fast\none\ntwo\nerror: only a warning"
    bad = run_commands(
        tmp_path,
        None,
        script(tmp_path, writes % ("False", "too slow", 0)),
        metrics_from="metrics.json",
        correct_from="correct.json",
    )
    assert bad.status == "error" and bad.reason == "too slow" and bad.score is None
    assert bad.metrics == {"speed": 2.0, "timing.mean": 0.25}


def test_read_results_without_files(tmp_path: Path) -> None:
    from hone.verifiers.command import read_results

    missing = read_results(tmp_path, metrics_from="metrics.json", correct_from="correct.json")
    assert missing.status == "error"
    assert missing.reason == "correct.json: the program did not write it"
    (tmp_path / "correct.json").write_text('{"correct": true}')
    empty = read_results(
        tmp_path, metrics_from="metrics.json", correct_from="correct.json", default_score=0.0
    )
    assert empty.ok and empty.score == 0.0  # ShinkaEvolve: no metrics, combined_score 0
    strict = read_results(tmp_path, metrics_from="metrics.json", correct_from="correct.json")
    assert strict.status == "invalid-output"
    assert strict.reason.startswith("metrics.json: the program did not write it")
    (tmp_path / "correct.json").write_text("[true]")
    odd = read_results(tmp_path, metrics_from="metrics.json", correct_from="correct.json")
    assert odd.status == "invalid-output" and '"correct": true or false' in odd.reason
