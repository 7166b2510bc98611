"""Classes and groups through the real ASGI app (R1, R4, R13)."""

from __future__ import annotations

import pytest

from tests.factories import Roster
from tests.integration.helpers import (
    class_body,
    error_of,
    history,
    ids,
    invalid,
    new_class,
    snapshot,
    walk,
)

DETAILS = {
    "status",
    "kind",
    "name",
    "external_id",
    "alt_external_id",
    "school_id",
    "grades",
    "subjects",
    "periods",
}


def test_r1_teacher_creates_a_manual_group(roster: Roster) -> None:
    school = roster.school()
    teacher = roster.teacher([school])
    body = new_class(
        teacher.api, school, kind="group", name="ELL Tuesdays", grades=["3", "kg", "3"]
    )
    assert (body["origin"], body["kind"], body["status"]) == ("manual", "group", "active")
    assert (body["school_id"], body["grades"], body["subjects"]) == (school, ["03", "KG"], [])
    assert body["fields"]["name"] == {
        "class": "locked",
        "editable": True,
        "source": "manual",
        "sis_sends": False,
    }


def test_r1_teacher_edits_every_detail_of_a_manual_class(roster: Roster) -> None:
    school, second = roster.school(), roster.school()
    teacher = roster.teacher([school, second])
    klass = new_class(teacher.api, school)["id"]
    change = {
        "name": "Summer Reading",
        "kind": "group",
        "school_id": second,
        "grades": ["05"],
        "subjects": ["Reading"],
        "periods": ["2"],
        "alt_external_id": "SUM-1",
    }
    edited = teacher.api.ok("PATCH", f"classes/{klass}", json=change)
    assert {k: edited[k] for k in change} == change
    assert edited["warnings"] == []
    assert {c["field"] for c in history(teacher.api, f"classes/{klass}")} >= set(change)


def test_r1_api_key_may_read_classes_but_not_create_them(roster: Roster) -> None:
    school = roster.school()
    sis = roster.sis_class(school_id=school)
    key = roster.api_key()
    assert ids(key.ok("GET", "classes")["items"]) == [sis]
    error_of(key.post("classes", json=class_body(school)), 403, "forbidden")


def test_r4_class_list_shows_origin(roster: Roster) -> None:
    school = roster.school()
    teacher = roster.teacher([school])
    sis = roster.sis_class(school_id=school)
    manual = new_class(teacher.api, school)["id"]
    origins = {c["id"]: c["origin"] for c in teacher.api.ok("GET", "classes")["items"]}
    assert origins == {sis: "sis", manual: "manual"}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", "Renamed"),
        ("kind", "group"),
        ("external_id", "OTHER"),
        ("alt_external_id", "CODE-9"),
        ("school_id", "second"),
        ("grades", ["07"]),
        ("subjects", ["Art"]),
        ("periods", ["1"]),
        ("status", "inactive"),
    ],
)
def test_r13_every_detail_of_a_sis_class_is_locked(
    roster: Roster, field: str, value: object
) -> None:
    school, second = roster.school(), roster.school()
    admin = roster.district_admin()
    klass = roster.sis_class(school_id=school, grades=["06"], subjects=["Math"])
    before = snapshot(admin.api, f"classes/{klass}")
    new = second if value == "second" else value
    response = admin.api.patch(f"classes/{klass}", json={field: new, "notes": "x"})
    assert error_of(response, 409, "field_locked")["field"] == field
    assert snapshot(admin.api, f"classes/{klass}") == before


def test_r13_notes_of_a_sis_class_are_editable(roster: Roster) -> None:
    school = roster.school()
    teacher = roster.teacher([school])
    klass = roster.sis_class(school_id=school)
    edited = teacher.api.ok("PATCH", f"classes/{klass}", json={"notes": "room 12"})
    assert (edited["notes"], edited["version"]) == ("room 12", 2)
    assert edited["fields"]["notes"] == {
        "class": "manual",
        "editable": True,
        "source": "manual",
        "sis_sends": False,
    }


def test_r13_fields_block_of_a_sis_class(roster: Roster) -> None:
    school = roster.school()
    teacher = roster.teacher([school])
    klass = roster.sis_class(school_id=school, subjects=["Math"])
    fields = teacher.api.ok("GET", f"classes/{klass}")["fields"]
    assert {n for n, f in fields.items() if f["class"] == "locked"} == DETAILS
    assert not any(fields[n]["editable"] for n in DETAILS)
    assert fields["subjects"] == {
        "class": "locked",
        "editable": False,
        "source": "sis",
        "sis_sends": True,
    }
    assert fields["periods"]["source"] is None
    assert fields["notes"]["class"] == "manual"


def test_r13_details_sent_back_unchanged_are_not_a_change(roster: Roster) -> None:
    school = roster.school()
    teacher = roster.teacher([school])
    klass = roster.sis_class(school_id=school, grades=["06", "07"])
    whole = teacher.api.ok("GET", f"classes/{klass}")
    body = {k: whole[k] for k in DETAILS} | {"grades": ["07", "06"]}
    edited = teacher.api.ok("PATCH", f"classes/{klass}", json=body)
    assert edited["version"] == whole["version"]
    assert history(teacher.api, f"classes/{klass}") == []


def test_deactivate_and_reactivate_a_manual_class(roster: Roster) -> None:
    school = roster.school()
    teacher = roster.teacher([school])
    klass = new_class(teacher.api, school)["id"]
    teacher.api.ok("DELETE", f"classes/{klass}", 204)
    teacher.api.ok("DELETE", f"classes/{klass}", 204)
    assert teacher.api.ok("GET", "classes")["items"] == []
    assert teacher.api.ok("GET", f"classes/{klass}")["status"] == "inactive"
    teacher.api.ok("PATCH", f"classes/{klass}", json={"status": "active"})
    assert ids(teacher.api.ok("GET", "classes")["items"]) == [klass]
    actions = [c["action"] for c in history(teacher.api, f"classes/{klass}")]
    assert actions == ["reactivated", "deactivated", "created"]


def test_deleting_a_sis_class_is_refused_as_entity_synced(roster: Roster) -> None:
    school = roster.school()
    teacher = roster.teacher([school])
    klass = roster.sis_class(school_id=school)
    error_of(teacher.api.delete(f"classes/{klass}"), 409, "entity_synced")
    assert teacher.api.ok("GET", f"classes/{klass}")["status"] == "active"


def test_class_list_filters(roster: Roster) -> None:
    one, two = roster.school(), roster.school(external_id="EAST")
    admin = roster.district_admin()
    algebra = new_class(admin.api, one, name="Algebra I")["id"]
    art = new_class(admin.api, two, name="art club", kind="group")["id"]
    sis = roster.sis_class(school_id=two, name="Algebra II")
    admin.api.ok("DELETE", f"classes/{art}", 204)

    def found(**params: str) -> set[str]:
        return set(ids(admin.api.ok("GET", "classes", params=params)["items"]))

    assert found() == {algebra, sis}
    assert found(q="alg") == {algebra, sis}
    assert found(q="ART", status="all") == {art}
    assert found(school_id="EAST", status="all") == {art, sis}
    assert found(origin="manual", status="all") == {algebra, art}
    assert found(kind="group", status="inactive") == {art}


@pytest.mark.parametrize(
    ("param", "value"), [("kind", "course"), ("status", "x"), ("cursor", "@@")]
)
def test_class_list_with_a_bad_filter_is_a_validation_error(
    roster: Roster, param: str, value: str
) -> None:
    invalid(roster.teacher().api.get("classes", params={param: value}), param)


def test_pagination_walks_every_class_once(roster: Roster) -> None:
    school = roster.school()
    teacher = roster.teacher([school])
    made = [new_class(teacher.api, school, name="Same")["id"] for _ in range(3)]
    made += [roster.sis_class(school_id=school, name=n) for n in ("Zed", "alpha")]
    walked = walk(teacher.api, "classes", limit=2)
    assert sorted(ids(walked)) == sorted(made)
    assert len(walked) == len(set(ids(walked)))
    assert walked[0]["name"] == "alpha"


def test_class_needs_a_name_and_a_known_school(roster: Roster) -> None:
    school = roster.school()
    teacher = roster.teacher([school])
    invalid(teacher.api.post("classes", json=class_body(school, name="  ")), "name")
    invalid(teacher.api.post("classes", json=class_body("no-such-school")), "school_id")
    invalid(teacher.api.post("classes", json=class_body(school, grades=["3rd"])), "grades")
    assert teacher.api.ok("GET", "classes", params={"status": "all"})["items"] == []
