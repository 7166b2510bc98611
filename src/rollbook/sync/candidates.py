"""Existing entities indexed by their matching keys, for one chunk of incoming records (R6)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from rollbook.domain.matching import Candidate, Key


class CandidateIndex:
    """Which stored entities carry each key value; built once per chunk, looked up per record."""

    def __init__(
        self, rows: Iterable[Any], columns: Mapping[Key, str], kind_of: str | None = None
    ) -> None:
        self._by: dict[Key, dict[str, list[Candidate]]] = {
            key: defaultdict(list) for key in columns
        }
        for row in rows:
            kind = kind_of or row.kind
            for key, column in columns.items():
                value = getattr(row, column)
                if value:
                    self._by[key][value].append(Candidate(row.id, kind))

    def found(self, values: Mapping[Key, str | None]) -> dict[Key, list[Candidate]]:
        """The candidates of each key of one record (blank keys find nothing)."""
        found: dict[Key, list[Candidate]] = {}
        for key, value in values.items():
            if value and (hits := self._by[key].get(value)):
                found[key] = hits
        return found
