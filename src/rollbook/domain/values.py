"""What a well-formed value of each field type is, for hand input and for the sync alike."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from rollbook.domain.fields import ValueType

MAX_TEXT = 255
MAX_NOTE = 4000
MAX_LIST = 50

# OneRoster 1.2 grade vocabulary (CEDS), in school order.
GRADES: tuple[str, ...] = (
    "IT", "PR", "PK", "TK", "KG",
    "01", "02", "03", "04", "05", "06", "07", "08", "09", "10", "11", "12", "13",
    "PS", "UG", "Other",
)  # fmt: skip
_GRADE_BY_KEY = {g.upper(): g for g in GRADES}
# Unicode's control characters (category Cc: C0, DEL and C1), but tab and newline.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class ValueProblem(ValueError):
    """A single value is malformed; the message says what a good one looks like."""


def username_key(username: str) -> str:
    """R6/R10: usernames compare without case and surrounding spaces."""
    return username.strip().casefold()


def person_keys(*, username: str, first_name: str, last_name: str) -> dict[str, str]:
    """The keys kept beside a person's names: uniqueness (R10), ordering and prefix search.

    Cut to their columns: two long names, or casefolding (ß → ss), may not fit.
    """
    first, last = first_name.casefold(), last_name.casefold()
    return {
        "username_key": username_key(username),
        "sort_key": f"{last} {first}"[:520],
        "first_key": f"{first} {last}"[:255],
    }


def name_key(name: str) -> str:
    """The ordering and search key of a class (casefolding may lengthen it: cut to its column)."""
    return name.casefold()[:255]


def _text(value: Any, *, required: bool, limit: int = MAX_TEXT) -> str | None:
    if value is None:
        if required:
            raise ValueProblem("is required")
        return None
    if not isinstance(value, str):
        raise ValueProblem("must be a string")
    text = value.strip()
    if not text:
        if required:
            raise ValueProblem("must not be blank")
        return None
    if len(text) > limit:
        raise ValueProblem(f"must be at most {limit} characters")
    if _CONTROL.search(text):
        raise ValueProblem("must not contain control characters")
    return text


def is_digits(text: str) -> bool:
    """ASCII digits only: `str.isdigit` also takes "¹" or "٣", which `int` refuses or misreads.

    Every number read from an address, a header or a form goes through this before `int`.
    """
    return text.isascii() and text.isdigit()


def normalize_grade(value: Any) -> str | None:
    """A OneRoster grade code; `3` and `3rd`-free digits are padded to `03`."""
    text = _text(value, required=False, limit=10)
    if text is None:
        return None
    key = text.upper()
    if key.isdigit() and len(key) == 1:
        key = "0" + key
    if key == "K":
        key = "KG"
    grade = _GRADE_BY_KEY.get(key)
    if grade is None:
        raise ValueProblem(f"{text!r} is not a OneRoster grade code ({', '.join(GRADES)})")
    return grade


def _choice(*allowed: str) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        text = _text(value, required=False, limit=40)
        if text is None:
            return None
        lowered = text.lower()
        for option in allowed:
            if option.lower() == lowered:
                return option
        raise ValueProblem(f"must be one of {', '.join(allowed)}")

    return check


def _strings(value: Any, *, item: Callable[[Any], str | None]) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValueProblem("must be a list")
    if len(value) > MAX_LIST:
        raise ValueProblem(f"must have at most {MAX_LIST} items")
    seen: list[str] = []
    for entry in value:
        normalized = item(entry)
        if normalized is not None and normalized not in seen:
            seen.append(normalized)
    return seen


def _email(value: Any) -> str | None:
    text = _text(value, required=False)
    if text is not None and not _EMAIL.match(text):
        raise ValueProblem(f"{text!r} is not an email address")
    return text


def _username(value: Any) -> str | None:
    text = _text(value, required=True)
    assert text is not None
    if any(ch.isspace() for ch in text):
        raise ValueProblem("must not contain spaces")
    if len(username_key(text)) > MAX_TEXT:  # casefolding lengthens some letters (ß → ss)
        raise ValueProblem(f"must be at most {MAX_TEXT} characters")
    return text


def _school_ref(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    text = _text(value, required=True)
    assert text is not None
    return text


_NORMALIZERS: dict[ValueType, Callable[[Any], Any]] = {
    "status": _choice("active", "inactive"),
    "username": _username,
    "identifier": lambda v: _text(v, required=False),
    "name": lambda v: _text(v, required=True),
    "optional_name": lambda v: _text(v, required=False),
    "email": _email,
    "grade": normalize_grade,
    "grades": lambda v: _strings(v, item=normalize_grade),
    "strings": lambda v: _strings(v, item=lambda s: _text(s, required=False)),
    "school_ids": lambda v: _strings(v, item=_school_ref),
    "school_id": _school_ref,
    "role": _choice("teacher", "administrator"),
    "admin_scope": _choice("school", "district"),
    "class_kind": _choice("class", "group"),
    "note": lambda v: _text(v, required=False, limit=MAX_NOTE),
}


def normalize(value_type: ValueType, value: Any) -> Any:
    """The canonical form of a value of the given type; raises ValueProblem when malformed."""
    return _NORMALIZERS[value_type](value)
