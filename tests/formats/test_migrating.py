"""docs/migrating.md's tables of the keys hone reads are exactly what the readers read."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from hone.formats import openevolve, read_task, shinka

from .conftest import DATA

DOC = Path(__file__).resolve().parents[2] / "docs" / "migrating.md"
# a valid value for each key hone reads (any value does for the keys it does not)
SAMPLES: dict[str, Any] = {
    "prompt.system_message": "Make it better.",
    "prompt.template_dir": "templates",
    "max_iterations": 3,
    "random_seed": 1,
    "diff_based_evolution": False,
    "evaluator.timeout": 5,
    "evaluator.cascade_evaluation": False,
    "evaluator.cascade_thresholds": [0.5],
    "evaluator.parallel_evaluations": 1,
    "database.feature_dimensions": ["complexity"],
    "database.feature_bins": 4,
    "database.archive_size": 10,
    "llm.models": [{"name": "m"}],
    "llm.primary_model": "m",
    "llm.secondary_model": "n",
    "llm.secondary_model_weight": 0.5,
    "llm.api_base": "http://127.0.0.1:9/v1",
    "llm.provider": "openai",
    "llm.temperature": 0.5,
    "llm.max_tokens": 100,
    "llm.timeout": 30,
}


# keys that are read only beside another (OpenEvolve reads them only so, too)
CONTEXT = {
    "database.feature_bins": ("database.feature_dimensions",),
    "database.archive_size": ("database.feature_dimensions",),
    "llm.secondary_model": ("llm.primary_model",),
    "llm.secondary_model_weight": ("llm.primary_model", "llm.secondary_model"),
}


def documented(heading: str) -> list[str]:
    """The first column's keys of the table whose header starts with `heading`."""
    text = DOC.read_text(encoding="utf-8")
    table = text[text.index(f"| {heading}") :].split("\n\n")[0].splitlines()[2:]
    return [re.match(r"\| `([^`]+)`", row).group(1) for row in table]  # type: ignore[union-attr]


def unused_after_reading(tmp_path: Path, key: str) -> str:
    """The warning of unused keys for a config that sets only `key` (and an instruction)."""
    root = tmp_path / key.replace(".", "_")
    root.mkdir()
    for name in ("initial_program.py", "evaluator.py"):
        (root / name).write_text((DATA / "openevolve_plain" / name).read_text())
    config: dict[str, Any] = {"prompt": {"system_message": "Make it better."}}
    for given in (key, *CONTEXT.get(key, ())):
        section, _, inner = given.rpartition(".")
        (config.setdefault(section, {}) if section else config)[inner] = SAMPLES.get(given, 1)
    (root / "config.yaml").write_text(yaml.safe_dump(config))
    return " ".join(read_task(root).warnings)


def test_the_openevolve_table_lists_exactly_the_keys_read(tmp_path: Path) -> None:
    listed = documented("OpenEvolve key")
    assert listed == list(SAMPLES)  # (one sample each, in the table's order)
    every = [k for k in openevolve._SCHEMA[""] if k not in openevolve._SCHEMA]
    every += [f"{s}.{k}" for s, keys in openevolve._SCHEMA.items() if s for k in keys]
    for key in every:
        warning = unused_after_reading(tmp_path, key)
        read = not re.search(rf"(?<![\w.]){re.escape(key)}(?![\w.])", warning)
        assert read == (key in listed), f"{key}: {'read' if read else 'not read'}: {warning}"


def test_the_shinka_table_lists_exactly_the_settings_read() -> None:
    assert [k.split(" ")[0] for k in documented("ShinkaEvolve setting")] == list(shinka.READ)
