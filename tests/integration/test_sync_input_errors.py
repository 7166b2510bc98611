"""Input errors never cost data (R22): unusable snapshots are rejected whole and kept as
runs; bad rows are skipped and reported while the rest applies."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import pytest

from tests.factories import Roster
from tests.integration.syncing import Report, Sis
from tests.oneroster import OneRoster, district


def _places(report: Report, severity: str = "errors") -> list[tuple[Any, ...]]:
    return [(i["file"], i["line"], i["column"], i["code"]) for i in report.run[severity]]


def _rejected(report: Report) -> None:
    assert report.status == "rejected"
    assert report.counts["errors"] == len(report.errors) > 0
    assert report.changes == []
    assert report.run["message"] == report.errors[0]["message"]


# Structure errors -----------------------------------------------------------------------------


def _broken_snapshots(tmp_path: Path) -> dict[str, tuple[Path, list[tuple[Any, ...]], str]]:
    """Each unusable snapshot with the places and message start its rejection names."""
    out: dict[str, tuple[Path, list[tuple[Any, ...]], str]] = {}
    base = district(students=2, teachers=1, classes=1)

    snap = base.copy()
    snap.raw["users.csv"] = None
    out["missing_file"] = (
        snap.write(tmp_path / "missing_file"),
        [("users.csv", None, None, "missing_file")],
        "users.csv",
    )

    snap = base.copy()
    snap.omit["users"] = {"givenName"}
    out["missing_column"] = (
        snap.write(tmp_path / "missing_column"),
        [("users.csv", 1, "givenName", "missing_column")],
        "users.csv line 1, column givenName",
    )

    snap = base.copy()
    text = snap.csv_text("users").replace("Stu2", "Jos\u00e9")
    snap.raw["users.csv"] = text.encode("latin-1")
    out["bad_encoding"] = (
        snap.write(tmp_path / "bad_encoding"),
        [("users.csv", 3, None, "bad_encoding")],
        "users.csv line 3",
    )

    garbage = tmp_path / "not-a-zip.zip"
    garbage.write_bytes(b"this is a spreadsheet, honest\n" * 10)
    out["not_a_zip"] = (garbage, [("not-a-zip.zip", None, None, "unreadable_archive")], "")

    climbing = tmp_path / "climbing.zip"
    with zipfile.ZipFile(climbing, "w") as archive:
        for name, data in base.files().items():
            archive.writestr(name, data)
        archive.writestr("../evil.csv", b"sourcedId\n")
    out["unsafe_name"] = (climbing, [("climbing.zip", None, None, "unsafe_name")], "")

    snap = base.copy()
    snap.raw["manifest.csv"] = "propertyName,value\noneroster.version,3.0\n"
    out["bad_manifest"] = (
        snap.write(tmp_path / "bad_manifest"),
        [("manifest.csv", 2, "value", "bad_manifest")],
        "manifest.csv line 2, column value",
    )
    return out


CASES = [
    "missing_file",
    "missing_column",
    "bad_encoding",
    "not_a_zip",
    "unsafe_name",
    "bad_manifest",
]


@pytest.mark.parametrize("case", CASES)
def test_r22_unusable_snapshot_is_rejected_whole_and_kept_as_a_run(
    roster: Roster, sis: Sis, tmp_path: Path, case: str
) -> None:
    first = district(students=2, teachers=1, classes=1)
    sis.run(first)
    state = sis.state()
    path, places, message = _broken_snapshots(tmp_path)[case]
    report = sis.run(path)
    _rejected(report)
    found = [p for p in _places(report) if p[3] == places[0][3]]
    assert found[:1] == places
    assert report.errors[0]["message"].startswith(message)
    assert sis.state() == state


def test_r22_every_structure_problem_is_listed_at_once(roster: Roster, sis: Sis) -> None:
    snap = district(students=1)
    snap.omit["users"] = {"givenName", "familyName"}
    snap.omit["classes"] = {"title"}
    report = sis.run(snap)
    _rejected(report)
    assert sorted((e["file"], e["column"]) for e in report.errors) == [
        ("classes.csv", "title"),
        ("users.csv", "familyName"),
        ("users.csv", "givenName"),
    ]


def test_r22_rejection_is_a_run_that_administrators_can_read(roster: Roster, sis: Sis) -> None:
    snap = district(students=1)
    snap.omit["users"] = {"username"}
    report = sis.run(snap)
    admin = roster.district_admin().api
    run = admin.ok("GET", f"syncs/{report.id}")
    assert run["status"] == "rejected"
    assert run["errors"][0]["message"].startswith("users.csv line 1, column username")
    assert [r["id"] for r in admin.ok("GET", "syncs")["items"]] == [report.id]


# Row errors -----------------------------------------------------------------------------------


def test_r22_bad_rows_are_skipped_with_file_line_and_column_and_the_rest_applies(
    roster: Roster, sis: Sis
) -> None:
    snap = OneRoster()
    snap.school("s1")
    snap.student("u1", "good")  # users.csv line 2
    snap.student("u2", "bad.grade", grades="Grade 3")  # line 3
    snap.student("u3", "no.school", schools=("nowhere",))  # line 4
    snap.student("u4", "bad.status", status="inactive")  # line 5
    snap.user("u5", "janitor", "janitor")  # line 6; roles.csv line 6
    snap.student("u6", "bad email", email="not-an-email")  # line 7
    snap.klass("c1")  # classes.csv line 2
    snap.klass("c2", school="elsewhere")  # line 3
    snap.enroll("c1", "u1")  # enrollments.csv line 2
    snap.enroll("c9", "u1")  # line 3: unknown class
    snap.enroll("c1", "u404")  # line 4: unknown user
    snap.enroll("c1", "u2", role="mascot")  # line 5: bad role
    report = sis.run(snap)
    assert report.status == "applied"
    assert report.entity_counts("students") == {"created": 1}
    assert report.entity_counts("classes") == {"created": 1}
    places = set(_places(report))
    assert {
        ("users.csv", 3, "grades", "bad_grade"),
        ("users.csv", 4, "orgSourcedId", "unknown_school"),
        ("users.csv", 5, "status", "bad_status"),
        ("roles.csv", 6, "role", "bad_enum"),
        ("users.csv", 6, "sourcedId", "no_role"),
        ("users.csv", 7, "username", "bad_value"),
        ("classes.csv", 3, "schoolSourcedId", "unknown_school"),
        ("enrollments.csv", 3, "classSourcedId", "unknown_class"),
        ("enrollments.csv", 4, "userSourcedId", "unknown_user"),
        ("enrollments.csv", 5, "role", "bad_enum"),
    } <= places
    assert report.counts["errors"] == len(report.errors)
    for error in report.errors:
        assert error["message"].startswith(f"{error['file']} line {error['line']}")
    assert sis.members("c1") == {"u1": "sis"}


def test_r22_skipped_records_existing_entities_are_not_deactivated(
    roster: Roster, sis: Sis
) -> None:
    snap = district(students=6, teachers=1, classes=3)
    snap.find("users", "u5")["metadata.ill.language_support"] = "Spanish"
    sis.run(snap)
    state = sis.state()
    day2 = snap.copy()
    day2.find("users", "u1")["grades"] = "Grade 3"  # read error
    for role in day2.rows["roles"]:
        if role["userSourcedId"] == "u2":
            role["orgSourcedId"] = "nowhere"  # planning error: unknown school
        if role["userSourcedId"] == "u3":
            role["role"] = "janitor"  # its only role row is skipped
    day2.find("users", "u4")["sourcedId"] = "u4"
    day2.rows["users"].append(dict(day2.find("users", "u4")))  # duplicate sourcedId
    day2.find("users", "u5")["metadata.ill.language_support"] = "Klingon"
    day2.find("classes", "c2")["schoolSourcedId"] = "elsewhere"  # planning error
    day2.find("classes", "c3")["grades"] = "Grade 3"  # read error
    report = sis.run(day2)
    assert report.status == "applied", report.run
    for kind in ("students", "educators", "classes"):
        assert report.count(kind, "deactivated") == 0, kind
    assert {p[3] for p in _places(report)} >= {
        "bad_grade",
        "unknown_school",
        "bad_enum",
        "no_role",
        "duplicate_sourced_id",
        "bad_setting",
    }
    for ref in ("u1", "u2", "u3", "u4", "u5"):
        assert sis.person(ref).status == "active", ref
    for ref in ("c2", "c3"):
        assert sis.klass(ref).status == "active", ref
    # Their memberships and settings stay: nothing about them was applied.
    assert set(sis.members("c1")) == {"u1", "u2", "u3", "u4", "u5", "u6", "t1"}
    assert set(sis.members("c2")) == {"u1", "u2", "u3", "u4", "u5", "u6", "t1"}
    assert sis.state()["ProductSetting"] == state["ProductSetting"]


def test_r22_a_skipped_person_is_skipped_not_absent_in_the_threshold(
    roster: Roster, sis: Sis
) -> None:
    snap = district(students=4)
    sis.run(snap)
    day2 = snap.copy()
    for n in (1, 2, 3, 4):
        day2.find("users", f"u{n}")["grades"] = "Grade 3"
    report = sis.run(day2)
    assert report.status == "applied"
    assert report.count("students", "deactivated") == 0
    assert report.codes() == ["bad_grade"] * 4
