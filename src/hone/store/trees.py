"""The trees of a store's hypotheses, written as what changed and read back whole.

A hypothesis's program is a tree of files (`hone.tree.Tree`), kept as its parent plus what
changed: each file's text is stored once however many hypotheses share it (`blobs`, by
`tree.blob_hash`, zlib-compressed), and each hypothesis's row names the files that differ from
its first parent's tree (`files`, JSON {path: hash}, written over the tree of hypothesis
`files_of`) or, for a hypothesis without a parent (or a long line of them, or a one-file
task's, where the one file always differs), its whole tree (`files_of` NULL). `Trees` rebuilds
any hypothesis's tree from there, with the recent ones in memory. A store written before trees
keeps each program in `code`, read as the one-file tree named by the run's `program_filename`.
"""

from __future__ import annotations

import json
import sqlite3
import zlib
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from hone.exceptions import StorageError
from hone.tree import Tree

_CHAIN = 32  # trees written over their parent's in a row; the next is written whole
_TREES_KEPT = 512  # the {path: hash} maps of the newest trees read or written, in memory
_TEXTS_KEPT = 32 << 20  # characters of recently read file texts kept in memory
_WINDOW = 32 << 10  # zlib's window: the bytes of a dictionary compression can refer to


class Trees:
    """The trees of a store's hypotheses (see the module's docstring): written as the files
    that differ from the parent's tree, read back whole. Works on a read-only connection
    too (the views'); an older store's programs are its `code` column's, each the one-file tree
    named `filename`."""

    def __init__(self, conn: sqlite3.Connection, filename: str) -> None:
        self.conn = conn
        self.filename = filename
        columns = {row[1] for row in conn.execute("PRAGMA table_info(candidates)")}
        self.stored = "files" in columns  # False: a store no hone with trees has written
        self._maps: OrderedDict[int, tuple[dict[str, str], int]] = OrderedDict()
        self._texts: OrderedDict[str, str] = OrderedDict()
        self._kept = 0  # characters in _texts
        self._anchored: tuple[int, str] | None = None  # (call id, prompt) of `_anchor`

    def write(self, tree: Tree, parent: int | None) -> tuple[str, int | None]:
        """Store the texts of `tree`'s files that `parent`'s tree lacks; its `files` (JSON)
        and `files_of` (inside the caller's transaction)."""
        mine = tree.hashes()
        over = self._map(parent) if parent is not None else None
        files_of: int | None = None
        files = mine
        if over is not None and over[1] < _CHAIN and over[0].keys() <= mine.keys():
            changed = {p: h for p, h in mine.items() if over[0].get(p) != h}
            if len(changed) < len(mine):
                files, files_of = changed, parent
        self.conn.executemany(
            "INSERT OR IGNORE INTO blobs(hash, data) VALUES (?, ?)",
            [(h, zlib.compress(tree[p].encode())) for p, h in files.items()],
        )
        return json.dumps(files, separators=(",", ":")), files_of

    def written(self, candidate_id: int, tree: Tree, files_of: int | None) -> None:
        """Remember the tree just written as `candidate_id`'s."""
        depth = 0
        if files_of is not None and (over := self._maps.get(files_of)) is not None:
            depth = over[1] + 1
        self._keep(candidate_id, tree.hashes(), depth)
        for path, text in tree.items():
            self._keep_text(tree.blob_hash(path), text)

    def quoted(self, ids: Iterable[int]) -> list[int]:
        """Those of hypotheses `ids` (a prompt's parents, which it quotes) whose files the
        store keeps: what `pack` compresses a prompt and its answer over."""
        return [i for i in ids if isinstance(i, int) and self._map(i) is not None]

    def pack(self, text: str, quotes: Mapping[str, Any]) -> bytes:
        """`text` compressed over what `quotes` names: the files of hypotheses (`files`, the
        first one's last) and another call's prompt (`prompt`, the run's first: the prompts'
        common text); what it quotes of them costs a reference, not a copy."""
        packer = zlib.compressobj(9, zdict=self._dictionary(quotes))
        return packer.compress(text.encode()) + packer.flush()

    def unpack(self, data: bytes, quotes: Mapping[str, Any]) -> str:
        """The text `pack` compressed, byte for byte."""
        unpacker = zlib.decompressobj(zdict=self._dictionary(quotes))
        return (unpacker.decompress(data) + unpacker.flush()).decode()

    def call(self, row: sqlite3.Row, *, anchor: bool = True) -> dict[str, Any]:
        """An llm_calls row as a dict, its prompt as it was sent and its answer as it came
        (an older hone's row kept them whole in `prompt` and `completion`)."""
        found = dict(row)
        quotes = json.loads(found.pop("quotes", None) or "{}")
        if not anchor:  # (an anchor's prompt is read over its files only)
            quotes.pop("prompt", None)
        for name in ("prompt", "completion"):
            packed = found.pop(f"{name}_z", None)
            if packed is not None:
                found[name] = self.unpack(packed, quotes)
        return found

    def _dictionary(self, quotes: Mapping[str, Any]) -> bytes:
        hashes: dict[str, None] = {}
        for candidate_id in reversed(quotes.get("files", ())):
            whole = self._map(candidate_id)
            for digest in whole[0].values() if whole is not None else ():
                hashes.pop(digest, None)
                hashes[digest] = None
        texts = self._read(hashes)
        anchor = quotes.get("prompt")
        head = self._anchor(anchor) if isinstance(anchor, int) else ""
        return (head + "".join(texts[h] for h in hashes)).encode()[-_WINDOW:]

    def _anchor(self, call_id: int) -> str:
        """The prompt of call `call_id`, which other prompts are packed over."""
        if self._anchored is None or self._anchored[0] != call_id:
            row = self.conn.execute("SELECT * FROM llm_calls WHERE id = ?", (call_id,)).fetchone()
            if row is None:
                raise StorageError(
                    f"the run's database lacks model call {call_id}, which its prompts are "
                    "stored over (it was damaged); start a new run"
                )
            self._anchored = (call_id, self.call(row, anchor=False)["prompt"])
        return self._anchored[1]

    def of_rows(self, rows: Sequence[sqlite3.Row]) -> list[Tree | None]:
        """The tree of each candidates row (None: it has none, or a lean row)."""
        maps: list[dict[str, str] | Tree | None] = []
        for row in rows:
            files = row["files"] if self.stored else None
            if files is not None:
                maps.append(self._resolve(row["id"], json.loads(files), row["files_of"]))
            elif row["code"] is not None:
                maps.append(Tree.one(self.filename, row["code"]))
            else:
                maps.append(None)
        texts = self._read({h for m in maps if isinstance(m, dict) for h in m.values()})
        return [
            Tree.hashed({p: texts[h] for p, h in m.items()}, m) if isinstance(m, dict) else m
            for m in maps
        ]

    def tree(self, candidate_id: int) -> Tree | None:
        """One hypothesis's tree (None: it has none); KeyError when there is no such one."""
        row = self.conn.execute("SELECT * FROM candidates WHERE id = ?", (candidate_id,)).fetchone()
        if row is None:
            raise KeyError(candidate_id)
        return self.of_rows([row])[0]

    def _resolve(
        self, candidate_id: int, files: dict[str, str], files_of: int | None
    ) -> dict[str, str]:
        """A row's whole {path: hash} map, from its own files over its `files_of`'s tree."""
        found = self._maps.get(candidate_id)
        if found is not None:
            self._maps.move_to_end(candidate_id)
            return found[0]
        if files_of is None:
            self._keep(candidate_id, files, 0)
            return files
        over = self._map(files_of) or ({}, 0)
        whole = {**over[0], **files}
        self._keep(candidate_id, whole, over[1] + 1)
        return whole

    def _map(self, candidate_id: int) -> tuple[dict[str, str], int] | None:
        """(the {path: hash} map, how many trees it is written over) of a stored hypothesis's
        tree, walking its `files_of` line back to a tree written whole or one in memory; None
        when it has none kept in `files` (no program, or an older hone's)."""
        line: list[tuple[int, dict[str, str]]] = []
        here: int | None = candidate_id
        below: tuple[dict[str, str], int] = ({}, -1)
        while here is not None:
            known = self._maps.get(here)
            if known is not None:
                self._maps.move_to_end(here)
                below = known
                break
            row = (
                self.conn.execute(
                    "SELECT files, files_of FROM candidates WHERE id = ?", (here,)
                ).fetchone()
                if self.stored
                else None
            )
            if row is None or row["files"] is None:
                if not line:
                    return None
                break  # (a line never leads to a row without files: as if written whole)
            line.append((here, json.loads(row["files"])))
            here = row["files_of"]
        whole, depth = below
        for found_id, files in reversed(line):
            whole, depth = {**whole, **files}, depth + 1
            self._keep(found_id, whole, depth)
        return whole, depth

    def _keep(self, candidate_id: int, hashes: dict[str, str], depth: int) -> None:
        self._maps[candidate_id] = (hashes, depth)
        self._maps.move_to_end(candidate_id)
        while len(self._maps) > _TREES_KEPT:
            self._maps.popitem(last=False)

    def _keep_text(self, digest: str, text: str) -> None:
        if digest in self._texts:
            self._texts.move_to_end(digest)
            return
        self._texts[digest] = text
        self._kept += len(text)
        while self._kept > _TEXTS_KEPT and len(self._texts) > 1:
            self._kept -= len(self._texts.popitem(last=False)[1])

    def _read(self, hashes: Iterable[str]) -> Mapping[str, str]:
        """The texts of blobs by hash (the recent ones from memory)."""
        found: dict[str, str] = {}
        missing = []
        for digest in hashes:
            text = self._texts.get(digest)
            if text is None:
                missing.append(digest)
            else:
                found[digest] = text
        for start in range(0, len(missing), 500):
            part = missing[start : start + 500]
            marks = ",".join("?" * len(part))
            rows = self.conn.execute(f"SELECT hash, data FROM blobs WHERE hash IN ({marks})", part)
            for digest, data in rows:
                text = zlib.decompress(data).decode()
                found[digest] = text
                self._keep_text(digest, text)
        lost = [h for h in missing if h not in found]
        if lost:
            raise StorageError(
                f"the run's database lacks the text of {len(lost)} file(s) its hypotheses name "
                "(it was damaged); start a new run"
            )
        return found
