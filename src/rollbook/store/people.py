"""Queries on people: students and educators."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import ColumnElement, delete, insert, or_, select, union
from sqlalchemy.orm import InstrumentedAttribute, Session

from rollbook.store.models import Person, PersonSchool
from rollbook.store.paging import Page, page_of


def person(session: Session, *, org_id: int, kind: str, person_id: int) -> Person | None:
    found = session.get(Person, person_id)
    if found is None or found.org_id != org_id or found.kind != kind:
        return None
    return found


def people_by_ids(session: Session, *, org_id: int, ids: Iterable[int]) -> dict[int, Person]:
    wanted = list(set(ids))
    if not wanted:
        return {}
    rows = session.scalars(select(Person).where(Person.org_id == org_id, Person.id.in_(wanted)))
    return {p.id: p for p in rows}


def holder_of_username(session: Session, *, org_id: int, username_key: str) -> Person | None:
    return session.scalars(
        select(Person).where(Person.org_id == org_id, Person.username_key == username_key)
    ).one_or_none()


def holders_of_identifier(
    session: Session, *, org_id: int, column: str, value: str, except_id: int | None
) -> list[int]:
    """People of the organization whose external or alt external id is `value`."""
    attribute = getattr(Person, column)
    query = select(Person.id).where(Person.org_id == org_id, attribute == value)
    if except_id is not None:
        query = query.where(Person.id != except_id)
    return list(session.scalars(query))


def school_ids_of(session: Session, person_ids: Iterable[int]) -> dict[int, list[int]]:
    ids = list(set(person_ids))
    found: dict[int, list[int]] = defaultdict(list)
    if not ids:
        return found
    rows = session.execute(
        select(PersonSchool.person_id, PersonSchool.school_id)
        .where(PersonSchool.person_id.in_(ids))
        .order_by(PersonSchool.school_id)
    )
    for person_id, school_id in rows:
        found[person_id].append(school_id)
    return found


def set_schools(session: Session, *, person: Person, school_ids: Iterable[int]) -> None:
    session.execute(delete(PersonSchool).where(PersonSchool.person_id == person.id))
    rows = [
        {"person_id": person.id, "school_id": sid, "org_id": person.org_id}
        for sid in sorted(set(school_ids))
    ]
    if rows:
        session.execute(insert(PersonSchool), rows)


def in_schools(school_ids: Iterable[int]) -> object:
    """A condition: the person belongs to one of these schools."""
    return Person.id.in_(
        select(PersonSchool.person_id).where(PersonSchool.school_id.in_(list(school_ids)))
    )


def like_prefix(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"


def prefix_of(column: InstrumentedAttribute[str], prefix: str) -> list[ColumnElement[bool]]:
    """Conditions: `column` starts with `prefix`, as a range an index can serve (the keys are
    compared byte by byte: SQLite's BINARY, PostgreSQL's "C" collation of the key columns),
    and the exact test beside it."""
    exact = column.like(like_prefix(prefix), escape="\\")
    following = ord(prefix[-1]) + 1
    if following == 0xD800:  # surrogates are not text: the next character is U+E000
        following = 0xE000
    if following > 0x10FFFF:
        return [exact]
    return [column >= prefix, column < prefix[:-1] + chr(following), exact]


def list_people(
    session: Session,
    *,
    org_id: int,
    kind: str,
    within: frozenset[int] | None,
    q: str | None,
    school_id: int | None,
    origin: str | None,
    status: str,
    limit: int,
    after: list[object] | None,
) -> Page[Person]:
    """One page of people ordered by last name, first name, id; keyset-paginated.

    A search (`q`, a prefix of the last name, the first name or the username) is three
    index range scans, one per key, each cut to the page, merged and cut again: one scan in
    name order that tests each row against the prefix reads the whole organization when the
    prefix is rare (a million people: seconds)."""
    conditions = [
        Person.org_id == org_id,
        Person.kind == kind,
        Person.status.in_(("active", "inactive") if status == "all" else (status,)),
    ]
    if origin is not None:
        conditions.append(Person.origin == origin)
    if within is not None:
        conditions.append(in_schools(within))  # type: ignore[arg-type]
    if school_id is not None:
        conditions.append(in_schools([school_id]))  # type: ignore[arg-type]
    if after is not None:
        key, last_id = str(after[0]), int(str(after[1]))
        conditions.append(
            or_(Person.sort_key > key, (Person.sort_key == key) & (Person.id > last_id))
        )
    order = (Person.sort_key, Person.id)
    prefix = q.strip().casefold() if q else ""
    if prefix:
        arms = [
            select(Person.id)
            .where(*conditions, *prefix_of(column, prefix))
            .order_by(*order)
            .limit(limit + 1)
            .subquery()
            for column in (Person.sort_key, Person.first_key, Person.username_key)
        ]
        found = union(*(select(arm.c.id) for arm in arms)).subquery()
        query = select(Person).where(Person.id.in_(select(found.c.id)))
    else:
        query = select(Person).where(*conditions)
    rows = list(session.scalars(query.order_by(*order).limit(limit + 1)))
    return page_of(rows, limit, lambda p: [p.sort_key, p.id])
