"""`hone report`: a run (or several side by side) as one HTML file, the dashboard's page with its script, styles and the
run's data inlined, so it opens from disk with no network and no server (attach it to a paper
or an issue)."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hone.exceptions import RunDirError
from hone.store import DB_NAME
from hone.web.data import RunReader, to_json

STATIC = Path(__file__).parent / "static"
_PROMPT_LIMIT = 20_000  # characters of each prompt and answer kept in a report
DETAILS = 200  # hypotheses a long run's report holds in full (the best and the newest)


def report_data(run_dirs: list[Path], labels: list[str]) -> dict[str, Any]:
    """What a report embeds: each run's snapshot and every hypothesis in full; of a run of
    more than SAMPLE hypotheses, what its page draws (`RunReader.drawn`) and the best and
    newest DETAILS of them in full."""
    runs = []
    for run_dir, label in zip(run_dirs, labels, strict=True):
        reader = RunReader.open(run_dir)
        try:
            details = {}
            snapshot = reader.snapshot()
            ids = [h["id"] for h in snapshot["hypotheses"]]
            if snapshot.get("sampled"):
                scored = [h for h in snapshot["hypotheses"] if h["score"] is not None]
                minimize = snapshot["meta"]["objective"] == "minimize"
                scored.sort(key=lambda h: h["score"] if minimize else -h["score"])
                best = [h["id"] for h in scored[: DETAILS // 2]]
                ids = sorted({*best, *ids[-(DETAILS // 2) :]})
            for candidate_id in ids:
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
                    "snapshot": snapshot,
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


def labels(runs: Sequence[Path]) -> list[str]:
    """A short, distinct label for each run: its folder's name (with its parent's when two
    runs share a name)."""
    names = [run.resolve().name for run in runs]
    return [
        f"{run.resolve().parent.name}/{name}" if names.count(name) > 1 else name
        for run, name in zip(runs, names, strict=True)
    ]


def run_folders(given: Sequence[Path]) -> list[Path]:
    """The runs that folders name: a run folder itself, or a folder of runs (`runs/`: every
    run in it, in name order). RunDirError for a folder that holds neither."""
    found: list[Path] = []
    for folder in given:
        if (folder / DB_NAME).is_file() or not folder.is_dir():
            found.append(folder)  # (not a folder: RunReader says so in one line)
            continue
        inside = sorted(p.parent for p in folder.glob(f"*/{DB_NAME}"))
        if not inside:
            raise RunDirError(
                f"{str(folder)!r} is neither a hone run nor a folder of runs (no {DB_NAME} in it "
                "or in its folders); pass the folder that 'hone run' printed, or its parent"
            )
        found += inside
    return found


def write_report(run_dirs: Sequence[Path], output: Path) -> int:
    """Write the report of the runs in `run_dirs` (one, or several side by side) to
    `output`; its size in bytes."""
    html = render(report_data(list(run_dirs), labels(run_dirs)))
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
