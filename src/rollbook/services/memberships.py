"""Who is in which class or group (R15): only manual classes take members by hand."""

from __future__ import annotations

from typing import Any, Literal

from sqlalchemy.orm import Session

from rollbook.domain.errors import ClassSynced, ValidationFailed
from rollbook.domain.permissions import Actor, require
from rollbook.services import classes, people
from rollbook.services.history import Recorder
from rollbook.store import classes as store
from rollbook.store.models import Class, Org, Person
from rollbook.store.paging import Page, check_limit, decode_cursor
from rollbook.store.people import PersonRow

MemberRole = Literal["student", "educator"]
_FIELD = {"student": "students", "educator": "educators"}


def _label(person: Person) -> dict[str, str]:
    return {"id": str(person.id), "name": f"{person.first_name} {person.last_name}"}


def _editable_class(session: Session, *, actor: Actor, org: Org, class_id: str) -> Class:
    klass = classes.load(session, actor=actor, org=org, class_id=class_id)
    require(actor, "classes.write")
    # R15: the members of a synced class are exactly what the SIS sends.
    if klass.origin == "sis":
        raise ClassSynced()
    return klass


def add(
    session: Session, *, actor: Actor, org: Org, class_id: str, role: MemberRole, person_id: str
) -> people.Loaded:
    """Put a student or educator, whatever their origin, into a manual class or group."""
    klass = _editable_class(session, actor=actor, org=org, class_id=class_id)
    loaded = people.load(session, actor=actor, org=org, kind=role, person_id=person_id)
    if klass.status != "active":
        raise ValidationFailed.one("class", "this class is inactive: reactivate it first")
    if loaded.person.status != "active":
        raise ValidationFailed.one(f"{role}_id", f"this {role} is inactive")
    if store.membership(session, class_id=klass.id, person_id=loaded.person.id) is None:
        store.add_membership(
            session,
            org_id=org.id,
            class_id=klass.id,
            person_id=loaded.person.id,
            role=role,
            source="manual",
        )
        _record(
            session, actor=actor, org=org, klass=klass, person=loaded.person, role=role, added=True
        )
    return loaded


def remove(
    session: Session, *, actor: Actor, org: Org, class_id: str, role: MemberRole, person_id: str
) -> None:
    """Take a person out of a manual class or group; absent members are already out."""
    klass = _editable_class(session, actor=actor, org=org, class_id=class_id)
    loaded = people.load(session, actor=actor, org=org, kind=role, person_id=person_id)
    if store.membership(session, class_id=klass.id, person_id=loaded.person.id) is not None:
        store.remove_membership(session, class_id=klass.id, person_id=loaded.person.id)
        _record(
            session, actor=actor, org=org, klass=klass, person=loaded.person, role=role, added=False
        )


def _record(
    session: Session,
    *,
    actor: Actor,
    org: Org,
    klass: Class,
    person: Person,
    role: MemberRole,
    added: bool,
) -> None:
    recorder = Recorder(session, actor=actor, org_id=org.id)
    member: dict[str, Any] = _label(person)
    where = {"id": str(klass.id), "name": klass.name}
    if added:
        recorder.add("class", klass.id, "member_added", field=_FIELD[role], new=member)
        recorder.add(person.kind, person.id, "added_to_class", field="classes", new=where)
    else:
        recorder.add("class", klass.id, "member_removed", field=_FIELD[role], old=member)
        recorder.add(person.kind, person.id, "removed_from_class", field="classes", old=where)
    recorder.flush()


def list_members(
    session: Session,
    *,
    actor: Actor,
    org: Org,
    class_id: str,
    role: MemberRole,
    limit: int | None = None,
    cursor: str | None = None,
) -> Page[PersonRow]:
    """The active students or educators of a class, whatever its origin."""
    klass = classes.load(session, actor=actor, org=org, class_id=class_id)
    return store.members(
        session,
        class_id=klass.id,
        role=role,
        limit=check_limit(limit),
        after=decode_cursor(cursor, arity=2),
    )


def classes_of(
    session: Session,
    *,
    actor: Actor,
    org: Org,
    kind: MemberRole,
    person_id: str,
    limit: int | None = None,
    cursor: str | None = None,
) -> Page[dict[str, Any]]:
    """R15: a person's classes whatever their origin, and the manual ones that could be chosen."""
    loaded = people.load(session, actor=actor, org=org, kind=kind, person_id=person_id)
    page, member_of = store.classes_for_person(
        session,
        org_id=org.id,
        person_id=loaded.person.id,
        within=actor.school_ids,
        limit=check_limit(limit),
        after=decode_cursor(cursor, arity=2),
    )
    items = [
        {
            "id": str(c.id),
            "name": c.name,
            "kind": c.kind,
            "origin": c.origin,
            "school_id": str(c.school_id),
            "member": c.id in member_of,
            "selectable": c.origin == "manual",
        }
        for c in page.items
    ]
    return Page(items, page.next_cursor)
