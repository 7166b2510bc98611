"""The no-op run: the same snapshot again, with nothing edited by hand since it was applied.

R18 says such a run changes nothing, and R23 says every hand change is in the change log; so
when the fingerprint of a run equals that of the organization's last applied run and the log
holds no hand change since that run began applying, the run's report is the last one's with
every entity unchanged, and nothing is read, staged or compared. Any hand edit in between
sends the run down the full path, which re-asserts every SIS value (R17).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, select
from sqlalchemy.orm import Session

from rollbook.store.models import Change, table_of
from rollbook.store.sync_tables import SyncConflict, SyncIssue, SyncRun
from rollbook.sync.context import ENTITY_COUNTS, FINDINGS, PLURAL, empty_counts

# A hand edit's change row carries the time its request began, before it commits; a request
# in flight when the last run began applying may commit after. None takes a minute.
IN_FLIGHT = timedelta(minutes=1)


def unchanged_since(session: Session, run: SyncRun) -> SyncRun | None:
    """The organization's last applied run, if this run would do exactly nothing after it."""
    last = session.scalars(
        select(SyncRun)
        .where(SyncRun.org_id == run.org_id, SyncRun.status == "applied", SyncRun.id != run.id)
        .order_by(SyncRun.apply_started_at.desc(), SyncRun.id.desc())
        .limit(1)
    ).first()
    if (
        last is None
        or last.snapshot_hash is None
        or last.snapshot_hash != run.snapshot_hash
        or last.apply_started_at is None
        or "records" not in (last.counts or {})
    ):
        return None
    return None if edited_since(session, run.org_id, last.apply_started_at) else last


def hand_changes_since(org_id: int, applied: datetime) -> ColumnElement[bool]:
    """The change log's rows of hand changes made since a run began applying."""
    return and_(Change.org_id == org_id, Change.run_id.is_(None), Change.at >= applied - IN_FLIGHT)


def edited_since(session: Session, org_id: int, applied: datetime) -> bool:
    """Whether the change log holds a hand change made since a run began applying."""
    return bool(session.scalar(select(exists().where(hand_changes_since(org_id, applied)))))


def noop_counts(last: dict[str, Any]) -> dict[str, Any]:
    """The report of a run that finds every entity of the last one unchanged."""
    counts = empty_counts()
    records = dict(last["records"])
    for plural in PLURAL.values():
        counts[plural] = dict.fromkeys(ENTITY_COUNTS, 0)
        counts[plural]["unchanged"] = records.get(plural, 0)
    counts["records"] = records
    for key in FINDINGS:
        counts[key] = last.get(key, 0)
    return counts


def copy_findings(session: Session, *, source: int, target: int) -> None:
    """The same input finds the same conflicts, errors and warnings: copy them."""
    for model in (SyncConflict, SyncIssue):
        table = table_of(model)
        rows = [
            {**{k: v for k, v in row._mapping.items() if k != "id"}, "run_id": target}
            for row in session.execute(
                select(table).where(table.c.run_id == source).order_by(table.c.id)
            )
        ]
        if rows:
            session.execute(table.insert(), rows)
