"""Schools from orgs.csv (R6): matched by external id, adopted, created; the district row
is the organization itself."""

from __future__ import annotations

from sqlalchemy import select

from rollbook.store.models import School
from rollbook.store.sync_tables import StageClass, StageOrg
from rollbook.sync.context import RunContext
from rollbook.sync.records import Issue
from rollbook.sync.writes import record_issue

SCHOOL_TYPES = frozenset({"school"})
DISTRICT_TYPES = frozenset({"district"})
# Read leniently: a department that classes name as their school is taken for a school.
SCHOOL_LIKE_TYPES = frozenset({"department"})


def apply_schools(ctx: RunContext) -> None:
    """Create or update the snapshot's schools and remember which SIS id is which school."""
    session = ctx.session
    staged = session.execute(
        select(StageOrg.sourced_id, StageOrg.name, StageOrg.type, StageOrg.line)
        .where(StageOrg.run_id == ctx.run_id)
        .order_by(StageOrg.line)
    ).all()
    used_as_school = set(
        session.scalars(
            select(StageClass.school_ref).where(StageClass.run_id == ctx.run_id).distinct()
        )
    )
    existing = {
        s.external_id: s
        for s in session.scalars(
            select(School).where(School.org_id == ctx.org.id, School.external_id.is_not(None))
        )
    }
    for sourced_id, name, org_type, line in staged:
        kind = org_type.casefold()
        if kind in DISTRICT_TYPES:
            ctx.district_refs.add(sourced_id)
            continue
        if kind in SCHOOL_LIKE_TYPES and sourced_id in used_as_school:
            message = (
                f"orgs.csv line {line}, column type: {name!r} is a {org_type} that classes use as "
                "their school (schoolSourcedId); it is imported as a school"
            )
            record_issue(
                ctx,
                Issue(
                    "orgs.csv", line, "type", "department_as_school", message, sourced_id, "warning"
                ),
            )
        elif kind not in SCHOOL_TYPES:
            continue
        school = existing.get(sourced_id)
        if school is None:
            school = School(org_id=ctx.org.id, external_id=sourced_id, name=name, origin="sis")
            session.add(school)
            session.flush()
            existing[sourced_id] = school
            ctx.counts["schools"]["created"] += 1
            ctx.log.add("school", school.id, "created", ref=sourced_id, new={"name": name})
        else:
            if school.origin != "sis":
                school.origin = "sis"
                ctx.counts["schools"]["adopted"] += 1
                ctx.log.add("school", school.id, "adopted", ref=sourced_id)
            if school.name != name:
                ctx.log.add(
                    "school",
                    school.id,
                    "updated",
                    ref=sourced_id,
                    field_name="name",
                    old=school.name,
                    new=name,
                )
                school.name = name
                ctx.counts["schools"]["updated"] += 1
            school.status = "active"
    session.flush()
    # Existing schools the snapshot does not list still resolve (a delta names few schools).
    ctx.schools = {ref: s.id for ref, s in existing.items() if ref is not None}
