"""Well-formed values: the same normalization for hand input and the sync."""

from __future__ import annotations

from typing import Any

import pytest

from rollbook.domain.fields import ValueType
from rollbook.domain.values import GRADES, ValueProblem, normalize, normalize_grade, username_key


def test_r10_username_key_ignores_case_and_surrounding_spaces() -> None:
    assert username_key("  Maria.G ") == username_key("maria.g") == "maria.g"
    assert username_key("STRASSE") == username_key("straße")


@pytest.mark.parametrize(
    ("raw", "grade"),
    [("3", "03"), ("03", "03"), ("k", "KG"), ("kg", "KG"), ("pk", "PK"), ("other", "Other"),
     ("12", "12"), (" 7 ", "07"), (None, None), ("", None)],
)  # fmt: skip
def test_grades_are_oneroster_codes(raw: Any, grade: str | None) -> None:
    assert normalize_grade(raw) == grade
    assert grade is None or grade in GRADES


@pytest.mark.parametrize("raw", ["14", "3rd", "first", "K5", 3])
def test_bad_grade_is_refused_naming_the_codes(raw: Any) -> None:
    with pytest.raises(ValueProblem):
        normalize_grade(raw)


@pytest.mark.parametrize(
    ("value_type", "raw", "expected"),
    [
        ("name", "  Ana  ", "Ana"),
        ("optional_name", "   ", None),
        ("email", " a@b.org ", "a@b.org"),
        ("username", " Sam.Lee ", "Sam.Lee"),
        ("role", "Administrator", "administrator"),
        ("class_kind", "GROUP", "group"),
        ("status", None, None),
        ("grades", ["3", "03", "kg"], ["03", "KG"]),
        ("strings", ["Math", " ", "Math", "Art"], ["Math", "Art"]),
        ("school_ids", [12, "EXT-1"], ["12", "EXT-1"]),
        ("school_id", 7, "7"),
        ("note", "line\nline\ttab", "line\nline\ttab"),
    ],
)
def test_values_are_normalized(value_type: ValueType, raw: Any, expected: Any) -> None:
    assert normalize(value_type, raw) == expected


@pytest.mark.parametrize(
    ("value_type", "raw"),
    [
        ("name", None),
        ("name", "   "),
        ("name", 5),
        ("name", "x" * 256),
        ("name", "bell\x07"),
        ("name", "nul\x00"),
        ("username", "two words"),
        ("username", "ß" * 128),
        ("email", "nope"),
        ("email", "a@b"),
        ("role", "principal"),
        ("status", "deleted"),
        ("grades", "03"),
        ("strings", ["x"] * 51),
        ("note", "x" * 4001),
    ],
)
def test_malformed_values_are_refused(value_type: ValueType, raw: Any) -> None:
    with pytest.raises(ValueProblem) as problem:
        normalize(value_type, raw)
    assert str(problem.value)
