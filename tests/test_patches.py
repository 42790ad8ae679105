import pytest

from hone.patches import FilePatch, Hunk, apply, file_diff, find

TEXTS = [
    ("a\nb\nc\n", "a\nB\nc\n"),
    ("a\nb\nc", "a\nb\nC"),  # no newline at the end, either side
    ("a\nb", "a\nb\n"),
    ("a\nb\n", "a\nb"),
    ("", "new\nfile\n"),
    ("x\n", ""),
    ("".join(f"{i}\n" for i in range(30)), "".join(f"{i}\n" for i in range(30) if i % 7)),
    ("one\r\ntwo\r\n", "one\r\n2\r\n"),
]


@pytest.mark.parametrize(("old", "new"), TEXTS)
def test_a_files_diff_applies_back(old: str, new: str) -> None:
    patch = file_diff("f.txt", old or None, new)
    (found,) = find(patch)
    assert (found.old, found.new) == (None if not old else "f.txt", "f.txt")
    assert apply(old, found.hunks) == new


def test_find_reads_diffs_as_models_write_them() -> None:
    text = (
        "First the reason.\n\n```diff\n--- a/x.py\t2024-01-01\n+++ b/x.py\n"
        "@@ -1,9 +1,9 @@\n a = 1\n\n-b = 2\n+b = 3\n```\n\nThen another file:\n"
        '--- "a/y z.py"\n+++ "b/y z.py"\n@@ ... @@\n-c\n+d\n@@ -20 +20 @@\n-e\n+f\n'
    )
    first, second = find(text)
    assert (first.old, first.new) == ("x.py", "x.py")
    assert first.hunks == (Hunk(1, (" a = 1", "", "-b = 2", "+b = 3")),)  # the fence ends it
    assert text[first.span[0] : first.span[1]].startswith("--- a/x.py")
    assert (second.old, second.new) == ("y z.py", "y z.py")
    assert second.hunks == (Hunk(None, ("-c", "+d")), Hunk(20, ("-e", "+f")))
    assert find(text, skip=[first.span]) == [second]
    assert find("--- a/x\n+++ b/x\nno hunk\n") == []


def test_apply_takes_the_nearest_match_and_refuses_what_does_not_match() -> None:
    text = "x\ny\nx\ny\nx\ny\n"
    hunk = Hunk(5, ("-x", "+X", " y"))  # the header says line 5; a match is at 1, 3 and 5
    assert apply(text, [hunk]) == "x\ny\nx\ny\nX\ny\n"
    assert apply("x\ny\ny\nx\n", [Hunk(3, ("-x", "+X"))]) == "x\ny\ny\nX\n"  # 4 is nearer
    with pytest.raises(ValueError, match="hunk 1 of the diff does not match the file"):
        apply(text, [Hunk(1, ("-z",))])
    with pytest.raises(ValueError, match="hunk 1 of the diff matches 3 places"):
        apply(text, [Hunk(None, ("-x", "+X"))])
    # In order: the second hunk is looked for after the first.
    twice = [Hunk(1, ("-x", "+1")), Hunk(1, ("-x", "+2"))]
    assert apply(text, twice) == "1\ny\n2\ny\nx\ny\n"
    assert apply("a\nb\n", [Hunk(1, ("+between",))]) == "a\nbetween\nb\n"  # after line 1
    assert isinstance(find(file_diff("f", "a\n", "b\n"))[0], FilePatch)
