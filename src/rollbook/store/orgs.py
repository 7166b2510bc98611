"""Queries on organizations and schools."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import bindparam, func, or_, select
from sqlalchemy.orm import Session

from rollbook.domain.values import is_digits
from rollbook.store.models import Org, School

# Built once: every request of an organization's address looks it up (bench.requests).
_BY_SLUG = select(Org).where(Org.slug == bindparam("slug"))


def org_by_slug(session: Session, slug: str) -> Org | None:
    return session.scalars(_BY_SLUG, {"slug": slug}).one_or_none()


def org_by_id(session: Session, org_id: int) -> Org | None:
    return session.get(Org, org_id)


def list_orgs(session: Session) -> list[Org]:
    return list(session.scalars(select(Org).order_by(Org.slug)))


def add_org(session: Session, *, slug: str, name: str, threshold_percent: int) -> Org:
    org = Org(slug=slug, name=name, threshold_percent=threshold_percent)
    session.add(org)
    session.flush()
    return org


def list_schools(session: Session, *, org_id: int, within: frozenset[int] | None) -> list[School]:
    query = (
        select(School).where(School.org_id == org_id).order_by(func.lower(School.name), School.id)
    )
    if within is not None:
        query = query.where(School.id.in_(within))
    return list(session.scalars(query))


def schools_by_ids(session: Session, *, org_id: int, ids: Iterable[int]) -> dict[int, School]:
    wanted = list(set(ids))
    if not wanted:
        return {}
    rows = session.scalars(select(School).where(School.org_id == org_id, School.id.in_(wanted)))
    return {s.id: s for s in rows}


def resolve_school_refs(session: Session, *, org_id: int, refs: Iterable[str]) -> dict[str, int]:
    """Map each reference (rollbook id or external id) to a school id; unknown ones are absent."""
    refs = list(refs)
    if not refs:
        return {}
    numeric = [int(r) for r in refs if is_digits(r) and len(r) < 19]
    rows = session.execute(
        select(School.id, School.external_id).where(
            School.org_id == org_id,
            or_(School.id.in_(numeric), School.external_id.in_(refs)),
        )
    ).all()
    by_id = {str(row.id): row.id for row in rows}
    by_external = {row.external_id: row.id for row in rows if row.external_id is not None}
    found: dict[str, int] = {}
    for ref in refs:
        school_id = by_id.get(ref, by_external.get(ref))
        if school_id is not None:
            found[ref] = school_id
    return found


def school_by_external_id(session: Session, *, org_id: int, external_id: str) -> School | None:
    return session.scalars(
        select(School).where(School.org_id == org_id, School.external_id == external_id)
    ).one_or_none()


def add_school(session: Session, *, org_id: int, name: str, external_id: str | None) -> School:
    school = School(org_id=org_id, name=name, external_id=external_id, origin="manual")
    session.add(school)
    session.flush()
    return school
