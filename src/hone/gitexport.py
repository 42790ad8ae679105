"""`hone export RUN --git DIR`: the best hypothesis's lineage as commits on a new git branch.

The lineage is the best hypothesis's first parents, from the starting program to it; each
hypothesis on it is one commit whose tree is the branch's previous tree with the hypothesis's
files written over it, and whose message holds its score, metrics and the model's reasoning
(the answer's prose before its code). A hypothesis whose files equal its predecessor's (the
starting program, when the repository holds it already) is still a commit, an empty one, so
the branch has one commit per hypothesis.

The files go to DIR (the repository's root when DIR is its root), or to `--git-path SUB`
under it: a file's place is its path in the tree (a one-file task's: its file name; a folder
task's: relative to the program folder). Only the tree's files are written (the editable
ones and those a hypothesis added); the rest of a folder task's program folder is expected in
the repository already, which is the case when the task's folder is the repository's own.

The branch starts at DIR's HEAD (with no commit yet, the first commit is a root) and is built
with git's plumbing in an index of its own (`hash-object`, `update-index`, `write-tree`,
`commit-tree`, `update-ref`): neither the work tree, nor the index, nor the checked-out branch
is touched, so uncommitted changes there are never at risk. Plain `git` on the PATH does it:
no library (GitPython, dulwich) is needed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hone.exceptions import ExportError
from hone.tree import Tree, normal_path

if TYPE_CHECKING:
    from hone.web.data import RunReader

REASONING_CHARS = 2000  # of the model's prose in one commit message
_FALLBACK_NAME, _FALLBACK_EMAIL = "hone", "hone@localhost"
# git's own variables that would point it at another repository or index than ours
_GIT_PLACES = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY", "GIT_PREFIX")


@dataclass(frozen=True)
class Exported:
    """What `export` made: the branch, and each hypothesis's commit in lineage order."""

    branch: str
    commits: tuple[tuple[int, str], ...]  # (hypothesis id, commit sha)
    where: str  # the folder in the repository the files went to ('' for its root)


@dataclass(frozen=True)
class Step:
    """One hypothesis on the lineage, as its commit needs it."""

    id: int
    tree: Tree
    score: float | None
    metrics: Mapping[str, float]
    parent: int | None
    created: float
    answer: str  # the model's answer ('' for a starting program)


def export(run_dir: Path, repo: Path, *, sub: str = "", branch: str | None = None) -> Exported:
    """Write the best hypothesis's lineage of the run at `run_dir` as commits on a new
    branch (`branch`, default hone/<run folder's name>) of the git repository at `repo`,
    its files under `sub` there; raises ExportError with one sentence when it cannot."""
    git = _Git(repo)
    name = branch or f"hone/{_ref_part(run_dir.resolve().name)}"
    git.check_branch(name)
    where = git.prefix
    if sub:
        try:
            where = "/".join(filter(None, [where.rstrip("/"), normal_path(sub)]))
        except ValueError as exc:
            raise ExportError(f"--git-path: {exc}") from None
    steps = lineage(run_dir)
    with tempfile.TemporaryDirectory(prefix="hone-export-") as scratch:
        commits = git.commit_all(steps, where, Path(scratch) / "index", run_dir)
    git.create(name, commits[-1][1])
    return Exported(name, tuple(commits), where)


def lineage(run_dir: Path) -> list[Step]:
    """The first parents of the run's answer (`hone.store.Store.best`: the best no check of
    a new best failed, as hone show prints it), from the starting program to it."""
    from hone.store import opened
    from hone.web.data import RunReader

    with opened(run_dir) as store:
        meta = store.meta()
        best = store.best(meta.objective, meta.evaluation.get("select", "search"))
    if best is None:
        raise ExportError(
            f"the run {str(run_dir)!r} has no scored hypothesis to export; hone show "
            f"{run_dir} --failures says why its hypotheses failed"
        )
    reader = RunReader.open(run_dir)
    try:
        steps: list[Step] = []
        at: int | None = best.id
        while at is not None:
            row = reader.hypothesis(at)
            tree = reader.trees.tree(at)
            assert tree is not None  # (a scored hypothesis and its parents have programs)
            call = row["call"]
            parent = row["parents"][0] if row["parents"] else None
            steps.append(
                Step(
                    id=at,
                    tree=tree,
                    score=row["score"],
                    metrics=row["metrics"],
                    parent=parent,
                    created=row["created"],
                    answer=call["completion"] if call and not _completed(reader, call) else "",
                )
            )
            at = parent
    finally:
        reader.close()
    return steps[::-1]


def _completed(reader: RunReader, call: Mapping[str, Any]) -> bool:
    """True when `call` completed a best-shot prompt: its answer is a function's body, code
    with no reasoning before it."""
    row = reader.conn.execute("SELECT purpose FROM llm_calls WHERE id = ?", (call["id"],))
    found = row.fetchone()
    purpose = json.loads(found[0]) if found is not None and found[0] else {}
    return bool(purpose.get("function"))


def message(step: Step, task: str) -> str:
    """A hypothesis's commit message: its score and parent, its metrics, the model's
    reasoning, and trailers naming the run's hypothesis."""
    score = f"score {step.score:.6g}" if step.score is not None else "no score"
    origin = f"from #{step.parent}" if step.parent is not None else "the starting program"
    lines = [f"hone #{step.id} of {task}: {score} ({origin})", ""]
    if step.metrics:
        lines.append(
            "metrics: " + ", ".join(f"{k}={v:.6g}" for k, v in sorted(step.metrics.items()))
        )
        lines.append("")
    why = reasoning(step.answer)
    if why:
        lines += [why, ""]
    lines.append(f"Hone-Hypothesis: {step.id}")
    return "\n".join(lines) + "\n"


_CODE_START = re.compile(r"\s*(```|~~~|<{5,9} SEARCH|--- a/|--- /dev/null|diff --git |@@ )")
_PATH_LINE = re.compile(r"\s*[`*]*[\w./@+~-]+\.[\w-]+[`*:]*\s*")


def reasoning(answer: str) -> str:
    """The model's prose before its code: the answer up to its first fence, SEARCH block or
    diff, less a path naming the file that follows, trimmed to `REASONING_CHARS`."""
    lines = answer.replace("\r\n", "\n").split("\n")
    prose: list[str] = []
    for line in lines:
        if _CODE_START.match(line):
            break
        prose.append(line.rstrip())
    while prose and (not prose[-1].strip() or _PATH_LINE.fullmatch(prose[-1])):
        prose.pop()
    text = "\n".join(prose).strip()
    if len(text) > REASONING_CHARS:
        text = text[: REASONING_CHARS - 2].rstrip() + " …"
    return text


def _ref_part(name: str) -> str:
    """A run folder's name as one part of a branch name (what git refuses, as '-')."""
    text = re.sub(r"[\x00-\x20~^:?*\[\\\x7f]+|\.\.+|@\{", "-", name).strip("-./") or "run"
    return text.removesuffix(".lock")


class _Git:
    """The repository at a folder, through the `git` command line."""

    def __init__(self, folder: Path) -> None:
        if shutil.which("git") is None:
            raise ExportError("hone export --git needs the git command; install git")
        if not folder.is_dir():
            raise ExportError(f"{str(folder)!r} is no folder; name a git repository's folder")
        self.folder = folder
        self.env = {k: v for k, v in os.environ.items() if k not in _GIT_PLACES}
        self.env.update(LC_ALL="C", GIT_TERMINAL_PROMPT="0")
        done = self._run("rev-parse", "--is-inside-work-tree", "--show-prefix", check=False)
        if done.returncode != 0 or not done.stdout.startswith("true"):
            raise ExportError(
                f"{str(folder)!r} is no git repository (with a work tree); run git init there "
                "or name another folder"
            )
        self.prefix = done.stdout.split("\n")[1].strip().rstrip("/")
        self.head = self._out("rev-parse", "--verify", "--quiet", "HEAD^{commit}", check=False)
        for key, fallback in (("NAME", _FALLBACK_NAME), ("EMAIL", _FALLBACK_EMAIL)):
            if not self._out("config", f"user.{key.lower()}", check=False):
                for who in ("AUTHOR", "COMMITTER"):
                    self.env.setdefault(f"GIT_{who}_{key}", fallback)

    def check_branch(self, name: str) -> None:
        """Refuse a name git does not take for a branch, or one that exists already."""
        if self._run("check-ref-format", "--branch", name, check=False).returncode != 0:
            raise ExportError(f"{name!r} is no valid git branch name; name another with --branch")
        if self._out("rev-parse", "--verify", "--quiet", f"refs/heads/{name}", check=False):
            raise ExportError(
                f"the branch {name!r} exists in {str(self.folder)!r} already; delete it (git "
                "branch -D) or name another with --branch"
            )

    def commit_all(
        self, steps: Sequence[Step], where: str, index: Path, run_dir: Path
    ) -> list[tuple[int, str]]:
        """One commit per step, each over the last, in an index of its own at `index`."""
        env = {**self.env, "GIT_INDEX_FILE": str(index)}
        if self.head:
            self._run("read-tree", self.head, env=env)
        else:
            self._run("read-tree", "--empty", env=env)
        modes = self._modes(env)
        task = _task_name(run_dir)
        parent, previous = self.head, Tree()
        commits = []
        for step in steps:
            entries = []
            for path, text in step.tree.changed(previous).items():
                place = f"{where}/{path}" if where else path
                blob = self._out("hash-object", "-w", "--stdin", "--path", place, stdin=text)
                mode = "100755" if modes.get(place) == "100755" else "100644"  # (a link: a file)
                entries.append(f"{mode} {blob}\t{place}")
            if entries:
                self._run("update-index", "--add", "-z", "--index-info", env=env,
                          stdin="\0".join(entries) + "\0")  # fmt: skip
            tree = self._out("write-tree", env=env)
            at = f"@{int(step.created)} +0000"
            dates = {"GIT_AUTHOR_DATE": at, "GIT_COMMITTER_DATE": at}
            parents = ["-p", parent] if parent else []
            parent = self._out(
                "commit-tree", tree, *parents, "-F", "-", env={**env, **dates},
                stdin=message(step, task),
            )  # fmt: skip
            commits.append((step.id, parent))
            previous = step.tree
        return commits

    def create(self, name: str, commit: str) -> None:
        """Point the new branch at `commit` (refused by git if it was made meanwhile)."""
        done = self._run("update-ref", f"refs/heads/{name}", commit, "", check=False)
        if done.returncode != 0:
            raise ExportError(
                f"the branch {name!r} could not be made in {str(self.folder)!r} "
                f"({done.stderr.strip() or 'git update-ref failed'}); name another with --branch"
            )

    def _modes(self, env: Mapping[str, str]) -> dict[str, str]:
        """Each indexed path's mode (an executable file stays executable)."""
        out = self._run("ls-files", "-s", "-z", env=env).stdout
        modes = {}
        for entry in filter(None, out.split("\0")):
            info, path = entry.split("\t", 1)
            modes[path] = info.split()[0]
        return modes

    def _out(self, *args: str, check: bool = True, **kw: Any) -> str:
        done = self._run(*args, check=check, **kw)
        return done.stdout.strip() if done.returncode == 0 else ""

    def _run(
        self,
        *args: str,
        check: bool = True,
        env: Mapping[str, str] | None = None,
        stdin: str | None = None,
    ) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            ["git", "-C", str(self.folder), *args],
            input=stdin,
            capture_output=True,
            text=True,
            encoding="utf-8",
            env=dict(env or self.env),
            check=False,
        )
        if check and done.returncode != 0:
            said = (done.stderr.strip() or done.stdout.strip() or "no message").splitlines()
            raise ExportError(
                f"git {args[0]} failed in {str(self.folder)!r} ({said[-1]}); no branch was made"
            )
        return done


def _task_name(run_dir: Path) -> str:
    from hone.store import opened

    with opened(run_dir) as store:
        return store.meta().task_name or "the task"
