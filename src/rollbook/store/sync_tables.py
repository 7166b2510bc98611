"""Tables of the sync: runs and their reports, the organization lock, and staging.

Staging tables hold one snapshot per run (`run_id`) between the stage step and the
decision on it: they are filled in bulk, read by the plan with joins, and emptied when the
run ends (kept while a run waits for approval, R20).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from rollbook.store.models import Base, Id, JsonText, UtcDateTime, utcnow


class SyncRun(Base):
    """One sync run and its report (R21)."""

    __tablename__ = "sync_runs"
    __table_args__ = (Index("ix_sync_runs_org", "org_id", "id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id"))
    status: Mapped[str] = mapped_column(String(16))
    dry_run: Mapped[bool] = mapped_column(Boolean, default=False)
    would_need_approval: Mapped[bool] = mapped_column(Boolean, default=False)
    mode: Mapped[str | None] = mapped_column(String(8))
    oneroster_version: Mapped[str | None] = mapped_column(String(8))
    source: Mapped[str] = mapped_column(String(1024))
    actor_kind: Mapped[str] = mapped_column(String(8))
    actor_id: Mapped[str] = mapped_column(String(64))
    actor_name: Mapped[str] = mapped_column(String(255))
    counts: Mapped[dict[str, Any]] = mapped_column(JsonText, default=dict)
    message: Mapped[str | None] = mapped_column(Text)
    # Progress of a running run, for the pages and the command line.
    phase: Mapped[str | None] = mapped_column(String(32))
    # What the snapshot was (files, catalogue, schools: see sync/fingerprint.py), and when the
    # transaction that applied it began: an identical snapshot with no hand edit since is a no-op.
    snapshot_hash: Mapped[str | None] = mapped_column(String(64))
    apply_started_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # Issues up to this id were found reading the files; later ones while planning.
    stage_issue_max: Mapped[int] = mapped_column(Id, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(255))
    # The process (host:pid) that queued the run: while it lives, its queued run is not an
    # orphan, whichever server process starts meanwhile (sync/worker.py, fail_orphans).
    queued_by: Mapped[str | None] = mapped_column(String(255))


class SyncIssue(Base):
    """An input error (row skipped) or warning (row read leniently) of a run (R22)."""

    __tablename__ = "sync_issues"
    __table_args__ = (Index("ix_sync_issues_run", "run_id", "severity", "id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("sync_runs.id"))
    org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id"))
    severity: Mapped[str] = mapped_column(String(8))
    file: Mapped[str] = mapped_column(String(255))
    line: Mapped[int | None] = mapped_column(Integer)
    column: Mapped[str | None] = mapped_column(String(255))
    code: Mapped[str] = mapped_column(String(64))
    message: Mapped[str] = mapped_column(Text)
    sourced_id: Mapped[str | None] = mapped_column(String(255))


class SyncConflict(Base):
    """A record held back because it does not say which entity it is (R9, R10)."""

    __tablename__ = "sync_conflicts"
    __table_args__ = (Index("ix_sync_conflicts_run", "run_id", "id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("sync_runs.id"))
    org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id"))
    kind: Mapped[str] = mapped_column(String(8))
    sourced_id: Mapped[str] = mapped_column(String(255))
    key: Mapped[str | None] = mapped_column(String(32))
    value: Mapped[str | None] = mapped_column(String(255))
    candidates: Mapped[list[str]] = mapped_column(JsonText, default=list)
    message: Mapped[str] = mapped_column(Text)


class SyncLock(Base):
    """R18: at most one run of an organization at a time; `holder` is host:pid."""

    __tablename__ = "sync_locks"

    org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id"), primary_key=True)
    run_id: Mapped[int] = mapped_column(Id)
    holder: Mapped[str] = mapped_column(String(255))
    acquired_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class StageOrg(Base):
    __tablename__ = "stage_orgs"

    run_id: Mapped[int] = mapped_column(Id, primary_key=True)
    line: Mapped[int] = mapped_column(Integer, primary_key=True)
    sourced_id: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(255))
    type: Mapped[str] = mapped_column(String(32))
    identifier: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str | None] = mapped_column(String(16))


class StageUser(Base):
    __tablename__ = "stage_users"
    # The settling join (sync/settle.py) looks staged records up by SIS id.
    __table_args__ = (Index("ix_stage_users_ref", "run_id", "sourced_id"),)

    run_id: Mapped[int] = mapped_column(Id, primary_key=True)
    line: Mapped[int] = mapped_column(Integer, primary_key=True)
    sourced_id: Mapped[str] = mapped_column(String(255))
    status: Mapped[str | None] = mapped_column(String(16))
    enabled: Mapped[bool] = mapped_column(Boolean)
    username: Mapped[str] = mapped_column(String(255))
    username_key: Mapped[str] = mapped_column(String(255))
    identifier: Mapped[str | None] = mapped_column(String(255))
    given_name: Mapped[str] = mapped_column(String(255))
    family_name: Mapped[str] = mapped_column(String(255))
    middle_name: Mapped[str | None] = mapped_column(String(255))
    preferred_given_name: Mapped[str | None] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(255))
    grade: Mapped[str | None] = mapped_column(String(8))
    role: Mapped[str | None] = mapped_column(String(40))
    org_refs: Mapped[list[str]] = mapped_column(JsonText, default=list)
    settings: Mapped[list[Any]] = mapped_column(JsonText, default=list)
    row_hash: Mapped[str | None] = mapped_column(String(32))


class StageRole(Base):
    __tablename__ = "stage_roles"
    __table_args__ = (Index("ix_stage_roles_user", "run_id", "user_sourced_id"),)

    run_id: Mapped[int] = mapped_column(Id, primary_key=True)
    line: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_sourced_id: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(40))
    role_type: Mapped[str | None] = mapped_column(String(16))
    org_sourced_id: Mapped[str] = mapped_column(String(255))
    status: Mapped[str | None] = mapped_column(String(16))
    row_print: Mapped[int | None] = mapped_column(BigInteger)


class StageClass(Base):
    __tablename__ = "stage_classes"
    __table_args__ = (Index("ix_stage_classes_ref", "run_id", "sourced_id"),)

    run_id: Mapped[int] = mapped_column(Id, primary_key=True)
    line: Mapped[int] = mapped_column(Integer, primary_key=True)
    sourced_id: Mapped[str] = mapped_column(String(255))
    status: Mapped[str | None] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(255))
    class_code: Mapped[str | None] = mapped_column(String(255))
    school_ref: Mapped[str] = mapped_column(String(255))
    grades: Mapped[list[str]] = mapped_column(JsonText, default=list)
    subjects: Mapped[list[str]] = mapped_column(JsonText, default=list)
    periods: Mapped[list[str]] = mapped_column(JsonText, default=list)
    row_hash: Mapped[str | None] = mapped_column(String(32))


class StageEnrollment(Base):
    __tablename__ = "stage_enrollments"

    run_id: Mapped[int] = mapped_column(Id, primary_key=True)
    line: Mapped[int] = mapped_column(Integer, primary_key=True)
    class_sourced_id: Mapped[str] = mapped_column(String(255))
    user_sourced_id: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(40))
    status: Mapped[str | None] = mapped_column(String(16))


class StageResource(Base):
    __tablename__ = "stage_resources"

    run_id: Mapped[int] = mapped_column(Id, primary_key=True)
    line: Mapped[int] = mapped_column(Integer, primary_key=True)
    sourced_id: Mapped[str] = mapped_column(String(255))
    vendor_resource_id: Mapped[str] = mapped_column(String(255))
    status: Mapped[str | None] = mapped_column(String(16))


class StageClassResource(Base):
    __tablename__ = "stage_class_resources"

    run_id: Mapped[int] = mapped_column(Id, primary_key=True)
    line: Mapped[int] = mapped_column(Integer, primary_key=True)
    class_sourced_id: Mapped[str] = mapped_column(String(255))
    resource_sourced_id: Mapped[str] = mapped_column(String(255))
    status: Mapped[str | None] = mapped_column(String(16))


class StageSkipped(Base):
    """Sourced ids of records skipped for input errors: their entities are not deactivated."""

    __tablename__ = "stage_skipped"

    run_id: Mapped[int] = mapped_column(Id, primary_key=True)
    file: Mapped[str] = mapped_column(String(32), primary_key=True)
    sourced_id: Mapped[str] = mapped_column(String(255), primary_key=True)


class SyncKey(Base):
    """Within one run's transaction: which entity each SIS id resolved to."""

    __tablename__ = "sync_keys"
    __table_args__ = (Index("ix_sync_keys_entity", "run_id", "kind", "entity_id"),)

    run_id: Mapped[int] = mapped_column(Id, primary_key=True)
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)
    sourced_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    entity_id: Mapped[int | None] = mapped_column(Id)
    # applied: the record was applied; held: it was held back or skipped (not deactivated).
    state: Mapped[str] = mapped_column(String(8))


class SyncMember(Base):
    """Within one run's transaction: the memberships the SIS sends for its classes (R15)."""

    __tablename__ = "sync_members"

    run_id: Mapped[int] = mapped_column(Id, primary_key=True)
    class_id: Mapped[int] = mapped_column(Id, primary_key=True)
    person_id: Mapped[int] = mapped_column(Id, primary_key=True)
    role: Mapped[str] = mapped_column(String(8))


class SyncProduct(Base):
    """Within one run's transaction: the products the SIS sends for its classes (R14)."""

    __tablename__ = "sync_products"

    run_id: Mapped[int] = mapped_column(Id, primary_key=True)
    class_id: Mapped[int] = mapped_column(Id, primary_key=True)
    product: Mapped[str] = mapped_column(String(40), primary_key=True)


STAGE_TABLES = (
    StageOrg,
    StageUser,
    StageRole,
    StageClass,
    StageEnrollment,
    StageResource,
    StageClassResource,
    StageSkipped,
)
