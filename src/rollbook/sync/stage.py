"""The stage step: stream a parsed snapshot into the staging tables, in bulk.

Rows go in batches (`executemany`, one statement per batch), each batch committed on its
own so that hand edits are never kept waiting long on SQLite's single writer. Row-level
issues are stored with the run; the SIS ids of skipped users and classes are kept so that
their entities are not deactivated (R22).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Table, delete
from sqlalchemy.orm import Session

from rollbook.domain.values import username_key
from rollbook.store.bulk import bulk_insert, bulk_insert_dicts
from rollbook.store.db import Database
from rollbook.store.models import table_of
from rollbook.store.sync_tables import (
    STAGE_TABLES,
    StageClass,
    StageClassResource,
    StageEnrollment,
    StageOrg,
    StageResource,
    StageRole,
    StageSkipped,
    StageUser,
    SyncIssue,
)
from rollbook.sync.fingerprint import role_print, row_hash
from rollbook.sync.parse import Snapshot
from rollbook.sync.records import (
    ClassResourceRow,
    ClassRow,
    EnrollmentRow,
    Issue,
    OrgRow,
    ResourceRow,
    RoleRow,
    UserRow,
)

BATCH = 5000
Progress = Callable[[str, int], None]


@dataclass
class Staged:
    """What the stage step counted."""

    rows: dict[str, int] = field(default_factory=dict)
    errors: int = 0
    warnings: int = 0


# Each file's rows become tuples in the order of its table's `columns` (dicts cost a second
# of a first sync at 100,000 students to build and take apart again).
ORG_COLUMNS = ("run_id", "line", "sourced_id", "name", "type", "identifier", "status")


def _org(run_id: int, row: OrgRow) -> tuple[Any, ...]:
    return (run_id, row.line, row.sourced_id, row.name, row.type, row.identifier, row.status)


USER_COLUMNS = (
    "run_id",
    "line",
    "username_key",
    "row_hash",
    "sourced_id",
    "status",
    "enabled",
    "username",
    "identifier",
    "given_name",
    "family_name",
    "middle_name",
    "preferred_given_name",
    "email",
    "grade",
    "role",
    "org_refs",
    "settings",
)


def _user(run_id: int, row: UserRow) -> tuple[Any, ...]:
    # What the SIS sends, in USER_COLUMNS order from `sourced_id` on; its hash is part of
    # the fingerprints stored with each person (sync/settle.py): keep the order.
    sent = (
        row.sourced_id,
        row.status,
        row.enabled,
        row.username,
        row.identifier,
        row.given_name,
        row.family_name,
        row.middle_name,
        row.preferred_given_name,
        row.email,
        row.grade,
        row.role,
        list(row.org_sourced_ids),
        [list(s) for s in row.settings],
    )
    return (run_id, row.line, username_key(row.username), row_hash(sent), *sent)


ROLE_COLUMNS = (
    "run_id",
    "line",
    "user_sourced_id",
    "role",
    "role_type",
    "org_sourced_id",
    "status",
    "row_print",
)


def _role(run_id: int, row: RoleRow) -> tuple[Any, ...]:
    sent = (row.role, row.role_type, row.org_sourced_id, row.status)
    return (
        run_id,
        row.line,
        row.user_sourced_id,
        row.role,
        row.role_type,
        row.org_sourced_id,
        row.status,
        role_print(sent),
    )


CLASS_COLUMNS = (
    "run_id",
    "line",
    "row_hash",
    "sourced_id",
    "status",
    "title",
    "class_code",
    "school_ref",
    "grades",
    "subjects",
    "periods",
)


def _class(run_id: int, row: ClassRow) -> tuple[Any, ...]:
    sent = (
        row.sourced_id,
        row.status,
        row.title,
        row.class_code,
        row.school_sourced_id,
        list(row.grades),
        list(row.subjects),
        list(row.periods),
    )
    return (run_id, row.line, row_hash(sent), *sent)


ENROLLMENT_COLUMNS = ("run_id", "line", "class_sourced_id", "user_sourced_id", "role", "status")


def _enrollment(run_id: int, row: EnrollmentRow) -> tuple[Any, ...]:
    return (run_id, row.line, row.class_sourced_id, row.user_sourced_id, row.role, row.status)


RESOURCE_COLUMNS = ("run_id", "line", "sourced_id", "vendor_resource_id", "status")


def _resource(run_id: int, row: ResourceRow) -> tuple[Any, ...]:
    return (run_id, row.line, row.sourced_id, row.vendor_resource_id, row.status)


CLASS_RESOURCE_COLUMNS = ("run_id", "line", "class_sourced_id", "resource_sourced_id", "status")


def _class_resource(run_id: int, row: ClassResourceRow) -> tuple[Any, ...]:
    return (run_id, row.line, row.class_sourced_id, row.resource_sourced_id, row.status)


class _Writer:
    """Batches rows per table and issues, and commits each batch."""

    def __init__(
        self, db: Database, *, run_id: int, org_id: int, progress: Progress | None
    ) -> None:
        self.db = db
        self.run_id = run_id
        self.org_id = org_id
        self.progress = progress
        self.staged = Staged()
        self._issues: list[dict[str, Any]] = []
        self._skipped: dict[tuple[str, str], None] = {}

    def issue(self, found: Issue) -> None:
        if found.severity == "error":
            self.staged.errors += 1
            if found.sourced_id and found.file in ("users.csv", "classes.csv"):
                self._skipped[(found.file, found.sourced_id)] = None
        else:
            self.staged.warnings += 1
        self._issues.append(
            {
                "run_id": self.run_id,
                "org_id": self.org_id,
                "severity": found.severity,
                **found.as_dict(),
            }
        )
        if len(self._issues) >= BATCH:
            self._flush_issues()

    def _flush_issues(self) -> None:
        if self._issues:
            with self.db.writing() as session:
                bulk_insert_dicts(session, table_of(SyncIssue), self._issues)
            self._issues = []

    def rows(
        self,
        name: str,
        table: Table,
        columns: Sequence[str],
        source: Iterable[Any],
        shape: Callable[[int, Any], tuple[Any, ...]],
    ) -> None:
        batch: list[tuple[Any, ...]] = []
        count = 0
        for item in source:
            if isinstance(item, Issue):
                self.issue(item)
                continue
            batch.append(shape(self.run_id, item))
            if len(batch) >= BATCH:
                count += self._write(table, columns, batch)
                batch = []
                if self.progress:
                    self.progress(name, count)
        count += self._write(table, columns, batch)
        self.staged.rows[name] = count
        if self.progress:
            self.progress(name, count)

    def _write(self, table: Table, columns: Sequence[str], batch: Sequence[Sequence[Any]]) -> int:
        if batch:
            with self.db.writing() as session:
                bulk_insert(session, table, columns, batch)
        return len(batch)

    def finish(self) -> Staged:
        self._flush_issues()
        skipped = [(self.run_id, file, sourced_id) for file, sourced_id in self._skipped]
        self._write(table_of(StageSkipped), ("run_id", "file", "sourced_id"), skipped)
        return self.staged


def stage_snapshot(
    db: Database, snapshot: Snapshot, *, run_id: int, org_id: int, progress: Progress | None = None
) -> Staged:
    """Stream every file of the snapshot into the staging tables of `run_id`."""
    writer = _Writer(db, run_id=run_id, org_id=org_id, progress=progress)
    for warning in snapshot.warnings:
        writer.issue(warning)
    steps: list[tuple[str, Any, Sequence[str], Iterator[Any], Callable[[int, Any], Any]]] = [
        ("orgs", StageOrg, ORG_COLUMNS, snapshot.orgs(), _org),
        ("users", StageUser, USER_COLUMNS, snapshot.users(), _user),
        ("roles", StageRole, ROLE_COLUMNS, snapshot.roles(), _role),
        ("classes", StageClass, CLASS_COLUMNS, snapshot.classes(), _class),
        ("enrollments", StageEnrollment, ENROLLMENT_COLUMNS, snapshot.enrollments(), _enrollment),
        ("resources", StageResource, RESOURCE_COLUMNS, snapshot.resources(), _resource),
        (
            "classResources",
            StageClassResource,
            CLASS_RESOURCE_COLUMNS,
            snapshot.class_resources(),
            _class_resource,
        ),
    ]
    for name, model, columns, source, shape in steps:
        writer.rows(name, table_of(model), columns, source, shape)
    return writer.finish()


def clear_stage(session: Session, run_id: int) -> None:
    """Drop a run's staged snapshot (the run is over, or was abandoned)."""
    for table in STAGE_TABLES:
        session.execute(delete(table).where(table.run_id == run_id))
