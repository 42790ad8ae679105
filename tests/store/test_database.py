"""The store's connection: a run folder's database, its one writer, WAL."""

from pathlib import Path

import pytest

from hone.exceptions import RunDirError
from hone.store import Store


def test_open_rejects_a_folder_that_is_not_a_run(tmp_path: Path) -> None:
    with pytest.raises(RunDirError, match="is not a hone run"):
        Store.open(tmp_path)


def test_create_refuses_an_existing_run(tmp_path: Path) -> None:
    Store.create(tmp_path / "r").close()
    with pytest.raises(RunDirError, match="already holds a run"):
        Store.create(tmp_path / "r")


def test_one_writer_at_a_time(tmp_path: Path) -> None:
    first = Store.create(tmp_path / "r")
    first.lock()
    second = Store.open(tmp_path / "r")
    with pytest.raises(RunDirError, match="in use by another hone process"):
        second.lock()
    first.close()
    second.lock()
    second.close()


def test_database_uses_wal(tmp_path: Path) -> None:
    store = Store.create(tmp_path / "r")
    assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    store.close()
