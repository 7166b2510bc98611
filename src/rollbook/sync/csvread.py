"""Streaming CSV rows out of a snapshot file, and reading a header into a column layout.

Rows are decoded line by line, so a file is never held in memory whole and a byte that is
not UTF-8 is reported on its own line.
"""

from __future__ import annotations

import csv
import difflib
from collections.abc import Generator
from dataclasses import dataclass, field

from rollbook.domain.catalogue import Catalogue
from rollbook.sync.columns import ALIASES, FileKey, FileSpec
from rollbook.sync.records import Issue, SnapshotRejected, locate, rejection
from rollbook.sync.sources import SourceFiles

_BOM = b"\xef\xbb\xbf"


def records(source: SourceFiles, name: str) -> Generator[tuple[int, list[str]]]:
    """Each CSV record of stored file `name` with the line it starts on (the header is line 1)."""
    damaged = source.read_errors()
    with source.open(name) as stream:
        try:
            if stream.peek(3)[:3] == _BOM:
                stream.read(3)
        except damaged as error:
            raise _unreadable(name, 1, error) from None
        reader = csv.reader(map(bytes.decode, stream), strict=False)
        start = 1
        try:
            for cells in reader:
                yield start, cells
                start = reader.line_num + 1
        except UnicodeDecodeError as error:
            line = reader.line_num + 1
            bad = error.object[error.start : error.start + 1].hex()
            message = (
                f"is not UTF-8 text (byte 0x{bad} at byte {error.start + 1} of the line); "
                "export the file again as UTF-8 CSV"
            )
            raise SnapshotRejected([rejection("bad_encoding", message, name, line)]) from None
        except csv.Error as error:
            message = f"cannot be read as CSV ({error}); check the quotes on this line"
            raise SnapshotRejected([rejection("bad_csv", message, name, reader.line_num)]) from None
        except damaged as error:
            raise _unreadable(name, reader.line_num + 1, error) from None


def _unreadable(name: str, line: int, error: BaseException) -> SnapshotRejected:
    message = f"cannot be read ({error}); the file is damaged: export it again"
    return SnapshotRejected([rejection("unreadable_file", message, name, line)])


def header_of(source: SourceFiles, name: str) -> list[str]:
    """The header cells of stored file `name`; SnapshotRejected when it has none."""
    rows = records(source, name)
    try:
        for _, cells in rows:
            return cells
    finally:
        rows.close()
    raise SnapshotRejected(
        [rejection("empty_file", "is empty; the first line must name the columns", name, 1)]
    )


@dataclass(frozen=True, slots=True)
class SettingColumn:
    """A `metadata.<product>.<setting>` column of users.csv that the catalogue knows."""

    index: int
    header: str
    product: str
    setting: str
    cacheable: bool


@dataclass(slots=True)
class Layout:
    """Where each column rollbook reads sits in one file's rows."""

    file: str
    width: int
    index: dict[str, int]
    settings: tuple[SettingColumn, ...] = ()
    warnings: list[Issue] = field(default_factory=list)
    rejections: list[Issue] = field(default_factory=list)


def read_layout(
    name: str, key: FileKey, spec: FileSpec, cells: list[str], catalogue: Catalogue
) -> Layout:
    """Match a header to the columns rollbook reads; problems land in warnings or rejections."""
    names = [cell.strip() for cell in cells]
    layout = Layout(file=name, width=len(names), index={})
    trailing = 0
    while names and not names[-1]:
        names.pop()
        trailing += 1
    if not names:
        message = "the header row names no columns"
        layout.rejections.append(rejection("empty_header", message, name, 1))
        return layout
    layout.width = len(names)
    if trailing:
        message = f"the header ends with {trailing} empty cell(s); they are ignored"
        layout.warnings.append(_warning("trailing_empty_header", message, name))
    unmatched = _match(layout, names, key, spec, catalogue)
    for column in spec.required:
        if column not in layout.index:
            message = "required column is missing" + _near(column, unmatched)
            layout.rejections.append(rejection("missing_column", message, name, 1, column))
    for column in spec.expected:
        if column not in layout.index:
            message = f"is missing: rollbook reads {column} as not sent for every row (R12)"
            message += _near(column, unmatched)
            layout.warnings.append(_warning("missing_column", message, name, column))
    return layout


def _match(
    layout: Layout, names: list[str], key: FileKey, spec: FileSpec, catalogue: Catalogue
) -> list[str]:
    """Fill the layout's columns from header names; the names rollbook does not read."""
    name = layout.file
    known = {column.casefold(): column for column in spec.read}
    settings: list[SettingColumn] = []
    unmatched: list[str] = []
    seen: dict[str, int] = {}
    for position, raw in enumerate(names):
        if not raw:
            message = f"column {position + 1} has no name; its cells are ignored"
            layout.warnings.append(_warning("unnamed_column", message, name))
            continue
        folded = raw.casefold()
        if folded in ALIASES:
            right = ALIASES[folded]
            folded = right.casefold()
            message = f"OneRoster spells it {right}; correct the export"
            if folded in known:
                message += f" (read as {right} meanwhile)"
            layout.warnings.append(_warning("misspelled_column", message, name, raw))
        if folded in seen:
            # A second copy of a column rollbook reads leaves no way to know which is meant.
            if folded in known or folded.startswith("metadata."):
                message = f"appears twice in the header (columns {seen[folded] + 1} and "
                message += f"{position + 1}); keep one"
                layout.rejections.append(rejection("duplicate_column", message, name, 1, raw))
            continue
        seen[folded] = position
        if folded in known:
            layout.index[known[folded]] = position
        elif key == "users" and folded.startswith("metadata."):
            setting = _setting_column(position, raw, catalogue)
            if setting is None:
                layout.warnings.append(_unknown_setting(name, raw, catalogue))
            else:
                settings.append(setting)
        else:
            unmatched.append(raw)
    layout.settings = tuple(settings)
    return unmatched


def _setting_column(position: int, raw: str, catalogue: Catalogue) -> SettingColumn | None:
    parts = raw.casefold().split(".")
    if len(parts) != 3:
        return None
    found = catalogue.setting(parts[1], parts[2])
    if found is None:
        return None
    # Free text has no small set of values, so remembering parsed ones would not pay.
    return SettingColumn(position, raw, parts[1], parts[2], cacheable=found.type != "string")


def _unknown_setting(name: str, raw: str, catalogue: Catalogue) -> Issue:
    parts = raw.split(".")
    if len(parts) == 3 and catalogue.product(parts[1].casefold()) is not None:
        reason = f"product {parts[1]} has no setting {parts[2]!r}"
    elif len(parts) == 3:
        reason = f"rollbook has no product {parts[1]!r}"
    else:
        reason = "a product setting column is named metadata.<product>.<setting>"
    return _warning("unknown_setting_column", f"{reason}; the column is ignored", name, raw)


def _near(column: str, unmatched: list[str]) -> str:
    close = difflib.get_close_matches(column, unmatched, n=1, cutoff=0.75)
    return f" (the header has {close[0]!r}: rename it {column})" if close else ""


def _warning(code: str, message: str, name: str, column: str | None = None) -> Issue:
    return Issue(name, 1, column, code, f"{locate(name, 1, column)}: {message}", None, "warning")
