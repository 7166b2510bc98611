"""The lines one CSV file gained and lost since another version of it, without splitting
either into lines where the two agree.

A SIS writes its export in the same order every day, so two days of one file agree in long
runs of bytes. The two files are walked side by side a block of whole lines at a time, and
a block equal in both (one comparison of bytes) is passed over; only where they differ are
lines looked at, and the walk finds its footing again by the nearest line the two share.

The result is exact whatever the order: a line of the old file is `removed` exactly when it
is not anywhere in the new one, and a line of the new file is `added` exactly when no line
of the old one was paired with it (a line the new file holds twice is added once more).
Lines the walk could not pair are paired as multisets at the end, so a line that moved is
neither added nor removed; order only decides how much of the files is compared line by
line.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

BLOCK = 8192
# Lines looked at on each side to find the nearest pair of equal lines: most differences are
# one line changed, added or removed, so a pair within NEAR lines is looked for first, and
# taken only when no nearer pair can lie beyond those lines.
NEAR = 3
WINDOWS = (NEAR, 8, 64)
NL = b"\n"


@dataclass
class Diff:
    """What a new version of a file holds that the old did not, and the other way round."""

    added: list[tuple[int, bytes]] = field(default_factory=list)  # (line number, line)
    removed: list[bytes] = field(default_factory=list)
    lines: int = 0  # data lines (past the header) of the new file


def header_and_body(data: bytes) -> tuple[bytes, int]:
    """The header line and where the body starts."""
    end = data.find(NL)
    if end < 0:
        return data, len(data)
    return data[:end], end + 1


def one_line_records(data: bytes) -> bool:
    """Whether every CSV record of the file is one line: no quoted field holds a line break.

    A line with an odd number of quotes opens or closes a quoted field across lines. Only
    lines holding a quote are looked at, and most files hold none."""
    start = data.find(b'"')
    while start >= 0:
        line_start = data.rfind(NL, 0, start) + 1
        line_end = data.find(NL, start)
        if line_end < 0:
            line_end = len(data)
        if data.count(b'"', line_start, line_end) % 2:
            return False
        start = data.find(b'"', line_end)
    return True


def _lines(data: bytes, start: int, count: int) -> tuple[list[bytes], int]:
    """Up to `count` lines from `start` (without their line breaks), and where they end."""
    found: list[bytes] = []
    position = start
    size = len(data)
    while len(found) < count and position < size:
        end = data.find(NL, position)
        if end < 0:
            end = size
        found.append(data[position:end])
        position = end + 1
    return found, position


def _block_end(data: bytes, start: int) -> int:
    """The end (past its line break) of the whole lines of about BLOCK bytes from `start`."""
    end = data.find(NL, start + BLOCK)
    return len(data) if end < 0 else end + 1


def _line_at(data: bytes, start: int) -> tuple[bytes, int]:
    """The line at `start` (without its break) and where the next one starts."""
    end = data.find(NL, start)
    if end < 0:
        return data[start:], len(data)
    return data[start:end], end + 1


def _common_prefix(old: bytes, i: int, new: memoryview, j: int, length: int) -> int:
    """How many bytes from `i` in old and `j` in new are equal, up to `length`."""
    low, high = 0, min(length, len(old) - i, len(new) - j)
    while high - low > 32:
        middle = (low + high) // 2
        if old.startswith(new[j : j + middle], i):
            low = middle
        else:
            high = middle
    while low < high and old[i + low] == new[j + low]:
        low += 1
    return low


def _nearest_pair(olds: list[bytes], news: list[bytes]) -> tuple[int, int] | None:
    """The pair of equal lines (index in each) with the fewest lines before them."""
    first_new: dict[bytes, int] = {}
    for n, text in enumerate(news):
        first_new.setdefault(text, n)
    best: tuple[int, int] | None = None
    for o, text in enumerate(olds):
        if best is not None and o >= best[0] + best[1]:
            break
        paired = first_new.get(text)
        if paired is not None and (best is None or o + paired < best[0] + best[1]):
            best = (o, paired)
    return best


def diff_lines(old: bytes, new: bytes, *, old_body: int, new_body: int) -> Diff:
    """The lines `new` added and `old` lost, bodies starting at the given offsets; the new
    file's line numbers count its header as line 1. Blank lines are left out."""
    unpaired_old: list[bytes] = []
    unpaired_new: list[tuple[int, bytes]] = []
    i, j = old_body, new_body
    line = 2  # the new file's line at j
    size_old, size_new = len(old), len(new)
    # Compared in place, without copying the bytes of either (a new file's bytes taken a
    # block at a time after each difference: gigabytes at a million lines).
    view = memoryview(new)
    while i < size_old and j < size_new:
        end = _block_end(old, i)
        length = end - i
        if (
            j + length <= size_new
            and old.startswith(view[j : j + length], i)
            and (j + length == size_new or new[j + length - 1] == NL[0])
        ):
            line += old.count(NL, i, end)
            i, j = end, j + length
            continue
        # The block differs somewhere: pass over the whole lines before the first byte that
        # differs, found by halving (each half one comparison of bytes).
        same = _common_prefix(old, i, view, j, length)
        start = old.rfind(NL, i, i + same) + 1
        if start > i:
            line += old.count(NL, i, start)
            i, j = start, j + (start - i)
            continue
        text_old, next_old = _line_at(old, i)
        text_new, next_new = _line_at(new, j)
        if text_old == text_new:
            i, j, line = next_old, next_new, line + 1
            continue
        # Then find the nearest pair of equal lines, by the lines passed over to reach it:
        # most differences are a line or two, so a few lines are looked at first.
        for window in WINDOWS:
            olds, _ = _lines(old, i, window)
            news, _ = _lines(new, j, window)
            best = _nearest_pair(olds, news)
            if best is not None and (window > NEAR or best[0] + best[1] < NEAR):
                break
        skip_old, skip_new = best if best is not None else (len(olds), len(news))
        unpaired_old.extend(olds[:skip_old])
        unpaired_new.extend((line + n, news[n]) for n in range(skip_new))
        for _ in range(skip_old):
            i = _line_at(old, i)[1]
        for _ in range(skip_new):
            j = _line_at(new, j)[1]
        line += skip_new
    while i < size_old:
        text, i = _line_at(old, i)
        unpaired_old.append(text)
    while j < size_new:
        text, j = _line_at(new, j)
        unpaired_new.append((line, text))
        line += 1
    added, removed = _pair_left(unpaired_old, unpaired_new)
    return Diff(added=added, removed=removed, lines=data_lines(new, new_body))


def _pair_left(
    unpaired_old: list[bytes], unpaired_new: list[tuple[int, bytes]]
) -> tuple[list[tuple[int, bytes]], list[bytes]]:
    """The lines the walk left unpaired, paired as multisets: a line it passed over on one
    side and met on the other moved. Each old line pairs with one new copy at most, so a
    line the new file holds once more than the old is added. Blank lines are left out."""
    left = Counter(unpaired_old)
    added = []
    for n, text in unpaired_new:
        if left[text]:
            left[text] -= 1
        elif text.strip():
            added.append((n, text))
    removed = []
    for text in unpaired_old:
        if left[text]:
            left[text] -= 1
            if text.strip():
                removed.append(text)
    return added, removed


def data_lines(data: bytes, body: int) -> int:
    """Lines past the header, blank ones included."""
    count = data.count(NL, body)
    if len(data) > body and not data.endswith(NL):
        count += 1
    return count


class LineCount:
    """`data_lines` of a file fed a chunk at a time (while it is copied)."""

    def __init__(self) -> None:
        self._breaks = 0
        self._in_header = True
        self._last = b""

    def feed(self, chunk: bytes) -> None:
        if self._in_header:
            end = chunk.find(NL)
            if end < 0:
                return
            chunk, self._in_header = chunk[end + 1 :], False
        self._breaks += chunk.count(NL)
        if chunk:
            self._last = chunk[-1:]

    @property
    def lines(self) -> int:
        """Lines past the header so far, a last one without its break included."""
        return self._breaks + (1 if self._last not in (b"", NL) else 0)
