"""R23: recording every change with its actor, and reading an entity's history."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from rollbook.domain.permissions import Actor
from rollbook.store import changes as store
from rollbook.store.models import Change, utcnow
from rollbook.store.paging import Page, check_limit, decode_cursor


class Recorder:
    """Collects the changes of one unit of work and writes them in one statement."""

    def __init__(self, session: Session, *, actor: Actor, org_id: int) -> None:
        self._session = session
        self._actor = actor
        self._org_id = org_id
        self._rows: list[dict[str, Any]] = []
        self._at = utcnow()

    def add(
        self,
        entity_kind: str,
        entity_id: int,
        action: str,
        *,
        field: str | None = None,
        old: Any = None,
        new: Any = None,
    ) -> None:
        self._rows.append(
            {
                "org_id": self._org_id,
                "run_id": self._actor.run_id,
                "entity_kind": entity_kind,
                "entity_id": entity_id,
                "action": action,
                "field": field,
                "old": old,
                "new": new,
                "manual_edit_overwritten": False,
                "preview": False,
                "entity_ref": None,
                "actor_kind": self._actor.kind,
                "actor_id": self._actor.id,
                "actor_name": self._actor.name[:255],
                "at": self._at,
            }
        )

    def flush(self) -> None:
        store.add_changes(self._session, self._rows)
        self._rows = []


def entity_history(
    session: Session,
    *,
    org_id: int,
    entity_kind: str,
    entity_id: int,
    limit: int | None,
    cursor: str | None,
) -> Page[Change]:
    """The changes of one entity, newest first."""
    return store.history(
        session,
        org_id=org_id,
        entity_kind=entity_kind,
        entity_id=entity_id,
        limit=check_limit(limit),
        before=decode_cursor(cursor, arity=1),
    )


def change_view(change: Change) -> dict[str, Any]:
    """A change as clients read it (interfaces.md, history)."""
    return {
        "at": change.at.isoformat(),
        "actor": {"kind": change.actor_kind, "id": change.actor_id, "name": change.actor_name},
        "action": change.action,
        "field": change.field,
        "old": change.old,
        "new": change.new,
        "run_id": str(change.run_id) if change.run_id is not None else None,
    }
