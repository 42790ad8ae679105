"""`read_tree`: a program folder's editable files (`editable` globs, or by default every text
file with EVOLVE-BLOCK markers, else every text file up to `tree.DEFAULT_LIMIT` bytes: a
larger one is data, not a program to rewrite).
"""

from __future__ import annotations

from hone.edits.blocks import blocks
from hone.exceptions import TaskError
from hone.tree import DEFAULT_LIMIT, Tree, TreeSpec, files_under, matches, normal_path, read_text


def read_tree(spec: TreeSpec) -> Tree:
    """The editable files of the folder `spec.base`, by `spec.editable` or the default rule;
    raises TaskError (one sentence) when there are none or a glob matches no text file."""
    folder = spec.base
    if folder is None or not folder.is_dir():
        raise TaskError(f"the program folder {str(folder)!r} does not exist")
    texts: dict[str, str] = {}
    others: list[str] = []
    for path in files_under(folder):
        text = read_text(folder / path)
        if text is None:
            others.append(path)
            continue
        try:
            if normal_path(path) != path:
                raise ValueError("its name is not in Unicode's normal form (NFC)")
        except ValueError as exc:
            raise TaskError(f"{str(folder / path)!r} cannot be evolved: {exc}; rename it") from None
        texts[path] = text
    if spec.editable:
        files: dict[str, str] = {}
        for glob in spec.editable:
            matched = {p: t for p, t in texts.items() if matches(glob, p)}
            if not matched:
                binary = any(matches(glob, p) for p in others)
                what = "only files that are not UTF-8 text" if binary else "no file"
                raise TaskError(
                    f"the editable glob {glob!r} matches {what} under {str(folder)!r}; "
                    "fix the glob in task.toml"
                )
            files.update(matched)
        return Tree(files)
    marked = {}
    for path, text in texts.items():
        if "EVOLVE-BLOCK" not in text:  # most files: no need to look at every line
            continue
        try:
            parts = blocks(text)
        except ValueError as exc:
            raise TaskError(f"{str(folder / path)!r}: {exc}") from None
        if parts.marked:
            marked[path] = text
    if marked:
        return Tree(marked)
    small = {p: t for p, t in texts.items() if len(t.encode()) <= DEFAULT_LIMIT}
    if not small:
        raise TaskError(
            f"the program folder {str(folder)!r} holds no UTF-8 text file to evolve; "
            "add one, or name the files with editable = [...] in task.toml"
        )
    return Tree(small)
