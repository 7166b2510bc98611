"""Where a snapshot's files come from: a folder or a zip today, a OneRoster server later."""

from __future__ import annotations

import io
from abc import ABC, abstractmethod
from collections.abc import Iterable
from contextlib import AbstractContextManager

from rollbook.sync.records import Issue, SnapshotRejected, rejection


class SourceFiles(ABC):
    """The files of one snapshot, found by name without regard to case."""

    def __init__(self, label: str, names: Iterable[str]) -> None:
        self.label = label
        self.warnings: list[Issue] = []
        self._by_key: dict[str, list[str]] = {}
        for name in names:
            self._by_key.setdefault(name.casefold(), []).append(name)

    def find(self, name: str) -> str | None:
        """The stored name of file `name` (`userProfiles.csv` finds `userprofiles.csv`)."""
        found = self._by_key.get(name.casefold())
        if not found:
            return None
        if len(found) > 1:
            # Two spellings of one file: reading either would silently drop the other.
            listed = ", ".join(sorted(found))
            raise SnapshotRejected(
                [rejection("ambiguous_file", f"the snapshot holds {listed}: keep one", name)]
            )
        return found[0]

    @abstractmethod
    def open(self, name: str) -> AbstractContextManager[io.BufferedReader]:
        """A byte stream of the stored file `name`; SnapshotRejected if it cannot be read."""

    @abstractmethod
    def size(self, name: str) -> int | None:
        """The size in bytes of the stored file `name` as the source states it, None if it
        cannot be told (a hint: reading the file is what counts)."""

    @abstractmethod
    def read_errors(self) -> tuple[type[BaseException], ...]:
        """Exceptions that reading a stream may raise when the stored bytes are damaged."""
