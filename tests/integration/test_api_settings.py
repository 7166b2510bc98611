"""Students' product settings, one student or many (R16, with R11's warning)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.factories import Api, Roster
from tests.integration.helpers import error_of, history, invalid, new_student

SETTINGS = "product-settings"
BULK = "product-settings/bulk"


def _settings(api: Api, student: str) -> dict[str, Any]:
    body: dict[str, Any] = api.ok("GET", f"students/{student}/{SETTINGS}")
    return body


def _bulk_body(students: list[str], value: Any) -> dict[str, Any]:
    return {
        "student_ids": students,
        "product": "ill",
        "setting": "language_support",
        "value": value,
    }


def _bulk(api: Api, students: list[str], value: Any, **overrides: Any) -> Any:
    return api.post(BULK, json={**_bulk_body(students, value), **overrides})


def test_r16_settings_read_every_catalogue_setting_with_its_default(roster: Roster) -> None:
    school = roster.school()
    teacher = roster.teacher([school])
    student = new_student(teacher.api, school)["id"]
    settings = _settings(teacher.api, student)
    catalogue = teacher.api.ok("GET", "/api/v1/products")["items"]
    assert {p: set(s) for p, s in settings.items()} == {
        p["code"]: {s["code"] for s in p["settings"]} for p in catalogue
    }
    assert settings["galileo"]["session_minutes"] == {
        "value": 45,
        "default": 45,
        "source": None,
        "sis_sends": False,
        "editable": True,
    }


def test_r16_setting_the_sis_sends_reads_as_sent(roster: Roster) -> None:
    school = roster.school()
    teacher = roster.teacher([school])
    student = roster.sis_student(school_ids=[school])
    roster.sis_setting(student, "ill", "language_support", "Spanish")
    assert _settings(teacher.api, student)["ill"]["language_support"] == {
        "value": "Spanish",
        "default": "English",
        "source": "sis",
        "sis_sends": True,
        "editable": True,
    }


def test_r16_enum_value_matched_without_case_is_stored_in_catalogue_spelling(
    roster: Roster,
) -> None:
    school = roster.school()
    teacher = roster.teacher([school])
    student = new_student(teacher.api, school)["id"]
    body = {"ill": {"language_support": "haitian creole"}, "galileo": {"calculator_allowed": True}}
    written = teacher.api.ok("PATCH", f"students/{student}/{SETTINGS}", json=body)
    assert written["ill"]["language_support"]["value"] == "Haitian Creole"
    assert written["ill"]["language_support"]["source"] == "manual"
    assert written["warnings"] == []
    again = _settings(teacher.api, student)
    assert again["ill"]["language_support"]["value"] == "Haitian Creole"
    assert again["galileo"]["calculator_allowed"]["value"] is True


def test_r16_r11_editing_a_setting_the_sis_sends_warns_and_becomes_manual(roster: Roster) -> None:
    school = roster.school()
    teacher = roster.teacher([school])
    student = roster.sis_student(school_ids=[school])
    roster.sis_setting(student, "ill", "language_support", "English")
    body = {"ill": {"language_support": "Spanish"}}
    written = teacher.api.ok("PATCH", f"students/{student}/{SETTINGS}", json=body)
    assert [w["field"] for w in written["warnings"]] == ["ill.language_support"]
    assert written["ill"]["language_support"] == {
        "value": "Spanish",
        "default": "English",
        "source": "manual",
        "sis_sends": True,
        "editable": True,
    }


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"ill": {"language_support": "Klingon"}}, "ill.language_support"),
        ({"ill": {"session_minutes": 121}}, "ill.session_minutes"),
        ({"ill": {"session_minutes": 9}}, "ill.session_minutes"),
        ({"ill": {"session_minutes": "long"}}, "ill.session_minutes"),
        ({"ill": {"colour": "red"}}, "ill.colour"),
        ({"ill": {"colour": None}}, "ill.colour"),
        ({"chess": {"level": 3}}, "chess.level"),
        ({"galileo": {"calculator_allowed": "maybe"}}, "galileo.calculator_allowed"),
    ],
)
def test_r16_settings_outside_the_catalogue_are_validation_errors(
    roster: Roster, body: dict[str, Any], field: str
) -> None:
    school = roster.school()
    teacher = roster.teacher([school])
    student = new_student(teacher.api, school)["id"]
    before = _settings(teacher.api, student), history(teacher.api, f"students/{student}")
    invalid(teacher.api.patch(f"students/{student}/{SETTINGS}", json=body), field)
    assert (_settings(teacher.api, student), history(teacher.api, f"students/{student}")) == before


def test_r16_one_bad_setting_refuses_the_whole_patch_naming_each(roster: Roster) -> None:
    school = roster.school()
    teacher = roster.teacher([school])
    student = new_student(teacher.api, school)["id"]
    body = {
        "ill": {"language_support": "Spanish", "session_minutes": 500},
        "reading": {"language_support": "Elvish"},
    }
    response = teacher.api.patch(f"students/{student}/{SETTINGS}", json=body)
    invalid(response, "ill.session_minutes", "reading.language_support")
    assert _settings(teacher.api, student)["ill"]["language_support"]["source"] is None


def test_r16_r23_setting_change_is_recorded(roster: Roster) -> None:
    school = roster.school()
    teacher = roster.teacher([school])
    student = new_student(teacher.api, school)["id"]
    body = {"reading": {"session_minutes": 60}}
    teacher.api.ok("PATCH", f"students/{student}/{SETTINGS}", json=body)
    change = history(teacher.api, f"students/{student}")[0]
    assert (change["action"], change["field"]) == ("setting_changed", "reading.session_minutes")
    assert (change["old"], change["new"]) == (None, 60)


def test_r16_bulk_sets_many_students_and_counts_those_the_sis_will_revert(roster: Roster) -> None:
    school = roster.school()
    teacher = roster.teacher([school])
    manual = [new_student(teacher.api, school)["id"] for _ in range(2)]
    synced = roster.sis_student(school_ids=[school])
    roster.sis_setting(synced, "ill", "language_support", "English")
    summary = teacher.api.ok("POST", BULK, json=_bulk_body([*manual, synced], "SPANISH"))
    assert (summary["value"], summary["students"], summary["updated"]) == ("Spanish", 3, 3)
    assert summary["will_be_reverted_by_sync"] == 1
    assert [w["field"] for w in summary["warnings"]] == ["ill.language_support"]
    for student in [*manual, synced]:
        setting = _settings(teacher.api, student)["ill"]["language_support"]
        assert (setting["value"], setting["source"]) == ("Spanish", "manual")


def test_r16_bulk_again_with_the_same_value_changes_nothing(roster: Roster) -> None:
    school = roster.school()
    teacher = roster.teacher([school])
    students = [new_student(teacher.api, school)["id"] for _ in range(2)]
    teacher.api.ok("POST", BULK, json=_bulk_body(students, "Spanish"))
    summary = teacher.api.ok("POST", BULK, json=_bulk_body(students, "spanish"))
    assert (summary["updated"], summary["unchanged"]) == (0, 2)


def test_r16_bulk_refuses_an_out_of_scope_student_and_writes_nothing(roster: Roster) -> None:
    mine, theirs = roster.school(), roster.school()
    teacher = roster.teacher([mine])
    own = new_student(teacher.api, mine)["id"]
    other = roster.sis_student(school_ids=[theirs])
    invalid(_bulk(teacher.api, [own, other], "Spanish"), "student_ids")
    assert _settings(teacher.api, own)["ill"]["language_support"]["source"] is None
    assert history(teacher.api, f"students/{own}")[0]["action"] == "created"


@pytest.mark.parametrize("bad", ["999999999", "abc", "educator"])
def test_r16_bulk_refuses_unknown_student_ids_and_writes_nothing(roster: Roster, bad: str) -> None:
    school = roster.school()
    teacher = roster.teacher([school])
    own = new_student(teacher.api, school)["id"]
    wrong = teacher.person_id if bad == "educator" else bad
    invalid(_bulk(teacher.api, [own, wrong], "Spanish"), "student_ids")
    assert _settings(teacher.api, own)["ill"]["language_support"]["source"] is None


def test_r16_bulk_refuses_a_student_of_another_organization(
    roster: Roster, other_roster: Roster
) -> None:
    school = roster.school()
    teacher = roster.teacher([school])
    own = new_student(teacher.api, school)["id"]
    foreign = other_roster.sis_student()
    invalid(_bulk(teacher.api, [own, foreign], "Spanish"), "student_ids")
    assert _settings(teacher.api, own)["ill"]["language_support"]["source"] is None


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"value": "Klingon"}, "ill.language_support"),
        ({"setting": "colour"}, "ill.colour"),
        ({"product": "chess", "value": None}, "chess.language_support"),
        ({"setting": "session_minutes", "value": 5}, "ill.session_minutes"),
    ],
)
def test_r16_bulk_validates_against_the_catalogue(
    roster: Roster, overrides: dict[str, Any], field: str
) -> None:
    school = roster.school()
    teacher = roster.teacher([school])
    own = new_student(teacher.api, school)["id"]
    body = {"value": "Spanish", **overrides}
    invalid(teacher.api.post(BULK, json={**_bulk_body([own], body.pop("value")), **body}), field)
    assert history(teacher.api, f"students/{own}")[0]["action"] == "created"


def test_r16_bulk_needs_at_least_one_student(roster: Roster) -> None:
    invalid(_bulk(roster.teacher().api, [], "Spanish"), "student_ids")


def test_r1_api_key_reads_settings_but_may_not_write_them(roster: Roster) -> None:
    school = roster.school()
    student = roster.sis_student(school_ids=[school])
    key = roster.api_key()
    assert _settings(key, student)["ill"]["language_support"]["value"] == "English"
    body = {"ill": {"language_support": "Spanish"}}
    error_of(key.patch(f"students/{student}/{SETTINGS}", json=body), 403, "forbidden")
    error_of(_bulk(key, [student], "Spanish"), 403, "forbidden")
