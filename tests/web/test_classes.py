"""Classes' and groups' pages: list, Add, Details, members (R15), products (R14), history."""

from __future__ import annotations

from rollbook.domain.fields import LOCK_HINT
from rollbook.services.products import REMOVE_SIS_PRODUCT_WARNING
from tests.factories import Roster
from tests.web.conftest import Pages
from tests.web.html import parse


def new_group(account, roster: Roster, name: str = "Reading Club") -> str:  # type: ignore[no-untyped-def]
    body = account.api.ok(
        "POST", "classes", 201, json={"name": name, "kind": "group", "school_id": roster.schools[0]}
    )
    return str(body["id"])


def test_the_list_locks_synced_classes_and_filters_by_kind(roster: Roster, pages) -> None:
    account = roster.teacher()
    teacher: Pages = pages(account)
    roster.sis_class(name="Algebra")
    new_group(account, roster, "Chess Club")
    page = parse(teacher.get("classes").text)
    rows = {r.find("a").text: r for r in page.find("tbody").find_all("tr")}
    assert rows["Algebra"].find(data_origin="sis")
    assert not rows["Chess Club"].find_all(data_origin="sis")
    groups = teacher.htmx("classes?kind=group", "results").text
    assert "Chess Club" in groups and "Algebra" not in groups
    assert teacher.get("classes?kind=course").status_code == 422


def test_creating_a_group(roster: Roster, pages) -> None:
    teacher: Pages = pages(roster.teacher())
    refused = teacher.post(
        "classes/new", {"name": "", "kind": "group", "school_id": roster.schools[0]}
    )
    assert refused.status_code == 422
    assert "is required" in parse(refused.text).find(id="new-name-error").text
    made = teacher.post(
        "classes/new",
        {"name": "Newcomers", "kind": "group", "school_id": roster.schools[0], "grades": "03, 04"},
    )
    assert made.status_code == 303
    page = parse(teacher.get(made.headers["location"]).text)
    assert page.find("h1").text == "Newcomers"
    assert page.find(name="grades").get("value") == "03, 04"


def test_every_details_field_of_a_synced_class_is_locked(roster: Roster, pages) -> None:
    teacher: Pages = pages(roster.teacher())
    synced = roster.sis_class(name="Algebra", grades=["09"])
    page = parse(teacher.get(f"classes/{synced}").text)
    for name in ("name", "kind", "school_id", "grades", "status", "external_id"):
        field = page.find(name=name)
        assert field.has("disabled") and field.get("data-locked") == "true", name
        assert field.get("title") == LOCK_HINT
    assert not page.find(name="notes").has("disabled")
    forged = teacher.post(f"classes/{synced}", {"name": "Geometry"})
    assert forged.status_code == 409
    assert "managed by your SIS" in parse(forged.text).find(id="f-name-error").text
    noted = teacher.post(f"classes/{synced}", {"notes": "Room 12"})
    assert noted.status_code == 303


def test_a_manual_group_can_be_edited(roster: Roster, pages) -> None:
    account = roster.teacher()
    teacher: Pages = pages(account)
    group = new_group(account, roster)
    answer = teacher.post(
        f"classes/{group}", {"name": "Book Club", "kind": "group", "school_id": roster.schools[0]}
    )
    assert answer.status_code == 303
    assert account.api.ok("GET", f"classes/{group}")["name"] == "Book Club"
    bad = teacher.post(f"classes/{group}", {"grades": "year nine"})
    assert bad.status_code == 422
    assert parse(bad.text).find(name="grades").get("value") == "year nine"


def test_members_of_a_synced_class_are_read_only(roster: Roster, pages) -> None:
    teacher: Pages = pages(roster.teacher())
    student = roster.sis_student(last_name="Member")
    synced = roster.sis_class(members=[student])
    page = parse(teacher.get(f"classes/{synced}/students").text)
    assert "Member" in page.text
    assert not page.find_all(
        "form", method="post", action=f"/orgs/{roster.slug}/classes/{synced}/students"
    )
    assert "exactly what your SIS sends" in page.text
    forged = teacher.post(f"classes/{synced}/students", {"person_id": student, "action": "remove"})
    assert forged.status_code == 409
    assert "exactly what your SIS sends" in forged.text


def test_adding_a_synced_student_to_a_manual_group(roster: Roster, pages) -> None:
    account = roster.teacher()
    teacher: Pages = pages(account)
    student = roster.sis_student(first_name="Sina", last_name="Synced")
    group = new_group(account, roster)
    found = teacher.htmx(f"classes/{group}/students?add_q=sync", "candidates")
    assert found.status_code == 200 and "<html" not in found.text
    assert "Sina Synced" in found.text
    added = teacher.post(f"classes/{group}/students", {"person_id": student, "action": "add"})
    assert added.status_code == 303
    page = teacher.get(added.headers["location"])
    assert "Added." in page.text and "Sina Synced" in page.text
    again = teacher.htmx(f"classes/{group}/students?add_q=sync", "candidates")
    assert "Already a member" in again.text
    removed = teacher.post(f"classes/{group}/students", {"person_id": student, "action": "remove"})
    assert removed.status_code == 303
    assert account.api.ok("GET", f"classes/{group}/students")["items"] == []
    missing = teacher.post(f"classes/{group}/students", {"person_id": "999999", "action": "add"})
    assert missing.status_code == 404


def test_products_show_their_source_and_warn_before_removing_an_sis_one(
    roster: Roster, pages
) -> None:
    account = roster.teacher()
    teacher: Pages = pages(account)
    synced = roster.sis_class(products=["reading"])
    page = parse(teacher.get(f"classes/{synced}/products").text)
    row = page.find("tr", data_product="reading")
    assert row.get("data-sis-sends") == "true"
    assert REMOVE_SIS_PRODUCT_WARNING in row.text
    added = teacher.post(f"classes/{synced}/products", {"code": "ill", "action": "add"})
    assert added.status_code == 303
    page = parse(teacher.get(added.headers["location"]).text)
    assert "Added by hand" in page.find("tr", data_product="ill").text
    removed = teacher.post(f"classes/{synced}/products", {"code": "reading", "action": "remove"})
    assert removed.status_code == 303
    codes = {p["code"] for p in account.api.ok("GET", f"classes/{synced}/products")["items"]}
    assert codes == {"ill"}
    assert teacher.post(f"classes/{synced}/products", {"action": "add"}).status_code == 422
    assert teacher.post(f"classes/{synced}/products", {"code": "ill"}, csrf=None).status_code == 403


def test_history_says_who_did_what(roster: Roster, pages) -> None:
    account = roster.teacher(first_name="Tess", last_name="Okafor")
    teacher: Pages = pages(account)
    group = new_group(account, roster)
    student = roster.sis_student(first_name="Sina", last_name="Synced")
    teacher.post(f"classes/{group}/students", {"person_id": student, "action": "add"})
    page = parse(teacher.get(f"classes/{group}/history").text)
    first = page.find("tbody").find("tr")
    assert first.get("data-action") == "member_added"
    assert "Tess Okafor" in first.text and "by hand" in first.text and "Sina Synced" in first.text
    assert first.find("time").get("datetime")
    student_page = teacher.get(f"students/{student}/history").text
    assert "Added to a class" in student_page


def test_other_organizations_classes_do_not_exist(
    roster: Roster, other_roster: Roster, pages
) -> None:
    teacher: Pages = pages(roster.teacher())
    theirs = other_roster.sis_class()
    for tab in ("", "/students", "/educators", "/products", "/history"):
        assert teacher.get(f"classes/{theirs}{tab}").status_code == 404, tab
    assert (
        teacher.post(f"classes/{theirs}/products", {"code": "ill", "action": "add"}).status_code
        == 404
    )
