"""References kept without foreign-key constraints (`store.models.refers_to`): the sync and the
rostering tools write none that dangle, and the check finds one that does."""

from __future__ import annotations

from sqlalchemy import func, insert, select

from rollbook.store.db import Database
from rollbook.store.integrity import dangling_references, references
from rollbook.store.models import Membership, Person
from tests.factories import Roster
from tests.integration.helpers import new_class, new_student
from tests.integration.syncing import Sis
from tests.oneroster import district


def test_the_unconstrained_references_are_the_relation_and_history_tables() -> None:
    tables = {table for table, *_ in references()}
    assert tables == {
        "memberships",
        "person_schools",
        "product_settings",
        "class_products",
        "changes",
    }
    assert ("memberships", "person_id", "people", "id") in references()


def test_a_sync_and_hand_edits_leave_no_reference_dangling(
    db: Database, roster: Roster, sis: Sis
) -> None:
    snap = district(students=4, teachers=2, classes=2)
    snap.product("c1", "ill")
    assert sis.run(snap).status == "applied"
    school = sis.school_id("s1")
    teacher = roster.teacher([school])
    student = new_student(teacher.api, school, username="by-hand-1")["id"]
    group = new_class(teacher.api, school, kind="group")["id"]
    teacher.api.ok("PUT", f"classes/{group}/students/{student}")
    teacher.api.ok("PUT", f"classes/{group}/products/ill")
    # The next day: a student gone (deactivated, R19), a membership and a product dropped.
    snap.remove_user("u1")
    snap.unenroll(class_id="c2")
    snap.remove_product("c1", "ill")
    sis.threshold(100)
    assert sis.run(snap).status == "applied"
    with db.session(write=False) as session:
        counts = dangling_references(session)
    assert set(counts) == {f"{t}.{c}" for t, c, _, _ in references()}
    assert not any(counts.values()), counts


def test_the_check_finds_a_membership_of_nobody(db: Database, roster: Roster, sis: Sis) -> None:
    assert sis.run(district(students=2, teachers=1, classes=1)).status == "applied"
    class_id = int(sis.class_id("c1"))
    with db.session(write=True) as session:
        nobody = (session.scalar(select(func.max(Person.id))) or 0) + 1_000_000
        session.execute(
            insert(Membership).values(
                class_id=class_id,
                person_id=nobody,
                org_id=roster.org.id,
                role="student",
                source="manual",
            )
        )
        counts = dangling_references(session)
        session.rollback()
    assert counts["memberships.person_id"] == 1
    assert sum(counts.values()) == 1, counts
