"""Fields under the sync: rules.md's R11/R12 table row by row, locked fields, class Details
(R13), product settings (R16), and R17's "every run re-asserts every SIS value"."""

from __future__ import annotations

from typing import Any

import pytest

from tests.factories import Api, Roster
from tests.integration.helpers import error_of, history
from tests.integration.syncing import Sis
from tests.oneroster import OneRoster

# field, OneRoster column, three distinct values as sent and as stored
SHARED = [
    ("grade", "grades", "03", "04", "05"),
    ("email", "email", "ana@one.example", "ana@two.example", "ana@three.example"),
    ("middle_name", "middleName", "Jo", "Lee", "Max"),
    ("alt_external_id", "identifier", "ID-1", "ID-2", "ID-3"),
]
IDS = [row[0] for row in SHARED]


def _snap(column: str | None = None, value: str | None = None, **more: Any) -> OneRoster:
    snap = OneRoster()
    snap.school("s1")
    snap.school("s2")
    columns: dict[str, Any] = {column: value} if column else {}
    snap.student("u1", "ana.lopez", given="Ana", family="Lopez", **columns, **more)
    return snap


def _sent(snap: OneRoster, column: str, value: str | None, how: str = "value") -> OneRoster:
    """The same snapshot sending `value` in `column`, a blank cell, or no column at all."""
    day = snap.copy()
    if how == "absent":
        day.omit["users"] = {column}
    else:
        day.find("users", "u1")[column] = "" if how == "blank" else value
    return day


def _teacher(roster: Roster, sis: Sis) -> Api:
    return roster.teacher([sis.school_id("s1")]).api


def _student(api: Api, sis: Sis) -> dict[str, Any]:
    body: dict[str, Any] = api.ok("GET", f"students/{sis.person_id('u1')}")
    return body


# R11/R12: one row of the table each -------------------------------------------------------


@pytest.mark.parametrize(("name", "column", "v1", "v2", "v3"), SHARED, ids=IDS)
def test_r11_value_sent_again_from_the_sis_changes_nothing(
    roster: Roster, sis: Sis, name: str, column: str, v1: str, v2: str, v3: str
) -> None:
    snap = _snap(column, v1)
    sis.run(snap)
    api = _teacher(roster, sis)
    before = _student(api, sis)
    assert before[name] == v1
    assert before["fields"][name] == {
        "class": "shared",
        "editable": True,
        "source": "sis",
        "sis_sends": True,
    }
    report = sis.run(snap)
    assert report.entity_counts("students") == {"unchanged": 1}
    assert report.changes == []
    assert _student(api, sis) == before


@pytest.mark.parametrize(("name", "column", "v1", "v2", "v3"), SHARED, ids=IDS)
def test_r11_value_the_sis_changed_is_set(
    roster: Roster, sis: Sis, name: str, column: str, v1: str, v2: str, v3: str
) -> None:
    snap = _snap(column, v1)
    sis.run(snap)
    report = sis.run(_sent(snap, column, v2))
    assert report.entity_counts("students") == {"updated": 1}
    change = report.field_changes("u1")[name]
    assert (change["old"], change["new"], change["manual_edit_overwritten"]) == (v1, v2, False)
    assert report.counts["manual_edits_overwritten"] == 0
    student = _student(_teacher(roster, sis), sis)
    assert (student[name], student["fields"][name]["source"]) == (v2, "sis")


@pytest.mark.parametrize(("name", "column", "v1", "v2", "v3"), SHARED, ids=IDS)
def test_r11_hand_edit_of_a_sent_field_is_overwritten_counted_and_listed(
    roster: Roster, sis: Sis, name: str, column: str, v1: str, v2: str, v3: str
) -> None:
    snap = _snap(column, v1)
    sis.run(snap)
    api = _teacher(roster, sis)
    student_id = sis.person_id("u1")
    edited = api.ok("PATCH", f"students/{student_id}", json={name: v3})
    # R11: the edit is made, and the client is told it will not last.
    assert edited[name] == v3
    assert [w["field"] for w in edited["warnings"]] == [name]
    assert edited["fields"][name]["source"] == "manual"
    report = sis.run(_sent(snap, column, v2))
    assert report.counts["manual_edits_overwritten"] == 1
    change = report.field_changes("u1")[name]
    assert (change["old"], change["new"], change["manual_edit_overwritten"]) == (v3, v2, True)
    student = _student(api, sis)
    assert (student[name], student["fields"][name]["source"]) == (v2, "sis")
    listed = sis.report(report.id).changes
    assert [c["field"] for c in listed if c["manual_edit_overwritten"]] == [name]


@pytest.mark.parametrize(("name", "column", "v1", "v2", "v3"), SHARED, ids=IDS)
def test_r11_hand_edit_equal_to_the_sent_value_becomes_the_sis_source(
    roster: Roster, sis: Sis, name: str, column: str, v1: str, v2: str, v3: str
) -> None:
    snap = _snap(column, v1)
    sis.run(snap)
    api = _teacher(roster, sis)
    api.ok("PATCH", f"students/{sis.person_id('u1')}", json={name: v2})
    report = sis.run(_sent(snap, column, v2))
    assert report.counts["manual_edits_overwritten"] == 0
    assert name not in report.field_changes("u1")
    student = _student(api, sis)
    assert (student[name], student["fields"][name]["source"]) == (v2, "sis")
    again = sis.run(_sent(snap, column, v2))
    assert again.entity_counts("students") == {"unchanged": 1}
    assert again.changes == []


@pytest.mark.parametrize("how", ["blank", "absent"])
@pytest.mark.parametrize(("name", "column", "v1", "v2", "v3"), SHARED, ids=IDS)
def test_r12_value_from_the_sis_no_longer_sent_is_cleared(
    roster: Roster, sis: Sis, name: str, column: str, v1: str, v2: str, v3: str, how: str
) -> None:
    snap = _snap(column, v1)
    sis.run(snap)
    report = sis.run(_sent(snap, column, None, how))
    assert report.status == "applied"
    change = report.field_changes("u1")[name]
    assert (change["old"], change["new"], change["manual_edit_overwritten"]) == (v1, None, False)
    student = _student(_teacher(roster, sis), sis)
    assert student[name] is None
    assert student["fields"][name]["source"] is None
    assert student["fields"][name]["sis_sends"] is False
    if how == "absent":
        assert ("missing_column", column) in [(w["code"], w["column"]) for w in report.warnings]


@pytest.mark.parametrize("how", ["blank", "absent"])
@pytest.mark.parametrize(("name", "column", "v1", "v2", "v3"), SHARED, ids=IDS)
def test_r12_hand_value_no_longer_sent_is_kept(
    roster: Roster, sis: Sis, name: str, column: str, v1: str, v2: str, v3: str, how: str
) -> None:
    snap = _snap(column, v1)
    sis.run(snap)
    api = _teacher(roster, sis)
    api.ok("PATCH", f"students/{sis.person_id('u1')}", json={name: v3})
    day2 = _sent(snap, column, None, how)
    report = sis.run(day2)
    assert report.counts["manual_edits_overwritten"] == 0
    assert name not in report.field_changes("u1")
    student = _student(api, sis)
    assert student[name] == v3
    assert student["fields"][name] == {
        "class": "shared",
        "editable": True,
        "source": "manual",
        "sis_sends": False,
    }
    # R11: not sent, so a hand edit stays, run after run, with no warning.
    edited = api.ok("PATCH", f"students/{sis.person_id('u1')}", json={name: v2})
    assert edited["warnings"] == []
    sis.run(day2)
    assert _student(api, sis)[name] == v2


def test_r12_shared_field_never_sent_is_left_alone(roster: Roster, sis: Sis) -> None:
    snap = _snap()
    sis.run(snap)
    api = _teacher(roster, sis)
    student = _student(api, sis)
    assert student["fields"]["middle_name"] == {
        "class": "shared",
        "editable": True,
        "source": None,
        "sis_sends": False,
    }
    api.ok("PATCH", f"students/{sis.person_id('u1')}", json={"middle_name": "Hand"})
    report = sis.run(snap)
    assert report.changes == []
    assert _student(api, sis)["middle_name"] == "Hand"


@pytest.mark.parametrize(
    ("column", "value", "field", "expected"),
    [
        ("givenName", "Anita", "first_name", "Anita"),
        ("familyName", "Lopez-Diaz", "last_name", "Lopez-Diaz"),
        ("username", "anita.lopez", "username", "anita.lopez"),
    ],
)
def test_r11_locked_field_takes_the_sent_value(
    roster: Roster, sis: Sis, column: str, value: str, field: str, expected: str
) -> None:
    snap = _snap()
    sis.run(snap)
    api = _teacher(roster, sis)
    student_id = sis.person_id("u1")
    error_of(api.patch(f"students/{student_id}", json={field: "ByHand"}), 409, "field_locked")
    report = sis.run(_sent(snap, column, value))
    change = report.field_changes("u1")[field]
    assert change["new"] == expected and change["manual_edit_overwritten"] is False
    student = _student(api, sis)
    assert student[field] == expected
    assert student["fields"][field] == {
        "class": "locked",
        "editable": False,
        "source": "sis",
        "sis_sends": True,
    }


def test_r11_locked_schools_and_role_take_the_sent_value(roster: Roster, sis: Sis) -> None:
    snap = _snap()
    snap.teacher("t1", "tess")
    sis.run(snap)
    day2 = snap.copy()
    for role in day2.rows["roles"]:
        role["orgSourcedId"] = "s2"
        if role["userSourcedId"] == "t1":
            role["role"] = "principal"
    for user in day2.rows["users"]:
        user["primaryOrgSourcedId"] = "s2"
    report = sis.run(day2)
    assert report.entity_counts("students") == {"updated": 1}
    assert report.entity_counts("educators") == {"updated": 1}
    api = roster.district_admin().api
    student = api.ok("GET", f"students/{sis.person_id('u1')}")
    assert student["school_ids"] == [sis.school_id("s2")]
    educator = api.ok("GET", f"educators/{sis.person_id('t1')}")
    assert (educator["role"], educator["admin_scope"]) == ("administrator", "school")
    assert report.field_changes("t1")["role"]["new"] == "administrator"


def test_r11_history_shows_where_each_value_came_from(roster: Roster, sis: Sis) -> None:
    snap = _snap("email", "a@one.example")
    first = sis.run(snap)
    api = _teacher(roster, sis)
    student_id = sis.person_id("u1")
    api.ok("PATCH", f"students/{student_id}", json={"email": "hand@example.org"})
    second = sis.run(snap)
    entries = history(api, f"students/{student_id}")
    assert [(e["action"], e["actor"]["kind"], e["run_id"]) for e in entries] == [
        ("updated", "sync", second.id),
        ("updated", "educator", None),
        ("created", "sync", first.id),
    ]
    assert (entries[0]["old"], entries[0]["new"]) == ("hand@example.org", "a@one.example")


# R13: class Details ---------------------------------------------------------------------------


def test_r13_every_class_detail_follows_the_sis_and_is_locked(roster: Roster, sis: Sis) -> None:
    snap = _snap()
    snap.klass("c1", "Math 3", code="M3", grades="03", subjects="Math", periods="1")
    sis.run(snap)
    api = roster.district_admin().api
    class_id = sis.class_id("c1")
    klass = api.ok("GET", f"classes/{class_id}")
    attempts = {
        "name": "By hand",
        "alt_external_id": "HAND",
        "school_id": sis.school_id("s2"),
        "grades": ["05"],
        "subjects": ["Art"],
        "periods": ["9"],
        "kind": "group",
    }
    for name, value in attempts.items():
        assert klass["fields"][name]["class"] == "locked"
        assert klass["fields"][name]["editable"] is False
        error_of(api.patch(f"classes/{class_id}", json={name: value}), 409, "field_locked")
    assert api.ok("GET", f"classes/{class_id}") == klass
    day2 = snap.copy()
    day2.find("classes", "c1").update(
        title="Math 3 (honors)",
        classCode="M3H",
        schoolSourcedId="s2",
        grades="03,04",
        subjects="Math,Science",
        periods="2,3",
    )
    report = sis.run(day2)
    assert report.entity_counts("classes") == {"updated": 1}
    assert set(report.field_changes("c1")) == {
        "name",
        "alt_external_id",
        "school_id",
        "grades",
        "subjects",
        "periods",
    }
    klass = api.ok("GET", f"classes/{class_id}")
    assert (klass["name"], klass["alt_external_id"], klass["school_id"]) == (
        "Math 3 (honors)",
        "M3H",
        sis.school_id("s2"),
    )
    assert (sorted(klass["grades"]), sorted(klass["subjects"]), sorted(klass["periods"])) == (
        ["03", "04"],
        ["Math", "Science"],
        ["2", "3"],
    )


def test_r13_list_details_in_another_order_are_not_a_change(roster: Roster, sis: Sis) -> None:
    snap = _snap()
    snap.klass("c1", grades="03,04", subjects="Math,Science", periods="1,2")
    sis.run(snap)
    day2 = snap.copy()
    day2.find("classes", "c1").update(grades="04,03", subjects="Science,Math", periods="2,1")
    report = sis.run(day2)
    assert report.entity_counts("classes") == {"unchanged": 1}
    assert report.changes == []


# R16: product settings ------------------------------------------------------------------------

LANGUAGE = "metadata.ill.language_support"
MINUTES = "metadata.reading.session_minutes"


def _settings(api: Api, sis: Sis) -> dict[str, Any]:
    body: dict[str, Any] = api.ok("GET", f"students/{sis.person_id('u1')}/product-settings")
    return body


def test_r16_settings_come_from_metadata_columns(roster: Roster, sis: Sis) -> None:
    report = sis.run(_snap(**{LANGUAGE: "spanish", MINUTES: "45"}))
    assert report.counts["product_settings_changed"] == 2
    settings = _settings(_teacher(roster, sis), sis)
    assert settings["ill"]["language_support"] == {
        "value": "Spanish",
        "default": "English",
        "source": "sis",
        "sis_sends": True,
        "editable": True,
    }
    assert settings["reading"]["session_minutes"]["value"] == 45
    assert settings["reading"]["language_support"]["source"] is None


def test_r16_changed_to_spanish_by_hand_is_english_again_after_the_next_sync(
    roster: Roster, sis: Sis
) -> None:
    snap = _snap(**{LANGUAGE: "English"})
    sis.run(snap)
    api = _teacher(roster, sis)
    student_id = sis.person_id("u1")
    answer = api.ok(
        "PATCH",
        f"students/{student_id}/product-settings",
        json={"ill": {"language_support": "Spanish"}},
    )
    assert answer["ill"]["language_support"]["value"] == "Spanish"
    assert answer["ill"]["language_support"]["source"] == "manual"
    assert [w["field"] for w in answer["warnings"]] == ["ill.language_support"]
    day2 = _sent(snap, "givenName", "Anna")
    report = sis.run(day2)
    assert report.counts["manual_edits_overwritten"] == 1
    change = report.field_changes("u1")["ill.language_support"]
    assert (change["old"], change["new"], change["manual_edit_overwritten"]) == (
        "Spanish",
        "English",
        True,
    )
    setting = _settings(api, sis)["ill"]["language_support"]
    assert (setting["value"], setting["source"], setting["sis_sends"]) == ("English", "sis", True)


def test_r16_setting_the_sis_does_not_send_keeps_the_hand_value(roster: Roster, sis: Sis) -> None:
    snap = _snap(**{LANGUAGE: "English"})
    sis.run(snap)
    api = _teacher(roster, sis)
    api.ok(
        "PATCH",
        f"students/{sis.person_id('u1')}/product-settings",
        json={"reading": {"session_minutes": 30}},
    )
    report = sis.run(_sent(snap, "givenName", "Anna"))
    assert report.counts["manual_edits_overwritten"] == 0
    setting = _settings(api, sis)["reading"]["session_minutes"]
    assert (setting["value"], setting["source"], setting["sis_sends"]) == (30, "manual", False)


def test_r12_setting_no_longer_sent_falls_back_to_the_default(roster: Roster, sis: Sis) -> None:
    snap = _snap(**{LANGUAGE: "Spanish"})
    sis.run(snap)
    report = sis.run(_sent(snap, LANGUAGE, None, "blank"))
    change = report.field_changes("u1")["ill.language_support"]
    assert (change["old"], change["new"]) == ("Spanish", None)
    setting = _settings(_teacher(roster, sis), sis)["ill"]["language_support"]
    assert (setting["value"], setting["source"], setting["sis_sends"]) == ("English", None, False)


@pytest.mark.parametrize(
    ("column", "value"),
    [
        (LANGUAGE, "Klingon"),
        (MINUTES, "500"),
        (MINUTES, "ten"),
        ("metadata.ill.session_minutes", "5"),
    ],
)
def test_r16_r22_invalid_setting_value_is_a_row_error(
    roster: Roster, sis: Sis, column: str, value: str
) -> None:
    snap = _snap()
    snap.student("u2", "ben", **{column: value})
    report = sis.run(snap)
    assert report.status == "applied"
    (error,) = report.errors
    assert (error["file"], error["line"], error["column"], error["code"]) == (
        "users.csv",
        3,
        column,
        "bad_setting",
    )
    assert error["sourced_id"] == "u2"
    assert report.entity_counts("students") == {"created": 1}


# R17: every applied run re-asserts every SIS value --------------------------------------------


def test_r17_identical_snapshot_reverts_a_hand_edit_of_a_sent_field(
    roster: Roster, sis: Sis
) -> None:
    snap = _snap("email", "ana@school.example")
    sis.run(snap)
    api = _teacher(roster, sis)
    api.ok("PATCH", f"students/{sis.person_id('u1')}", json={"email": "ana@home.example"})
    report = sis.run(snap)
    assert report.counts["manual_edits_overwritten"] == 1
    assert _student(api, sis)["email"] == "ana@school.example"


def test_r17_identical_snapshot_reverts_a_hand_edit_of_a_sent_setting(
    roster: Roster, sis: Sis
) -> None:
    snap = _snap(**{LANGUAGE: "English"})
    sis.run(snap)
    api = _teacher(roster, sis)
    api.ok(
        "PATCH",
        f"students/{sis.person_id('u1')}/product-settings",
        json={"ill": {"language_support": "Spanish"}},
    )
    report = sis.run(snap)
    assert report.counts["manual_edits_overwritten"] == 1
    assert report.counts["product_settings_changed"] == 1
    setting = _settings(api, sis)["ill"]["language_support"]
    assert (setting["value"], setting["source"]) == ("English", "sis")
    again = sis.run(snap)
    assert again.changes == []


def test_r17_identical_snapshot_reverts_a_bulk_hand_edit_of_a_sent_setting(
    roster: Roster, sis: Sis
) -> None:
    snap = _snap(**{LANGUAGE: "English"})
    snap.student("u2", "ben", **{LANGUAGE: "English"})
    sis.run(snap)
    api = _teacher(roster, sis)
    ids = [sis.person_id("u1"), sis.person_id("u2")]
    answer = api.ok(
        "POST",
        "product-settings/bulk",
        json={
            "student_ids": ids,
            "product": "ill",
            "setting": "language_support",
            "value": "Spanish",
        },
    )
    assert answer["will_be_reverted_by_sync"] == 2
    report = sis.run(snap)
    assert report.counts["manual_edits_overwritten"] == 2
    for student_id in ids:
        settings = api.ok("GET", f"students/{student_id}/product-settings")
        assert settings["ill"]["language_support"]["value"] == "English"


def test_r17_identical_snapshot_adds_back_a_sis_product_removed_by_hand(
    roster: Roster, sis: Sis
) -> None:
    snap = _snap()
    snap.klass("c1")
    snap.product("c1", "ill")
    sis.run(snap)
    api = _teacher(roster, sis)
    api.ok("DELETE", f"classes/{sis.class_id('c1')}/products/ill", 204)
    assert sis.products("c1") == {}
    report = sis.run(snap)
    assert report.counts["class_products"] == {"added": 1, "removed": 0}
    assert sis.products("c1") == {"ill": "sis"}
