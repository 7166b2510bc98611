"""Students and educators by hand: list, read, create, edit, deactivate (R1, R2, R4, R10, R11)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, cast

from sqlalchemy.orm import Session

from rollbook.domain import entities
from rollbook.domain.errors import (
    EntitySynced,
    Forbidden,
    NotFound,
    UsernameTaken,
    ValidationFailed,
    VersionConflict,
)
from rollbook.domain.fields import SIS_SENDS_WARNING, EntityKind, field_of, fields_of, mask_of
from rollbook.domain.permissions import (
    Action,
    Actor,
    in_scope,
    may_assign_schools,
    may_grant_district_scope,
    require,
)
from rollbook.domain.values import person_keys, username_key
from rollbook.services.common import (
    check_filters,
    flush_versioned,
    parse_id,
    school_filter,
    unless_moved,
)
from rollbook.services.history import Recorder
from rollbook.store import orgs as org_store
from rollbook.store import people as store
from rollbook.store.models import Org, Person, utcnow
from rollbook.store.paging import Page, check_limit, decode_cursor

PersonKind = Literal["student", "educator"]
WRITE_ACTION: dict[PersonKind, Action] = {
    "student": "students.write",
    "educator": "educators.write",
}


@dataclass(frozen=True, slots=True)
class Loaded:
    """A person with the ids of their schools."""

    person: Person
    school_ids: list[int]


def load(session: Session, *, actor: Actor, org: Org, kind: PersonKind, person_id: str) -> Loaded:
    """One person within the actor's reach (R2: out of scope is not found), any status."""
    require(actor, "roster.read")
    found = store.person(session, org_id=org.id, kind=kind, person_id=parse_id(person_id, kind))
    if found is None:
        raise NotFound(f"no such {kind}")
    schools = store.school_ids_of(session, [found.id]).get(found.id, [])
    if not in_scope(actor, schools):
        raise NotFound(f"no such {kind}")
    return Loaded(found, schools)


def list_people(
    session: Session,
    *,
    actor: Actor,
    org: Org,
    kind: PersonKind,
    q: str | None = None,
    school_id: str | None = None,
    origin: str | None = None,
    status: str = "active",
    limit: int | None = None,
    cursor: str | None = None,
) -> tuple[Page[store.PersonRow], dict[int, list[int]]]:
    """One page of the people the actor may see, with each person's school ids."""
    require(actor, "roster.read")
    check_filters(status, origin)
    school = school_filter(session, org=org, ref=school_id)
    page = store.list_people(
        session,
        org_id=org.id,
        kind=kind,
        within=actor.school_ids,
        q=q,
        school_id=school,
        origin=origin,
        status=status,
        limit=check_limit(limit),
        after=decode_cursor(cursor, arity=2),
    )
    return page, store.school_ids_of(session, [p.id for p in page.items])


def _resolve_schools(
    session: Session, *, actor: Actor, org: Org, refs: list[str], before: list[int]
) -> list[int]:
    found = org_store.resolve_school_refs(session, org_id=org.id, refs=refs)
    unknown = [r for r in refs if r not in found]
    if unknown:
        raise ValidationFailed.one("school_ids", f"no such school: {', '.join(unknown)}")
    ids = sorted(set(found.values()))
    if not may_assign_schools(actor, before, ids):
        raise ValidationFailed.one("school_ids", "you may only add or remove your own schools")
    return ids


def _check_unique(
    session: Session, *, org: Org, values: Mapping[str, Any], self_id: int | None
) -> None:
    """R10: usernames are unique among the organization's people; SIS ids are too."""
    if "username" in values:
        holder = store.holder_of_username(
            session, org_id=org.id, username_key=username_key(values["username"])
        )
        if holder is not None and holder.id != self_id:
            raise UsernameTaken(values["username"])
    for column in ("external_id", "alt_external_id"):
        value = values.get(column)
        if value and store.holders_of_identifier(
            session, org_id=org.id, column=column, value=value, except_id=self_id
        ):
            raise ValidationFailed.one(column, f"{value!r} belongs to another person already")


def _check_educator(actor: Actor, merged: dict[str, Any], before: Mapping[str, Any]) -> None:
    entities.complete_educator(merged)
    district = merged.get("admin_scope") == "district" or before.get("admin_scope") == "district"
    if district and not may_grant_district_scope(actor):
        raise Forbidden(
            "only a district administrator may create or change district administrators"
        )


def _derive(person: Person) -> None:
    """Keys kept beside the values for uniqueness, ordering and prefix search."""
    keys = person_keys(
        username=person.username, first_name=person.first_name, last_name=person.last_name
    )
    for name, value in keys.items():
        setattr(person, name, value)


def create(
    session: Session, *, actor: Actor, org: Org, kind: PersonKind, data: Mapping[str, Any]
) -> Loaded:
    """A manual student or educator (R4: origin `manual`)."""
    require(actor, WRITE_ACTION[kind])
    values = entities.validate_input(kind, data, creating=True)
    if kind == "educator":
        _check_educator(actor, values, {})
    values["school_ids"] = _resolve_schools(
        session, actor=actor, org=org, refs=values.get("school_ids", []), before=[]
    )
    entities.require_schools(kind, values)
    values.setdefault("status", "active")
    _check_unique(session, org=org, values=values, self_id=None)
    person = Person(org_id=org.id, kind=kind, origin="manual")
    for name, value in values.items():
        if name != "school_ids":
            setattr(person, name, value)
    _derive(person)
    person.manual_mask = mask_of(kind, [n for n, v in values.items() if v not in (None, [])])
    session.add(person)
    flush_versioned(session, username=person.username)
    store.set_schools(session, person=person, school_ids=values["school_ids"])
    recorder = Recorder(session, actor=actor, org_id=org.id)
    snapshot = {k: ([str(s) for s in v] if k == "school_ids" else v) for k, v in values.items()}
    recorder.add(kind, person.id, "created", new=snapshot)
    recorder.flush()
    return Loaded(person, values["school_ids"])


@unless_moved
def update(
    session: Session,
    *,
    actor: Actor,
    org: Org,
    kind: PersonKind,
    person_id: str,
    data: Mapping[str, Any],
    if_match: int | None = None,
) -> tuple[Loaded, list[dict[str, str]]]:
    """A partial edit by hand; returns the person and the R11 warnings of the edit."""
    loaded = load(session, actor=actor, org=org, kind=kind, person_id=person_id)
    require(actor, WRITE_ACTION[kind])
    person = loaded.person
    if if_match is not None and if_match != person.version:
        raise VersionConflict(person.version)
    values = entities.validate_input(kind, data, creating=False)
    if "school_ids" in values:
        values["school_ids"] = _resolve_schools(
            session, actor=actor, org=org, refs=values["school_ids"], before=loaded.school_ids
        )
    current = _current(person, loaded.school_ids)
    if kind == "educator" and ({"role", "admin_scope"} & values.keys() or current["admin_scope"]):
        merged = {**current, **values}
        _check_educator(actor, merged, current)
        if merged.get("admin_scope") != current.get("admin_scope"):
            values["admin_scope"] = merged["admin_scope"]
    diff = entities.changed(current, values)
    entities.refuse_locked(kind, cast(Any, person.origin), diff)
    if not diff:
        return loaded, []
    entities.require_schools(kind, {**current, **{k: new for k, (_, new) in diff.items()}})
    _check_unique(session, org=org, values={k: n for k, (_, n) in diff.items()}, self_id=person.id)
    return _apply(session, actor=actor, org=org, loaded=loaded, diff=diff)


def _current(person: Person, school_ids: list[int]) -> dict[str, Any]:
    kind = cast(EntityKind, person.kind)
    return {
        f.name: (list(school_ids) if f.name == "school_ids" else getattr(person, f.name))
        for f in fields_of(kind)
    }


def _apply(
    session: Session,
    *,
    actor: Actor,
    org: Org,
    loaded: Loaded,
    diff: dict[str, tuple[Any, Any]],
) -> tuple[Loaded, list[dict[str, str]]]:
    person = loaded.person
    kind = cast(EntityKind, person.kind)
    school_ids = loaded.school_ids
    for name, (_, new) in diff.items():
        if name == "school_ids":
            school_ids = new
        else:
            setattr(person, name, new)
    _derive(person)
    # R11: a hand edit makes the value's source manual, until a sync overwrites it.
    person.manual_mask |= mask_of(kind, diff)
    person.updated_at = utcnow()
    flush_versioned(session, username=person.username)
    if "school_ids" in diff:
        store.set_schools(session, person=person, school_ids=school_ids)
    recorder = Recorder(session, actor=actor, org_id=org.id)
    warnings = []
    for name, (old, new) in diff.items():
        if name == "school_ids":
            recorder.add(
                kind,
                person.id,
                "updated",
                field=name,
                old=[str(s) for s in old],
                new=[str(s) for s in new],
            )
        else:
            recorder.add(kind, person.id, _action(name, new), field=name, old=old, new=new)
        field = field_of(kind, name)
        if field.is_shared and field.mask & person.sis_mask and person.origin == "sis":
            warnings.append({"field": name, "message": SIS_SENDS_WARNING})
    recorder.flush()
    return Loaded(person, list(school_ids)), warnings


def _action(field: str, new: Any) -> str:
    if field == "status":
        return "deactivated" if new == "inactive" else "reactivated"
    return "updated"


def deactivate(
    session: Session, *, actor: Actor, org: Org, kind: PersonKind, person_id: str
) -> None:
    """DELETE: a manual person is deactivated, never deleted; a synced one only by the sync."""
    loaded = load(session, actor=actor, org=org, kind=kind, person_id=person_id)
    require(actor, WRITE_ACTION[kind])
    if loaded.person.origin == "sis":
        raise EntitySynced(kind)
    if loaded.person.status == "inactive":
        return
    _apply(session, actor=actor, org=org, loaded=loaded, diff={"status": ("active", "inactive")})
