"""Each hypothesis's program as the files that changed, each text stored once; prompts kept
without the programs they quote."""

import json
import random
import sqlite3
from pathlib import Path

from hone.store import Store
from hone.tree import Tree


def test_a_tree_is_stored_as_its_parent_plus_its_changed_files(tmp_path: Path) -> None:

    from hone.store import _CHAIN
    from hone.tree import blob_hash

    store = Store.create(tmp_path / "run")
    files = {f"pkg/m{i}.py": f"X = {i}\n" * 50 for i in range(20)}
    start = store.add_candidate(round=0, tree=Tree(files))
    trees, parent = [start.tree], start
    for i in range(_CHAIN + 3):  # each changes one file of its parent
        assert parent.tree is not None
        tree = parent.tree.with_files({f"pkg/m{i % 20}.py": f"X = {i}  # changed\n"})
        parent = store.add_candidate(round=1, tree=tree, parent_ids=(parent.id,))
        trees.append(tree)
    rows = store.conn.execute("SELECT files, files_of FROM candidates ORDER BY id").fetchall()
    assert json.loads(rows[0]["files"]) == {p: blob_hash(t) for p, t in files.items()}
    assert rows[0]["files_of"] is None  # a tree without a parent: whole
    assert json.loads(rows[1]["files"]) == {"pkg/m0.py": blob_hash("X = 0  # changed\n")}
    assert rows[1]["files_of"] == 1
    whole = [i for i, row in enumerate(rows) if row["files_of"] is None]
    assert whole == [0, _CHAIN + 1]  # a line of trees written over their parents is cut
    assert store.conn.execute("SELECT COUNT(*) FROM blobs").fetchone()[0] == 20 + _CHAIN + 3
    store.close()
    again = Store.open(tmp_path / "run")  # read back cold, without what the writer kept
    assert [c.tree for c in again.candidates(pending=True)] == trees
    assert [again.trees.tree(i) for i in (1, 17, _CHAIN + 3)] == [trees[0], trees[16], trees[-2]]
    again.close()


def test_a_text_many_hypotheses_share_is_stored_once(tmp_path: Path) -> None:
    store = Store.create(tmp_path / "run")
    big = "Y = 1\n" * 5_000
    for i in range(10):  # ten one-file trees: the same text, by other names too
        store.add_candidate(round=i, tree=Tree.one(f"p{i % 2}.py", big))
    assert store.conn.execute("SELECT COUNT(*) FROM blobs").fetchone()[0] == 1
    size = store.conn.execute("SELECT LENGTH(data) FROM blobs").fetchone()[0]
    assert size < len(big) / 20  # compressed
    assert [c.code for c in store.candidates(pending=True)] == [big] * 10
    store.close()


# -- prompts: kept without the programs they quote, rebuilt byte for byte -------------------
def _program(seed: int) -> str:
    """A program of about 3 KB that compresses poorly on its own (numbers of its own)."""

    rng = random.Random(seed)
    lines = [f"W{i} = {rng.random()!r}  # {rng.getrandbits(64):x}" for i in range(60)]
    return "\n".join(lines) + "\n"


def test_a_prompt_is_kept_without_the_programs_it_quotes_and_rebuilt_exactly(
    tmp_path: Path,
) -> None:
    """A prompt quoting its parents' programs, and an answer rewriting one, cost a reference
    to their stored files, not a copy (their bytes a fraction of a program's); every reader
    gets them back byte for byte, odd characters and a prompt quoting nothing included."""
    from hone.web.data import RunReader

    store = Store.create(tmp_path / "run")
    one = store.add_candidate(round=0, tree=Tree.one("program.py", _program(1)))
    two = store.add_candidate(
        round=1, tree=Tree.one("program.py", _program(2)), parent_ids=(one.id,)
    )
    assert one.code is not None and two.code is not None
    prompt = (
        "[system]\nYou improve programs. ünïcödé ✓\n[user]\nThe parent:\n```python\n"
        f"{two.code}```\nAn inspiration:\n```python\n{one.code}```\nImprove the parent.\n"
    )
    purpose = {"kind": "crossover", "parents": [two.id, one.id]}
    answer = f"Moved W3.\n```python\n{two.code.replace('W3 =', 'W3 = 2 *')}```\n"
    answered = store.add_call(
        round=2, model="m", prompt=prompt, completion=answer, prompt_tokens=1,
        completion_tokens=1, started=1.0, latency=0.1, purpose=purpose,
    )  # fmt: skip
    alone = store.add_call(
        round=2, model="m", prompt="no program quoted\n" * 3, completion="y", prompt_tokens=1,
        completion_tokens=1, started=1.0, latency=0.1, purpose={"kind": "insights"},
    )  # fmt: skip
    store.add_candidate(round=2, tree=Tree.one("program.py", "z = 1\n"), call_id=answered)
    kept, packed, answer_kept, answer_packed = store.conn.execute(
        "SELECT prompt, prompt_z, completion, completion_z FROM llm_calls WHERE id = ?",
        (answered,),
    ).fetchone()
    assert kept == "" and len(packed) < len(two.code) // 4  # (two programs quoted, ~6 KB)
    assert answer_kept == "" and len(answer_packed) < len(two.code) // 4  # (one rewritten)
    assert [c["prompt"] for c in store.calls()] == [prompt, "no program quoted\n" * 3]
    assert [c["completion"] for c in store.calls()] == [answer, "y"]
    store.close()
    reopened = Store.open(tmp_path / "run", readonly=True)  # (a fresh process: nothing cached)
    assert next(reopened.calls())["prompt"].encode() == prompt.encode()
    reopened.close()
    reader = RunReader.open(tmp_path / "run")
    assert reader.hypothesis(3)["call"]["prompt"] == prompt
    assert reader.hypothesis(3)["call"]["completion"] == answer
    reader.close()
    assert alone > answered


def test_the_prompts_of_an_older_store_still_read(tmp_path: Path, capsys) -> None:
    """A store written before prompts were packed (tests/data/old_store: each prompt whole in
    `prompt`) reads them as they were, read-only and once opened for writing; a call added
    then is packed beside them."""
    import shutil

    from hone.cli import main

    run_dir = tmp_path / "old"
    shutil.copytree(Path(__file__).parents[1] / "data" / "old_store", run_dir)
    with sqlite3.connect(run_dir / "hone.db") as db:
        whole = [row[0] for row in db.execute("SELECT prompt FROM llm_calls ORDER BY id")]
    readonly = Store.open(run_dir, readonly=True)
    assert [c["prompt"] for c in readonly.calls()] == whole
    readonly.close()
    assert main(["show", str(run_dir), "--hypothesis", "2"]) == 0
    assert whole[0].splitlines()[-1] in capsys.readouterr().out
    store = Store.open(run_dir)
    store.add_call(
        round=3, model="m", prompt=whole[1] + "again", completion="c", prompt_tokens=1,
        completion_tokens=1, started=1.0, latency=0.1, purpose={"kind": "improve", "parents": [2]},
    )  # fmt: skip
    assert [c["prompt"] for c in store.calls()] == [*whole, whole[1] + "again"]
    store.close()
