"""The worker's bookkeeping of leftover processes and private temporary files."""

import os
import shutil
import signal
import tempfile
import time
from pathlib import Path

import pytest

from hone.sandbox import isolation


def test_has_children_sees_live_and_exited_children_and_reaps_none() -> None:
    isolation.reap()
    assert not isolation.has_children()
    pid = os.fork()
    if pid == 0:
        time.sleep(30)
        os._exit(0)
    try:
        assert isolation.has_children()
        assert pid in isolation._children()
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:  # until it is a zombie
            with open(f"/proc/{pid}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    break
            time.sleep(0.01)
        assert isolation.has_children()  # exited, not yet reaped
        assert isolation.has_children()  # ... and the check did not reap it
    finally:
        os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
    assert os.WIFSIGNALED(status)
    assert not isolation.has_children()
    assert isolation._children() == []


def test_wipe_private_tmp_empties_the_temporary_roots(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    roots = [tmp_path / "tmp", tmp_path / "var-tmp"]
    for root in roots:
        (root / "dir" / "sub").mkdir(parents=True)
        (root / "dir" / "sub" / "file").write_text("x")
        (root / "file").write_text("x")
    outside = tmp_path / "outside"
    (outside / "keep").mkdir(parents=True)
    (roots[0] / "link-to-dir").symlink_to(outside / "keep")
    (roots[0] / "link-to-file").symlink_to(outside / "keep")
    monkeypatch.setattr(isolation, "PRIVATE_TMP", (*map(str, roots), str(tmp_path / "missing")))
    isolation.wipe_private_tmp()
    assert [list(root.iterdir()) for root in roots] == [[], []]
    assert (outside / "keep").is_dir()  # a link is removed, never followed


# A candidate (plain evaluator: it runs in the evaluation's process) that reads what it is
# pointed at, then tries to change it; the score is 1 when every change was refused.
TRIES = """\
import os
def evaluate(program_path):
    paths = open(program_path).read().split()
    print("READ", [open(p).read() for p in paths if os.path.isfile(p)], flush=True)
    changed = []
    for path in paths:
        folder = path if os.path.isdir(path) else os.path.dirname(path)
        for name, attempt in (
            ("write", lambda: open(path, "a").write("x") if os.path.isfile(path) else 1 / 0),
            ("create", lambda: open(os.path.join(folder, "new.txt"), "w").close()),
        ):
            try:
                attempt()
                changed.append(name + " " + path)
            except (OSError, ZeroDivisionError):
                pass
    return {"score": float(not changed), "feedback": " ".join(changed)}
"""


def _declared_world_writable(folder: Path) -> Path:
    folder.mkdir()
    folder.chmod(0o777)
    (folder / "data.txt").write_text("data")
    (folder / "data.txt").chmod(0o666)
    return folder / "data.txt"


def _score(evaluator: Path, read_only: tuple[str, ...], paths: list[Path], runs: int = 1):
    import asyncio

    from hone.executors.local import ProcessPool
    from hone.settings import EvaluationConfig

    async def go():
        pool = ProcessPool(
            evaluator, "program.txt", EvaluationConfig(workers=1, read_only=read_only)
        )
        try:
            return [
                await pool.verify(" ".join(map(str, paths))) for _ in range(runs)
            ], pool.protections
        finally:
            await pool.close()

    return asyncio.run(go())


def test_a_declared_folder_outside_the_hidden_places_is_made_read_only(tmp_path: Path) -> None:
    """A folder that is visible anyway (not under /root, /home or a temporary root) is bound
    onto itself read-only: without the declaration the candidate can write in it (it is
    world-writable), with it nothing changes."""
    repository = Path(__file__).resolve().parents[2]
    if isolation._under(str(repository), [*isolation.HIDDEN_ROOTS, *isolation.PRIVATE_TMP]):
        pytest.skip("the checkout is under a place the sandbox hides")
    (tmp_path / "evaluate.py").write_text(TRIES)
    folder = Path(tempfile.mkdtemp(prefix=".read-only-test-", dir=repository))
    try:
        folder.rmdir()
        data = _declared_world_writable(folder)
        (open_,), protections = _score(tmp_path / "evaluate.py", (), [data])
        if "private file system" not in protections:
            pytest.skip(f"no private file system here ({protections})")
        assert open_.evaluation.score == 0.0  # writable when not declared
        data.write_text("data")
        (folder / "new.txt").unlink()
        (declared,), _ = _score(tmp_path / "evaluate.py", (str(folder),), [data])
        assert declared.evaluation.score == 1.0, declared.evaluation.feedback
        assert "READ ['data']" in declared.output
        assert sorted(p.name for p in folder.iterdir()) == ["data.txt"]
        assert data.read_text() == "data"
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_a_declared_file_under_tmp_is_read_only_and_outlasts_the_wipes(tmp_path: Path) -> None:
    """A file (not a folder) declared under /tmp is bound back at its path, read-only, and the
    wipe of the private /tmp after each candidate leaves it."""
    (tmp_path / "task").mkdir()
    (tmp_path / "task" / "evaluate.py").write_text(TRIES)
    data = _declared_world_writable(tmp_path / "data")
    results, protections = _score(tmp_path / "task" / "evaluate.py", (str(data),), [data], runs=3)
    if "private file system" not in protections:
        pytest.skip(f"no private file system here ({protections})")
    for verified in results:
        assert "READ ['data']" in verified.output
        assert verified.evaluation.ok, verified.evaluation.reason
    # (its folder is not declared: in the sandbox it is the private /tmp's, which the
    # candidate may write in; the file itself may not be written)
    assert all("write" not in v.evaluation.feedback for v in results)
    assert data.read_text() == "data"
