"""The parse stage: a checked OneRoster snapshot whose rows stream out as typed records.

`load_snapshot` reads what decides whether the snapshot is usable at all (manifest, every
header) and raises SnapshotRejected if not (R22). The row generators then stream records
and row-level issues in file order, so a million users never sit in memory at once.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Iterator, Mapping
from itertools import islice

from rollbook.domain.catalogue import Catalogue, load_catalogue
from rollbook.sync import rows
from rollbook.sync.columns import FILE_KEYS, FileKey, spec_of
from rollbook.sync.csvread import Layout, header_of, read_layout, records
from rollbook.sync.manifest import Manifest, read_manifest
from rollbook.sync.records import (
    ClassResourceRow,
    ClassRow,
    EnrollmentRow,
    FileMode,
    Issue,
    Mode,
    OrgRow,
    ResourceRow,
    RoleRow,
    SnapshotRejected,
    UserRow,
    Version,
    locate,
    rejection,
)
from rollbook.sync.sources import SourceFiles
from rollbook.sync.vocab import MappedRole, map_role

__all__ = ["MappedRole", "Snapshot", "load_snapshot", "map_role"]


class Snapshot:
    """A OneRoster snapshot whose structure was checked; its rows are read on demand."""

    def __init__(
        self,
        source: SourceFiles,
        manifest: Manifest,
        layouts: dict[FileKey, Layout],
        warnings: list[Issue],
        catalogue: Catalogue,
    ) -> None:
        self.version: Version = manifest.version
        self.mode: Mode = manifest.mode
        self.files: dict[str, FileMode] = {key: mode for key, mode in manifest.files.items()}
        self.warnings = warnings
        self._source = source
        self._layouts = layouts
        self._catalogue = catalogue
        self._only: Mapping[str, Iterable[tuple[int, list[str]]]] = {}

    @property
    def source(self) -> SourceFiles:
        return self._source

    def stored_name(self, key: FileKey) -> str | None:
        """The name in the source of a file the snapshot reads (None: not sent)."""
        layout = self._layouts.get(key)
        return layout.file if layout else None

    def layout(self, key: FileKey) -> Layout | None:
        return self._layouts.get(key)

    def restricted(self, only: Mapping[str, Iterable[tuple[int, list[str]]]]) -> Snapshot:
        """The same snapshot whose files named in `only` yield just the given records (line
        and cells, in file order): the lines a sync must read (sync/quick.py)."""
        narrowed = copy.copy(self)
        narrowed._only = only
        return narrowed

    def _records(self, key: FileKey, layout: Layout) -> Iterator[tuple[int, list[str]]]:
        if key in self._only:
            return iter(self._only[key])
        return islice(records(self._source, layout.file), 1, None)  # past the header

    def orgs(self) -> Iterator[OrgRow | Issue]:
        """orgs.csv, row by row."""
        if layout := self._layouts.get("orgs"):
            yield from rows.orgs(
                layout, self.version, self.files["orgs"], self._records("orgs", layout)
            )

    def users(self) -> Iterator[UserRow | Issue]:
        """users.csv, row by row, with product settings."""
        if layout := self._layouts.get("users"):
            yield from rows.users(
                layout,
                self.version,
                self.files["users"],
                self._records("users", layout),
                self._catalogue,
            )

    def roles(self) -> Iterator[RoleRow | Issue]:
        """roles.csv (OneRoster 1.2), row by row; nothing for 1.1."""
        if layout := self._layouts.get("roles"):
            yield from rows.roles(
                layout, self.version, self.files["roles"], self._records("roles", layout)
            )

    def classes(self) -> Iterator[ClassRow | Issue]:
        """classes.csv, row by row."""
        if layout := self._layouts.get("classes"):
            yield from rows.classes(
                layout, self.version, self.files["classes"], self._records("classes", layout)
            )

    def enrollments(self) -> Iterator[EnrollmentRow | Issue]:
        """enrollments.csv, row by row."""
        if layout := self._layouts.get("enrollments"):
            yield from rows.enrollments(
                layout,
                self.version,
                self.files["enrollments"],
                self._records("enrollments", layout),
            )

    def resources(self) -> Iterator[ResourceRow | Issue]:
        """resources.csv, row by row (empty when not sent)."""
        if layout := self._layouts.get("resources"):
            yield from rows.resources(
                layout, self.version, self.files["resources"], self._records("resources", layout)
            )

    def class_resources(self) -> Iterator[ClassResourceRow | Issue]:
        """classResources.csv, row by row (empty when not sent)."""
        if layout := self._layouts.get("classResources"):
            yield from rows.class_resources(
                layout,
                self.version,
                self.files["classResources"],
                self._records("classResources", layout),
            )


def load_snapshot(source: SourceFiles, *, catalogue: Catalogue | None = None) -> Snapshot:
    """Check a snapshot's manifest and headers; SnapshotRejected listing every structure error."""
    catalogue = catalogue or load_catalogue()
    manifest_name = source.find("manifest.csv")
    if manifest_name is None:
        message = "is missing: a OneRoster snapshot starts with manifest.csv"
        raise SnapshotRejected([rejection("missing_manifest", message, "manifest.csv")])
    manifest = read_manifest(manifest_name, records(source, manifest_name))
    warnings = [*source.warnings, *manifest.warnings]
    problems: list[Issue] = []
    layouts: dict[FileKey, Layout] = {}
    for key in FILE_KEYS:
        try:
            stored = source.find(f"{key}.csv")
            file_mode = manifest.files[key]
            if file_mode == "absent":
                if stored is not None:
                    warnings.append(_ignored(stored, key, manifest))
                continue
            if stored is None:
                message = f"is missing, but manifest.csv marks file.{key} {file_mode}"
                problems.append(rejection("missing_file", message, f"{key}.csv"))
                continue
            spec = spec_of(key, manifest.version)
            layout = read_layout(stored, key, spec, header_of(source, stored), catalogue)
        except SnapshotRejected as rejected:
            problems.extend(rejected.issues)
            continue
        warnings.extend(layout.warnings)
        problems.extend(layout.rejections)
        layouts[key] = layout
    if problems:
        raise SnapshotRejected(problems)
    return Snapshot(source, manifest, layouts, warnings, catalogue)


def _ignored(stored: str, key: FileKey, manifest: Manifest) -> Issue:
    if key == "roles" and manifest.version == "1.1":
        reason = "roles.csv is not part of OneRoster 1.1 (roles come from users.csv); ignored"
    else:
        reason = f"manifest.csv marks file.{key} absent, so this file is ignored"
    return Issue(stored, None, None, "file_ignored", f"{locate(stored)}: {reason}", None, "warning")
