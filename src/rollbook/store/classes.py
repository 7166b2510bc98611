"""Queries on classes/groups, their memberships and their products."""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from sqlalchemy import Select, bindparam, delete, or_, select
from sqlalchemy.orm import Session

from rollbook.store.models import Class, ClassProduct, Membership, Person
from rollbook.store.paging import Page, page_of
from rollbook.store.people import (
    PERSON_COLUMNS,
    PersonRow,
    after_bound,
    after_values,
    person_rows,
    prefix_of,
)


def class_(session: Session, *, org_id: int, class_id: int) -> Class | None:
    found = session.get(Class, class_id)
    if found is None or found.org_id != org_id:
        return None
    return found


def classes_by_ids(session: Session, *, org_id: int, ids: Iterable[int]) -> dict[int, Class]:
    wanted = list(ids)
    if not wanted:
        return {}
    rows = session.scalars(select(Class).where(Class.org_id == org_id, Class.id.in_(wanted)))
    return {c.id: c for c in rows}


def list_classes(
    session: Session,
    *,
    org_id: int,
    within: frozenset[int] | None,
    q: str | None,
    school_id: int | None,
    origin: str | None,
    status: str,
    kind: str | None,
    limit: int,
    after: list[object] | None,
) -> Page[Class]:
    """One page of classes ordered by name, id; keyset-paginated."""
    query: Select[Class] = select(Class).where(Class.org_id == org_id)
    # Both statuses named for "all", so that the index on (org, status, name) still serves.
    query = query.where(Class.status.in_(("active", "inactive") if status == "all" else (status,)))
    if origin is not None:
        query = query.where(Class.origin == origin)
    if kind is not None:
        query = query.where(Class.kind == kind)
    if within is not None:
        query = query.where(Class.school_id.in_(within))
    if school_id is not None:
        query = query.where(Class.school_id == school_id)
    prefix = q.strip().casefold() if q else ""
    if prefix:
        query = query.where(*prefix_of(Class.name_key, prefix))
    return _page(session, query, limit, after)


def _page(
    session: Session, query: Select[Class], limit: int, after: list[object] | None
) -> Page[Class]:
    if after is not None:
        key, last_id = str(after[0]), int(str(after[1]))
        query = query.where(
            or_(Class.name_key > key, (Class.name_key == key) & (Class.id > last_id))
        )
    rows = list(session.scalars(query.order_by(Class.name_key, Class.id).limit(limit + 1)))
    return page_of(rows, limit, lambda c: [c.name_key, c.id])


def classes_for_person(
    session: Session,
    *,
    org_id: int,
    person_id: int,
    within: frozenset[int] | None,
    limit: int,
    after: list[object] | None,
) -> tuple[Page[Class], set[int]]:
    """R15: the person's active classes, whatever their origin, and the manual ones on offer."""
    member_of = select(Membership.class_id).where(Membership.person_id == person_id)
    query = select(Class).where(
        Class.org_id == org_id,
        Class.status == "active",
        or_(Class.id.in_(member_of), Class.origin == "manual"),
    )
    if within is not None:
        query = query.where(Class.school_id.in_(within))
    page = _page(session, query, limit, after)
    ids = [c.id for c in page.items]
    members = set(
        session.scalars(
            select(Membership.class_id).where(
                Membership.person_id == person_id, Membership.class_id.in_(ids)
            )
        )
    )
    return page, members


def membership(session: Session, *, class_id: int, person_id: int) -> Membership | None:
    return session.get(Membership, (class_id, person_id))


def add_membership(
    session: Session, *, org_id: int, class_id: int, person_id: int, role: str, source: str
) -> Membership:
    row = Membership(
        org_id=org_id, class_id=class_id, person_id=person_id, role=role, source=source
    )
    session.add(row)
    session.flush()
    return row


def remove_membership(session: Session, *, class_id: int, person_id: int) -> None:
    session.execute(
        delete(Membership).where(Membership.class_id == class_id, Membership.person_id == person_id)
    )


@lru_cache(maxsize=64)
def _members_statement(after: bool, limit: int) -> Select[Any]:
    """Built once per shape, its values bound by name (see store.people._page_statement)."""
    query = (
        select(*PERSON_COLUMNS)
        .join(Membership, Membership.person_id == Person.id)
        .where(
            Membership.class_id == bindparam("class_id"),
            Membership.role == bindparam("role"),
            Person.status == "active",
        )
    )
    if after:
        query = query.where(after_bound())
    return query.order_by(Person.sort_key, Person.id).limit(limit + 1)


def members(
    session: Session,
    *,
    class_id: int,
    role: str,
    limit: int,
    after: list[object] | None,
) -> Page[PersonRow]:
    """Active members of one role of a class, ordered like the people lists."""
    values = {"class_id": class_id, "role": role, **after_values(after)}
    rows = person_rows(session, _members_statement(after is not None, limit), values)
    return page_of(rows, limit, lambda p: [p.sort_key, p.id])


def products_of(session: Session, *, class_id: int) -> list[ClassProduct]:
    return list(
        session.scalars(
            select(ClassProduct)
            .where(ClassProduct.class_id == class_id)
            .order_by(ClassProduct.product)
        )
    )


def product_link(session: Session, *, class_id: int, product: str) -> ClassProduct | None:
    return session.get(ClassProduct, (class_id, product))


def add_product(
    session: Session, *, org_id: int, class_id: int, product: str, source: str
) -> ClassProduct:
    row = ClassProduct(org_id=org_id, class_id=class_id, product=product, source=source)
    session.add(row)
    session.flush()
    return row


def remove_product(session: Session, *, class_id: int, product: str) -> None:
    session.execute(
        delete(ClassProduct).where(
            ClassProduct.class_id == class_id, ClassProduct.product == product
        )
    )
