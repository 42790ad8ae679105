"""The example tasks that ship inside the package (each a task folder next to this file):
`hone examples` lists them, `hone run NAME` runs one when no folder of that name exists here,
and `hone examples copy NAME [DIR]` makes an editable copy."""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path

from hone.exceptions import TaskError

ROOT = Path(__file__).parent / "example_tasks"  # (a link to the repository's examples/ in a clone)
_SKIP = shutil.ignore_patterns("__pycache__", "*.pyc")


def names() -> list[str]:
    """Every packaged example, by the name `hone run` takes (a nested one as `outer/inner`)."""
    return sorted(
        str(toml.parent.relative_to(ROOT)) for toml in ROOT.glob("**/task.toml") if toml.is_file()
    )


def example(name: str) -> Path:
    """The folder of the packaged example `name`, e.g. `hone.example("circle_packing")`
    (inside the installed package: `copy` makes one to change)."""
    if name.strip("/") not in names():
        raise TaskError(f"there is no example {name!r}; the examples are: {', '.join(names())}")
    return ROOT / name.strip("/")


def lookup(given: str) -> Path | None:
    """The packaged example a `hone run` argument names when it is not a folder here: `NAME`
    or `examples/NAME` (the README's form, from a clone); None when it names none."""
    name = given.strip("/")
    name = name.removeprefix("examples/")
    return ROOT / name if name in names() else None


def summary(name: str) -> str:
    """One line on what the example is: its README's title, else its instruction's first line."""
    folder = example(name)
    readme = folder / "README.md"
    if readme.is_file():
        for line in readme.read_text(encoding="utf-8").splitlines():
            if line.startswith("# "):
                return line[2:].strip()
    data = tomllib.loads((folder / "task.toml").read_text(encoding="utf-8"))
    paragraph = " ".join(str(data.get("instruction", "")).strip().split("\n\n")[0].split())
    return paragraph.split(". ")[0].rstrip(".")


def copy(name: str, destination: Path | None = None) -> Path:
    """An editable copy of example `name` in `destination` (default: ./NAME); the copied task
    folder. A nested example (`reward_design/randomisation`) comes with the example around it,
    whose files it uses. A destination that exists is refused, never overwritten."""
    outer, _, inner = name.strip("/").partition("/")
    example(name)  # (an unknown name: the list of known ones)
    target = destination if destination is not None else Path(outer)
    if target.exists():
        raise TaskError(
            f"{str(target)!r} exists already; name another folder: hone examples copy {name} DIR"
        )
    shutil.copytree(ROOT / outer, target, ignore=_SKIP)
    return target / inner if inner else target
