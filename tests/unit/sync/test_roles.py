"""Roles: the mapping of interfaces.md (Educator `role`) and roles.csv of OneRoster 1.2."""

from __future__ import annotations

from typing import Any

import pytest
from sync_kit import BASE_12, Builder, open_folder, split

from rollbook.sync.parse import map_role
from rollbook.sync.records import Issue, RoleRow


@pytest.mark.parametrize(
    ("raw", "version", "expected"),
    [
        ("student", "1.2", "student"),
        ("Student", "1.1", "student"),
        ("teacher", "1.2", "teacher"),
        ("aide", "1.1", "teacher"),
        ("siteAdministrator", "1.2", "administrator"),
        ("districtadministrator", "1.2", "administrator"),
        ("principal", "1.2", "administrator"),
        ("administrator", "1.1", "administrator"),
        ("guardian", "1.2", None),
        ("parent", "1.1", None),
        ("relative", "1.2", None),
        ("proctor", "1.1", None),
        ("counselor", "1.2", None),
        ("systemAdministrator", "1.2", None),
        ("ext:coach", "1.2", None),
        ("wizard", "1.2", None),
    ],
)
def test_map_role_follows_the_educator_table(raw: str, version: str, expected: str | None) -> None:
    mapped, warning = map_role(raw, version)
    assert mapped == expected
    assert warning is None


def test_administrator_in_a_1_2_file_is_accepted_with_a_warning() -> None:
    mapped, warning = map_role("administrator", "1.2", file="roles.csv", line=7, sourced_id="r9")
    assert mapped == "administrator"
    assert warning is not None
    assert (warning.file, warning.line, warning.column, warning.sourced_id) == (
        "roles.csv",
        7,
        "role",
        "r9",
    )
    assert (warning.code, warning.severity) == ("role_of_other_version", "warning")
    assert "siteAdministrator or districtAdministrator" in warning.message


def test_a_1_2_role_in_a_1_1_file_is_read_with_a_warning() -> None:
    mapped, warning = map_role("principal", "1.1")
    assert mapped == "administrator" and warning is not None


def roles(build: Builder, *lines: str) -> tuple[list[Any], list[Issue]]:
    header = BASE_12["roles.csv"].splitlines()[0]
    text = header + "\n" + "".join(line + "\n" for line in lines)
    return split(open_folder(build({"roles.csv": text})).roles())


def test_roles_rollbook_does_not_import_are_handed_on(build: Builder) -> None:
    rows, issues = roles(build, "r1,,,u1,secondary,guardian,s1", "r2,,,u2,primary,ext:coach,s1")
    assert rows == [
        RoleRow(2, "r1", None, "u1", "guardian", "secondary", "s1"),
        RoleRow(3, "r2", None, "u2", "ext:coach", "primary", "s1"),
    ]
    assert issues == []


def test_r22_an_unknown_role_is_a_row_error(build: Builder) -> None:
    rows, issues = roles(build, "r1,,,u1,primary,techer,s1", "r2,,,u2,primary,teacher,s1")
    assert len(rows) == 1
    (issue,) = issues
    assert (issue.line, issue.column, issue.code, issue.sourced_id) == (2, "role", "bad_enum", "r1")


def test_administrator_in_roles_csv_warns_once_per_file(build: Builder) -> None:
    rows, issues = roles(
        build, "r1,,,u1,primary,administrator,s1", "r2,,,u2,primary,Administrator,s1"
    )
    assert len(rows) == 2
    assert [(i.line, i.code) for i in issues] == [(2, "role_of_other_version")]


def test_r22_role_rows_need_their_user_org_and_a_known_role_type(build: Builder) -> None:
    rows, issues = roles(
        build,
        "r1,,,,primary,student,s1",
        "r2,,,u2,primary,student,",
        "r3,,,u3,main,student,s1",
        "r4,,,u4,,student,s1",
    )
    assert [r.sourced_id for r in rows] == ["r4"]
    assert [(i.line, i.column, i.code) for i in issues] == [
        (2, "userSourcedId", "missing_value"),
        (3, "orgSourcedId", "missing_value"),
        (4, "roleType", "bad_enum"),
        (5, "roleType", "blank_role_type"),
    ]
