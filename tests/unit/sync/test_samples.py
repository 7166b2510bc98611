"""The public sample exports in ../shared/samples, defects included (see their SOURCE.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sync_kit import SAMPLES, codes, open_folder, split

from rollbook.sync.parse import Snapshot
from rollbook.sync.records import Issue, SnapshotRejected

READERS = ("orgs", "users", "roles", "classes", "enrollments", "resources", "class_resources")


def sample(relative: str) -> Path:
    folder = SAMPLES / relative
    if not folder.is_dir():
        pytest.skip("../shared/samples not present")
    return folder


def read_all(snapshot: Snapshot) -> dict[str, tuple[list[Any], list[Issue]]]:
    return {name: split(getattr(snapshot, name)()) for name in READERS}


def test_moodle_full_1_1_opens_with_leniency_warnings() -> None:
    snapshot = open_folder(sample("moodle-enrol_oneroster/Test_full_data_set"))
    assert (snapshot.version, snapshot.mode, snapshot.warnings) == ("1.1", "full", [])
    read = read_all(snapshot)
    users, user_issues = read["users"]
    assert len(users) == 6
    assert codes(user_issues) == ["lenient_boolean"]  # enabledUser TRUE
    assert {u.role for u in users} == {"teacher", "student", "parent"}  # parent handed on
    classes, class_issues = read["classes"]
    assert [c.status for c in classes] == ["active", "tobedeleted"]
    assert codes(class_issues) == ["tobedeleted_in_bulk"]
    assert classes[0].subjects == ("Science", "Physics", "Biology")
    assert len(read["enrollments"][0]) == 6 and read["enrollments"][1] == []
    assert [o.type for o in read["orgs"][0]] == ["department"]


def test_moodle_minimal_1_1_opens_with_optional_columns_blank() -> None:
    snapshot = open_folder(sample("moodle-enrol_oneroster/Test_minimal_data_set"))
    assert (snapshot.version, snapshot.mode) == ("1.1", "full")
    read = read_all(snapshot)
    users, user_issues = read["users"]
    assert len(users) == 6 and codes(user_issues) == ["lenient_boolean"]
    assert all(u.status is None and u.grade is None and u.email is None for u in users)
    assert [c.grades for c in read["classes"][0]] == [(), ()]


def test_moodle_v1p2_full_opens_reading_its_misspelled_headers_with_warnings() -> None:
    snapshot = open_folder(sample("moodle-enrol_oneroster/v1p2_full_dataset"))
    assert (snapshot.version, snapshot.mode) == ("1.2", "full")
    assert [(w.file, w.column, w.code) for w in snapshot.warnings] == [
        ("users.csv", "prefferedGivenName", "misspelled_column"),
        ("users.csv", "prefferedMiddleName", "misspelled_column"),
        ("users.csv", "prefferedFamilyName", "misspelled_column"),
        ("roles.csv", None, "trailing_empty_header"),
        ("roles.csv", "dataLastModified", "misspelled_column"),
    ]
    read = read_all(snapshot)
    users, user_issues = read["users"]
    assert len(users) == 6
    assert codes(user_issues) == ["non_iso_date", "lenient_boolean"]  # 1/05/2023, TRUE
    assert [u.preferred_given_name for u in users[:3]] == [None, "MJ", "Tom"]
    roles, role_issues = read["roles"]
    assert role_issues == []
    assert [r.role for r in roles] == [
        "teacher",
        "student",
        "siteAdministrator",
        "teacher",
        "student",
        "student",
        "guardian",
    ]
    assert codes(read["classes"][1]) == ["tobedeleted_in_bulk"]


def test_moodle_1_2_delta_opens_as_a_delta_without_warnings() -> None:
    snapshot = open_folder(sample("moodle-enrol_oneroster/oneroster_test_data"))
    assert (snapshot.version, snapshot.mode, snapshot.warnings) == ("1.2", "delta", [])
    assert "userProfiles" not in snapshot.files  # read by nobody, so not listed
    read = read_all(snapshot)
    (user,) = read["users"][0]
    assert (user.sourced_id, user.username, user.status) == ("USER_0", "brucewayne", "active")
    assert [r.role for r in read["roles"][0]] == ["student"]
    assert [len(read[name][0]) for name in ("orgs", "classes", "enrollments")] == [1, 1, 1]


def test_vendor_1_1_sample_is_rejected_for_its_non_oneroster_class_columns() -> None:
    with pytest.raises(SnapshotRejected) as caught:
        open_folder(sample("oneroster-import/OneRosterv1p1BaseCSV"))
    assert [(i.file, i.line, i.column, i.code) for i in caught.value.issues] == [
        ("classes.csv", 1, "grades", "missing_column"),
        ("classes.csv", 1, "periods", "missing_column"),
    ]
    assert str(caught.value) == (
        "classes.csv line 1, column grades: required column is missing "
        "(the header has 'grade': rename it grades) (and 1 more problems)"
    )
