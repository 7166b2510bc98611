"""Row by row (R22): a bad row is one error and is skipped, the rest of the file goes on."""

from __future__ import annotations

from typing import Any

import pytest
from sync_kit import BASE_11, BASE_12, Builder, codes, open_folder, split

from rollbook.sync.records import ClassRow, EnrollmentRow, Issue, OrgRow, UserRow

USERS_HEADER = BASE_12["users.csv"].splitlines()[0]
SETTINGS_HEADER = USERS_HEADER + ",metadata.ill.language_support,metadata.ill.session_minutes"


def users(build: Builder, *lines: str, header: str = USERS_HEADER) -> tuple[list[Any], list[Issue]]:
    text = header + "\n" + "".join(line + "\n" for line in lines)
    return split(open_folder(build({"users.csv": text})).users())


def test_the_1_2_mapping_of_users_csv(build: Builder) -> None:
    rows, issues = users(
        build, 'u1,active,,true,ana.lopez,Ana,Lopez,María,A1,ana@example.org,"3,4",Annie,s1'
    )
    assert issues == []
    assert rows == [
        UserRow(
            line=2,
            sourced_id="u1",
            status="active",
            enabled=True,
            username="ana.lopez",
            identifier="A1",
            given_name="Ana",
            family_name="Lopez",
            middle_name="María",
            preferred_given_name="Annie",
            email="ana@example.org",
            grade="03",
            role=None,
            org_sourced_ids=("s1",),
            settings=(),
        )
    ]


def test_the_1_1_mapping_of_users_csv(build: Builder) -> None:
    rows, issues = split(open_folder(build(version="1.1")).users())
    assert issues == []
    assert [(r.sourced_id, r.role, r.org_sourced_ids, r.grade) for r in rows] == [
        ("u1", "student", ("s1",), "03"),
        ("u2", "teacher", ("s1", "d1"), None),
    ]


def test_r22_a_missing_sourced_id_is_a_row_error_and_the_rest_goes_on(build: Builder) -> None:
    rows, issues = users(
        build,
        ",,,true,ana.lopez,Ana,Lopez,,,,,,s1",
        "u2,,,true,tim.teach,Tim,Teach,,,,,,s1",
    )
    assert [r.sourced_id for r in rows] == ["u2"]
    (issue,) = issues
    assert (issue.line, issue.column, issue.code, issue.severity) == (
        2,
        "sourcedId",
        "missing_value",
        "error",
    )
    assert issue.message == (
        "users.csv line 2, column sourcedId: is blank; every row needs a sourcedId; "
        "the row is skipped"
    )


@pytest.mark.parametrize(
    ("column", "row"),
    [
        ("username", "u1,,,true,,Ana,Lopez,,,,,,s1"),
        ("givenName", "u1,,,true,ana,,Lopez,,,,,,s1"),
        ("familyName", "u1,,,true,ana,Ana, ,,,,,,s1"),
    ],
)
def test_r22_a_user_without_username_or_names_is_a_row_error(
    build: Builder, column: str, row: str
) -> None:
    rows, issues = users(build, row)
    assert rows == []
    assert [(i.column, i.code, i.sourced_id) for i in issues] == [(column, "missing_value", "u1")]


def test_r22_every_problem_of_a_row_is_listed(build: Builder) -> None:
    _, issues = users(build, "u1,gone,,maybe,,Ana,Lopez,,,,Grade 3,,s1")
    assert [(i.column, i.code) for i in issues] == [
        ("status", "bad_status"),
        ("enabledUser", "bad_enum"),
        ("username", "missing_value"),
        ("grades", "bad_grade"),
    ]


def test_r22_an_unknown_status_is_a_row_error(build: Builder) -> None:
    rows, issues = users(build, "u1,inactive,,true,ana,Ana,Lopez,,,,,,s1")
    assert rows == []
    assert issues[0].message == (
        "users.csv line 2, column status: 'inactive' is not a OneRoster status "
        "(active, tobedeleted, or blank); the row is skipped"
    )


def test_r22_bad_grade_is_a_row_error(build: Builder) -> None:
    rows, issues = users(build, "u1,,,true,ana,Ana,Lopez,,,,Grade 3,,s1")
    assert rows == []
    assert issues[0].message.startswith(
        "users.csv line 2, column grades: 'Grade 3' is not a OneRoster grade code (IT, PR, PK,"
    )
    assert issues[0].code == "bad_grade"


def test_only_the_first_grade_of_a_user_is_read_and_checked(build: Builder) -> None:
    rows, issues = users(build, 'u1,,,true,ana,Ana,Lopez,,,,"KG,nonsense",,s1')
    assert issues == [] and rows[0].grade == "KG"


def test_r22_a_malformed_value_is_checked_as_the_domain_checks_it(build: Builder) -> None:
    rows, issues = users(
        build,
        "u1,,,true,ana lopez,Ana,Lopez,,,,,,s1",
        "u2,,,true,tim,Tim,Teach,,,not-an-email,,,s1",
    )
    assert rows == []
    assert [i.message for i in issues] == [
        "users.csv line 2, column username: 'ana lopez' must not contain spaces; "
        "the row is skipped",
        "users.csv line 3, column email: 'not-an-email' is not an email address; "
        "the row is skipped",
    ]


def test_r16_product_settings_are_read_from_metadata_columns(build: Builder) -> None:
    rows, issues = users(
        build,
        "u1,,,true,ana,Ana,Lopez,,,,,,s1,spanish,45",
        "u2,,,true,tim,Tim,Teach,,,,,,s1,,",
        header=SETTINGS_HEADER,
    )
    assert issues == []
    assert rows[0].settings == (
        ("ill", "language_support", "Spanish"),
        ("ill", "session_minutes", 45),
    )
    assert rows[1].settings == ()  # blank cells are not sent (R12)


def test_r22_a_setting_value_the_catalogue_refuses_is_a_row_error(build: Builder) -> None:
    rows, issues = users(
        build,
        "u1,,,true,ana,Ana,Lopez,,,,,,s1,Klingon,45",
        "u2,,,true,tim,Tim,Teach,,,,,,s1,English,500",
        header=SETTINGS_HEADER,
    )
    assert rows == []
    assert [(i.column, i.code) for i in issues] == [
        ("metadata.ill.language_support", "bad_setting"),
        ("metadata.ill.session_minutes", "bad_setting"),
    ]
    assert issues[0].message.startswith(
        "users.csv line 2, column metadata.ill.language_support: 'Klingon' is not one of English,"
    )
    assert "'500' must be between 10 and 120" in issues[1].message


def test_r9_a_second_row_with_the_same_sourced_id_is_an_error(build: Builder) -> None:
    rows, issues = users(
        build, "u1,,,true,ana,Ana,Lopez,,,,,,s1", "u1,,,true,ana2,Ana,Lopez,,,,,,s1"
    )
    assert [r.username for r in rows] == ["ana"]
    assert [(i.line, i.code, i.sourced_id) for i in issues] == [(3, "duplicate_sourced_id", "u1")]


def test_r22_a_row_with_the_wrong_number_of_cells_is_an_error_naming_its_record(
    build: Builder,
) -> None:
    rows, issues = users(build, "u1,,,true,ana,Ana,Lopez,,,,,s1", "u2,,,true,tim,Tim,Teach,,,,,,s1")
    assert [r.sourced_id for r in rows] == ["u2"]
    assert [(i.line, i.column, i.code, i.sourced_id) for i in issues] == [
        (2, None, "wrong_cell_count", "u1")
    ]
    assert "has 12 cells but the header has 13 columns" in issues[0].message


def test_blank_rows_and_trailing_empty_cells_are_not_errors(build: Builder) -> None:
    rows, issues = users(build, "", "u1,,,true,ana,Ana,Lopez,,,,,,s1,,", ",,,,,,,,,,,,", "   ")
    assert [r.line for r in rows] == [3] and issues == []


@pytest.mark.parametrize(("cell", "enabled"), [("TRUE", True), ("False", False), ("tRuE", True)])
def test_enabled_user_in_any_case_is_read_with_one_warning_per_file(
    build: Builder, cell: str, enabled: bool
) -> None:
    rows, issues = users(
        build, f"u1,,,{cell},ana,Ana,Lopez,,,,,,s1", f"u2,,,{cell},tim,Tim,Teach,,,,,,s1"
    )
    assert [r.enabled for r in rows] == [enabled, enabled]
    assert [(i.line, i.code, i.severity) for i in issues] == [(2, "lenient_boolean", "warning")]


def test_enabled_user_false_is_kept_for_the_plan(build: Builder) -> None:
    rows, issues = users(build, "u1,,,false,ana,Ana,Lopez,,,,,,s1")
    assert rows[0].enabled is False and issues == []


def test_a_non_iso_date_is_one_warning_per_file_and_the_row_is_kept(build: Builder) -> None:
    rows, issues = users(
        build,
        "u1,,1/05/2023,true,ana,Ana,Lopez,,,,,,s1",
        "u2,,15/06/2023,true,tim,Tim,Teach,,,,,,s1",
    )
    assert len(rows) == 2
    assert [(i.line, i.column, i.code) for i in issues] == [(2, "dateLastModified", "non_iso_date")]


def test_r19_tobedeleted_in_a_bulk_file_is_kept_with_one_warning(build: Builder) -> None:
    rows, issues = users(
        build,
        "u1,tobedeleted,,true,ana,Ana,Lopez,,,,,,s1",
        "u2,TOBEDELETED,,true,tim,Tim,Teach,,,,,,s1",
    )
    assert [r.status for r in rows] == ["tobedeleted", "tobedeleted"]
    assert codes(issues) == ["tobedeleted_in_bulk"]


def test_r19_tobedeleted_in_a_delta_file_is_plain(build: Builder) -> None:
    text = USERS_HEADER + "\nu1,tobedeleted,,true,ana,Ana,Lopez,,,,,,s1\n"
    rows, issues = split(open_folder(build({"users.csv": text}, mode="delta")).users())
    assert rows[0].status == "tobedeleted" and issues == []


def test_the_line_of_a_row_counts_physical_lines(build: Builder) -> None:
    text = (
        USERS_HEADER
        + '\r\nu1,,,true,ana,Ana,"Lopez\nGarcia",,,,,,s1\r\nu2,,,true,,Tim,Teach,,,,,,s1\r\n'
    )
    rows, issues = split(open_folder(build({"users.csv": text})).users())
    assert rows[0].line == 2
    assert issues[0].line == 4


def test_orgs_csv_rows(build: Builder) -> None:
    orgs = BASE_12["orgs.csv"] + "x1,,,Somewhere,galaxy,,\nx2,,,Region,ext:region,,\n"
    rows, issues = split(open_folder(build({"orgs.csv": orgs})).orgs())
    assert rows[:2] == [
        OrgRow(2, "d1", "Springfield District", "district", None, None, None),
        OrgRow(3, "s1", "Springfield Elementary", "school", "SE", "d1", None),
    ]
    assert [r.type for r in rows[2:]] == ["ext:region"]
    assert [(i.line, i.column, i.code) for i in issues] == [(4, "type", "bad_enum")]


def test_classes_csv_rows_split_their_lists(build: Builder) -> None:
    classes = BASE_12["classes.csv"] + 'c2,,,History,"9, 10,10",,s1,"History, Civics","1,2"\n'
    classes += "c3,,,Art,Year 3,,s1,,\n"
    rows, issues = split(open_folder(build({"classes.csv": classes})).classes())
    assert rows == [
        ClassRow(2, "c1", None, "Math 3", "M3", "s1", ("03",), ("Math",), ("1",)),
        ClassRow(
            3, "c2", None, "History", None, "s1", ("09", "10"), ("History", "Civics"), ("1", "2")
        ),
    ]
    assert [(i.line, i.code) for i in issues] == [(4, "bad_grade")]


def test_enrollments_csv_rows_keep_the_role_as_sent(build: Builder) -> None:
    enrollments = (
        BASE_12["enrollments.csv"]
        + "e3,,,c1,,u1,Administrator\ne4,,,c1,s1,u1,boss\ne5,,,,s1,u1,student\n"
    )
    rows, issues = split(open_folder(build({"enrollments.csv": enrollments})).enrollments())
    assert rows[2] == EnrollmentRow(4, "e3", None, "c1", "u1", None, "Administrator")
    assert [(i.line, i.column, i.code) for i in issues] == [
        (5, "role", "bad_enum"),
        (6, "classSourcedId", "missing_value"),
    ]


def test_resources_and_class_resources_rows(build: Builder) -> None:
    snapshot = open_folder(
        build(
            {
                "resources.csv": (
                    "sourcedId,status,dateLastModified,vendorResourceId\nres1,,,ill\nres2,,,\n"
                ),
                "classResources.csv": (
                    "sourcedId,status,classSourcedId,resourceSourcedId\ncr1,,c1,res1\n"
                ),
            }
        )
    )
    resources, issues = split(snapshot.resources())
    assert [(r.sourced_id, r.vendor_resource_id) for r in resources] == [("res1", "ill")]
    assert [(i.line, i.column) for i in issues] == [(3, "vendorResourceId")]
    links, _ = split(snapshot.class_resources())
    assert [(r.class_sourced_id, r.resource_sourced_id) for r in links] == [("c1", "res1")]


def test_1_1_users_need_a_known_role(build: Builder) -> None:
    users_11 = BASE_11["users.csv"].replace(",teacher,", ",techer,")
    rows, issues = split(open_folder(build({"users.csv": users_11}, version="1.1")).users())
    assert len(rows) == 1
    assert [(i.line, i.column, i.code) for i in issues] == [(3, "role", "bad_enum")]
    assert "'techer' is not a OneRoster role" in issues[0].message


def test_a_blank_enabled_user_is_read_as_enabled_with_one_warning(build: Builder) -> None:
    rows, issues = users(build, "u1,,,,ana,Ana,Lopez,,,,,,s1", "u2,,,,tim,Tim,Teach,,,,,,s1")
    assert [r.enabled for r in rows] == [True, True]
    assert [(i.line, i.code) for i in issues] == [(2, "blank_enabled")]


def test_preferred_given_name_is_read_from_a_1_1_file_that_has_it(build: Builder) -> None:
    users_11 = BASE_11["users.csv"].replace("password\n", "password,preferredGivenName\n")
    users_11 = users_11.replace(",03,\n", ",03,,Annie\n").replace(",,,,,,,,\n", ",,,,,,,,,\n")
    rows, issues = split(open_folder(build({"users.csv": users_11}, version="1.1")).users())
    assert issues == []
    assert [r.preferred_given_name for r in rows] == ["Annie", None]
