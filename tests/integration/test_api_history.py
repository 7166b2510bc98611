"""R23: every change by hand is recorded with its actor, field, old and new value."""

from __future__ import annotations

from tests.factories import Roster
from tests.integration.helpers import history, invalid, new_class, new_educator, new_student


def test_r23_creation_is_recorded_with_the_actor(roster: Roster) -> None:
    school = roster.school()
    teacher = roster.teacher([school], first_name="Ada", last_name="Byron")
    student = new_student(teacher.api, school, first_name="Tim", grade="2")["id"]
    [created] = history(teacher.api, f"students/{student}")
    assert created["actor"] == {"kind": "educator", "id": teacher.person_id, "name": "Ada Byron"}
    assert (created["action"], created["field"], created["old"]) == ("created", None, None)
    assert created["new"]["first_name"] == "Tim"
    assert created["new"]["grade"] == "02"
    assert created["new"]["school_ids"] == [school]
    assert created["run_id"] is None
    assert created["at"]


def test_r23_each_changed_field_is_recorded_with_old_and_new(roster: Roster) -> None:
    school = roster.school()
    teacher = roster.teacher([school])
    student = new_student(teacher.api, school, first_name="Tim", email="a@x.org")["id"]
    teacher.api.ok(
        "PATCH",
        f"students/{student}",
        json={"first_name": "Timothy", "email": "a@x.org", "middle_name": "J"},
    )
    changes = {c["field"]: c for c in history(teacher.api, f"students/{student}")[:2]}
    assert set(changes) == {"first_name", "middle_name"}
    assert (changes["first_name"]["old"], changes["first_name"]["new"]) == ("Tim", "Timothy")
    assert (changes["middle_name"]["old"], changes["middle_name"]["new"]) == (None, "J")
    assert {c["action"] for c in changes.values()} == {"updated"}


def test_r23_school_change_is_recorded_as_ids(roster: Roster) -> None:
    one, two = roster.school(), roster.school()
    admin = roster.district_admin()
    student = new_student(admin.api, one)["id"]
    admin.api.ok("PATCH", f"students/{student}", json={"school_ids": [one, two]})
    change = history(admin.api, f"students/{student}")[0]
    assert (change["field"], change["old"], change["new"]) == ("school_ids", [one], [one, two])


def test_r23_history_is_newest_first(roster: Roster) -> None:
    school = roster.school()
    teacher = roster.teacher([school])
    student = new_student(teacher.api, school)["id"]
    for note in ("one", "two", "three"):
        teacher.api.ok("PATCH", f"students/{student}", json={"notes": note})
    notes = [c["new"] for c in history(teacher.api, f"students/{student}")[:3]]
    assert notes == ["three", "two", "one"]


def test_r23_history_paginates_without_gaps_or_duplicates(roster: Roster) -> None:
    school = roster.school()
    teacher = roster.teacher([school])
    student = new_student(teacher.api, school)["id"]
    for n in range(6):
        teacher.api.ok("PATCH", f"students/{student}", json={"notes": str(n)})
    first = teacher.api.ok("GET", f"students/{student}/history", params={"limit": 4})
    assert len(first["items"]) == 4
    assert first["next_cursor"]
    walked = history(teacher.api, f"students/{student}", limit=2)
    assert [c["new"] for c in walked[:6]] == ["5", "4", "3", "2", "1", "0"]
    assert walked[-1]["action"] == "created"
    assert len(walked) == 7


def test_r23_bad_history_cursor_is_a_validation_error(roster: Roster) -> None:
    school = roster.school()
    teacher = roster.teacher([school])
    student = new_student(teacher.api, school)["id"]
    response = teacher.api.get(f"students/{student}/history", params={"cursor": "not-a-cursor"})
    invalid(response, "cursor")


def test_r23_educator_and_class_histories_are_recorded(roster: Roster) -> None:
    school = roster.school()
    admin = roster.school_admin([school], first_name="Sam", last_name="Park")
    educator = new_educator(admin.api, school)["id"]
    klass = new_class(admin.api, school, name="Chess")["id"]
    admin.api.ok("PATCH", f"educators/{educator}", json={"email": "e@x.org"})
    admin.api.ok("PATCH", f"classes/{klass}", json={"name": "Chess Club"})
    edit = history(admin.api, f"educators/{educator}")[0]
    assert (edit["field"], edit["new"], edit["actor"]["name"]) == ("email", "e@x.org", "Sam Park")
    renamed = history(admin.api, f"classes/{klass}")[0]
    assert (renamed["field"], renamed["old"], renamed["new"]) == ("name", "Chess", "Chess Club")


def test_r23_membership_is_recorded_on_class_and_person(roster: Roster) -> None:
    school = roster.school()
    teacher = roster.teacher([school])
    student = new_student(teacher.api, school, first_name="Mo", last_name="Diaz")["id"]
    group = new_class(teacher.api, school, name="Robotics")["id"]
    teacher.api.ok("PUT", f"classes/{group}/students/{student}")
    on_class = history(teacher.api, f"classes/{group}")[0]
    assert (on_class["action"], on_class["field"]) == ("member_added", "students")
    assert on_class["new"] == {"id": student, "name": "Mo Diaz"}
    on_student = history(teacher.api, f"students/{student}")[0]
    assert on_student["new"] == {"id": group, "name": "Robotics"}


def test_r23_an_edit_that_changes_nothing_records_nothing(roster: Roster) -> None:
    school = roster.school()
    teacher = roster.teacher([school])
    student = new_student(teacher.api, school, first_name="Tim")
    same = teacher.api.ok("PATCH", f"students/{student['id']}", json={"first_name": " Tim "})
    assert same["version"] == student["version"]
    assert len(history(teacher.api, f"students/{student['id']}")) == 1
