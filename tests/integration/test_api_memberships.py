"""Who is in which class (R15): synced classes are the SIS's; manual ones take anyone by hand."""

from __future__ import annotations

import pytest

from tests.factories import Roster
from tests.integration.helpers import (
    error_of,
    history,
    ids,
    new_class,
    new_educator,
    new_student,
    walk,
)

ROLES = [("students", "student"), ("educators", "educator")]


def _people(roster: Roster, school: str) -> dict[str, list[str]]:
    """A sis and a manual student and educator of one school."""
    api = roster.district_admin().api
    return {
        "students": [roster.sis_student(school_ids=[school]), new_student(api, school)["id"]],
        "educators": [roster.sis_educator(school_ids=[school]), new_educator(api, school)["id"]],
    }


@pytest.mark.parametrize(("plural", "kind"), ROLES)
def test_r15_adding_a_member_to_a_sis_class_is_class_synced(
    roster: Roster, plural: str, kind: str
) -> None:
    school = roster.school()
    teacher = roster.teacher([school])
    people = _people(roster, school)
    klass = roster.sis_class(school_id=school)
    for person in people[plural]:
        error_of(teacher.api.put(f"classes/{klass}/{plural}/{person}"), 409, "class_synced")
    assert teacher.api.ok("GET", f"classes/{klass}/{plural}")["items"] == []
    assert history(teacher.api, f"classes/{klass}") == []


@pytest.mark.parametrize(("plural", "kind"), ROLES)
def test_r15_removing_a_member_of_a_sis_class_is_class_synced(
    roster: Roster, plural: str, kind: str
) -> None:
    school = roster.school()
    teacher = roster.teacher([school])
    person = _people(roster, school)[plural][0]
    klass = roster.sis_class(school_id=school, members=[person])
    error_of(teacher.api.delete(f"classes/{klass}/{plural}/{person}"), 409, "class_synced")
    assert ids(teacher.api.ok("GET", f"classes/{klass}/{plural}")["items"]) == [person]


@pytest.mark.parametrize(("plural", "kind"), ROLES)
def test_r15_manual_group_takes_sis_and_manual_members(
    roster: Roster, plural: str, kind: str
) -> None:
    school = roster.school()
    teacher = roster.teacher([school])
    people = _people(roster, school)
    group = new_class(teacher.api, school, kind="group")["id"]
    for person in people[plural]:
        added = teacher.api.ok("PUT", f"classes/{group}/{plural}/{person}")
        assert added["id"] == person
    teacher.api.ok("PUT", f"classes/{group}/{plural}/{people[plural][0]}")
    members = teacher.api.ok("GET", f"classes/{group}/{plural}")["items"]
    assert sorted(ids(members)) == sorted(people[plural])
    assert {m["origin"] for m in members} == {"sis", "manual"}


@pytest.mark.parametrize(("plural", "kind"), ROLES)
def test_r15_removing_from_a_manual_group_is_idempotent(
    roster: Roster, plural: str, kind: str
) -> None:
    school = roster.school()
    teacher = roster.teacher([school])
    person = _people(roster, school)[plural][0]
    group = new_class(teacher.api, school)["id"]
    teacher.api.ok("PUT", f"classes/{group}/{plural}/{person}")
    teacher.api.ok("DELETE", f"classes/{group}/{plural}/{person}", 204)
    teacher.api.ok("DELETE", f"classes/{group}/{plural}/{person}", 204)
    assert teacher.api.ok("GET", f"classes/{group}/{plural}")["items"] == []
    actions = [c["action"] for c in history(teacher.api, f"classes/{group}")]
    assert actions == ["member_removed", "member_added", "created"]
    person_actions = [c["action"] for c in history(teacher.api, f"{plural}/{person}")]
    assert person_actions[:2] == ["removed_from_class", "added_to_class"]


def test_r15_student_classes_list_sis_ones_unselectable_and_manual_ones_selectable(
    roster: Roster,
) -> None:
    school = roster.school()
    teacher = roster.teacher([school])
    student = roster.sis_student(school_ids=[school])
    synced = roster.sis_class(school_id=school, members=[student], name="Synced")
    roster.sis_class(school_id=school, name="Other synced")
    joined = new_class(teacher.api, school, name="Joined")["id"]
    offered = new_class(teacher.api, school, name="Offered")["id"]
    teacher.api.ok("PUT", f"classes/{joined}/students/{student}")
    items = {c["id"]: c for c in teacher.api.ok("GET", f"students/{student}/classes")["items"]}
    assert set(items) == {synced, joined, offered}
    assert (items[synced]["member"], items[synced]["selectable"]) == (True, False)
    assert (items[joined]["member"], items[joined]["selectable"]) == (True, True)
    assert (items[offered]["member"], items[offered]["selectable"]) == (False, True)
    assert items[synced]["origin"] == "sis"
    assert set(items[joined]) >= {"id", "name", "kind", "origin", "member", "selectable"}


def test_r15_educator_classes_list_marks_membership(roster: Roster) -> None:
    school = roster.school()
    teacher = roster.teacher([school])
    synced = roster.sis_class(school_id=school, members=[teacher.person_id])
    group = new_class(teacher.api, school, kind="group")["id"]
    items = {
        c["id"]: c for c in teacher.api.ok("GET", f"educators/{teacher.person_id}/classes")["items"]
    }
    assert (items[synced]["member"], items[synced]["selectable"]) == (True, False)
    assert (items[group]["member"], items[group]["selectable"]) == (False, True)


def test_r15_person_classes_paginate(roster: Roster) -> None:
    school = roster.school()
    teacher = roster.teacher([school])
    student = new_student(teacher.api, school)["id"]
    made = [new_class(teacher.api, school)["id"] for _ in range(5)]
    walked = walk(teacher.api, f"students/{student}/classes", limit=2)
    assert sorted(ids(walked)) == sorted(made)


def test_members_list_paginates(roster: Roster) -> None:
    school = roster.school()
    teacher = roster.teacher([school])
    students = [roster.sis_student(school_ids=[school]) for _ in range(5)]
    klass = roster.sis_class(school_id=school, members=students)
    walked = walk(teacher.api, f"classes/{klass}/students", limit=2)
    assert sorted(ids(walked)) == sorted(students)


def test_inactive_student_or_class_cannot_be_joined(roster: Roster) -> None:
    school = roster.school()
    teacher = roster.teacher([school])
    student = new_student(teacher.api, school)["id"]
    group, closed = new_class(teacher.api, school)["id"], new_class(teacher.api, school)["id"]
    teacher.api.ok("DELETE", f"classes/{closed}", 204)
    error_of(teacher.api.put(f"classes/{closed}/students/{student}"), 422, "validation_error")
    teacher.api.ok("DELETE", f"students/{student}", 204)
    error_of(teacher.api.put(f"classes/{group}/students/{student}"), 422, "validation_error")
    assert teacher.api.ok("GET", f"classes/{group}/students")["items"] == []


def test_unknown_member_or_wrong_kind_is_not_found(roster: Roster) -> None:
    school = roster.school()
    teacher = roster.teacher([school])
    student = new_student(teacher.api, school)["id"]
    group = new_class(teacher.api, school)["id"]
    error_of(teacher.api.put(f"classes/{group}/educators/{student}"), 404, "not_found")
    error_of(teacher.api.put(f"classes/{group}/students/999999999"), 404, "not_found")
    error_of(teacher.api.put(f"classes/999999999/students/{student}"), 404, "not_found")
