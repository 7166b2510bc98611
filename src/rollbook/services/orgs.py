"""Organizations and schools."""

from __future__ import annotations

import re
from collections.abc import Iterable

from sqlalchemy.orm import Session

from rollbook.domain.errors import NotFound, Problem, ValidationFailed
from rollbook.domain.permissions import Actor, require, require_org
from rollbook.domain.values import ValueProblem, normalize
from rollbook.services.history import Recorder
from rollbook.store import orgs as store
from rollbook.store.models import Org, School

# Who the command line and the demo set-up are in the change log.
SETUP = Actor("operator", "setup", "command line or set-up", None, role="operator")
SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,61}[a-z0-9]$")
DEFAULT_THRESHOLD_PERCENT = 10


def reached(actor: Actor, org: Org | None) -> Org:
    """The organization named in the address, read by its slug (None: there is none), if
    the actor may see it at all (R2: else 404)."""
    if org is None:
        raise NotFound("no such organization")
    require_org(actor, org.id)
    return org


def home_of(session: Session, *, actor: Actor) -> Org | None:
    """The organization an educator belongs to (the pages start there)."""
    return store.org_by_id(session, actor.org_id) if actor.org_id is not None else None


def find(session: Session, *, slug: str) -> Org:
    """An organization by slug, for the command line."""
    org = store.org_by_slug(session, slug)
    if org is None:
        raise NotFound(f"no organization {slug!r}: create it with `rollbook org create`")
    return org


def check_threshold(percent: int) -> int:
    if not 0 <= percent <= 100:
        raise ValidationFailed.one("threshold_percent", "must be between 0 and 100")
    return percent


def create_org(
    session: Session, *, actor: Actor | None, slug: str, name: str, threshold_percent: int | None
) -> Org:
    """R3: an operator creates an organization (the command line acts as an operator)."""
    if actor is not None:
        require(actor, "orgs.manage")
    problems: list[tuple[str, str]] = []
    if not SLUG.match(slug):
        problems.append(("slug", "lowercase letters, digits and hyphens, 2 to 63 characters"))
    try:
        clean_name = normalize("name", name)
    except ValueProblem as problem:
        problems.append(("name", str(problem)))
    if problems:
        raise _many(problems)
    if store.org_by_slug(session, slug) is not None:
        raise ValidationFailed.one("slug", f"an organization {slug!r} exists already")
    threshold = check_threshold(
        DEFAULT_THRESHOLD_PERCENT if threshold_percent is None else threshold_percent
    )
    return store.add_org(session, slug=slug, name=clean_name, threshold_percent=threshold)


def _many(problems: list[tuple[str, str]]) -> ValidationFailed:
    return ValidationFailed([Problem(f, m) for f, m in problems])


def list_orgs(session: Session, *, actor: Actor) -> list[Org]:
    require(actor, "orgs.manage")
    return store.list_orgs(session)


def set_threshold(session: Session, *, org: Org, percent: int) -> Org:
    """The organization's R20 safety threshold."""
    org.threshold_percent = check_threshold(percent)
    session.flush()
    return org


def list_schools(session: Session, *, actor: Actor, org: Org) -> list[School]:
    """Schools of the organization; educators see their own (R2)."""
    require(actor, "schools.read")
    return store.list_schools(session, org_id=org.id, within=actor.school_ids)


def schools_in_reach(
    session: Session, *, actor: Actor, org: Org, ids: Iterable[int]
) -> dict[int, School]:
    """The schools among `ids` the actor sees (R2), by id; the others are absent."""
    require(actor, "schools.read")
    wanted = set(ids) if actor.school_ids is None else set(ids) & actor.school_ids
    return store.schools_by_ids(session, org_id=org.id, ids=wanted)


def create_school(
    session: Session, *, actor: Actor | None, org: Org, name: str, external_id: str | None
) -> School:
    """A school by hand (district administrators and operators; the command line)."""
    if actor is not None:
        require(actor, "schools.write")
    problems: list[tuple[str, str]] = []
    try:
        clean_name = normalize("name", name)
    except ValueProblem as problem:
        problems.append(("name", str(problem)))
    try:
        clean_external = normalize("identifier", external_id)
    except ValueProblem as problem:
        problems.append(("external_id", str(problem)))
    if problems:
        raise _many(problems)
    if clean_external and store.school_by_external_id(
        session, org_id=org.id, external_id=clean_external
    ):
        raise ValidationFailed.one(
            "external_id", f"a school with external id {clean_external!r} exists"
        )
    school = store.add_school(session, org_id=org.id, name=clean_name, external_id=clean_external)
    # R23: a school made by hand is a change too (and it can change what a sync resolves).
    recorder = Recorder(session, actor=actor or SETUP, org_id=org.id)
    recorder.add(
        "school", school.id, "created", new={"name": clean_name, "external_id": clean_external}
    )
    recorder.flush()
    return school


def school_view(school: School) -> dict[str, str | None]:
    return {"id": str(school.id), "external_id": school.external_id, "name": school.name}
