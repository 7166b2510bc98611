"""A changed line's cells, read by the reading by changes (sync/quick.py) exactly as the csv
module reads the line: a line without quotes, line breaks or NUL is split at its commas
without it."""

from __future__ import annotations

import csv
from collections.abc import Callable
from typing import TypeVar

from hypothesis import example, given, settings
from hypothesis import strategies as st

from rollbook.sync.quick import _cells

T = TypeVar("T")
CELL = st.text(alphabet=st.sampled_from(list('ab ,"\r\n\0\t\x0b\x85é')), max_size=6)


def _by_csv(text: str) -> list[str]:
    return next(csv.reader([text + "\n"], strict=False), [])


def _outcome(read: Callable[[T], list[str]], line: T) -> list[str] | str:
    """The cells, or the csv module's refusal (a carriage return inside an unquoted cell)."""
    try:
        return read(line)
    except csv.Error:
        return "csv.Error"


@settings(max_examples=500, deadline=None)
@example(cells=[])
@example(cells=[""])
@example(cells=["", ""])
@example(cells=['"a,b"', "c"])
@example(cells=["a\r"])
@given(st.lists(CELL, max_size=5))
def test_a_line_is_read_as_the_csv_module_reads_it(cells: list[str]) -> None:
    line = ",".join(cells)
    assert _outcome(_cells, line.encode()) == _outcome(_by_csv, line)
