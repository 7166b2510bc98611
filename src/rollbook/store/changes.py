"""The change log (R23): written by hand edits and sync runs, read as entity history."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from rollbook.store.models import Change
from rollbook.store.paging import Page, page_of


def add_changes(session: Session, rows: list[dict[str, Any]]) -> None:
    """Write change rows in one statement (executemany)."""
    if rows:
        session.execute(insert(Change), rows)


def history(
    session: Session,
    *,
    org_id: int,
    entity_kind: str,
    entity_id: int,
    limit: int,
    before: list[object] | None,
) -> Page[Change]:
    """Changes of one entity, newest first."""
    query = select(Change).where(
        Change.org_id == org_id,
        Change.entity_kind == entity_kind,
        Change.entity_id == entity_id,
        Change.preview.is_(False),
    )
    if before is not None:
        query = query.where(Change.id < int(str(before[0])))
    rows = list(session.scalars(query.order_by(Change.id.desc()).limit(limit + 1)))
    return page_of(rows, limit, lambda c: [c.id])
