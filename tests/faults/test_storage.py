"""Full and read-only disks: one sentence, nothing left half-made, the run resumable once the
disk has room again. Each case runs in a mount namespace of its own (root only) on a small
tmpfs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.helpers import environment

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        os.geteuid() != 0 or not shutil.which("unshare"), reason="needs root to mount a tmpfs"
    ),
]

SCRIPT = """
import json, os, subprocess, sys
disk, task, answers = sys.argv[1:4]
def hone(*args):
    done = subprocess.run([sys.executable, "-m", "hone", *args], capture_output=True, text=True)
    return {"code": done.returncode, "err": done.stderr.strip(), "out": done.stdout}
def mount(options):
    subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", disk], check=True)
def fill():
    fd = os.open(os.path.join(disk, "filler"), os.O_WRONLY | os.O_CREAT)
    try:
        while os.write(fd, b"x" * 4096):
            pass
    except OSError:
        pass
    os.close(fd)
results = {}
"""

CASES = {
    "full at start": """
        mount("size=64k")
        fill()
        results["run"] = hone("run", task, "--run-dir", disk + "/run", "--model", "scripted:" + answers, "--max-llm-calls", "0")
        results["left"] = sorted(os.listdir(disk))
    """,
    "nearly full at start": """
        import shutil
        mount("size=1m")
        results["runs"] = []
        for free in (65536, 131072, 196608, 262144):  # the database is made, or not, or half
            shutil.rmtree(disk + "/run", ignore_errors=True)
            fill()
            filler = os.path.join(disk, "filler")
            os.truncate(filler, os.path.getsize(filler) - free)
            done = hone("run", task, "--run-dir", disk + "/run", "--model", "scripted:" + answers, "--max-llm-calls", "0")
            done["left"] = sorted(os.listdir(disk))
            if "hone resume" in done["err"]:
                done["show"] = hone("show", disk + "/run")
            results["runs"].append(done)
    """,
    "full then freed": """
        mount("size=4m")
        results["first"] = hone("run", task, "--run-dir", disk + "/run", "--model", "scripted:" + answers, "--max-llm-calls", "1")
        fill()
        results["resume"] = hone("resume", disk + "/run", "--max-llm-calls", "2")
        os.unlink(os.path.join(disk, "filler"))
        results["again"] = hone("resume", disk + "/run", "--max-llm-calls", "2")
        results["show"] = hone("show", disk + "/run")
    """,
    "read-only": """
        mount("size=4m")
        results["first"] = hone("run", task, "--run-dir", disk + "/run", "--model", "scripted:" + answers, "--max-llm-calls", "1")
        subprocess.run(["mount", "-o", "remount,ro", disk], check=True)
        results["show"] = hone("show", disk + "/run")
        results["resume"] = hone("resume", disk + "/run", "--max-llm-calls", "2")
        results["run"] = hone("run", task, "--run-dir", disk + "/new", "--model", "scripted:" + answers, "--max-llm-calls", "0")
    """,
}


def in_namespace(tmp_path: Path, task: Path, body: str) -> dict[str, object]:
    """Run `body` (mounts and hone commands) in a mount namespace of its own."""
    disk = tmp_path / "disk"
    disk.mkdir()
    answers = tmp_path / "answers.jsonl"
    answers.write_text(
        "".join(json.dumps(f"```python\ndef f():\n    return {v}\n```") + "\n" for v in (3, 5))
    )
    script = tmp_path / "script.py"
    script.write_text(SCRIPT + textwrap.dedent(body) + "\nprint(json.dumps(results))\n")
    done = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", sys.executable, str(script),
         str(disk), str(task), str(answers)],
        capture_output=True, text=True, timeout=300,
        env=environment(),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    results: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return results


def one_line(result: object, pattern: str) -> None:
    assert isinstance(result, dict)
    assert result["code"] == 2, result
    lines = str(result["err"]).splitlines()
    assert len(lines) == 1 and lines[0].startswith("hone: error: "), result
    assert pattern in lines[0], result
    assert "Traceback" not in str(result["err"]) + str(result["out"])


def test_a_full_disk_at_start_leaves_nothing_behind(make_task, tmp_path: Path) -> None:
    results = in_namespace(tmp_path, make_task(), CASES["full at start"])
    one_line(results["run"], "cannot create the run's database")
    assert results["left"] == ["filler"]  # no half-made run folder that `run` would refuse


def test_a_nearly_full_disk_at_start_is_one_sentence_that_advises_only_what_exists(
    make_task, tmp_path: Path
) -> None:
    runs = in_namespace(tmp_path, make_task(), CASES["nearly full at start"])["runs"]
    assert isinstance(runs, list) and len(runs) == 4
    for done in runs:
        one_line(done, "free space")
        assert "(cannot " not in done["err"], done  # one message, not one inside another
        if "hone resume" in done["err"]:  # the run it advises resuming exists: show reads it
            assert done["left"] == ["filler", "run"], done
            assert done["show"]["code"] in (0, 1) and "run of task" in done["show"]["out"], done
        else:  # nothing made that a later run would trip over, nothing to resume
            assert done["left"] == ["filler"], done
            assert "cannot create the run's database" in done["err"], done


def test_a_full_disk_mid_run_is_one_sentence_and_the_run_goes_on_later(
    make_task, tmp_path: Path
) -> None:
    results = in_namespace(tmp_path, make_task(), CASES["full then freed"])
    assert results["first"]["code"] == 0  # type: ignore[index]
    one_line(results["resume"], "free space on its disk, then continue with: hone resume")
    assert results["again"]["code"] == 0, results["again"]  # type: ignore[index]
    assert "2 model calls" in results["show"]["out"]  # type: ignore[index]


def test_read_only_storage_can_be_shown_but_not_written(make_task, tmp_path: Path) -> None:
    results = in_namespace(tmp_path, make_task(), CASES["read-only"])
    assert results["first"]["code"] == 0  # type: ignore[index]
    show = results["show"]
    assert show["code"] == 0 and "best score" in show["out"], show  # type: ignore[index]
    one_line(results["resume"], "a run needs writable storage")
    one_line(results["run"], "cannot make the run folder")


def test_a_full_disk_while_the_model_is_first_assembled_is_one_sentence(
    make_task, tmp_path: Path
) -> None:
    """The packaged model's cache on a 64 MB disk (the model is 491 MB): one sentence naming
    the fix, no traceback, no part of the file left."""
    body = """
        mount("size=64m")
        os.environ["HONE_CACHE"] = disk + "/cache"
        run = os.path.join(os.path.dirname(disk), "run")
        results["run"] = hone("run", task, "--run-dir", run, "--model", "embedded", "--max-llm-calls", "1")
        results["left"] = sorted(os.listdir(disk + "/cache/models"))
    """
    results = in_namespace(tmp_path, make_task(), body)
    one_line(results["run"], "cannot assemble Qwen2.5-Coder-0.5B-Instruct (491 MB) in ")
    assert "(No space left on device); free space there or set HONE_CACHE" in str(results["run"])
    assert results["left"] == []
