"""Hand input to entities: each bad field named, locked fields refused on sis entities."""

from __future__ import annotations

import pytest

from rollbook.domain.entities import (
    changed,
    complete_educator,
    refuse_locked,
    require_schools,
    validate_input,
)
from rollbook.domain.errors import FieldLocked, ValidationFailed


def _fields(error: pytest.ExceptionInfo[ValidationFailed]) -> set[str]:
    return {d["field"] for d in error.value.details}


def test_creation_names_every_missing_and_bad_field() -> None:
    with pytest.raises(ValidationFailed) as error:
        validate_input("student", {"first_name": " ", "grade": "x", "shoe": 9}, creating=True)
    assert _fields(error) == {"shoe", "username", "first_name", "last_name", "school_ids", "grade"}


def test_partial_edit_checks_only_given_fields() -> None:
    clean = validate_input("student", {"grade": "4", "email": None}, creating=False)
    assert clean == {"grade": "04", "email": None}


def test_a_student_needs_a_school() -> None:
    with pytest.raises(ValidationFailed) as error:
        validate_input("student", {"school_ids": []}, creating=False)
    assert _fields(error) == {"school_ids"}


def test_changed_ignores_equal_values_and_list_order() -> None:
    current = {"grades": ["01", "02"], "name": "A", "notes": None}
    assert changed(current, {"grades": ["02", "01"], "name": "A"}) == {}
    assert changed(current, {"notes": "n"}) == {"notes": (None, "n")}


def test_r11_locked_change_is_refused_only_on_sis_entities() -> None:
    with pytest.raises(FieldLocked) as error:
        refuse_locked("student", "sis", {"email": ("a", "b"), "last_name": ("A", "B")})
    assert error.value.field == "last_name"
    refuse_locked("student", "manual", {"last_name": ("A", "B")})
    refuse_locked("student", "sis", {"email": ("a", "b"), "notes": (None, "n")})


def test_r13_locked_class_details() -> None:
    with pytest.raises(FieldLocked):
        refuse_locked("class", "sis", {"periods": ([], ["1"])})
    refuse_locked("class", "sis", {"notes": (None, "n")})


def test_educator_scope() -> None:
    admin = {"role": "administrator", "admin_scope": None}
    complete_educator(admin)
    assert admin["admin_scope"] == "school"
    with pytest.raises(ValidationFailed):
        complete_educator({"role": "teacher", "admin_scope": "district"})


def test_only_district_administrators_go_without_a_school() -> None:
    require_schools("educator", {"admin_scope": "district", "school_ids": []})
    require_schools("class", {})
    with pytest.raises(ValidationFailed):
        require_schools("educator", {"role": "teacher", "school_ids": []})
