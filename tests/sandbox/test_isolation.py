"""The worker's bookkeeping of leftover processes and private temporary files."""

import os
import signal
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
