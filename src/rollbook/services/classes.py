"""Classes and groups by hand: list, read, create, edit, deactivate (R1, R2, R4, R13)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from sqlalchemy.orm import Session

from rollbook.domain import entities
from rollbook.domain.errors import EntitySynced, NotFound, ValidationFailed, VersionConflict
from rollbook.domain.fields import fields_of, mask_of
from rollbook.domain.permissions import Actor, in_scope, may_assign_schools, require
from rollbook.domain.values import name_key
from rollbook.services.common import (
    check_filters,
    flush_versioned,
    parse_id,
    school_filter,
    unless_moved,
)
from rollbook.services.history import Recorder
from rollbook.store import classes as store
from rollbook.store import orgs as org_store
from rollbook.store.models import Class, Org, utcnow
from rollbook.store.paging import Page, check_limit, decode_cursor

KINDS = ("class", "group")


def load(session: Session, *, actor: Actor, org: Org, class_id: str) -> Class:
    """One class within the actor's reach (R2), whatever its status."""
    require(actor, "roster.read")
    found = store.class_(session, org_id=org.id, class_id=parse_id(class_id, "class"))
    if found is None or not in_scope(actor, [found.school_id]):
        raise NotFound("no such class")
    return found


def list_classes(
    session: Session,
    *,
    actor: Actor,
    org: Org,
    q: str | None = None,
    school_id: str | None = None,
    origin: str | None = None,
    status: str = "active",
    kind: str | None = None,
    limit: int | None = None,
    cursor: str | None = None,
) -> Page[Class]:
    """One page of the classes and groups the actor may see."""
    require(actor, "roster.read")
    check_filters(status, origin)
    if kind not in (None, *KINDS):
        raise ValidationFailed.one("kind", "must be class or group")
    return store.list_classes(
        session,
        org_id=org.id,
        within=actor.school_ids,
        q=q,
        school_id=school_filter(session, org=org, ref=school_id),
        origin=origin,
        status=status,
        kind=kind,
        limit=check_limit(limit),
        after=decode_cursor(cursor, arity=2),
    )


def _resolve_school(
    session: Session, *, actor: Actor, org: Org, ref: str, before: int | None
) -> int:
    found = org_store.resolve_school_refs(session, org_id=org.id, refs=[ref])
    if ref not in found:
        raise ValidationFailed.one("school_id", f"no such school: {ref}")
    school_id = found[ref]
    if not may_assign_schools(actor, [] if before is None else [before], [school_id]):
        raise ValidationFailed.one("school_id", "you may only use your own schools")
    return school_id


def _current(klass: Class) -> dict[str, Any]:
    return {f.name: getattr(klass, f.name) for f in fields_of("class")}


def create(session: Session, *, actor: Actor, org: Org, data: Mapping[str, Any]) -> Class:
    """A manual class or group (R4: origin `manual`)."""
    require(actor, "classes.write")
    values = entities.validate_input("class", data, creating=True)
    values["school_id"] = _resolve_school(
        session, actor=actor, org=org, ref=values["school_id"], before=None
    )
    values.setdefault("status", "active")
    values.setdefault("kind", "class")
    for name in ("grades", "subjects", "periods"):
        values.setdefault(name, [])
    klass = Class(org_id=org.id, origin="manual", **values)
    klass.name_key = name_key(klass.name)
    klass.manual_mask = mask_of("class", [n for n, v in values.items() if v not in (None, [])])
    session.add(klass)
    flush_versioned(session)
    recorder = Recorder(session, actor=actor, org_id=org.id)
    recorder.add("class", klass.id, "created", new={**values, "school_id": str(klass.school_id)})
    recorder.flush()
    return klass


@unless_moved
def update(
    session: Session,
    *,
    actor: Actor,
    org: Org,
    class_id: str,
    data: Mapping[str, Any],
    if_match: int | None = None,
) -> Class:
    """A partial edit by hand; every Details field of a `sis` class is locked (R13)."""
    klass = load(session, actor=actor, org=org, class_id=class_id)
    require(actor, "classes.write")
    if if_match is not None and if_match != klass.version:
        raise VersionConflict(klass.version)
    values = entities.validate_input("class", data, creating=False)
    if "school_id" in values:
        values["school_id"] = _resolve_school(
            session, actor=actor, org=org, ref=values["school_id"], before=klass.school_id
        )
    diff = entities.changed(_current(klass), values)
    entities.refuse_locked("class", cast(Any, klass.origin), diff)
    if diff:
        apply(session, actor=actor, org=org, klass=klass, diff=diff)
    return klass


def apply(
    session: Session, *, actor: Actor, org: Org, klass: Class, diff: dict[str, tuple[Any, Any]]
) -> None:
    """Write a hand edit and record it field by field (R23)."""
    for name, (_, new) in diff.items():
        setattr(klass, name, new)
    klass.name_key = name_key(klass.name)
    klass.manual_mask |= mask_of("class", diff)
    klass.updated_at = utcnow()
    flush_versioned(session)
    recorder = Recorder(session, actor=actor, org_id=org.id)
    for name, (old, new) in diff.items():
        if name == "school_id":
            old, new = str(old), str(new)  # noqa: PLW2901 - ids read as strings
        action = "updated"
        if name == "status":
            action = "deactivated" if new == "inactive" else "reactivated"
        recorder.add("class", klass.id, action, field=name, old=old, new=new)
    recorder.flush()


def deactivate(session: Session, *, actor: Actor, org: Org, class_id: str) -> None:
    """DELETE: a manual class is deactivated, never deleted; a synced one only by the sync."""
    klass = load(session, actor=actor, org=org, class_id=class_id)
    require(actor, "classes.write")
    if klass.origin == "sis":
        raise EntitySynced("class")
    if klass.status != "inactive":
        apply(session, actor=actor, org=org, klass=klass, diff={"status": ("active", "inactive")})
