"""Educators through the real ASGI app: only administrators write them (R1)."""

from __future__ import annotations

import pytest

from tests.factories import Roster
from tests.integration.helpers import (
    educator_body,
    error_of,
    history,
    invalid,
    new_educator,
    new_student,
    snapshot,
    usernames,
)


def test_r1_school_admin_creates_a_manual_teacher(roster: Roster) -> None:
    school = roster.school()
    admin = roster.school_admin([school])
    body = new_educator(admin.api, school, username="new.teacher")
    assert (body["origin"], body["role"], body["admin_scope"]) == ("manual", "teacher", None)
    listed = usernames(admin.api.ok("GET", "educators", params={"q": "new."})["items"])
    assert listed == ["new.teacher"]


def test_r1_district_admin_creates_district_admin_without_school(roster: Roster) -> None:
    admin = roster.district_admin()
    body = new_educator(admin.api, None, role="administrator", admin_scope="district")
    assert (body["admin_scope"], body["school_ids"]) == ("district", [])


def test_r1_administrator_without_scope_is_a_school_administrator(roster: Roster) -> None:
    school = roster.school()
    admin = roster.school_admin([school])
    assert new_educator(admin.api, school, role="administrator")["admin_scope"] == "school"


def test_r1_school_admin_may_not_make_a_district_admin(roster: Roster) -> None:
    school = roster.school()
    admin = roster.school_admin([school])
    body = educator_body(school, role="administrator", admin_scope="district")
    error_of(admin.api.post("educators", json=body), 403, "forbidden")
    assert len(admin.api.ok("GET", "educators")["items"]) == 1


def test_r1_teacher_may_not_create_an_educator(roster: Roster) -> None:
    school = roster.school()
    teacher = roster.teacher([school])
    error_of(teacher.api.post("educators", json=educator_body(school)), 403, "forbidden")
    assert len(teacher.api.ok("GET", "educators")["items"]) == 1


def test_r1_teacher_may_not_edit_or_deactivate_an_educator(roster: Roster) -> None:
    school = roster.school()
    teacher = roster.teacher([school])
    colleague = new_educator(roster.school_admin([school]).api, school)["id"]
    before = snapshot(teacher.api, f"educators/{colleague}")
    error_of(teacher.api.patch(f"educators/{colleague}", json={"notes": "x"}), 403, "forbidden")
    error_of(teacher.api.delete(f"educators/{colleague}"), 403, "forbidden")
    assert snapshot(teacher.api, f"educators/{colleague}") == before


def test_r1_teacher_may_not_edit_even_themselves(roster: Roster) -> None:
    teacher = roster.teacher()
    response = teacher.api.patch(f"educators/{teacher.person_id}", json={"middle_name": "Q"})
    error_of(response, 403, "forbidden")


def test_r1_api_key_reads_educators_but_may_not_write(roster: Roster) -> None:
    school = roster.school()
    roster.teacher([school])
    key = roster.api_key()
    assert len(key.ok("GET", "educators")["items"]) == 1
    error_of(key.post("educators", json=educator_body(school)), 403, "forbidden")


def test_r1_admin_edits_a_manual_educators_locked_fields(roster: Roster) -> None:
    school = roster.school()
    admin = roster.school_admin([school])
    educator = new_educator(admin.api, school)["id"]
    edited = admin.api.ok(
        "PATCH", f"educators/{educator}", json={"role": "administrator", "last_name": "Ng"}
    )
    assert (edited["role"], edited["admin_scope"], edited["last_name"]) == (
        "administrator",
        "school",
        "Ng",
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("role", "administrator"),
        ("username", "renamed"),
        ("first_name", "X"),
        ("status", "inactive"),
    ],
)
def test_r11_locked_field_of_sis_educator_is_refused(
    roster: Roster, field: str, value: str
) -> None:
    school = roster.school()
    admin = roster.district_admin()
    educator = roster.sis_educator(school_ids=[school])
    before = snapshot(admin.api, f"educators/{educator}")
    response = admin.api.patch(f"educators/{educator}", json={field: value})
    assert error_of(response, 409, "field_locked")["field"] == field
    assert snapshot(admin.api, f"educators/{educator}") == before


def test_r11_shared_field_of_sis_educator_is_editable_with_warning(roster: Roster) -> None:
    school = roster.school()
    admin = roster.district_admin()
    educator = roster.sis_educator(school_ids=[school], email="t@sis.org")
    edited = admin.api.ok("PATCH", f"educators/{educator}", json={"email": "t@home.org"})
    assert edited["email"] == "t@home.org"
    assert [w["field"] for w in edited["warnings"]] == ["email"]
    assert edited["fields"]["email"]["source"] == "manual"
    assert edited["fields"]["role"] == {
        "class": "locked",
        "editable": False,
        "source": "sis",
        "sis_sends": True,
    }


def test_r10_educator_may_not_take_a_students_username(roster: Roster) -> None:
    school = roster.school()
    admin = roster.school_admin([school])
    new_student(admin.api, school, username="kid.one")
    response = admin.api.post("educators", json=educator_body(school, username=" KID.ONE"))
    error_of(response, 409, "username_taken")
    assert "kid.one" not in usernames(admin.api.ok("GET", "educators")["items"])


def test_r10_educator_renamed_onto_a_students_username_is_refused(roster: Roster) -> None:
    school = roster.school()
    admin = roster.school_admin([school])
    new_student(admin.api, school, username="kid.two")
    educator = new_educator(admin.api, school)["id"]
    before = snapshot(admin.api, f"educators/{educator}")
    error_of(
        admin.api.patch(f"educators/{educator}", json={"username": "Kid.Two"}),
        409,
        "username_taken",
    )
    assert snapshot(admin.api, f"educators/{educator}") == before


def test_teacher_needs_a_school(roster: Roster) -> None:
    admin = roster.district_admin()
    invalid(admin.api.post("educators", json=educator_body(None)), "school_ids")


def test_only_administrators_have_a_scope(roster: Roster) -> None:
    school = roster.school()
    admin = roster.district_admin()
    response = admin.api.post("educators", json=educator_body(school, admin_scope="school"))
    invalid(response, "admin_scope")


def test_deactivate_and_reactivate_manual_educator(roster: Roster) -> None:
    school = roster.school()
    admin = roster.school_admin([school])
    educator = new_educator(admin.api, school)["id"]
    admin.api.ok("DELETE", f"educators/{educator}", 204)
    assert educator not in {e["id"] for e in admin.api.ok("GET", "educators")["items"]}
    assert admin.api.ok("GET", f"educators/{educator}")["status"] == "inactive"
    admin.api.ok("PATCH", f"educators/{educator}", json={"status": "active"})
    assert educator in {e["id"] for e in admin.api.ok("GET", "educators")["items"]}
    actions = [c["action"] for c in history(admin.api, f"educators/{educator}")]
    assert actions == ["reactivated", "deactivated", "created"]


def test_deleting_a_sis_educator_is_refused_as_entity_synced(roster: Roster) -> None:
    school = roster.school()
    admin = roster.school_admin([school])
    educator = roster.sis_educator(school_ids=[school])
    error_of(admin.api.delete(f"educators/{educator}"), 409, "entity_synced")
    assert admin.api.ok("GET", f"educators/{educator}")["status"] == "active"


def test_r4_educator_list_shows_origin(roster: Roster) -> None:
    school = roster.school()
    admin = roster.school_admin([school])
    sis = roster.sis_educator(school_ids=[school])
    origins = {e["id"]: e["origin"] for e in admin.api.ok("GET", "educators")["items"]}
    assert origins == {admin.person_id: "manual", sis: "sis"}


def test_r1_a_teacher_hears_forbidden_before_what_is_wrong_with_the_body(roster: Roster) -> None:
    teacher = roster.teacher()
    response = teacher.api.post("educators", json={"username": 3, "bogus": True})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
