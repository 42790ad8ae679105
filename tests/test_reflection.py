"""The memory prompts carry: the model's own insights and analyses, bounded."""

import random
from pathlib import Path

from hone.models.metered import Metered
from hone.reflection import MEMORY_SHOWN, Memory
from hone.store import Store
from hone.task import Task


def test_a_long_analysis_is_cut_in_every_prompt(make_task, tmp_path: Path) -> None:
    store = Store.create(tmp_path / "run")
    store.add_note(round=1, kind="insights", text="i" * 100_000)
    store.add_note(round=2, kind="reflection", text="a" * 100_000)
    memory = Memory(Task.from_dir(make_task()), store, Metered(store, timeout=5), random.Random(0))
    text = memory.text
    assert text.count("[truncated: 100,000 characters in all]") == 2
    assert len(text) < 2 * MEMORY_SHOWN + 200  # not 200,000 characters in every prompt
    store.close()
