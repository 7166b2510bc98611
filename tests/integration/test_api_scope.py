"""R2: educators act within their schools; another organization's data does not exist (404).

The cross-organization tests take their routes from the application itself, so that a new
route cannot be missed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.factories import Api, Roster
from tests.integration.helpers import error_of, ids, invalid, new_class, new_student, student_body

ACTORS = ["teacher", "school_admin", "district_admin", "api_key"]


def _org_routes(roster: Roster) -> Iterator[tuple[str, str]]:
    """Every (method, path) of the application's OpenAPI document under an organization."""
    paths = roster.client.app.openapi()["paths"]  # type: ignore[attr-defined]
    for path, operations in paths.items():
        if "{org}" in path:
            for method in operations:
                yield method.upper(), path


def _targets(roster: Roster) -> dict[str, str]:
    """An entity of every kind in `roster`'s organization, for filling addresses."""
    school = roster.school()
    student = roster.sis_student(school_ids=[school])
    educator = roster.sis_educator(school_ids=[school])
    klass = roster.sis_class(school_id=school, members=[student, educator], products=["ill"])
    return {"student": student, "educator": educator, "class": klass, "school": school}


def _fill(path: str, slug: str, targets: dict[str, str]) -> str:
    def value(match: re.Match[str]) -> str:
        name, before = match.group(1), path[: match.start()]
        if name == "org":
            return slug
        if name == "class_id":
            return targets["class"]
        if name in ("student_id", "person_id"):
            return targets["educator" if before.endswith("/educators/") else "student"]
        if name == "code":
            return "ill"
        return "1"

    return re.sub(r"\{(\w+)\}", value, path)


def _names_a_roster_entity(path: str) -> bool:
    """The address names students, educators or classes only (filled with real foreign ids)."""
    names = set(re.findall(r"\{(\w+)\}", path)) - {"org", "code"}
    return bool(names) and names <= {"class_id", "student_id", "person_id"}


def _actor(roster: Roster, who: str) -> Api:
    if who == "api_key":
        return roster.api_key()
    school = roster.schools[0] if roster.schools else roster.school()
    if who == "district_admin":
        return roster.district_admin().api
    return roster.educator(
        role="teacher" if who == "teacher" else "administrator",
        scope=None if who == "teacher" else "school",
        school_ids=[school],
    ).api


def _probe(api: Api, method: str, url: str) -> Any:
    body = {} if method in ("POST", "PATCH", "PUT") else None
    return api.request(method, url, json=body)


@pytest.mark.parametrize("who", ACTORS)
def test_r2_every_route_of_another_organization_is_not_found(
    roster: Roster, other_roster: Roster, who: str
) -> None:
    api = _actor(roster, who)
    theirs = _targets(other_roster)
    routes = list(_org_routes(roster))
    assert len(routes) > 20
    for method, path in routes:
        response = _probe(api, method, _fill(path, other_roster.slug, theirs))
        assert response.status_code == 404, (method, path, response.text)
        assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("who", ACTORS)
def test_r2_another_organizations_ids_are_not_found_in_ones_own(
    roster: Roster, other_roster: Roster, who: str
) -> None:
    api = _actor(roster, who)
    theirs = _targets(other_roster)
    ours = _targets(roster)
    routes = [(m, p) for m, p in _org_routes(roster) if _names_a_roster_entity(p)]
    assert len(routes) > 15
    for method, path in routes:
        response = _probe(api, method, _fill(path, roster.slug, theirs))
        if response.status_code == 403:
            # A role that may not take the action at all hears so whatever the id: the
            # answer must be the same for an entity of its own organization (R1, R2).
            own = _probe(api, method, _fill(path, roster.slug, ours))
            assert own.status_code == 403, (method, path, own.text)
            assert response.json()["error"]["code"] == "forbidden"
            continue
        assert response.status_code == 404, (method, path, response.text)
        assert response.json()["error"]["code"] == "not_found"


def test_r2_another_organizations_data_stays_untouched(
    roster: Roster, other_roster: Roster
) -> None:
    theirs = _targets(other_roster)
    admin = roster.district_admin()
    for method, path in _org_routes(roster):
        _probe(admin.api, method, _fill(path, other_roster.slug, theirs))
    owner = other_roster.district_admin()
    assert owner.api.ok("GET", f"students/{theirs['student']}")["version"] == 1
    members = owner.api.ok("GET", f"classes/{theirs['class']}/students")["items"]
    assert ids(members) == [theirs["student"]]
    products = owner.api.ok("GET", f"classes/{theirs['class']}/products")["items"]
    assert [p["code"] for p in products] == ["ill"]


def _two_schools(roster: Roster) -> tuple[Api, dict[str, str]]:
    """A teacher of one school, and a student, educator and class of another."""
    mine = roster.school()
    teacher = roster.teacher([mine])
    return teacher.api, _targets(roster)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "students/{student}"),
        ("PATCH", "students/{student}"),
        ("DELETE", "students/{student}"),
        ("GET", "students/{student}/classes"),
        ("GET", "students/{student}/history"),
        ("GET", "students/{student}/product-settings"),
        ("PATCH", "students/{student}/product-settings"),
        ("GET", "educators/{educator}"),
        ("GET", "educators/{educator}/history"),
        ("GET", "classes/{class}"),
        ("PATCH", "classes/{class}"),
        ("DELETE", "classes/{class}"),
        ("GET", "classes/{class}/students"),
        ("GET", "classes/{class}/products"),
        ("PUT", "classes/{class}/products/science"),
        ("GET", "classes/{class}/history"),
    ],
)
def test_r2_out_of_scope_entity_is_not_found_for_a_teacher(
    roster: Roster, method: str, path: str
) -> None:
    api, theirs = _two_schools(roster)
    response = _probe(api, method, path.format(**theirs))
    error_of(response, 404, "not_found")


def test_r2_teacher_lists_only_their_schools(roster: Roster) -> None:
    mine, theirs = roster.school(), roster.school()
    teacher = roster.teacher([mine])
    own = roster.sis_student(school_ids=[mine])
    shared = roster.sis_student(school_ids=[theirs, mine])
    roster.sis_student(school_ids=[theirs])
    own_class = roster.sis_class(school_id=mine)
    roster.sis_class(school_id=theirs)
    assert set(ids(teacher.api.ok("GET", "students")["items"])) == {own, shared}
    assert ids(teacher.api.ok("GET", "classes")["items"]) == [own_class]
    assert ids(teacher.api.ok("GET", "educators")["items"]) == [teacher.person_id]


def test_r2_school_admin_reaches_their_schools_only(roster: Roster) -> None:
    one, two, three = roster.school(), roster.school(), roster.school()
    admin = roster.school_admin([one, two])
    reached = [roster.sis_student(school_ids=[s]) for s in (one, two)]
    beyond = roster.sis_student(school_ids=[three])
    assert set(ids(admin.api.ok("GET", "students")["items"])) == set(reached)
    error_of(admin.api.get(f"students/{beyond}"), 404, "not_found")


def test_r2_district_admin_reaches_the_whole_organization(roster: Roster) -> None:
    students = [roster.sis_student(school_ids=[roster.school()]) for _ in range(3)]
    admin = roster.district_admin()
    assert set(ids(admin.api.ok("GET", "students")["items"])) == set(students)
    admin.api.ok("PATCH", f"students/{students[0]}", json={"notes": "seen"})


def test_r2_teacher_may_not_place_a_student_in_another_school(roster: Roster) -> None:
    mine, theirs = roster.school(), roster.school()
    teacher = roster.teacher([mine])
    invalid(teacher.api.post("students", json=student_body(theirs)), "school_ids")
    invalid(teacher.api.post("classes", json={"name": "X", "school_id": theirs}), "school_id")
    assert teacher.api.ok("GET", "students", params={"status": "all"})["items"] == []


def test_r2_teacher_may_not_take_a_shared_student_out_of_another_school(roster: Roster) -> None:
    mine, theirs = roster.school(), roster.school()
    teacher = roster.teacher([mine])
    student = new_student(roster.district_admin().api, mine, school_ids=[mine, theirs])["id"]
    response = teacher.api.patch(f"students/{student}", json={"school_ids": [mine]})
    invalid(response, "school_ids")
    assert teacher.api.ok("GET", f"students/{student}")["school_ids"] == sorted(
        [mine, theirs], key=int
    )


def test_r2_teacher_may_not_add_an_out_of_scope_student_to_a_group(roster: Roster) -> None:
    mine, theirs = roster.school(), roster.school()
    teacher = roster.teacher([mine])
    group = new_class(teacher.api, mine)["id"]
    stranger = roster.sis_student(school_ids=[theirs])
    error_of(teacher.api.put(f"classes/{group}/students/{stranger}"), 404, "not_found")
    assert teacher.api.ok("GET", f"classes/{group}/students")["items"] == []


def test_r2_person_classes_list_only_classes_in_scope(roster: Roster) -> None:
    mine, theirs = roster.school(), roster.school()
    teacher = roster.teacher([mine])
    student = roster.sis_student(school_ids=[mine, theirs])
    here = roster.sis_class(school_id=mine, members=[student])
    roster.sis_class(school_id=theirs, members=[student])
    items = teacher.api.ok("GET", f"students/{student}/classes")["items"]
    assert ids(items) == [here]
