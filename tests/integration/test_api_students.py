"""Students through the real ASGI app, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest

from rollbook.store import people as store_people
from tests.factories import Roster
from tests.integration.helpers import (
    error_of,
    history,
    invalid,
    new_student,
    snapshot,
    student_body,
    usernames,
    walk,
)

LOCKED = {"status", "username", "external_id", "first_name", "last_name", "school_ids"}
SHARED = {"alt_external_id", "middle_name", "preferred_first_name", "grade", "email"}


def test_r4_manual_student_created_by_teacher_has_manual_origin(roster: Roster) -> None:
    school = roster.school()
    teacher = roster.teacher([school])
    body = teacher.api.ok(
        "POST",
        "students",
        201,
        json={
            "username": "Timothy.B",
            "first_name": "Timothy",
            "last_name": "Baker",
            "school_ids": [school],
        },
    )
    assert body["origin"] == "manual"
    assert body["status"] == "active"
    assert body["version"] == 1
    assert body["school_ids"] == [school]
    assert body["fields"]["first_name"] == {
        "class": "locked",
        "editable": True,
        "source": "manual",
        "sis_sends": False,
    }
    listed = teacher.api.ok("GET", "students")
    assert [s["username"] for s in listed["items"]] == ["Timothy.B"]


def test_r4_list_shows_origin_of_sis_and_manual_students(roster: Roster) -> None:
    school = roster.school()
    teacher = roster.teacher([school])
    sis = roster.sis_student(school_ids=[school])
    manual = new_student(teacher.api, school)["id"]
    origins = {s["id"]: s["origin"] for s in teacher.api.ok("GET", "students")["items"]}
    assert origins == {sis: "sis", manual: "manual"}
    assert teacher.api.ok("GET", f"students/{sis}")["origin"] == "sis"


def test_r1_teacher_creates_and_edits_student_with_every_field(roster: Roster) -> None:
    school = roster.school(external_id="SCH-1")
    teacher = roster.teacher([school])
    extra = {
        "external_id": "S-1",
        "alt_external_id": "A-1",
        "middle_name": "Jo",
        "preferred_first_name": "Annie",
        "grade": "3",
        "email": "ana@example.org",
        "notes": "likes maps",
    }
    body = new_student(teacher.api, "SCH-1", **extra)
    assert body["school_ids"] == [school]
    assert body["grade"] == "03"
    assert {k: body[k] for k in extra if k != "grade"} == {
        k: v for k, v in extra.items() if k != "grade"
    }
    edited = teacher.api.ok("PATCH", f"students/{body['id']}", json={"grade": "kg", "notes": None})
    assert (edited["grade"], edited["notes"], edited["version"]) == ("KG", None, 2)


def test_r10_username_is_unique_without_case_and_surrounding_spaces(roster: Roster) -> None:
    school = roster.school()
    teacher = roster.teacher([school])
    new_student(teacher.api, school, username="Maria.G")
    response = teacher.api.post("students", json=student_body(school, username="  maria.g "))
    assert error_of(response, 409, "username_taken")["field"] == "username"
    assert usernames(teacher.api.ok("GET", "students")["items"]) == ["Maria.G"]


def test_r10_student_may_not_take_an_educators_username(roster: Roster) -> None:
    school = roster.school()
    teacher = roster.teacher([school], username="ms.frizzle")
    response = teacher.api.post("students", json=student_body(school, username="MS.FRIZZLE"))
    error_of(response, 409, "username_taken")
    assert teacher.api.ok("GET", "students")["items"] == []


def test_r10_username_of_an_inactive_student_stays_taken(roster: Roster) -> None:
    school = roster.school()
    teacher = roster.teacher([school])
    gone = new_student(teacher.api, school, username="old.name")
    teacher.api.ok("DELETE", f"students/{gone['id']}", 204)
    response = teacher.api.post("students", json=student_body(school, username="Old.Name"))
    error_of(response, 409, "username_taken")


def test_r10_renaming_onto_a_taken_username_is_refused_and_changes_nothing(roster: Roster) -> None:
    school = roster.school()
    teacher = roster.teacher([school])
    new_student(teacher.api, school, username="taken")
    other = new_student(teacher.api, school)
    before = snapshot(teacher.api, f"students/{other['id']}")
    response = teacher.api.patch(f"students/{other['id']}", json={"username": "TAKEN"})
    error_of(response, 409, "username_taken")
    assert snapshot(teacher.api, f"students/{other['id']}") == before


def test_r10_changing_only_the_case_of_ones_own_username_is_allowed(roster: Roster) -> None:
    school = roster.school()
    teacher = roster.teacher([school])
    student = new_student(teacher.api, school, username="sam.lee")
    edited = teacher.api.ok("PATCH", f"students/{student['id']}", json={"username": "Sam.Lee"})
    assert edited["username"] == "Sam.Lee"


def test_r10_same_username_is_allowed_in_another_organization(
    roster: Roster, other_roster: Roster
) -> None:
    school = roster.school()
    new_student(roster.teacher([school]).api, school, username="twin")
    other_school = other_roster.school()
    body = new_student(other_roster.teacher([other_school]).api, other_school, username="twin")
    assert body["username"] == "twin"


@pytest.mark.parametrize("column", ["external_id", "alt_external_id"])
def test_r10_duplicate_sis_ids_are_refused_as_validation_error(roster: Roster, column: str) -> None:
    school = roster.school()
    teacher = roster.teacher([school])
    new_student(teacher.api, school, **{column: "X-42"})
    response = teacher.api.post("students", json=student_body(school, **{column: "X-42"}))
    invalid(response, column)
    assert len(teacher.api.ok("GET", "students")["items"]) == 1


def test_r11_locked_field_of_sis_student_is_refused(roster: Roster) -> None:
    school = roster.school()
    teacher = roster.teacher([school])
    student = roster.sis_student(first_name="Tim", school_ids=[school])
    response = teacher.api.patch(f"students/{student}", json={"first_name": "Timothy"})
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "field_locked"
    assert response.json()["error"]["field"] == "first_name"
    assert teacher.api.ok("GET", f"students/{student}")["first_name"] == "Tim"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("username", "new.name"),
        ("external_id", "OTHER"),
        ("last_name", "Other"),
        ("status", "inactive"),
        ("school_ids", "second"),
    ],
)
def test_r11_every_locked_field_of_sis_student_is_refused_and_nothing_changes(
    roster: Roster, field: str, value: str
) -> None:
    school, second = roster.school(), roster.school()
    admin = roster.district_admin()
    student = roster.sis_student(school_ids=[school])
    before = snapshot(admin.api, f"students/{student}")
    new = [second] if field == "school_ids" else value
    response = admin.api.patch(f"students/{student}", json={field: new, "email": "a@b.org"})
    assert error_of(response, 409, "field_locked")["field"] == field
    assert snapshot(admin.api, f"students/{student}") == before


def test_r11_locked_fields_sent_back_unchanged_are_not_a_change(roster: Roster) -> None:
    school = roster.school()
    teacher = roster.teacher([school])
    student = roster.sis_student(school_ids=[school], first_name="Tim")
    whole = teacher.api.ok("GET", f"students/{student}")
    body = {k: whole[k] for k in LOCKED} | {"notes": "reads well"}
    edited = teacher.api.ok("PATCH", f"students/{student}", json=body)
    assert (edited["first_name"], edited["notes"], edited["version"]) == ("Tim", "reads well", 2)
    assert [c["field"] for c in history(teacher.api, f"students/{student}")] == ["notes"]


def test_r11_shared_field_the_sis_sends_is_editable_with_a_warning(roster: Roster) -> None:
    school = roster.school()
    teacher = roster.teacher([school])
    student = roster.sis_student(school_ids=[school], email="sis@example.org")
    edited = teacher.api.ok("PATCH", f"students/{student}", json={"email": "home@example.org"})
    assert edited["email"] == "home@example.org"
    assert [w["field"] for w in edited["warnings"]] == ["email"]
    assert "next sync" in edited["warnings"][0]["message"]
    assert edited["fields"]["email"] == {
        "class": "shared",
        "editable": True,
        "source": "manual",
        "sis_sends": True,
    }


def test_r11_shared_field_the_sis_does_not_send_is_edited_without_warning(roster: Roster) -> None:
    school = roster.school()
    teacher = roster.teacher([school])
    student = roster.sis_student(school_ids=[school])
    edited = teacher.api.ok("PATCH", f"students/{student}", json={"middle_name": "Lee"})
    assert edited["middle_name"] == "Lee"
    assert edited["warnings"] == []
    assert edited["fields"]["middle_name"]["source"] == "manual"
    assert edited["fields"]["middle_name"]["sis_sends"] is False


def test_r11_fields_block_of_a_sis_student(roster: Roster) -> None:
    school = roster.school()
    teacher = roster.teacher([school])
    student = roster.sis_student(school_ids=[school], grade="05")
    fields = teacher.api.ok("GET", f"students/{student}")["fields"]
    assert {n for n, f in fields.items() if f["class"] == "locked"} == LOCKED
    assert {n for n, f in fields.items() if f["class"] == "shared"} == SHARED
    assert fields["notes"] == {
        "class": "manual",
        "editable": True,
        "source": None,
        "sis_sends": False,
    }
    assert all(not fields[n]["editable"] for n in LOCKED)
    assert all(fields[n]["editable"] for n in SHARED)
    assert fields["first_name"] == {
        "class": "locked",
        "editable": False,
        "source": "sis",
        "sis_sends": True,
    }
    assert fields["grade"] == {
        "class": "shared",
        "editable": True,
        "source": "sis",
        "sis_sends": True,
    }
    assert fields["email"] == {
        "class": "shared",
        "editable": True,
        "source": None,
        "sis_sends": False,
    }


def test_r11_fields_block_of_a_manual_student(roster: Roster) -> None:
    school = roster.school()
    teacher = roster.teacher([school])
    fields = new_student(teacher.api, school, email="a@example.org")["fields"]
    assert all(f["editable"] and not f["sis_sends"] for f in fields.values())
    assert fields["email"]["source"] == "manual"
    assert fields["middle_name"]["source"] is None


def test_r5_making_a_sis_student_leaves_manual_students_as_they_are(roster: Roster) -> None:
    school = roster.school()
    teacher = roster.teacher([school])
    manual = new_student(teacher.api, school, first_name="Timothy", external_id="S-9")
    before = snapshot(teacher.api, f"students/{manual['id']}")
    roster.sis_student(school_ids=[school], first_name="Tim", last_name=manual["last_name"])
    assert snapshot(teacher.api, f"students/{manual['id']}") == before


def test_deactivate_manual_student_hides_it_from_lists_but_not_by_id(roster: Roster) -> None:
    school = roster.school()
    teacher = roster.teacher([school])
    student = new_student(teacher.api, school)["id"]
    teacher.api.ok("DELETE", f"students/{student}", 204)
    teacher.api.ok("DELETE", f"students/{student}", 204)
    assert teacher.api.ok("GET", "students")["items"] == []
    assert teacher.api.ok("GET", f"students/{student}")["status"] == "inactive"
    inactive = teacher.api.ok("GET", "students", params={"status": "inactive"})["items"]
    assert [s["id"] for s in inactive] == [student]
    actions = [c["action"] for c in history(teacher.api, f"students/{student}")]
    assert actions == ["deactivated", "created"]


def test_reactivate_manual_student_brings_it_back_to_lists(roster: Roster) -> None:
    school = roster.school()
    teacher = roster.teacher([school])
    student = new_student(teacher.api, school)["id"]
    teacher.api.ok("DELETE", f"students/{student}", 204)
    back = teacher.api.ok("PATCH", f"students/{student}", json={"status": "active"})
    assert back["status"] == "active"
    assert [s["id"] for s in teacher.api.ok("GET", "students")["items"]] == [student]
    assert history(teacher.api, f"students/{student}")[0]["action"] == "reactivated"


def test_deleting_a_sis_student_is_refused_as_entity_synced(roster: Roster) -> None:
    school = roster.school()
    teacher = roster.teacher([school])
    student = roster.sis_student(school_ids=[school])
    error_of(teacher.api.delete(f"students/{student}"), 409, "entity_synced")
    assert teacher.api.ok("GET", f"students/{student}")["status"] == "active"


def test_list_filters_q_matches_prefix_of_last_first_and_username(roster: Roster) -> None:
    school = roster.school()
    teacher = roster.teacher([school])
    new_student(teacher.api, school, username="zz.one", first_name="Tim", last_name="Baker")
    new_student(teacher.api, school, username="bart.s", first_name="Bart", last_name="Simpson")
    new_student(teacher.api, school, username="qq", first_name="Lisa", last_name="Ortiz")

    def found(q: str) -> list[str]:
        return usernames(teacher.api.ok("GET", "students", params={"q": q})["items"])

    assert found("bak") == ["zz.one"]
    assert found("TIM") == ["zz.one"]
    assert found("ba") == ["zz.one", "bart.s"]
    assert found("qq") == ["qq"]
    assert found("imp") == []
    assert found("%") == []


@pytest.mark.parametrize("common", [None, 1], ids=["ranges", "common prefixes in name order"])
def test_search_pages_merge_last_first_and_username_matches_in_name_order(
    roster: Roster, monkeypatch: pytest.MonkeyPatch, common: int | None
) -> None:
    """Each key is searched on its own index and the pages merged: page after page, the
    matches of all three keys come once each, in last-name order, inactive ones with
    status=all; names of other scripts and characters LIKE treats specially included. The
    same when a first name's or username's prefix is common (store.people.COMMON_PREFIX): a
    first page then reads those keys in name order."""
    chosen: list[tuple[str, ...]] = []
    if common is not None:
        monkeypatch.setattr(store_people, "COMMON_PREFIX", common)
        found_keys = store_people._common_keys

        def spied(*args: Any, **kwargs: Any) -> tuple[str, ...]:
            chosen.append(found_keys(*args, **kwargs))
            return chosen[-1]

        monkeypatch.setattr(store_people, "_common_keys", spied)
    school = roster.school()
    admin = roster.district_admin()
    people = [
        ("al.one", "Zed", "Young"),  # username
        ("x1", "Alma", "Brown"),  # first name
        ("x2", "Bo", "Alvarez"),  # last name
        ("x3", "Al", "Alder"),  # all three
        ("x4", "Al_x", "Carter"),  # "_" is no wildcard
        ("x5", "Ålma", "Diaz"),  # not "al"
        ("x6", "Bea", "Ng"),
        *((f"al.{n}", f"Alf{n}", f"Moss{n:02d}") for n in range(9)),
    ]
    ids = {}
    for username, first, last in people:
        body = new_student(admin.api, school, username=username, first_name=first, last_name=last)
        ids[username] = body["id"]
    admin.api.ok("DELETE", f"students/{ids['al.3']}", 204)

    def searched(q: str, **params: str) -> list[str]:
        return usernames(walk(admin.api, "students", q=q, limit="3", **params))

    moss = [f"al.{n}" for n in range(9)]
    active = [m for m in moss if m != "al.3"]
    assert searched("al", status="all") == ["x3", "x2", "x1", "x4", *moss, "al.one"]
    assert searched("AL") == ["x3", "x2", "x1", "x4", *active, "al.one"]
    assert searched("al", status="inactive") == ["al.3"]
    assert searched("al_") == ["x4"]
    assert searched("ålm") == ["x5"]
    assert searched("moss0") == active
    assert searched("zz") == []
    if common is not None:  # the first pages of "al" read both keys in name order
        assert ("first_key", "username_key") in chosen


@pytest.mark.parametrize("few", [True, False], ids=["from the schools", "in name order"])
def test_pages_of_some_schools_are_their_people_in_name_order(
    roster: Roster, monkeypatch: pytest.MonkeyPatch, few: bool
) -> None:
    """The people of schools holding fewer than COMMON_PREFIX are read from those schools
    and sorted (store.people._few_members), else found walking the organization in name
    order: the same pages either way, page after page, listed and searched, for a teacher
    (their schools) and for a district administrator asking for one school."""
    if not few:
        monkeypatch.setattr(store_people, "COMMON_PREFIX", 0)
    counted = store_people._few_members
    chosen: list[bool] = []

    def spied(*args: Any, **kwargs: Any) -> bool:
        chosen.append(counted(*args, **kwargs))
        return chosen[-1]

    monkeypatch.setattr(store_people, "_few_members", spied)
    one, two = roster.school(), roster.school(external_id="EXT-2")
    admin = roster.district_admin()
    teacher = roster.teacher([one])
    people = [
        ("al.b", "Al", "Brown"),
        ("x1", "Alma", "Zane"),
        ("x2", "Bo", "Alvarez"),
        ("x3", "Cy", "Moss"),
        ("x4", "Di", "Alder"),
        ("al.z", "Ed", "Young"),
    ]
    for username, first, last in people:
        new_student(admin.api, one, username=username, first_name=first, last_name=last)
    new_student(admin.api, two, username="al.two", first_name="Al", last_name="Aaron")

    def pages(api: Any, **params: str) -> list[str]:
        return usernames(walk(api, "students", limit="2", **params))

    everyone = ["x4", "x2", "al.b", "x3", "al.z", "x1"]
    al = ["x4", "x2", "al.b", "al.z", "x1"]
    assert pages(teacher.api) == everyone
    assert pages(teacher.api, q="al") == al
    assert pages(admin.api, school_id=one) == everyone
    assert pages(admin.api, school_id=one, q="AL") == al
    assert pages(admin.api, q="al") == ["al.two", *al]
    assert set(chosen) == {few}


def test_search_by_prefixes_at_the_ends_of_unicode(roster: Roster) -> None:
    """A prefix whose last character is the last code point has no range above it (the
    exact test alone), and one ending just below the surrogates ranges up to U+E000."""
    school = roster.school()
    admin = roster.district_admin()
    for username, last in (("top", "Q\U0010ffffz"), ("below", "Q\ud7ffz"), ("after", "Q\ue000")):
        new_student(admin.api, school, username=username, last_name=last)

    def searched(q: str) -> list[str]:
        return usernames(walk(admin.api, "students", q=q, limit="2"))

    assert searched("q\U0010ffff") == ["top"]
    assert searched("q\ud7ff") == ["below"]
    assert searched("q\ue000") == ["after"]
    assert sorted(searched("q")) == ["after", "below", "top"]


def test_list_filters_school_origin_and_status(roster: Roster) -> None:
    one, two = roster.school(), roster.school(external_id="EXT-2")
    admin = roster.district_admin()
    a = new_student(admin.api, one)["id"]
    b = new_student(admin.api, two)["id"]
    sis = roster.sis_student(school_ids=[two])
    admin.api.ok("DELETE", f"students/{b}", 204)

    def found(**params: str) -> set[str]:
        return {s["id"] for s in admin.api.ok("GET", "students", params=params)["items"]}

    assert found() == {a, sis}
    assert found(school_id=two) == {sis}
    assert found(school_id="EXT-2", status="all") == {b, sis}
    assert found(origin="manual", status="all") == {a, b}
    assert found(origin="sis") == {sis}
    assert found(status="inactive") == {b}


@pytest.mark.parametrize(
    ("param", "value"),
    [("status", "gone"), ("origin", "csv"), ("school_id", "nope"), ("cursor", "garbage!")],
)
def test_list_filter_with_a_bad_value_is_a_validation_error(
    roster: Roster, param: str, value: str
) -> None:
    teacher = roster.teacher()
    invalid(teacher.api.get("students", params={param: value}), param)


def test_pagination_walks_every_student_once_in_name_order(roster: Roster) -> None:
    school = roster.school()
    teacher = roster.teacher([school])
    made = [new_student(teacher.api, school, first_name="Same", last_name="Name") for _ in range(4)]
    made += [new_student(teacher.api, school, last_name=n) for n in ("Adams", "Young", "Moss")]
    walked = walk(teacher.api, "students", limit=2)
    assert sorted(s["id"] for s in walked) == sorted(s["id"] for s in made)
    assert len(walked) == len({s["id"] for s in walked})
    keys = [(f"{s['last_name']} {s['first_name']}".casefold(), int(s["id"])) for s in walked]
    assert keys == sorted(keys)


def test_pagination_last_page_has_no_cursor(roster: Roster) -> None:
    school = roster.school()
    teacher = roster.teacher([school])
    for _ in range(2):
        new_student(teacher.api, school)
    first = teacher.api.ok("GET", "students", params={"limit": 1})
    assert first["next_cursor"]
    second = teacher.api.ok("GET", "students", params={"limit": 1, "cursor": first["next_cursor"]})
    assert second["next_cursor"] is None
    assert first["items"][0]["id"] != second["items"][0]["id"]
