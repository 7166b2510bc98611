"""Bad input and refused requests: the contract's error body, never a 500, nothing half-written."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from rollbook.services import auth
from tests.factories import Api, Roster
from tests.integration.helpers import (
    class_body,
    educator_body,
    error_of,
    history,
    invalid,
    new_class,
    new_educator,
    new_student,
    snapshot,
    student_body,
)

JSON = {"Content-Type": "application/json"}


def _count(api: Api, plural: str) -> int:
    return len(api.ok("GET", plural, params={"status": "all", "limit": 500})["items"])


@pytest.mark.parametrize("content", ["not json", '{"username": ', "", "\x00"])
def test_body_that_is_not_json_is_a_validation_error_naming_the_body(
    roster: Roster, content: str
) -> None:
    teacher = roster.teacher()
    invalid(teacher.api.post("students", content=content, headers=JSON), "body")
    assert teacher.api.ok("GET", "students")["items"] == []


@pytest.mark.parametrize("content", ["[]", '"text"', "42", "null"])
def test_body_that_is_not_an_object_is_a_validation_error(roster: Roster, content: str) -> None:
    teacher = roster.teacher()
    response = teacher.api.post("students", content=content, headers=JSON)
    error_of(response, 422, "validation_error")


@pytest.mark.parametrize(
    ("plural", "make"),
    [("students", student_body), ("educators", educator_body), ("classes", class_body)],
)
def test_unknown_fields_are_named_and_nothing_is_created(
    roster: Roster, plural: str, make: Callable[..., dict[str, Any]]
) -> None:
    school = roster.school()
    admin = roster.school_admin([school])
    before = _count(admin.api, plural)
    body = make(school, nickname="Bo", password="secret")
    invalid(admin.api.post(plural, json=body), "nickname", "password")
    assert _count(admin.api, plural) == before


def test_wrong_json_types_are_named(roster: Roster) -> None:
    school = roster.school()
    teacher = roster.teacher([school])
    body = student_body(school, first_name=5, grade=3, school_ids=school, notes=["a"])
    invalid(teacher.api.post("students", json=body), "first_name", "grade", "school_ids", "notes")


def test_a_boolean_is_not_a_school_reference(roster: Roster) -> None:
    school = roster.school()
    teacher = roster.teacher([school])
    error = error_of(teacher.api.post("students", json=student_body(True)), 422, "validation_error")
    assert all(d["field"].startswith("school_ids") for d in error["details"])
    assert teacher.api.ok("GET", "students")["items"] == []


def test_blank_names_bad_grade_and_bad_email_are_each_named(roster: Roster) -> None:
    school = roster.school()
    teacher = roster.teacher([school])
    body = student_body(
        school, username="two words", first_name=" ", last_name="", grade="14", email="nope"
    )
    response = teacher.api.post("students", json=body)
    invalid(response, "username", "first_name", "last_name", "grade", "email")
    assert teacher.api.ok("GET", "students", params={"status": "all"})["items"] == []


def test_missing_required_fields_are_each_named(roster: Roster) -> None:
    teacher = roster.teacher()
    invalid(
        teacher.api.post("students", json={}), "username", "first_name", "last_name", "school_ids"
    )
    invalid(teacher.api.post("classes", json={}), "name", "school_id")


@pytest.mark.parametrize(
    ("change", "fields"),
    [
        ({"first_name": None, "email": "a@b"}, {"first_name", "email"}),
        ({"status": None}, {"status"}),
        ({"school_ids": []}, {"school_ids"}),
        ({"grade": "Kindergarten"}, {"grade"}),
        ({"notes": "x" * 4001}, {"notes"}),
        ({"middle_name": "tab\x07bell"}, {"middle_name"}),
        ({"username": "u" * 256}, {"username"}),
        ({"username": "ß" * 128}, {"username"}),
        ({"school_ids": ["no-such-school"]}, {"school_ids"}),
        ({"id": "5", "origin": "sis"}, {"id", "origin"}),
    ],
)
def test_refused_edit_leaves_entity_and_history_unchanged(
    roster: Roster, change: dict[str, Any], fields: set[str]
) -> None:
    school = roster.school()
    teacher = roster.teacher([school])
    student = new_student(teacher.api, school)["id"]
    before = snapshot(teacher.api, f"students/{student}")
    invalid(teacher.api.patch(f"students/{student}", json=change), *fields)
    assert snapshot(teacher.api, f"students/{student}") == before


def test_refused_class_edit_leaves_class_unchanged(roster: Roster) -> None:
    school = roster.school()
    teacher = roster.teacher([school])
    klass = new_class(teacher.api, school)["id"]
    before = snapshot(teacher.api, f"classes/{klass}")
    change = {"name": "", "periods": ["\x00"], "grades": ["99"]}
    invalid(teacher.api.patch(f"classes/{klass}", json=change), "name", "periods", "grades")
    invalid(teacher.api.patch(f"classes/{klass}", json={"kind": "course"}), "kind")
    assert snapshot(teacher.api, f"classes/{klass}") == before


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("students", {"q": "a\x00b"}),
        ("students", {"school_id": "\x00"}),
        ("classes", {"q": "\x00"}),
        ("educators", {"origin": "\x00"}),
    ],
)
def test_nul_in_a_query_parameter_is_a_validation_error(
    roster: Roster, path: str, params: dict[str, str]
) -> None:
    invalid(roster.teacher().api.get(path, params=params), *params)


def test_nul_in_an_address_is_a_validation_error(roster: Roster) -> None:
    school = roster.school()
    teacher = roster.teacher([school])
    klass = new_class(teacher.api, school)["id"]
    invalid(teacher.api.delete(f"classes/{klass}/products/ill%00"), "code")
    invalid(teacher.api.get("/api/v1/orgs/x%00y/students"), "org")


@pytest.mark.parametrize(
    "cursor", ["WyJhIiwiYiJd", "WyJhIiwxZTk5OV0", "WyJhXHUwMDAwIiwxXQ", "WyJhIiwtMV0", "W10"]
)
def test_forged_cursor_is_a_validation_error(roster: Roster, cursor: str) -> None:
    teacher = roster.teacher()
    invalid(teacher.api.get("students", params={"cursor": cursor}), "cursor")
    invalid(teacher.api.get("classes", params={"cursor": cursor}), "cursor")


@pytest.mark.parametrize("limit", ["0", "501", "ten"])
def test_limit_out_of_range_is_a_validation_error(roster: Roster, limit: str) -> None:
    invalid(roster.teacher().api.get("students", params={"limit": limit}), "limit")


def test_longest_names_are_stored_searched_and_listed(roster: Roster) -> None:
    school = roster.school()
    teacher = roster.teacher([school])
    body = student_body(school, first_name="ß" * 255, last_name="ﬃ" * 255, username="ß" * 127)
    student = new_student(teacher.api, school, **{k: body[k] for k in body if k != "school_ids"})
    found = teacher.api.ok("GET", "students", params={"q": "ss"})["items"]
    assert [s["id"] for s in found] == [student["id"]]
    assert new_class(teacher.api, school, name="ß" * 255)["name"] == "ß" * 255


def test_educator_with_the_longest_names_can_edit(roster: Roster) -> None:
    school = roster.school()
    admin = roster.school_admin([school])
    long = new_educator(admin.api, school, first_name="F" * 255, last_name="L" * 255)["id"]
    with roster.db.writing() as session:
        token = auth.issue_token(session, "educator", int(long), roster.org.id, 60).token
    student = new_student(Api(roster.client, token, roster.slug), school)["id"]
    change = history(admin.api, f"students/{student}")[0]
    assert change["actor"]["id"] == long
    assert change["actor"]["name"].startswith("F" * 255)


def test_api_key_name_is_validated(roster: Roster) -> None:
    operator = roster.operator()
    invalid(operator.post("apikeys", json={"name": " "}), "name")
    invalid(operator.post("apikeys", json={"name": "n" * 256}), "name")


def test_sign_in_with_nul_is_refused_like_a_wrong_password(roster: Roster) -> None:
    form = {"org": roster.slug, "username": "a\x00b", "password": "whatever"}
    error_of(roster.anonymous().post("/api/v1/auth/token", data=form), 401, "unauthenticated")


def test_unknown_address_is_not_found(roster: Roster) -> None:
    error_of(roster.teacher().api.get("nothing-here"), 404, "not_found")
    error_of(roster.teacher().api.get("students/abc"), 404, "not_found")
    error_of(roster.teacher().api.get("students/99999999999999999999"), 404, "not_found")


# One scenario per code of interfaces.md's error table (sync_rejected belongs to the sync).


def _unauthenticated(roster: Roster) -> httpx.Response:
    return roster.anonymous().get("students")


def _forbidden(roster: Roster) -> httpx.Response:
    school = roster.school()
    return roster.teacher([school]).api.post("educators", json=educator_body(school))


def _not_found(roster: Roster) -> httpx.Response:
    return roster.teacher().api.get("classes/424242")


def _validation_error(roster: Roster) -> httpx.Response:
    school = roster.school()
    return roster.teacher([school]).api.post("students", json=student_body(school, grade="Z"))


def _field_locked(roster: Roster) -> httpx.Response:
    school = roster.school()
    student = roster.sis_student(school_ids=[school])
    return roster.teacher([school]).api.patch(f"students/{student}", json={"last_name": "X"})


def _class_synced(roster: Roster) -> httpx.Response:
    school = roster.school()
    student = roster.sis_student(school_ids=[school])
    klass = roster.sis_class(school_id=school)
    return roster.teacher([school]).api.put(f"classes/{klass}/students/{student}")


def _entity_synced(roster: Roster) -> httpx.Response:
    school = roster.school()
    return roster.teacher([school]).api.delete(f"classes/{roster.sis_class(school_id=school)}")


def _username_taken(roster: Roster) -> httpx.Response:
    school = roster.school()
    teacher = roster.teacher([school])
    return teacher.api.post("students", json=student_body(school, username=teacher.username))


def _version_conflict(roster: Roster) -> httpx.Response:
    school = roster.school()
    teacher = roster.teacher([school])
    student = new_student(teacher.api, school)["id"]
    return teacher.api.patch(f"students/{student}", json={"notes": "x"}, headers={"If-Match": "7"})


@pytest.mark.parametrize(
    ("scenario", "status", "code"),
    [
        (_unauthenticated, 401, "unauthenticated"),
        (_forbidden, 403, "forbidden"),
        (_not_found, 404, "not_found"),
        (_validation_error, 422, "validation_error"),
        (_field_locked, 409, "field_locked"),
        (_class_synced, 409, "class_synced"),
        (_entity_synced, 409, "entity_synced"),
        (_username_taken, 409, "username_taken"),
        (_version_conflict, 412, "version_conflict"),
    ],
)
def test_every_error_code_of_the_contract(
    roster: Roster, scenario: Callable[[Roster], httpx.Response], status: int, code: str
) -> None:
    response = scenario(roster)
    error = error_of(response, status, code)
    assert set(error) <= {"code", "message", "field", "details"}
