"""Comparing two versions of a CSV file by their lines (sync/linediff.py): the lines added and
removed are exactly those of comparing the two as sets of lines, whatever the order, and the
line numbers are those of the new file."""

from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st

from rollbook.sync import linediff
from rollbook.sync.linediff import (
    LineCount,
    data_lines,
    diff_lines,
    header_and_body,
    one_line_records,
)

HEADER = b"sourcedId,name"


def _file(lines: list[bytes], *, end: bytes = b"\n") -> bytes:
    return b"\n".join([HEADER, *lines]) + end


def _reference(old: list[bytes], new: list[bytes]) -> tuple[list[tuple[int, bytes]], list[bytes]]:
    """Added: each line of `new` past the first copies of old's lines; removed: old's lines
    found nowhere in new (old's lines are distinct, as in a file the last run read whole)."""
    left = set(old)
    added = []
    for n, text in enumerate(new, start=2):
        if text in left:
            left.discard(text)  # paired once
        elif text.strip():
            added.append((n, text))
    present = set(new)
    return added, [t for t in old if t not in present and t.strip()]


def _diff(old: list[bytes], new: list[bytes], *, end: bytes = b"\n") -> linediff.Diff:
    old_data, new_data = _file(old, end=end), _file(new, end=end)
    _, old_body = header_and_body(old_data)
    _, new_body = header_and_body(new_data)
    return diff_lines(old_data, new_data, old_body=old_body, new_body=new_body)


LINE = st.builds(
    lambda sid, name: f"{sid},{name}".encode(),
    st.integers(0, 60),
    st.text("abcé ", max_size=4),
)


@settings(max_examples=300, deadline=None)
@example(  # a line the new file holds twice, the old file's copy passed over by the walk
    old=[b"0,bb", b"20,", b"9,c", b"31,b", b"19,", b"38,c", b"22,c", b"42,", b"46,cb", b"10,c"],
    edits=[
        ("keep", b"3,a"),
        ("drop", b"24,c"),
        ("move", b"52,a"),
        ("keep", b"14,"),
        ("move", b"60,c"),
        ("keep", b"16,b"),
        ("add", b"36,bbcb"),
        ("move", b"59,"),
        ("move", b"5,c"),
        ("add", b"14,"),
        ("add", b"22,c"),
        ("move", b"45,c"),
        ("keep", b"18,a"),
        ("keep", b"41,a"),
        ("move", b"30,a"),
        ("add", b"52, "),
        ("move", b"36,c"),
        ("move", b"54,b"),
        ("move", b"45,"),
    ],
    block=64,
)
@given(
    st.lists(LINE, unique=True, max_size=40),
    st.lists(st.tuples(st.sampled_from(["keep", "drop", "add", "move"]), LINE), max_size=40),
    st.sampled_from([1, 64, 8192]),
)
def test_the_diff_is_the_set_difference_whatever_the_edits(
    old: list[bytes], edits: list[tuple[str, bytes]], block: int
) -> None:
    new = list(old)
    for n, (edit, line) in enumerate(edits):
        at = n % (len(new) + 1)
        if edit == "drop" and new:
            new.pop(at % len(new))
        elif edit == "add":
            new.insert(at, line)
        elif edit == "move" and new:
            new.append(new.pop(at % len(new)))
    original = linediff.BLOCK
    linediff.BLOCK = block
    try:
        found = _diff(old, new)
    finally:
        linediff.BLOCK = original
    added, removed = _reference(old, new)
    # Which copy of a line the new file holds twice is the added one is either's choice: the
    # same lines, each numbered where the new file holds it.
    assert sorted(t for _, t in found.added) == sorted(t for _, t in added)
    assert all(new[n - 2] == text for n, text in found.added)
    assert len({n for n, _ in found.added}) == len(found.added)
    assert sorted(found.removed) == sorted(removed)
    assert found.lines == len(new)


def test_a_reordered_file_is_still_exact() -> None:
    old = [f"s{n},name {n}".encode() for n in range(500)]
    new = list(reversed(old))
    new[10] = b"s999,someone new"
    found = _diff(old, new)
    assert found.added == [(12, b"s999,someone new")]
    assert found.removed == [old[489]]


def test_a_line_the_new_file_holds_twice_is_added_once_more() -> None:
    old = [b"s1,a", b"s2,b"]
    found = _diff(old, [b"s1,a", b"s2,b", b"s1,a"])
    assert found.added == [(4, b"s1,a")] and found.removed == []


def test_the_last_line_without_a_line_break_and_blank_lines() -> None:
    old = [b"s1,a", b"s2,b"]
    found = _diff(old, [b"s1,a", b"", b"s2,bb"], end=b"")
    assert found.added == [(4, b"s2,bb")]
    assert found.removed == [b"s2,b"]
    assert found.lines == 3  # the blank one counts: a file of it is not read by its changes


def test_carriage_returns_are_part_of_the_line() -> None:
    old = [b"s1,a\r", b"s2,b\r"]
    found = _diff(old, [b"s1,a", b"s2,b\r"])
    assert found.added == [(2, b"s1,a")] and found.removed == [b"s1,a\r"]


def test_a_quoted_field_across_lines_is_seen() -> None:
    assert one_line_records(_file([b's1,"Smith, Jr."', b'"s2",b']))
    assert not one_line_records(_file([b's1,"Ann', b'Marie"', b"s2,b"]))
    assert not one_line_records(_file([b's1,"Ann', b"middle", b'Marie"']))


def test_counting_the_lines_of_a_file_fed_in_chunks() -> None:
    files = (_file([]), _file([b"a", b"b"]), _file([b"a", b"b"], end=b""), HEADER, b"")
    for data in files:
        _, body = header_and_body(data)
        for size in (1, 2, 5, 1 << 20):  # a header, or a line, split across chunks
            counted = LineCount()
            for start in range(0, len(data), size):
                counted.feed(data[start : start + size])
            assert counted.lines == data_lines(data, body), (data, size)
