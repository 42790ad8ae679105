"""Notes and the checks' findings."""

from pathlib import Path

from hone.store import Store


def test_notes_after_sees_what_another_connection_added(tmp_path: Path) -> None:
    store = Store.create(tmp_path / "run")
    store.add_note(round=1, kind="reflection", text="r")
    other = Store.open(tmp_path / "run")
    first = other.add_note(round=1, kind="person", text="try a lattice")
    assert store.notes_after("person", 0) == [(first, "try a lattice")]
    assert store.notes_after("person", first) == []
    other.close()
    store.close()
