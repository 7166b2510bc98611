"""The fields table (R11-R13): one declaration of every field's class, as interfaces.md says."""

from __future__ import annotations

import pytest

from rollbook.domain.fields import (
    ENTITY_KINDS,
    EntityKind,
    editable,
    field_names,
    field_of,
    fields_of,
    mask_of,
    sis_sends,
    source_of,
)

CONTRACT: dict[EntityKind, dict[str, set[str]]] = {
    "student": {
        "locked": {"status", "username", "external_id", "first_name", "last_name", "school_ids"},
        "shared": {"alt_external_id", "middle_name", "preferred_first_name", "grade", "email"},
        "manual": {"notes"},
    },
    "educator": {
        "locked": {
            "status",
            "username",
            "external_id",
            "first_name",
            "last_name",
            "school_ids",
            "role",
            "admin_scope",
        },
        "shared": {"alt_external_id", "middle_name", "email"},
        "manual": {"notes"},
    },
    "class": {
        "locked": {
            "status",
            "kind",
            "name",
            "external_id",
            "alt_external_id",
            "school_id",
            "grades",
            "subjects",
            "periods",
        },
        "shared": set(),
        "manual": {"notes"},
    },
}


@pytest.mark.parametrize("kind", ENTITY_KINDS)
def test_r11_field_classes_are_those_of_the_contract(kind: EntityKind) -> None:
    for field_class, names in CONTRACT[kind].items():
        assert {f.name for f in fields_of(kind) if f.field_class == field_class} == names


def test_r13_every_detail_of_a_class_is_locked_except_notes() -> None:
    assert [f.name for f in fields_of("class") if not f.is_locked] == ["notes"]


@pytest.mark.parametrize("kind", ENTITY_KINDS)
def test_names_and_bits_are_unique_and_fit_the_mask_column(kind: EntityKind) -> None:
    fields = fields_of(kind)
    assert len({f.name for f in fields}) == len(fields)
    assert len({f.bit for f in fields}) == len(fields)
    assert all(0 <= f.bit < 31 for f in fields)


@pytest.mark.parametrize("kind", ENTITY_KINDS)
def test_manual_only_fields_have_no_oneroster_source(kind: EntityKind) -> None:
    for field in fields_of(kind):
        if field.field_class == "manual":
            assert field.oneroster is None
            assert not field.sis_may_send
        else:
            assert field.sis_may_send


def test_required_fields_on_creation() -> None:
    assert {f.name for f in fields_of("student") if f.required} == {
        "username",
        "first_name",
        "last_name",
        "school_ids",
    }
    assert {f.name for f in fields_of("class") if f.required} == {"name", "school_id"}


def test_field_lookup_and_masks() -> None:
    assert field_of("student", "grade").is_shared
    with pytest.raises(KeyError):
        field_of("class", "grade")
    assert "notes" in field_names("educator")
    both = mask_of("student", ["grade", "email"])
    assert both == field_of("student", "grade").mask | field_of("student", "email").mask
    assert mask_of("student", []) == 0


def test_r11_locked_fields_are_editable_only_on_manual_entities() -> None:
    locked, shared = field_of("student", "last_name"), field_of("student", "email")
    assert not editable(locked, "sis")
    assert editable(locked, "manual")
    assert editable(shared, "sis")
    assert editable(field_of("class", "notes"), "sis")


def test_r23_source_of_a_value() -> None:
    email = field_of("student", "email")
    assert source_of(email, origin="sis", has_value=True, manual_mask=0) == "sis"
    assert source_of(email, origin="sis", has_value=True, manual_mask=email.mask) == "manual"
    assert source_of(email, origin="manual", has_value=True, manual_mask=0) == "manual"
    assert source_of(email, origin="sis", has_value=False, manual_mask=0) is None


def test_r11_the_sis_sends_only_on_sis_entities() -> None:
    email = field_of("student", "email")
    assert sis_sends(email, origin="sis", sis_mask=email.mask)
    assert not sis_sends(email, origin="sis", sis_mask=0)
    assert not sis_sends(email, origin="manual", sis_mask=email.mask)
