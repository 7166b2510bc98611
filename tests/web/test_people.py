"""Students' and educators' pages: lists, Details, Add, refusals (R1, R2, R4, R11)."""

from __future__ import annotations

from rollbook.domain.fields import LOCK_HINT, SIS_SENDS_WARNING
from tests.factories import Roster
from tests.web.conftest import Pages
from tests.web.html import parse


def test_lists_show_a_lock_on_every_synced_row_only(roster: Roster, pages) -> None:
    teacher: Pages = pages(roster.teacher())
    roster.sis_student(first_name="Sina", last_name="Synced")
    roster.teacher().api.ok(
        "POST",
        "students",
        201,
        json={
            "username": "hand.made",
            "first_name": "Hana",
            "last_name": "Handmade",
            "school_ids": [roster.schools[0]],
        },
    )
    page = parse(teacher.get("students").text)
    rows = {r.find("a").text: r for r in page.find("tbody").find_all("tr")}
    synced, manual = rows["Synced, Sina"], rows["Handmade, Hana"]
    lock = synced.find(data_origin="sis")
    assert lock.get("aria-label") and lock.get("role") == "img"
    assert not manual.find_all(data_origin="sis")


def test_search_as_you_type_returns_the_rows_only(roster: Roster, pages) -> None:
    teacher: Pages = pages(roster.teacher())
    roster.sis_student(first_name="Amara", last_name="Diallo")
    roster.sis_student(first_name="Omar", last_name="Haddad")
    full = teacher.get("students?q=dia")
    assert "Diallo" in full.text and "Haddad" not in full.text
    assert "<html" in full.text
    fragment = teacher.htmx("students?q=omar", "results")
    assert fragment.status_code == 200
    assert "<html" not in fragment.text
    assert "Haddad" in fragment.text and "Diallo" not in fragment.text
    nothing = teacher.htmx("students?q=zzz", "results")
    assert "No students match these filters." in nothing.text


def test_filters_by_origin_status_and_school(roster: Roster, pages) -> None:
    lincoln, washington = roster.school("Lincoln"), roster.school("Washington")
    teacher: Pages = pages(roster.teacher(school_ids=[lincoln, washington]))
    roster.sis_student(last_name="Lincolnsis", school_ids=[lincoln])
    roster.sis_student(last_name="Washsis", school_ids=[washington])
    roster.sis_student(last_name="Gone", school_ids=[lincoln], status="inactive")
    text = teacher.get(f"students?school_id={washington}").text
    assert "Washsis" in text and "Lincolnsis" not in text
    assert "Gone" not in teacher.get("students").text
    assert "Gone" in teacher.get("students?status=inactive").text
    assert "Lincolnsis" not in teacher.get("students?origin=manual").text
    bad = teacher.get("students?origin=somewhere")
    assert bad.status_code == 422
    assert "must be sis or manual" in bad.text


def test_cursor_pages(roster: Roster, pages) -> None:
    teacher: Pages = pages(roster.teacher())
    for name in ("Aa", "Bb", "Cc"):
        roster.sis_student(last_name=name)
    first = parse(teacher.get("students?limit=2").text)
    assert [r.find("a").text.split(",")[0] for r in first.find("tbody").find_all("tr")] == [
        "Aa",
        "Bb",
    ]
    next_link = next(a for a in first.find_all("a") if a.text == "Next page →")
    second = parse(teacher.get(next_link.get("href") or "").text)
    assert [r.find("a").text.split(",")[0] for r in second.find("tbody").find_all("tr")] == ["Cc"]
    assert any(a.text == "← First page" for a in second.find_all("a"))
    assert teacher.get("students?cursor=garbage").status_code == 422


def test_empty_list_says_what_to_do(roster: Roster, pages) -> None:
    teacher: Pages = pages(roster.teacher())
    text = teacher.get("students").text
    assert "No students yet." in text


def test_details_of_a_synced_student_lock_and_warn(roster: Roster, pages) -> None:
    teacher: Pages = pages(roster.teacher())
    student = roster.sis_student(
        middle_name="Grace",
        email="g@example.org",
        sent=("username", "external_id", "first_name", "last_name", "middle_name", "email"),
    )
    page = parse(teacher.get(f"students/{student}").text)
    assert page.find("h1").find(data_origin="sis").get("aria-label")
    for name in ("first_name", "last_name", "username", "external_id", "status"):
        field = page.find(name=name)
        assert field.has("disabled"), name
        assert field.get("data-locked") == "true"
        assert field.get("title") == LOCK_HINT
    schools = page.find_all("input", name="school_ids")
    assert schools and all(s.has("disabled") and s.get("data-locked") == "true" for s in schools)
    for name in ("middle_name", "email"):
        field = page.find(name=name)
        assert not field.has("disabled")
        assert field.get("data-sis-sends") == "true"
        warning = page.find(id=field.get("aria-describedby", "").split()[-1])
        assert warning.text == SIS_SENDS_WARNING
    preferred = page.find(name="preferred_first_name")
    assert not preferred.has("data-sis-sends") and not preferred.has("disabled")


def test_a_manual_student_is_editable_everywhere(roster: Roster, pages) -> None:
    account = roster.teacher()
    teacher: Pages = pages(account)
    body = account.api.ok(
        "POST",
        "students",
        201,
        json={
            "username": "hand.made",
            "first_name": "Hana",
            "last_name": "Made",
            "school_ids": [roster.schools[0]],
        },
    )
    page = parse(teacher.get(f"students/{body['id']}").text)
    assert not page.find_all(data_locked="true")
    assert not page.find_all(data_origin="sis")
    answer = teacher.post(
        f"students/{body['id']}",
        {
            "first_name": "Hannah",
            "last_name": "Made",
            "username": "hand.made",
            "status": "active",
            "school_ids": roster.schools[0],
            "school_ids_sent": "1",
        },
    )
    assert answer.status_code == 303
    assert account.api.ok("GET", f"students/{body['id']}")["first_name"] == "Hannah"


def test_editing_a_shared_field_sent_by_the_sis_warns_after_saving(roster: Roster, pages) -> None:
    account = roster.teacher()
    teacher: Pages = pages(account)
    student = roster.sis_student(middle_name="Grace")
    answer = teacher.post(f"students/{student}", {"middle_name": "Grace Anne"})
    assert answer.status_code == 303
    shown = teacher.get(answer.headers["location"])
    assert "Saved." in shown.text
    assert "Your change to Middle name lasts until the next sync" in shown.text
    assert account.api.ok("GET", f"students/{student}")["middle_name"] == "Grace Anne"


def test_a_forged_locked_field_is_refused_next_to_the_field(roster: Roster, pages) -> None:
    account = roster.teacher()
    teacher: Pages = pages(account)
    student = roster.sis_student(first_name="Tim", middle_name="M")
    answer = teacher.post(f"students/{student}", {"first_name": "Timothy", "middle_name": "Max"})
    assert answer.status_code == 409
    page = parse(answer.text)
    error = page.find(id="f-first_name-error")
    assert "managed by your SIS" in error.text
    assert page.find(name="middle_name").get("value") == "Max"  # what was typed is kept
    assert account.api.ok("GET", f"students/{student}")["first_name"] == "Tim"


def test_a_bad_value_is_shown_next_to_its_field_with_the_values_kept(roster: Roster, pages) -> None:
    teacher: Pages = pages(roster.teacher())
    student = roster.sis_student()
    answer = teacher.post(
        f"students/{student}", {"email": "not an email", "middle_name": "<b>Kept</b>"}
    )
    assert answer.status_code == 422
    page = parse(answer.text)
    assert page.find(name="email").get("aria-invalid") == "true"
    assert "is not an email address" in page.find(id="f-email-error").text
    assert page.find(name="email").get("value") == "not an email"
    assert page.find(name="middle_name").get("value") == "<b>Kept</b>"
    assert "<b>Kept</b>" not in answer.text  # escaped in the attribute


def test_forms_without_the_csrf_token_change_nothing(roster: Roster, pages) -> None:
    account = roster.teacher()
    teacher: Pages = pages(account)
    student = roster.sis_student(middle_name="Grace")
    for csrf in (None, "forged-token"):
        answer = teacher.post(f"students/{student}", {"middle_name": "Evil"}, csrf=csrf)
        assert answer.status_code == 403
        assert "This form has expired" in answer.text
    assert account.api.ok("GET", f"students/{student}")["middle_name"] == "Grace"


def test_a_stale_form_is_a_version_conflict(roster: Roster, pages) -> None:
    teacher: Pages = pages(roster.teacher())
    student = roster.sis_student(middle_name="Grace")
    answer = teacher.post(f"students/{student}", {"middle_name": "X", "version": "999"})
    assert answer.status_code == 412
    assert "changed since you read it" in answer.text


def test_another_organization_does_not_exist(roster: Roster, other_roster: Roster, pages) -> None:
    teacher: Pages = pages(roster.teacher())
    theirs = other_roster.sis_student()
    for path in (
        f"/orgs/{other_roster.slug}/students",
        f"/orgs/{other_roster.slug}/students/{theirs}",
        f"students/{theirs}",
        f"students/{theirs}/history",
    ):
        answer = teacher.get(path)
        assert answer.status_code == 404, path
        assert "<html" in answer.text and "Traceback" not in answer.text
    posted = teacher.post(f"/orgs/{other_roster.slug}/students/{theirs}", {"middle_name": "x"})
    assert posted.status_code == 404
    assert teacher.get("students/not-an-id").status_code == 404


def test_a_student_of_another_school_is_not_found(roster: Roster, pages) -> None:
    lincoln, washington = roster.school(), roster.school()
    teacher: Pages = pages(roster.teacher(school_ids=[lincoln]))
    elsewhere = roster.sis_student(school_ids=[washington])
    assert teacher.get(f"students/{elsewhere}").status_code == 404


def test_names_render_as_text(roster: Roster, pages) -> None:
    teacher: Pages = pages(roster.teacher())
    student = roster.sis_student(first_name="<script>alert(1)</script>", last_name="Tables")
    for path in ("students", f"students/{student}", "students?q=tab"):
        html = teacher.get(path).text
        assert "<script>alert(1)</script>" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_adding_a_student_by_hand(roster: Roster, pages) -> None:
    account = roster.teacher()
    teacher: Pages = pages(account)
    page = parse(teacher.get("students").text)
    assert page.find("a", href=f"/orgs/{roster.slug}/students/new").text == "Add student"
    form = parse(teacher.get("students/new").text)
    for field in form.find("form", method="post").find_all("input"):
        if field.get("type") not in ("hidden", "checkbox"):
            assert form.find_all("label", **{"for": field.get("id") or ""}), field.attrs
    refused = teacher.post(
        "students/new", {"first_name": "Ana", "username": "ana lopez", "school_ids_sent": "1"}
    )
    assert refused.status_code == 422
    shown = parse(refused.text)
    assert "must not contain spaces" in shown.find(id="new-username-error").text
    assert "is required" in shown.find(id="new-last_name-error").text
    assert shown.find(name="first_name").get("value") == "Ana"
    made = teacher.post(
        "students/new",
        {
            "first_name": "Ana",
            "last_name": "Lopez",
            "username": "ana.lopez",
            "school_ids": roster.schools[0],
            "school_ids_sent": "1",
            "grade": "04",
        },
    )
    assert made.status_code == 303
    created = teacher.get(made.headers["location"])
    assert "Ana Lopez" in created.text and "Added." in created.text


def test_teachers_get_no_add_button_for_educators(roster: Roster, pages) -> None:
    account = roster.teacher()
    teacher: Pages = pages(account)
    colleague = roster.sis_educator(first_name="Col", last_name="League")
    page = teacher.get("educators")
    assert page.status_code == 200 and "League" in page.text
    assert "/educators/new" not in page.text
    assert teacher.get("educators/new").status_code == 403
    created = teacher.post(
        "educators/new", {"first_name": "X", "last_name": "Y", "username": "x.y", "role": "teacher"}
    )
    assert created.status_code == 403
    edited = teacher.post(f"educators/{colleague}", {"middle_name": "Q"})
    assert edited.status_code == 403
    assert "Not allowed" in edited.text
    details = parse(teacher.get(f"educators/{colleague}").text)
    assert "Save changes" not in details.text


def test_administrators_add_educators(roster: Roster, pages) -> None:
    admin: Pages = pages(roster.district_admin())
    school = roster.school()
    assert "/educators/new" in admin.get("educators").text
    made = admin.post(
        "educators/new",
        {
            "first_name": "Grace",
            "last_name": "Hopper",
            "username": "grace.hopper",
            "role": "teacher",
            "admin_scope": "",
            "school_ids": school,
            "school_ids_sent": "1",
        },
    )
    assert made.status_code == 303, made.text
    assert "Grace Hopper" in admin.get(made.headers["location"]).text


def test_the_classes_tab_offers_only_manual_groups(roster: Roster, pages) -> None:
    account = roster.teacher()
    teacher: Pages = pages(account)
    student = roster.sis_student()
    synced = roster.sis_class(name="Synced Math", members=[student])
    group = account.api.ok(
        "POST",
        "classes",
        201,
        json={"name": "Reading Club", "kind": "group", "school_id": roster.schools[0]},
    )
    page = parse(teacher.get(f"students/{student}/classes").text)
    rows = {r.get("data-class-id"): r for r in page.find("tbody").find_all("tr")}
    assert rows[synced].get("data-selectable") == "false"
    assert rows[synced].find(data_origin="sis")
    assert rows[synced].find("button").has("disabled")
    assert rows[group["id"]].get("data-selectable") == "true"
    added = teacher.post(f"students/{student}/classes", {"class_id": group["id"], "action": "add"})
    assert added.status_code == 303
    assert "Added to Reading Club." in teacher.get(added.headers["location"]).text
    members = account.api.ok("GET", f"classes/{group['id']}/students")["items"]
    assert [m["id"] for m in members] == [student]
    forged = teacher.post(f"students/{student}/classes", {"class_id": synced, "action": "remove"})
    assert forged.status_code == 409
    assert "exactly what your SIS sends" in forged.text


def test_unexpected_failures_become_a_page_without_a_traceback(
    roster: Roster, pages, monkeypatch
) -> None:
    teacher: Pages = pages(roster.teacher())

    def crash(*args: object, **kwargs: object) -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr("rollbook.web.people.people.list_people", crash)
    answer = teacher.get("students")
    assert answer.status_code == 500
    assert "Something went wrong" in answer.text
    assert "secret internals" not in answer.text and "Traceback" not in answer.text


def test_pages_name_only_the_schools_the_educator_sees_and_keep_the_others(
    roster: Roster, pages
) -> None:
    """R2: a student of two schools, seen by a teacher of one of them: the list and the
    student's page name only that school, and saving the form keeps the other one. A
    district administrator sees both names. (Pages read only the schools they name.)"""
    lincoln = roster.school(name="Lincoln Elementary")
    washington = roster.school(name="Washington Middle")
    account = roster.teacher(school_ids=[lincoln])
    teacher: Pages = pages(account)
    admin: Pages = pages(roster.district_admin())
    student = account.api.ok(
        "POST",
        "students",
        201,
        json={
            "username": "two.schools",
            "first_name": "Tess",
            "last_name": "Twoschool",
            "school_ids": [lincoln],
        },
    )["id"]
    admin_api = roster.district_admin().api
    admin_api.ok("PATCH", f"students/{student}", json={"school_ids": [lincoln, washington]})
    for path in ("students", f"students/{student}", f"students/{student}/classes"):
        seen = teacher.get(path).text
        assert "Lincoln Elementary" in seen, path
        assert "Washington Middle" not in seen, path
    both = admin.get(f"students/{student}").text
    assert "Lincoln Elementary" in both and "Washington Middle" in both
    saved = teacher.post(
        f"students/{student}",
        {
            "first_name": "Tessa",
            "last_name": "Twoschool",
            "username": "two.schools",
            "status": "active",
            "school_ids": lincoln,
            "school_ids_sent": "1",
        },
    )
    assert saved.status_code == 303, saved.text
    after = admin_api.ok("GET", f"students/{student}")
    assert after["first_name"] == "Tessa"
    assert sorted(after["school_ids"]) == sorted([lincoln, washington])
