"""Product settings pages (R16): a student's tab and the bulk page, with R11's warning."""

from __future__ import annotations

from rollbook.domain.fields import SIS_SENDS_WARNING
from tests.factories import Roster
from tests.web.conftest import Pages
from tests.web.html import parse


def test_inputs_are_typed_from_the_catalogue_and_warn_where_the_sis_sends(
    roster: Roster, pages
) -> None:
    teacher: Pages = pages(roster.teacher())
    student = roster.sis_student()
    roster.sis_setting(student, "ill", "language_support", "Spanish")
    page = parse(teacher.get(f"students/{student}/product-settings").text)
    language = page.find("select", name="ill.language_support")
    assert language.get("data-sis-sends") == "true"
    assert [o.get("value") for o in language.find_all("option", selected=True)] == ["Spanish"]
    label = page.find("label", **{"for": language.get("id") or ""})
    assert label.text == "Language support"
    warning = page.find("div", data_setting="ill.language_support").find(class_="warning")
    assert warning.text == SIS_SENDS_WARNING
    minutes = page.find("input", name="ill.session_minutes")
    assert (minutes.get("type"), minutes.get("min"), minutes.get("max")) == ("number", "10", "120")
    assert not minutes.has("data-sis-sends")


def test_saving_changes_only_what_was_changed(roster: Roster, pages) -> None:
    account = roster.teacher()
    teacher: Pages = pages(account)
    student = roster.sis_student()
    roster.sis_setting(student, "ill", "language_support", "English")
    page = parse(teacher.get(f"students/{student}/product-settings").text)
    form = {e.get("name"): e.get("value") for e in page.find_all("input") if e.get("name")}
    for select in page.find_all("select"):
        chosen = select.find_all("option", selected=True) or select.find_all("option")[:1]
        form[select.get("name")] = chosen[0].get("value")
    form.pop("csrf_token")
    form["ill.language_support"] = "Spanish"
    answer = teacher.post(f"students/{student}/product-settings", form)
    assert answer.status_code == 303
    shown = teacher.get(answer.headers["location"]).text
    assert "Settings saved." in shown and "the next sync puts the SIS value back" in shown
    now = account.api.ok("GET", f"students/{student}/product-settings")
    assert now["ill"]["language_support"]["value"] == "Spanish"
    assert now["ill"]["language_support"]["source"] == "manual"
    assert now["reading"]["session_minutes"]["source"] is None  # defaults stay defaults


def test_a_bad_setting_is_shown_next_to_it(roster: Roster, pages) -> None:
    teacher: Pages = pages(roster.teacher())
    student = roster.sis_student()
    answer = teacher.post(f"students/{student}/product-settings", {"ill.session_minutes": "500"})
    assert answer.status_code == 422
    page = parse(answer.text)
    field = page.find("input", name="ill.session_minutes")
    assert field.get("value") == "500" and field.get("aria-invalid") == "true"
    assert "between 10 and 120" in page.find(id=f"{field.get('id')}-error").text
    refused = teacher.post(
        f"students/{student}/product-settings", {"ill.session_minutes": "20"}, csrf=None
    )
    assert refused.status_code == 403


def test_bulk_from_a_class_says_how_many_the_sync_will_revert(roster: Roster, pages) -> None:
    account = roster.teacher()
    teacher: Pages = pages(account)
    sent, free = roster.sis_student(last_name="Sent"), roster.sis_student(last_name="Free")
    roster.sis_setting(sent, "ill", "language_support", "English")
    klass = roster.sis_class(name="Grade 3", members=[sent, free])
    chooser = parse(teacher.get(f"product-settings/bulk?from=class&class_id={klass}").text)
    boxes = chooser.find_all("input", name="student_ids")
    assert {b.get("value") for b in boxes} == {sent, free}
    assert all(b.has("checked") for b in boxes)
    answer = teacher.post(
        f"product-settings/bulk?from=class&class_id={klass}",
        {"student_ids": [sent, free], "setting": "ill.language_support", "value": "spanish"},
    )
    assert answer.status_code == 200
    page = parse(answer.text)
    assert "is now “Spanish” for 2 students" in page.find(id="summary").text
    assert page.find(id="reverted").text.startswith("1 of them")
    assert (
        account.api.ok("GET", f"students/{free}/product-settings")["ill"]["language_support"][
            "value"
        ]
        == "Spanish"
    )


def test_bulk_from_a_filtered_list(roster: Roster, pages) -> None:
    teacher: Pages = pages(roster.teacher())
    roster.sis_student(last_name="Alvarez")
    roster.sis_student(last_name="Zhang")
    page = parse(teacher.get("product-settings/bulk?from=list&q=alv").text)
    names = [label.text for label in page.find_all("label", class_="check")]
    assert any("Alvarez" in n for n in names) and not any("Zhang" in n for n in names)


def test_bulk_refusals(roster: Roster, other_roster: Roster, pages) -> None:
    teacher: Pages = pages(roster.teacher())
    student = roster.sis_student()
    nobody = teacher.post(
        "product-settings/bulk", {"setting": "ill.language_support", "value": "Spanish"}
    )
    assert nobody.status_code == 422
    assert "choose at least one student" in parse(nobody.text).find(id="students-error").text
    bad = teacher.post(
        "product-settings/bulk",
        {"student_ids": student, "setting": "ill.session_minutes", "value": "five"},
    )
    assert bad.status_code == 422
    assert "whole number" in parse(bad.text).find(id="value-error").text
    theirs = other_roster.sis_student()
    foreign = teacher.post(
        "product-settings/bulk",
        {"student_ids": theirs, "setting": "ill.session_minutes", "value": "20"},
    )
    assert foreign.status_code == 422
    assert "no such student" in foreign.text
    assert (
        teacher.post("product-settings/bulk", {"student_ids": student}, csrf=None).status_code
        == 403
    )
    elsewhere = teacher.get(f"/orgs/{other_roster.slug}/product-settings/bulk")
    assert elsewhere.status_code == 404


def test_the_value_input_follows_the_chosen_setting(roster: Roster, pages) -> None:
    teacher: Pages = pages(roster.teacher())
    fragment = teacher.htmx(
        "product-settings/bulk/value?setting=ill.session_minutes", "value-field"
    )
    assert fragment.status_code == 200
    field = parse(fragment.text).find("input", name="value")
    assert field.get("type") == "number"
    enum = teacher.htmx("product-settings/bulk/value?setting=ill.language_support", "value-field")
    assert parse(enum.text).find("select", name="value")
