"""Checks every OneRoster row goes through, whatever its file (R22: a bad row is skipped).

A `RowChecker` collects the issues of the row at hand; a row with an error is skipped and
its issues are handed on, the rest of the file goes on.
"""

from __future__ import annotations

import re
from dataclasses import replace

from rollbook.domain.fields import ValueType
from rollbook.domain.values import MAX_LIST, MAX_TEXT, ValueProblem, normalize, normalize_grade
from rollbook.sync.csvread import Layout
from rollbook.sync.records import FileMode, Issue, Status, Version, locate
from rollbook.sync.vocab import STATUSES

# ISO 8601 dates and date-times; anything else in dateLastModified is worth one warning.
_ISO = re.compile(r"\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?")
# Grades come from a small vocabulary, so each spelling is normalized once per process.
_GRADES: dict[str, str] = {}
_ONCE = " (first here; later rows like it are not listed)"
DATE_SAMPLE = 1000
# A text field: cell position (None: no such column), column, value type, why required or "".
TextField = tuple[int | None, str, ValueType, str]
# Value types that the domain accepts as they are when printable and within MAX_TEXT.
_PLAIN: frozenset[ValueType] = frozenset({"name", "optional_name", "identifier"})


class RowChecker:
    """The state of one file being read: where we are, what was seen, what to report."""

    def __init__(self, layout: Layout, version: Version, file_mode: FileMode) -> None:
        self.file = layout.file
        self.version = version
        self.index = layout.index
        self.pending: list[Issue] = []
        self.failed = False
        self.line = 0
        self.sourced_id: str | None = None
        self.status: Status | None = None
        self._width = layout.width
        self._bulk = file_mode == "bulk"
        self._seen: set[str] = set()
        self._warned: set[str] = set()
        self._sid = layout.index["sourcedId"]
        self._status = layout.index["status"]
        self._date = layout.index.get("dateLastModified", 0)
        # Dates are not used, so a sample of each file is enough to warn about their format.
        self._dates_left = DATE_SAMPLE if "dateLastModified" in layout.index else 0

    def take(self) -> list[Issue]:
        """The issues of the row at hand, handed over once."""
        taken, self.pending = self.pending, []
        return taken

    def begin(self, line: int, cells: list[str]) -> bool:
        """Start a row: False when there is nothing more to read in it (blank or broken)."""
        self.line = line
        self.failed = False
        if len(cells) != self._width and not self._fits(cells):
            return self._broken(cells)
        sourced_id = cells[self._sid].strip()
        self.sourced_id = sourced_id or None
        if sourced_id and unstorable(sourced_id):
            self.sourced_id = None  # no entity can have it: the issue names none
            self.error("bad_value", "sourcedId", unstorable_reason(sourced_id))
            return False
        if sourced_id in self._seen:
            message = f"{sourced_id!r} appears earlier in this file (only the first is read)"
            self.error("duplicate_sourced_id", "sourcedId", message)
            return False
        if sourced_id:
            self._seen.add(sourced_id)
        elif not any(cell.strip() for cell in cells):
            return False  # spreadsheets leave rows of empty cells behind; nothing is lost
        else:
            self.error("missing_value", "sourcedId", "is blank; every row needs a sourcedId")
        raw = cells[self._status]
        self.status = self._read_status(raw) if raw else None
        if self._dates_left:
            self._dates_left -= 1
            self._check_date(cells[self._date])
        return True

    def _broken(self, cells: list[str]) -> bool:
        self.sourced_id = None
        if any(cell.strip() for cell in cells):
            # Named even on a broken row, so that its entity is not deactivated (R22).
            named = cells[self._sid].strip() if len(cells) > self._sid else ""
            self.sourced_id = named if named and not unstorable(named) else None
            self.error(
                "wrong_cell_count",
                None,
                f"has {len(cells)} cells but the header has {self._width} columns "
                "(look for an unquoted comma or a missing separator)",
            )
        return False

    def _fits(self, cells: list[str]) -> bool:
        # Cells past the header that are all empty are an export's trailing commas.
        return len(cells) > self._width and not any(c.strip() for c in cells[self._width :])

    def _read_status(self, raw: str) -> Status | None:
        status = STATUSES.get(raw) or STATUSES.get(raw.strip().casefold())
        if status is None:
            if not raw.strip():
                return None
            self.error(
                "bad_status",
                "status",
                f"{raw.strip()!r} is not a OneRoster status (active, tobedeleted, or blank)",
            )
        elif status == "tobedeleted" and self._bulk:
            # The SIS plainly wants the record gone; a bulk set would deactivate it anyway (R19).
            self.warn_once(
                "tobedeleted_in_bulk",
                "status",
                "marks a row tobedeleted in a bulk file; rollbook deactivates "
                "such rows as a delta would",
            )
        return status

    def _check_date(self, raw: str) -> None:
        value = raw.strip()
        if value and not _ISO.fullmatch(value):
            self.warn_once(
                "non_iso_date",
                "dateLastModified",
                f"{value!r} is not an ISO 8601 date; rollbook does not use "
                "dateLastModified, so the row is read anyway",
            )
            self._dates_left = 0

    def error(self, code: str, column: str | None, message: str) -> None:
        """Skip the row at hand, saying why."""
        self.failed = True
        text = f"{locate(self.file, self.line, column)}: {message}; the row is skipped"
        self.pending.append(
            Issue(self.file, self.line, column, code, text, self.sourced_id, "error")
        )

    def warn_once(self, code: str, column: str | None, message: str) -> None:
        """A leniency worth one warning per file, at its first row."""
        if code not in self._warned:
            self._warned.add(code)
            self.warning(code, column, message + _ONCE)

    def add_once(self, warning: Issue) -> None:
        """A warning made elsewhere (`map_role`), kept once per file like `warn_once`."""
        if warning.code not in self._warned:
            self._warned.add(warning.code)
            self.pending.append(replace(warning, message=warning.message + _ONCE))

    def warning(self, code: str, column: str | None, message: str) -> None:
        """Something read leniently in the row at hand."""
        text = f"{locate(self.file, self.line, column)}: {message}"
        self.pending.append(
            Issue(self.file, self.line, column, code, text, self.sourced_id, "warning")
        )

    def cell(self, cells: list[str], column: str) -> str:
        """The stripped cell of `column`, or "" when the file has no such column."""
        index = self.index.get(column)
        return "" if index is None else cells[index].strip()

    def fields(self, *specs: tuple[str, ValueType, str]) -> tuple[TextField, ...]:
        """Text fields (column, value type, why required or "") resolved to cell positions."""
        return tuple((self.index.get(column), column, kind, what) for column, kind, what in specs)

    def texts(self, cells: list[str], fields: tuple[TextField, ...]) -> list[str]:
        """The row's text fields, checked as the domain checks hand input ("" if blank or bad)."""
        found: list[str] = []
        for index, column, value_type, what in fields:
            value = "" if index is None else cells[index].strip()
            if not value:
                if what:
                    self.error("missing_value", column, f"is blank; {what}")
            elif not (value_type in _PLAIN and len(value) <= MAX_TEXT and value.isprintable()):
                value = self.value(value, column, value_type) or ""
            found.append(value)
        return found

    def reference(self, cells: list[str], column: str, what: str) -> str:
        """A required sourcedId of another record."""
        value = cells[self.index[column]].strip()
        if not value:
            self.error("missing_value", column, f"is blank; {what}")
        else:
            self.check_id(value, column)
        return value

    def check_id(self, value: str, column: str) -> None:
        """A SIS id (own or referenced) that the staging tables cannot hold skips the row."""
        if unstorable(value):
            self.error("bad_value", column, unstorable_reason(value))

    def value(self, value: str, column: str, value_type: ValueType) -> str | None:
        """A stripped cell checked by `domain.values.normalize` (None when blank or bad)."""
        if not value:
            return None
        # Printable text within the length limit is what the domain returns unchanged; only
        # the rest pays for its character-by-character check.
        plain = len(value) <= MAX_TEXT and value.isprintable()
        if plain and (value_type in _PLAIN or (value_type == "username" and " " not in value)):
            return value
        try:
            normalized = normalize(value_type, value)
        except ValueProblem as problem:
            self.error("bad_value", column, explain(value, problem))
            return None
        return normalized if isinstance(normalized, str) else None

    def grade(self, raw: str, column: str) -> str | None:
        """One OneRoster grade code, normalized (`3` → `03`)."""
        value = raw.strip()
        known = _GRADES.get(value)
        if known is not None:
            return known
        try:
            grade = normalize_grade(value)
        except ValueProblem as problem:
            self.error("bad_grade", column, str(problem))
            return None
        if grade is not None:
            _GRADES[value] = grade
        return grade

    def grades(self, cells: list[str], column: str) -> tuple[str, ...]:
        """A list of grade codes from one comma-separated cell."""
        raw = cells[self.index[column]]
        if not raw.strip():
            return ()
        found: dict[str, None] = {}
        for part in raw.split(","):
            grade = self.grade(part, column)
            if grade is not None:
                found[grade] = None
        return self._listed(tuple(found), column, raw)

    def strings(self, cells: list[str], column: str) -> tuple[str, ...]:
        """A list of free-text values (subjects, periods) from one comma-separated cell."""
        raw = cells[self.index[column]]
        if not raw.strip():
            return ()
        found: dict[str, None] = {}
        for part in raw.split(","):
            value = self.value(part.strip(), column, "optional_name")
            if value is not None:
                found[value] = None
        return self._listed(tuple(found), column, raw)

    def _listed(self, items: tuple[str, ...], column: str, raw: str) -> tuple[str, ...]:
        if len(items) > MAX_LIST:
            self.error("bad_value", column, f"lists {len(items)} values; at most {MAX_LIST}")
        return items


def unstorable(value: str) -> bool:
    """An id no column can hold: past MAX_TEXT, or with a NUL (PostgreSQL's text refuses it).

    Checked on every id cell, so it is two C-level tests (found by the snapshot fuzzing:
    such a cell failed the whole run on PostgreSQL and was stored as it came on SQLite)."""
    return len(value) > MAX_TEXT or "\x00" in value


def unstorable_reason(value: str) -> str:
    shown = repr(value if len(value) <= 60 else value[:57] + "...")
    if "\x00" in value:
        return f"{shown} holds a NUL character; a SIS id must be printable text"
    return f"{shown} is longer than {MAX_TEXT} characters; a SIS id must be at most that"


def explain(value: str, problem: ValueProblem) -> str:
    """A domain problem phrased with the value it is about."""
    text = str(problem)
    shown = repr(value if len(value) <= 60 else value[:57] + "...")
    return text if repr(value) in text else f"{shown} {text}"
