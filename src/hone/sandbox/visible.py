"""What of this machine's files an evaluation sees beyond the task folder: the paths a task
declares read-only (`[evaluation] read_only`, `hone run --read-only PATH`), checked before a
run starts, and the hint a failure gets when it missed a file that the sandbox hides.

The sandbox hides the home directories and gives each worker a private /tmp, /var/tmp and
/dev/shm (`isolation`); a declared path is bound back, read-only, at its own path. A path is
refused when it does not exist; when it would uncover a place the sandbox hides or replaces
whole (a home directory, /tmp, or a folder above one); when it is, lies in or holds at its top
a secret-looking file (`SECRETS`); or when it is, lies in or holds a folder hone guards (the
run's own folder, with its store).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

from hone.exceptions import ConfigError
from hone.sandbox.isolation import HIDDEN_ROOTS, PRIVATE_TMP

# Where keys and credentials live, relative to a home directory: never declared, nor a folder
# that holds one of them at its top (another user's home, a copy of one).
SECRETS = (
    ".ssh",
    ".aws",
    ".netrc",
    ".gnupg",
    ".git-credentials",
    ".pgpass",
    ".pypirc",
    ".npmrc",
    ".env",
    ".kube",
    ".azure",
    ".docker/config.json",
    ".config/gcloud",
    ".config/gh",
    ".huggingface/token",
    ".cache/huggingface/token",
)
_MISSING = re.compile(r"no such file or directory|FileNotFoundError|ENOENT", re.IGNORECASE)
_HIDDEN_PATH = re.compile(
    r"(?<![\w./-])((?:"
    + "|".join(re.escape(p) for p in (*HIDDEN_ROOTS, *PRIVATE_TMP))
    + r")(?:/[^\s'\"`:,;()\[\]<>{}]*)?)"
)
_LINES = 20  # lines that say a file is missing, looked at per failure
_PATHS = 8  # paths under a hidden place looked up on this machine, per failure


def resolve(path: str, base: Path) -> str:
    """`path` made absolute where it is declared: `~` is the user's home, a relative path is
    read from `base`; symbolic links are kept (the sandbox shows the path as it is written)."""
    return os.path.normpath(os.path.join(base, os.path.expanduser(path)))


def checked(paths: Iterable[str], base: Path, guarded: Mapping[Path, str]) -> tuple[str, ...]:
    """`paths` resolved (`resolve`), each once; the first refused raises a ConfigError saying
    why. `guarded` are folders no declared path may show, each with what it is."""
    resolved = tuple(dict.fromkeys(resolve(p, base) for p in paths))
    for path in resolved:
        if not os.path.exists(path):
            raise ConfigError(
                f"read_only path {path!r} does not exist; correct it in [evaluation] read_only "
                "(relative to the task folder) or --read-only (relative to the current folder)"
            )
        reason = refusal(path, guarded)
        if reason:
            raise ConfigError(
                f"read_only path {path!r} {reason}; declare only the folder that holds the "
                "evaluation's data ([evaluation] read_only, or --read-only)"
            )
    return resolved


def refusal(path: str, guarded: Mapping[Path, str] | None = None) -> str:
    """Why the absolute `path` may not be shown to evaluations ("" when it may)."""
    if not os.path.exists(path):
        return "does not exist"
    real = os.path.realpath(path)
    for seen in dict.fromkeys((path, real)):
        for place, what in _hidden_places().items():
            if _under(place, seen):
                return what.format(place=place)
        if os.path.dirname(seen) == "/home":
            return "is a home directory, where keys and credentials live"
        secret = _secret_in(seen)
        if secret:
            return f"is or lies in {secret}, a place for keys and credentials"
    for secret in SECRETS:
        if os.path.lexists(os.path.join(real, secret)):
            return f"holds {secret}, a place for keys and credentials"
    for folder, what in (guarded or {}).items():
        folder_real = os.path.realpath(folder)
        if _under(real, folder_real) or _under(folder_real, real):
            return f"would show {what} {str(folder)!r} to evaluations"
    return ""


def hint(text: str, shown: Iterable[str]) -> str:
    """One sentence for a failure whose `text` says a file is missing that exists on this
    machine, in a place the sandbox hides: what hides it and how to show it ("" for none).
    `shown` are the folders the sandbox binds back (the task's, Python's, the declared ones)."""
    bound = [os.path.normpath(p) for p in shown]
    looked = 0
    for line in [line for line in text.splitlines() if _MISSING.search(line)][:_LINES]:
        for found in _HIDDEN_PATH.findall(line):
            path = os.path.normpath(found.rstrip("."))  # (/tmp/../etc is not under /tmp)
            if not _hidden_root(path) or any(_under(path, b) for b in bound) or _secret_in(path):
                continue
            looked += 1
            if looked > _PATHS:
                return ""
            if path != _hidden_root(path) and os.path.exists(path):
                return _sentence(path, _hidden_root(path))
    return ""


def _hidden_root(path: str) -> str:
    """The place the sandbox hides that `path` is or lies in ("" for none)."""
    return next((r for r in (*HIDDEN_ROOTS, *PRIVATE_TMP) if _under(path, r)), "")


def _sentence(path: str, root: str) -> str:
    where = (
        f"hides the home directories ({', '.join(HIDDEN_ROOTS)})"
        if root in HIDDEN_ROOTS
        else f"gives each evaluation a private {root}"
    )
    folder = path if os.path.isdir(path) else os.path.dirname(path)
    declare = (
        f"declare its folder read-only ([evaluation] read_only = [{folder!r}], or hone run "
        f"--read-only {folder})"
        if not refusal(folder)
        else "move it to a folder of its own and declare that one read-only ([evaluation] "
        "read_only, or hone run --read-only FOLDER)"
    )
    return (
        f"{path!r} exists outside the sandbox, which {where}: put the file in the task "
        f"folder, or {declare}"
    )


def _hidden_places() -> dict[str, str]:
    """The places no declared path may be or hold, each with why (a format of `place`)."""
    home = "would show {place}, a home directory, where keys and credentials live"
    places = dict.fromkeys(HIDDEN_ROOTS, home)
    tmp = "would cover the private {place} the sandbox gives each evaluation"
    places.update(dict.fromkeys(PRIVATE_TMP, tmp))
    places.setdefault(os.path.realpath(os.path.expanduser("~")), home)
    return places


def _secret_in(path: str) -> str:
    """The secret-looking place `path` is or lies in ("" for none)."""
    parts = Path(path).parts
    for secret in SECRETS:
        wanted = tuple(secret.split("/"))
        for i in range(len(parts) - len(wanted) + 1):
            if parts[i : i + len(wanted)] == wanted:
                return secret
    return ""


def _under(path: str, root: str) -> bool:
    """True when `path` is `root` or lies in it."""
    return path == root or path.startswith(root.rstrip("/") + "/")
