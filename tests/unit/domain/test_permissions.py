"""R1-R3 as data: the GRANTS table and the scope checks."""

from __future__ import annotations

import pytest

from rollbook.domain.errors import Forbidden, NotFound, Unauthenticated
from rollbook.domain.permissions import (
    GRANTS,
    ROLES,
    Actor,
    Role,
    educator_role,
    in_scope,
    may_assign_schools,
    may_grant_district_scope,
    require,
    require_org,
    require_scope,
)


def _actor(role: Role, schools: frozenset[int] | None = None, org: int | None = 1) -> Actor:
    kind = {"operator": "operator", "api_key": "api_key"}.get(role, "educator")
    return Actor(kind, "1", "someone", org, role=role, school_ids=schools)  # type: ignore[arg-type]


def _may(action: str) -> set[str]:
    return set(GRANTS[action])  # type: ignore[index]


def test_every_grant_names_known_roles() -> None:
    assert all(roles <= set(ROLES) for roles in GRANTS.values())


def test_r1_teachers_and_admins_edit_students_and_classes() -> None:
    everyone = {"teacher", "school_admin", "district_admin"}
    assert _may("students.write") == _may("classes.write") == everyone


def test_r1_only_administrators_edit_educators() -> None:
    assert _may("educators.write") == {"school_admin", "district_admin"}


def test_api_keys_read_the_roster_and_run_syncs_but_do_not_edit_by_hand() -> None:
    assert "api_key" in _may("roster.read")
    assert "api_key" in _may("syncs.run")
    assert not {"students.write", "classes.write", "educators.write"} & {
        a for a, roles in GRANTS.items() if "api_key" in roles
    }


def test_r3_operators_manage_orgs_and_keys_but_not_the_roster() -> None:
    assert _may("orgs.manage") == _may("apikeys.create") == {"operator"}
    assert "operator" not in _may("roster.read") | _may("students.write")
    assert "operator" in _may("syncs.run") & _may("schools.write")


@pytest.mark.parametrize("role", ROLES)
def test_require_follows_the_table(role: Role) -> None:
    for action, roles in GRANTS.items():
        if role in roles:
            assert require(_actor(role), action) is not None
        else:
            with pytest.raises(Forbidden):
                require(_actor(role), action)


def test_require_without_an_actor_is_unauthenticated() -> None:
    with pytest.raises(Unauthenticated):
        require(None, "roster.read")


def test_r2_another_organization_does_not_exist() -> None:
    require_org(_actor("teacher"), 1)
    with pytest.raises(NotFound):
        require_org(_actor("teacher"), 2)
    with pytest.raises(NotFound):
        require_org(_actor("api_key", org=None), 1)
    require_org(_actor("operator", org=None), 2)


def test_r2_scope_by_school() -> None:
    teacher = _actor("teacher", frozenset({1, 2}))
    assert in_scope(teacher, [2, 9])
    assert not in_scope(teacher, [9])
    assert not in_scope(teacher, [])
    assert in_scope(_actor("district_admin"), [9])
    with pytest.raises(NotFound):
        require_scope(teacher, [9], "student")


def test_r2_schools_are_assigned_within_ones_own() -> None:
    teacher = _actor("teacher", frozenset({1}))
    assert may_assign_schools(teacher, [1, 9], [1, 9])
    assert not may_assign_schools(teacher, [1, 9], [1])
    assert not may_assign_schools(teacher, [], [9])
    assert may_assign_schools(_actor("district_admin"), [], [9])
    assert may_grant_district_scope(_actor("district_admin"))
    assert not may_grant_district_scope(_actor("school_admin", frozenset({1})))


def test_educator_roles() -> None:
    assert educator_role("teacher", None) == "teacher"
    assert educator_role("administrator", "school") == "school_admin"
    assert educator_role("administrator", "district") == "district_admin"
