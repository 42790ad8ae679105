"""`hone docs`: the documentation that ships inside the package (the repository's docs/),
listed or shown in the terminal, so that help texts and errors can point to it anywhere."""

from __future__ import annotations

from pathlib import Path

from hone.exceptions import ConfigError

ROOT = Path(__file__).parent / "docs"  # (a link to the repository's docs/ in a clone)


def names() -> list[str]:
    """The documents, by the name `hone docs NAME` takes (models, tasks, ...)."""
    return sorted(p.stem for p in ROOT.glob("*.md"))


def page(name: str) -> Path:
    """The installed file of document `name` (`models` or `models.md`)."""
    stem = name.removesuffix(".md").removeprefix("docs/")
    if stem not in names():
        raise ConfigError(f"there is no document {name!r}; the documents are: {', '.join(names())}")
    return ROOT / f"{stem}.md"


def title(name: str) -> str:
    """A document's first heading."""
    for line in page(name).read_text(encoding="utf-8").splitlines():
        if line.startswith("# "):
            return line[2:].strip()
    return name
