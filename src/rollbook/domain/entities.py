"""Hand input to students, educators and classes: well-formed values (R22 for people typing),
locked fields (R11, R13) and the few rules that tie fields together."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rollbook.domain.errors import FieldLocked, Problem, ValidationFailed
from rollbook.domain.fields import EntityKind, Origin, field_names, fields_of
from rollbook.domain.values import ValueProblem, normalize

# Fields that always hold a value once the entity exists; null is not a value for them.
_NEVER_NULL = frozenset({"status", "kind", "role"})


def validate_input(kind: EntityKind, data: Mapping[str, Any], *, creating: bool) -> dict[str, Any]:
    """Normalize every given field; raise ValidationFailed naming each bad or unknown field."""
    known = field_names(kind)
    problems = [Problem(name, "is not a field of a " + kind) for name in data if name not in known]
    clean: dict[str, Any] = {}
    for field in fields_of(kind):
        if field.name not in data:
            if creating and field.required:
                problems.append(Problem(field.name, "is required"))
            continue
        value = data[field.name]
        try:
            normalized = normalize(field.value_type, value)
        except ValueProblem as problem:
            problems.append(Problem(field.name, str(problem)))
            continue
        if normalized is None and (field.required or field.name in _NEVER_NULL):
            problems.append(Problem(field.name, "is required"))
            continue
        if field.required and normalized == [] and kind == "student":
            problems.append(Problem(field.name, "needs at least one school"))
            continue
        clean[field.name] = normalized
    if problems:
        raise ValidationFailed(problems)
    return clean


def changed(current: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, tuple[Any, Any]]:
    """The fields whose value would really change, as (old, new)."""
    return {
        name: (current.get(name), value)
        for name, value in changes.items()
        if _comparable(current.get(name)) != _comparable(value)
    }


def _comparable(value: Any) -> Any:
    if isinstance(value, list):
        return sorted(str(v) for v in value)
    return value


def refuse_locked(kind: EntityKind, origin: Origin, changes: Mapping[str, tuple[Any, Any]]) -> None:
    """R11/R13: a changed locked field of a `sis` entity is refused before anything is written.

    Sending a locked field back unchanged is not a change, so clients may PATCH whole objects.
    """
    if origin != "sis":
        return
    for field in fields_of(kind):
        if field.is_locked and field.name in changes:
            raise FieldLocked(field.name)


def complete_educator(values: dict[str, Any]) -> None:
    """An administrator has a scope (school by default); a teacher has none."""
    if values.get("role") == "administrator":
        values["admin_scope"] = values.get("admin_scope") or "school"
    elif values.get("admin_scope") is not None:
        raise ValidationFailed.one("admin_scope", "only administrators have a scope")


def require_schools(kind: EntityKind, values: Mapping[str, Any]) -> None:
    """Every person belongs to a school, except a district administrator."""
    if kind == "class" or values.get("school_ids"):
        return
    if kind == "educator" and values.get("admin_scope") == "district":
        return
    raise ValidationFailed.one("school_ids", "needs at least one school")
