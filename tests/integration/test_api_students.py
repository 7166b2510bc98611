"""Students through the real ASGI app, on SQLite and PostgreSQL."""

from __future__ import annotations

from tests.factories import Roster


def test_r4_manual_student_created_by_teacher_has_manual_origin(roster: Roster) -> None:
    school = roster.school()
    teacher = roster.teacher([school])
    body = teacher.api.ok(
        "POST",
        "students",
        201,
        json={"username": "Timothy.B", "first_name": "Timothy", "last_name": "Baker", "school_ids": [school]},
    )
    assert body["origin"] == "manual"
    assert body["status"] == "active"
    assert body["version"] == 1
    assert body["school_ids"] == [school]
    assert body["fields"]["first_name"] == {"class": "locked", "editable": True, "source": "manual", "sis_sends": False}
    listed = teacher.api.ok("GET", "students")
    assert [s["username"] for s in listed["items"]] == ["Timothy.B"]


def test_r11_locked_field_of_sis_student_is_refused(roster: Roster) -> None:
    school = roster.school()
    teacher = roster.teacher([school])
    student = roster.sis_student(first_name="Tim", school_ids=[school])
    response = teacher.api.patch(f"students/{student}", json={"first_name": "Timothy"})
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "field_locked"
    assert response.json()["error"]["field"] == "first_name"
    assert teacher.api.ok("GET", f"students/{student}")["first_name"] == "Tim"
