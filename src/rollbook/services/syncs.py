"""Sync runs as the API, the pages and the command line see them: start, read, decide."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from rollbook.domain.errors import NotFound, RollbookError
from rollbook.domain.permissions import Actor, require
from rollbook.services.common import parse_id
from rollbook.store import classes as class_store
from rollbook.store import people as people_store
from rollbook.store.models import Change, Org
from rollbook.store.paging import Page, check_limit, decode_cursor, page_of
from rollbook.store.sync_tables import SyncConflict, SyncIssue, SyncRun
from rollbook.sync.engine import Engine, NotWaiting, create_run

REPORT_LIMIT = 1000


class RunNotWaiting(RollbookError):
    """Approve or discard of a run that is not held for a decision (R20)."""

    code = "run_not_waiting"


def start(session: Session, *, actor: Actor, org: Org, source: str, dry_run: bool) -> SyncRun:
    """R3: a queued run for an upload or a path; the caller executes it."""
    require(actor, "syncs.run")
    return create_run(session, org=org, actor=actor, source=source, dry_run=dry_run)


def load(session: Session, *, actor: Actor, org: Org, run_id: str) -> SyncRun:
    require(actor, "syncs.read")
    run = session.get(SyncRun, parse_id(run_id, "sync run"))
    if run is None or run.org_id != org.id:
        raise NotFound("no such sync run")
    return run


def list_runs(
    session: Session, *, actor: Actor, org: Org, limit: int | None = None, cursor: str | None = None
) -> Page[SyncRun]:
    """The organization's runs, newest first."""
    require(actor, "syncs.read")
    limit = check_limit(limit)
    query = select(SyncRun).where(SyncRun.org_id == org.id)
    before = decode_cursor(cursor, arity=1)
    if before is not None:
        query = query.where(SyncRun.id < int(str(before[0])))
    rows = list(session.scalars(query.order_by(SyncRun.id.desc()).limit(limit + 1)))
    return page_of(rows, limit, lambda r: [r.id])


def _issues(session: Session, run_id: int, severity: str) -> list[dict[str, Any]]:
    rows = session.scalars(
        select(SyncIssue)
        .where(SyncIssue.run_id == run_id, SyncIssue.severity == severity)
        .order_by(SyncIssue.id)
        .limit(REPORT_LIMIT)
    )
    return [
        {
            "file": i.file,
            "line": i.line,
            "column": i.column,
            "code": i.code,
            "message": i.message,
            "sourced_id": i.sourced_id,
        }
        for i in rows
    ]


def run_view(session: Session, run: SyncRun) -> dict[str, Any]:
    """A run and its report, as interfaces.md describes it (lists capped at 1,000 each)."""
    conflicts = session.scalars(
        select(SyncConflict)
        .where(SyncConflict.run_id == run.id)
        .order_by(SyncConflict.id)
        .limit(REPORT_LIMIT)
    )
    return {
        "id": str(run.id),
        "status": run.status,
        "dry_run": run.dry_run,
        "would_need_approval": run.would_need_approval,
        "mode": run.mode,
        "oneroster_version": run.oneroster_version,
        "created_at": run.created_at.isoformat(),
        "started_at": run.started_at.isoformat() if run.started_at else None,
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "source": Path(run.source).name,
        "actor": {"kind": run.actor_kind, "id": run.actor_id, "name": run.actor_name},
        "message": run.message,
        "phase": run.phase,
        "counts": run.counts,
        "conflicts": [
            {
                "kind": c.kind,
                "sourced_id": c.sourced_id,
                "key": c.key,
                "value": c.value,
                "candidates": c.candidates,
                "message": c.message,
            }
            for c in conflicts
        ],
        "errors": _issues(session, run.id, "error"),
        "warnings": _issues(session, run.id, "warning"),
    }


def changes(
    session: Session,
    *,
    actor: Actor,
    org: Org,
    run_id: str,
    limit: int | None = None,
    cursor: str | None = None,
    overwritten_only: bool = False,
    entity_kind: str | None = None,
) -> Page[dict[str, Any]]:
    """R21: what the run changed (or would change), field by field, in the order made."""
    run = load(session, actor=actor, org=org, run_id=run_id)
    limit = check_limit(limit)
    after = decode_cursor(cursor, arity=1)
    query = select(Change).where(Change.run_id == run.id)
    if overwritten_only:
        query = query.where(Change.manual_edit_overwritten.is_(True))
    if entity_kind is not None:
        query = query.where(Change.entity_kind == entity_kind)
    if after is not None:
        query = query.where(Change.id > int(str(after[0])))
    rows = list(session.scalars(query.order_by(Change.id).limit(limit + 1)))
    page = page_of(rows, limit, lambda c: [c.id])
    return Page([change_view(c) for c in page.items], page.next_cursor)


def change_view(change: Change) -> dict[str, Any]:
    return {
        "entity_kind": change.entity_kind,
        "entity_id": str(change.entity_id) if change.entity_id is not None else None,
        "sourced_id": change.entity_ref,
        "action": change.action,
        "field": change.field,
        "old": change.old,
        "new": change.new,
        "manual_edit_overwritten": change.manual_edit_overwritten,
    }


def entity_names(
    session: Session, *, org: Org, items: list[dict[str, Any]]
) -> dict[tuple[str, str], str]:
    """Display names of the people and classes a page of changes names (the report pages)."""
    ids: dict[str, set[int]] = {"person": set(), "class": set()}
    for item in items:
        kind, raw = item["entity_kind"], item["entity_id"]
        if raw is not None and kind in ("student", "educator", "class"):
            ids["class" if kind == "class" else "person"].add(int(raw))
    names: dict[tuple[str, str], str] = {}
    for person in people_store.people_by_ids(session, org_id=org.id, ids=ids["person"]).values():
        names[(person.kind, str(person.id))] = f"{person.first_name} {person.last_name}"
    for klass in class_store.classes_by_ids(session, org_id=org.id, ids=ids["class"]).values():
        names[("class", str(klass.id))] = klass.name
    return names


def count_changes(session: Session, run_id: int) -> int:
    return int(session.scalar(select(func.count()).where(Change.run_id == run_id)) or 0)


def decide(
    engine: Engine, *, session: Session, actor: Actor, org: Org, run_id: str, approve: bool
) -> SyncRun:
    """R20: an administrator or operator approves or discards a held run."""
    require(actor, "syncs.decide")
    held = load(session, actor=actor, org=org, run_id=run_id).id
    # The engine works in its own transactions. Nothing of this session may be touched after
    # the rollback: reading an expired attribute would begin a transaction again and, on
    # SQLite, hold the write lock the engine waits for.
    session.rollback()
    try:
        return engine.decide(held, approve=approve, by=f"{actor.kind}:{actor.id} {actor.name}")
    except NotWaiting as error:
        raise RunNotWaiting(str(error)) from None
