"""`hone report`: a run as one HTML file, the dashboard's page with its script, styles and the
run's data inlined, so it opens from disk with no network and no server (attach it to a paper
or an issue)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from hone.web.data import RunReader, to_json

STATIC = Path(__file__).parent / "static"
_PROMPT_LIMIT = 20_000  # characters of each prompt and answer kept in a report


def report_data(run_dirs: list[Path], labels: list[str]) -> dict[str, Any]:
    """What a report embeds: each run's snapshot and every hypothesis in full."""
    runs = []
    for run_dir, label in zip(run_dirs, labels, strict=True):
        reader = RunReader.open(run_dir)
        try:
            details = {}
            for candidate_id in reader.ids():
                found = reader.hypothesis(candidate_id)
                call = found["call"]
                if call is not None:
                    call["prompt"] = _clip(call["prompt"])
                    call["completion"] = _clip(call["completion"])
                details[str(candidate_id)] = found
            runs.append(
                {
                    "label": label,
                    "path": str(run_dir),
                    "snapshot": reader.snapshot(),
                    "details": details,
                }
            )
        finally:
            reader.close()
    return {"generated": time.time(), "runs": runs}


def render(data: dict[str, Any]) -> str:
    """The page with its assets and `data` inlined."""
    page = (STATIC / "index.html").read_text(encoding="utf-8")
    style = (STATIC / "style.css").read_text(encoding="utf-8")
    script = (STATIC / "app.js").read_text(encoding="utf-8")
    embedded = to_json(data).replace("</", "<\\/")
    script = script.replace("</script", "<\\/script")
    page = page.replace(
        '<link rel="stylesheet" href="/static/style.css">', f"<style>\n{style}</style>"
    )
    return page.replace(
        '<script src="/static/app.js"></script>',
        f'<script id="hone-data" type="application/json">{embedded}</script>\n'
        f"<script>\n{script}</script>",
    )


def write_report(run_dir: Path, output: Path) -> int:
    """Write the report of the run in `run_dir` to `output`; its size in bytes."""
    html = render(report_data([run_dir], [run_dir.resolve().name]))
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(output.name + ".tmp")
    tmp.write_text(html, encoding="utf-8")
    os.replace(tmp, output)
    return len(html.encode("utf-8"))


def _clip(text: str) -> str:
    if len(text) <= _PROMPT_LIMIT:
        return text
    return (
        text[:_PROMPT_LIMIT]
        + f"\n… [{len(text) - _PROMPT_LIMIT} more characters in the run's store]"
    )
