"""Manifest and headers: what makes a snapshot unusable (R22) and what is read leniently."""

from __future__ import annotations

import pytest
from sync_kit import BASE_11, BASE_12, Builder, codes, manifest_for, open_folder, split

from rollbook.sync.records import SnapshotRejected


def rejected(
    build: Builder, changes: dict[str, str | bytes | None], **options: str
) -> SnapshotRejected:
    with pytest.raises(SnapshotRejected) as caught:
        open_folder(build(changes, **options))
    return caught.value


def test_a_bulk_snapshot_is_full_and_lists_each_file(build: Builder) -> None:
    snapshot = open_folder(build())
    assert (snapshot.version, snapshot.mode) == ("1.2", "full")
    assert snapshot.files == {
        "orgs": "bulk",
        "users": "bulk",
        "roles": "bulk",
        "classes": "bulk",
        "enrollments": "bulk",
        "resources": "absent",
        "classResources": "absent",
    }
    assert list(snapshot.resources()) == [] and list(snapshot.class_resources()) == []


def test_r19_a_delta_snapshot_is_delta(build: Builder) -> None:
    snapshot = open_folder(build(mode="delta"))
    assert snapshot.mode == "delta"
    assert set(snapshot.files.values()) == {"delta", "absent"}


def test_r19_mixed_bulk_and_delta_files_are_applied_as_a_delta_with_a_warning(
    build: Builder,
) -> None:
    manifest = manifest_for(BASE_12, "1.2", "bulk").replace(
        "file.enrollments,bulk", "file.enrollments,delta"
    )
    snapshot = open_folder(build(manifest=manifest))
    assert snapshot.mode == "delta"
    assert snapshot.files["users"] == "bulk" and snapshot.files["enrollments"] == "delta"
    assert codes(snapshot.warnings) == ["mixed_modes"]
    assert "nothing is deactivated" in snapshot.warnings[0].message


def test_r22_a_missing_manifest_rejects_the_snapshot(build: Builder) -> None:
    folder = build()
    (folder / "manifest.csv").unlink()
    with pytest.raises(SnapshotRejected) as caught:
        open_folder(folder)
    assert codes(caught.value.issues) == ["missing_manifest"]
    assert str(caught.value).startswith("manifest.csv: is missing")


@pytest.mark.parametrize(
    ("version", "expected"), [("1.1", "1.1"), ("1.2.0", "1.2"), ("v1p2", "1.2")]
)
def test_the_version_is_read_in_its_usual_spellings(
    build: Builder, version: str, expected: str
) -> None:
    manifest = manifest_for(BASE_12 if expected == "1.2" else BASE_11, version, "bulk")
    snapshot = open_folder(build(manifest=manifest, version=expected))
    assert snapshot.version == expected


@pytest.mark.parametrize("version", ["1.0", "2.0", ""])
def test_r22_an_unsupported_version_rejects_the_snapshot(build: Builder, version: str) -> None:
    manifest = manifest_for(BASE_12, version, "bulk")
    error = rejected(build, {}, manifest=manifest)
    assert codes(error.issues) == ["bad_manifest"]
    assert error.issues[0].column == "value" and error.issues[0].line == 3


def test_r22_a_manifest_without_version_rejects_the_snapshot(build: Builder) -> None:
    manifest = manifest_for(BASE_12, "1.2", "bulk").replace("oneroster.version,1.2\n", "")
    error = rejected(build, {}, manifest=manifest)
    assert "oneroster.version" in str(error)


def test_r22_a_manifest_without_its_header_rejects_the_snapshot(build: Builder) -> None:
    manifest = manifest_for(BASE_12, "1.2", "bulk").replace("propertyName,value\n", "")
    error = rejected(build, {}, manifest=manifest)
    assert error.issues[0].message.startswith("manifest.csv line 1: ")


def test_r22_a_required_file_marked_absent_in_a_bulk_snapshot_rejects_it(build: Builder) -> None:
    error = rejected(build, {"roles.csv": None})
    assert codes(error.issues) == ["missing_file"]
    assert "roles.csv" in str(error) and "full (bulk)" in str(error)


def test_a_required_file_may_be_absent_from_a_delta(build: Builder) -> None:
    snapshot = open_folder(build({"roles.csv": None, "orgs.csv": None}, mode="delta"))
    assert snapshot.files["roles"] == "absent"
    assert list(snapshot.roles()) == []


def test_r22_a_file_the_manifest_sends_but_the_snapshot_lacks_rejects_it(build: Builder) -> None:
    folder = build()
    (folder / "classes.csv").unlink()
    with pytest.raises(SnapshotRejected) as caught:
        open_folder(folder)
    assert codes(caught.value.issues) == ["missing_file"]
    assert caught.value.issues[0].file == "classes.csv"


def test_a_file_the_manifest_marks_absent_is_ignored_with_a_warning(build: Builder) -> None:
    manifest = manifest_for(BASE_12, "1.2", "bulk")
    resources = "sourcedId,status,vendorResourceId\nx,,ill\n"
    snapshot = open_folder(build({"resources.csv": resources}, manifest=manifest))
    assert codes(snapshot.warnings) == ["file_ignored"]
    assert list(snapshot.resources()) == []


def test_r22_a_blank_manifest_value_for_a_file_rollbook_reads_rejects_it(build: Builder) -> None:
    manifest = manifest_for(BASE_12, "1.2", "bulk").replace("file.users,bulk", "file.users,")
    error = rejected(build, {}, manifest=manifest)
    assert "file.users has no value" in str(error)


def test_blank_manifest_values_of_files_rollbook_does_not_read_are_ignored(build: Builder) -> None:
    manifest = manifest_for(BASE_12, "1.2", "bulk") + "file.scoreScales,\nfile.userProfiles,\n"
    assert open_folder(build(manifest=manifest)).warnings == []


def test_products_need_resources_and_class_resources_together(build: Builder) -> None:
    error = rejected(build, {"resources.csv": "sourcedId,status,vendorResourceId\nx,,ill\n"})
    assert "without classResources.csv" in str(error)


def test_r22_a_missing_required_column_names_file_line_and_column(build: Builder) -> None:
    classes = BASE_12["classes.csv"].replace("grades,", "grade,", 1)
    error = rejected(build, {"classes.csv": classes})
    (issue,) = error.issues
    assert (issue.file, issue.line, issue.column, issue.code) == (
        "classes.csv",
        1,
        "grades",
        "missing_column",
    )
    assert issue.message == (
        "classes.csv line 1, column grades: required column is missing "
        "(the header has 'grade': rename it grades)"
    )


def test_r22_every_structure_problem_is_listed_at_once(build: Builder) -> None:
    users = BASE_12["users.csv"].replace("username,", "login,", 1)
    orgs = BASE_12["orgs.csv"].replace(",type,", ",kind,", 1)
    error = rejected(build, {"users.csv": users, "orgs.csv": orgs})
    assert [(i.file, i.column) for i in error.issues] == [
        ("orgs.csv", "type"),
        ("users.csv", "username"),
    ]
    assert "and 1 more problems" in str(error)


def test_r22_a_column_rollbook_reads_given_twice_rejects_the_snapshot(build: Builder) -> None:
    users = BASE_12["users.csv"].replace("givenName,", "givenName,GivenName,", 1)
    users = users.replace(",Ana,", ",Ana,Ann,").replace(",Tim,", ",Tim,Tom,")
    error = rejected(build, {"users.csv": users})
    assert codes(error.issues) == ["duplicate_column"]
    assert error.issues[0].column == "GivenName"


def test_unused_columns_given_twice_are_tolerated(build: Builder) -> None:
    orgs = BASE_12["orgs.csv"].replace("\n", ",ext_a,ext_a\n", 1).replace(",d1\n", ",d1,,\n")
    orgs = orgs.replace(",,\ns1", ",,,,\ns1", 1)
    rows, issues = split(open_folder(build({"orgs.csv": orgs})).orgs())
    assert len(rows) == 2 and issues == []


def test_r22_an_empty_required_file_rejects_the_snapshot(build: Builder) -> None:
    error = rejected(build, {"enrollments.csv": ""})
    assert codes(error.issues) == ["empty_file"]
    assert error.issues[0].message.startswith("enrollments.csv line 1: is empty")


def test_r22_a_header_of_empty_cells_rejects_the_snapshot(build: Builder) -> None:
    error = rejected(build, {"enrollments.csv": ",,,\n"})
    assert codes(error.issues) == ["empty_header"]


def test_a_header_only_file_has_no_rows(build: Builder) -> None:
    header = BASE_12["enrollments.csv"].splitlines()[0] + "\n"
    assert list(open_folder(build({"enrollments.csv": header})).enrollments()) == []


def test_misspelled_known_headers_are_read_with_a_warning(build: Builder) -> None:
    users = BASE_12["users.csv"].replace("preferredGivenName", "prefferedGivenName")
    users = users.replace(",A1,ana@example.org,03,,s1", ",A1,ana@example.org,03,Annie,s1")
    roles = BASE_12["roles.csv"].replace("dateLastModified", "dataLastModified")
    snapshot = open_folder(build({"users.csv": users, "roles.csv": roles}))
    assert [(w.file, w.column, w.code) for w in snapshot.warnings] == [
        ("users.csv", "prefferedGivenName", "misspelled_column"),
        ("roles.csv", "dataLastModified", "misspelled_column"),
    ]
    assert "OneRoster spells it preferredGivenName" in snapshot.warnings[0].message
    rows, _ = split(snapshot.users())
    assert rows[0].preferred_given_name == "Annie"


def test_trailing_empty_header_cells_are_ignored_with_a_warning(build: Builder) -> None:
    roles = BASE_12["roles.csv"].replace("orgSourcedId\n", "orgSourcedId,,\n")
    snapshot = open_folder(build({"roles.csv": roles}))
    assert codes(snapshot.warnings) == ["trailing_empty_header"]
    rows, issues = split(snapshot.roles())
    assert len(rows) == 2 and issues == []


def test_r12_a_missing_shared_column_is_read_as_not_sent_with_a_warning(build: Builder) -> None:
    users = BASE_12["users.csv"].replace(",grades,", ",", 1).replace(",03,", ",")
    snapshot = open_folder(build({"users.csv": users}))
    assert [(w.column, w.code) for w in snapshot.warnings] == [("grades", "missing_column")]
    assert "R12" in snapshot.warnings[0].message
    rows, _ = split(snapshot.users())
    assert rows[0].grade is None


def test_unknown_setting_columns_warn_once_per_column_not_per_row(build: Builder) -> None:
    users = BASE_12["users.csv"].replace("\n", ",metadata.ill.colour,metadata.nope.x\n", 1)
    users = users.replace(",s1\n", ",s1,red,1\n")
    snapshot = open_folder(build({"users.csv": users}))
    assert [(w.column, w.code) for w in snapshot.warnings] == [
        ("metadata.ill.colour", "unknown_setting_column"),
        ("metadata.nope.x", "unknown_setting_column"),
    ]
    assert "ill has no setting 'colour'" in snapshot.warnings[0].message
    rows, issues = split(snapshot.users())
    assert len(rows) == 2 and issues == []
    assert rows[0].settings == ()


def test_an_unnamed_column_in_the_header_is_ignored_with_a_warning(build: Builder) -> None:
    orgs = BASE_12["orgs.csv"].replace(",name,", ",,name,", 1)
    orgs = orgs.replace(",,Springfield", ",,x,Springfield")
    snapshot = open_folder(build({"orgs.csv": orgs}))
    assert codes(snapshot.warnings) == ["unnamed_column"]
    rows, issues = split(snapshot.orgs())
    assert [r.name for r in rows] == ["Springfield District", "Springfield Elementary"]
    assert issues == []


def test_r22_a_manifest_marking_every_file_absent_rejects_the_snapshot(build: Builder) -> None:
    manifest = manifest_for((), "1.2", "bulk")
    error = rejected(build, {}, manifest=manifest)
    assert codes(error.issues) == ["nothing_sent"]


def test_r22_a_manifest_line_given_twice_with_two_values_rejects_the_snapshot(
    build: Builder,
) -> None:
    manifest = manifest_for(BASE_12, "1.2", "bulk") + "file.users,delta\n"
    error = rejected(build, {}, manifest=manifest)
    assert codes(error.issues) == ["bad_manifest"]
    assert error.issues[0].line == 11
