"""The public sample exports in ../shared/samples through the real sync, defects included
(their SOURCE.md lists them). The samples are read where they are, never copied here."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import pytest

from tests.factories import Roster
from tests.integration.helpers import walk
from tests.integration.syncing import Report, Sis, upload, wait_for
from tests.oneroster import OneRoster

SAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "samples"


def sample(relative: str) -> Path:
    folder = SAMPLES / relative
    if not folder.is_dir():
        pytest.skip(f"sample folder {folder} is not present (../shared/samples is optional)")
    return folder


def _codes(report: Report, severity: str = "warnings") -> set[str]:
    return {i["code"] for i in report.run[severity]}


def _twice(sis: Sis, path: Path) -> tuple[Report, Report]:
    first = sis.run(path)
    second = sis.run(path)
    if first.status == "applied":
        for kind in ("students", "educators", "classes"):
            assert second.count(kind, "unchanged") == sum(first.counts[kind].values()), kind
        assert second.changes == []
    return first, second


def test_r8_r22_moodle_full_1_1_applies_with_its_leniency_warnings(
    roster: Roster, sis: Sis
) -> None:
    first, _ = _twice(sis, sample("moodle-enrol_oneroster/Test_full_data_set"))
    assert (first.status, first.run["mode"], first.run["oneroster_version"]) == (
        "applied",
        "full",
        "1.1",
    )
    assert first.entity_counts("students") == {"created": 3}
    assert first.entity_counts("educators") == {"created": 2}
    assert first.entity_counts("classes") == {"created": 2}
    assert first.counts["not_imported"] == 1  # the parent
    assert first.counts["schools"]["created"] == 1
    assert first.counts["enrollments"] == {"added": 3, "removed": 0}
    assert first.errors == [] and first.conflicts == []
    assert _codes(first) == {"lenient_boolean", "tobedeleted_in_bulk", "department_as_school"}
    assert sis.klass("cls-222-123478").status == "inactive"  # tobedeleted
    physics = sis.klass("cls-222-123456")
    assert (physics.name, physics.status, sorted(physics.subjects)) == (
        "Introduction to Physics",
        "active",
        ["Biology", "Physics", "Science"],
    )
    assert set(sis.members("cls-222-123456")) == {
        "usr-222-123456",
        "usr-222-987654",
        "usr-222-1234561232",
    }
    mary = sis.person("usr-222-66778899")
    assert (mary.kind, mary.grade, mary.email, mary.middle_name) == (
        "student",
        "12",
        "mary.jones@myschool.com",
        "Jane",
    )


def test_r8_r12_moodle_minimal_1_1_applies_with_optional_columns_blank(
    roster: Roster, sis: Sis
) -> None:
    first, _ = _twice(sis, sample("moodle-enrol_oneroster/Test_minimal_data_set"))
    assert (first.status, first.run["oneroster_version"]) == ("applied", "1.1")
    assert first.entity_counts("students") == {"created": 3}
    assert first.entity_counts("educators") == {"created": 2}
    assert first.entity_counts("classes") == {"created": 2}
    assert first.counts["enrollments"]["added"] == 6
    assert _codes(first) == {"lenient_boolean", "department_as_school"}
    api = roster.district_admin().api
    for student in walk(api, "students"):
        assert student["email"] is None and student["grade"] is None
        assert student["fields"]["email"]["sis_sends"] is False


def test_r8_r22_moodle_v1p2_full_applies_reading_its_misspelled_headers(
    roster: Roster, sis: Sis
) -> None:
    first, _ = _twice(sis, sample("moodle-enrol_oneroster/v1p2_full_dataset"))
    assert (first.status, first.run["oneroster_version"]) == ("applied", "1.2")
    assert first.entity_counts("students") == {"created": 3}
    assert first.entity_counts("educators") == {"created": 3}
    assert first.entity_counts("classes") == {"created": 2}
    assert first.errors == [] and first.conflicts == []
    assert {
        "misspelled_column",
        "trailing_empty_header",
        "non_iso_date",
        "lenient_boolean",
        "tobedeleted_in_bulk",
        "department_as_school",
    } == _codes(first)
    assert sis.person("usr-222-66778899").preferred_first_name == "MJ"
    thomas = sis.person("usr-222-1234561")  # only a secondary siteAdministrator role
    assert (thomas.kind, thomas.role, thomas.admin_scope) == ("educator", "administrator", "school")
    john = sis.person("usr-222-123456")  # teacher, and a guardian role that is not imported
    assert (john.kind, john.role) == ("educator", "teacher")


def test_r19_moodle_1_2_delta_applies_as_a_delta(roster: Roster, sis: Sis) -> None:
    first, _ = _twice(sis, sample("moodle-enrol_oneroster/oneroster_test_data"))
    assert (first.status, first.run["mode"], first.run["oneroster_version"]) == (
        "applied",
        "delta",
        "1.2",
    )
    assert first.entity_counts("students") == {"created": 1}
    assert first.entity_counts("classes") == {"created": 1}
    assert first.counts["enrollments"]["added"] == 1
    assert _codes(first) == {"lenient_boolean"}
    bruce = sis.person("USER_0")
    assert (bruce.username, bruce.first_name, bruce.alt_external_id) == (
        "brucewayne",
        "Bruce",
        "bruce.wayne",
    )
    assert sis.members("CLASS_001") == {"USER_0": "sis"}


def test_r19_delta_sample_deactivates_nothing_it_does_not_name(roster: Roster, sis: Sis) -> None:
    folder = sample("moodle-enrol_oneroster/oneroster_test_data")
    earlier = OneRoster()
    earlier.school("ORG_1")
    for n in range(1, 4):
        earlier.student(f"old-{n}", f"old{n}", schools=("ORG_1",))
    sis.run(earlier)
    report = sis.run(folder)
    assert report.status == "applied"
    assert report.count("students", "deactivated") == 0
    assert all(sis.person(f"old-{n}").status == "active" for n in range(1, 4))


def test_r22_vendor_1_1_sample_is_rejected_naming_its_columns(roster: Roster, sis: Sis) -> None:
    state = sis.state()
    first, second = _twice(sis, sample("oneroster-import/OneRosterv1p1BaseCSV"))
    for report in (first, second):
        assert report.status == "rejected"
        assert [(e["file"], e["line"], e["column"], e["code"]) for e in report.errors] == [
            ("classes.csv", 1, "grades", "missing_column"),
            ("classes.csv", 1, "periods", "missing_column"),
        ]
    assert first.run["message"] == (
        "classes.csv line 1, column grades: required column is missing "
        "(the header has 'grade': rename it grades)"
    )
    assert sis.state() == state


def _zipped(folder: Path, target: Path) -> Path:
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.iterdir()):
            archive.write(path, f"{folder.name}/{path.name}")
    return target


@pytest.mark.parametrize(
    ("relative", "expected"),
    [
        ("moodle-enrol_oneroster/Test_full_data_set", "applied"),
        ("moodle-enrol_oneroster/v1p2_full_dataset", "applied"),
        ("moodle-enrol_oneroster/oneroster_test_data", "applied"),
        ("oneroster-import/OneRosterv1p1BaseCSV", "rejected"),
    ],
)
def test_r3_samples_zipped_and_uploaded_through_the_api(
    roster: Roster, sis: Sis, tmp_path: Path, relative: str, expected: str
) -> None:
    folder = sample(relative)
    engine_report = sis.run(folder, dry_run=True)
    api = roster.district_admin().api
    queued = upload(api, _zipped(folder, tmp_path / "sample.zip"))
    run: dict[str, Any] = wait_for(api, queued["id"])
    assert run["status"] == expected
    assert run["counts"] == engine_report.counts
    assert [e["code"] for e in run["errors"]] == [e["code"] for e in engine_report.errors]


def _same_district(version: str) -> OneRoster:
    snap = OneRoster(version=version)
    snap.school("s1", "Lincoln")
    snap.school("s2", "Washington")
    snap.student("u1", "ana", given="Ana", family="Lopez", email="ana@example.org", grades="kg")
    snap.student("u2", "ben", given="Ben", family="Okafor", schools=("s1", "s2"), identifier="B2")
    snap.teacher("t1", "tess", given="Tess", family="Teach", schools=("s2",))
    snap.user("a1", "sam", "administrator", given="Sam", family="Boss", schools=("district",))
    snap.user("p1", "pat.parent", "parent", given="Pat", family="Lopez")
    snap.klass("c1", "Math", school="s2", grades=("01", "02"), subjects=("Math",), periods="3")
    snap.enroll("c1", "u2")
    snap.enroll("c1", "t1", "teacher")
    return snap


def test_r8_oneroster_1_1_and_1_2_build_the_same_roster(
    roster: Roster, other_roster: Roster, tmp_path: Path
) -> None:
    views = []
    for org, version in ((roster, "1.1"), (other_roster, "1.2")):
        sis = Sis(org, tmp_path / version)
        report = sis.run(_same_district(version))
        assert report.status == "applied" and report.errors == [], report.run
        assert report.counts["not_imported"] == 1
        api = org.district_admin().api
        schools = {s["id"]: s["external_id"] for s in api.ok("GET", "schools")["items"]}

        def plain(item: dict[str, Any], schools: dict[str, str] = schools) -> dict[str, Any]:
            skip = {"id", "created_at", "updated_at", "version"}
            out = {k: v for k, v in item.items() if k not in skip}
            if "school_ids" in out:
                out["school_ids"] = sorted(schools[s] for s in out["school_ids"])
            if "school_id" in out:
                out["school_id"] = schools[out["school_id"]]
            return out

        people = walk(api, "students") + [e for e in walk(api, "educators") if e["origin"] == "sis"]
        classes = walk(api, "classes")
        views.append(
            (
                sorted((plain(p) for p in people), key=lambda p: p["username"]),
                [plain(c) for c in classes],
                {k: v for k, v in report.counts.items() if k != "warnings"},
            )
        )
    assert views[0] == views[1]
    by_name = {p["username"]: p for p in views[0][0]}
    assert by_name["sam"]["role"] == "administrator"
    assert by_name["sam"]["admin_scope"] == "district"
    assert by_name["ana"]["grade"] == "KG"
    assert by_name["ben"]["school_ids"] == ["s1", "s2"]
