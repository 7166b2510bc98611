"""Entity forms: inputs drawn from the `fields` block, form values to service input, and
error messages placed next to the field they are about.

The pages never decide a rule: whether a field is locked (disabled, `data-locked`) or sent
by the SIS (`data-sis-sends`, the R11 warning) comes from `services.views`' `fields` block;
whether a value is good comes back from the services as `ValidationFailed` and friends.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from starlette.datastructures import FormData

from rollbook.domain.errors import (
    Forbidden,
    NotFound,
    RollbookError,
    Unauthenticated,
    ValidationFailed,
)
from rollbook.domain.fields import EntityKind, Field, fields_of
from rollbook.domain.values import GRADES
from rollbook.store.models import School

LABELS = {
    "status": "Status",
    "username": "Username",
    "external_id": "External ID (SIS)",
    "alt_external_id": "Alternate ID",
    "first_name": "First name",
    "last_name": "Last name",
    "middle_name": "Middle name",
    "preferred_first_name": "Preferred first name",
    "grade": "Grade",
    "email": "Email",
    "school_ids": "Schools",
    "notes": "Notes",
    "role": "Role",
    "admin_scope": "Administrator of",
    "kind": "Kind",
    "name": "Name",
    "school_id": "School",
    "grades": "Grades",
    "subjects": "Subjects",
    "periods": "Periods",
}
HINTS = {
    "grades": "Grade codes, separated by commas (KG, 01, 02 …)",
    "subjects": "Separated by commas",
    "periods": "Separated by commas",
    "notes": "Only in rollbook: no sync touches it",
}
CHOICES: dict[str, list[tuple[str, str]]] = {
    "status": [("active", "Active"), ("inactive", "Inactive")],
    "role": [("teacher", "Teacher"), ("administrator", "Administrator")],
    "admin_scope": [("", "(not an administrator)"), ("school", "Their schools"),
                    ("district", "The whole district")],
    "kind": [("class", "Class"), ("group", "Group")],
    "grade": [("", "(none)"), *((g, g) for g in GRADES)],
}  # fmt: skip
_LISTS = frozenset({"grades", "strings"})
# Refusals that are not about a value: they become their own page (404, 403, sign in).
_NOT_FORM = (Forbidden, NotFound, Unauthenticated)


@dataclass
class Input:
    """One input of an entity form, as the template draws it."""

    name: str
    label: str
    widget: str
    value: Any
    field_class: str
    required: bool = False
    locked: bool = False
    sis_sends: bool = False
    source: str | None = None
    error: str | None = None
    hint: str | None = None
    options: list[tuple[str, str]] = field(default_factory=list)


def _widget(f: Field) -> str:
    if f.name in CHOICES:
        return "select"
    return {
        "school_ids": "schools",
        "school_id": "school",
        "note": "textarea",
        "email": "email",
    }.get(f.value_type, "text")


def display(name: str, value: Any) -> Any:
    """A stored value as an input shows it (school ids stay a list: they are checkboxes)."""
    if name == "school_ids":
        return [str(v) for v in value or []]
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def inputs_for(
    kind: EntityKind,
    *,
    values: dict[str, Any],
    block: dict[str, dict[str, Any]] | None,
    errors: dict[str, str],
    schools: dict[int, School],
    creating: bool = False,
) -> list[Input]:
    """The inputs of a Details or Add form. `block` is the entity's `fields` block."""
    found = []
    for f in fields_of(kind):
        if creating and f.name == "status":
            continue
        info: dict[str, Any] = (
            block[f.name] if block else {"editable": True, "sis_sends": False, "source": None}
        )
        widget = _widget(f)
        options = CHOICES.get(f.name, [])
        if widget in ("schools", "school"):
            options = [(str(s.id), s.name) for s in schools.values()]
        found.append(
            Input(
                name=f.name,
                label=LABELS.get(f.name, f.name),
                widget=widget,
                value=values.get(f.name, [] if widget == "schools" else ""),
                field_class=f.field_class,
                required=f.required,
                locked=not info["editable"],
                # R11's warning is for what may be edited and is sent: the block says both.
                sis_sends=bool(info["sis_sends"]) and bool(info["editable"]),
                source=info["source"],
                error=errors.get(f.name),
                hint=HINTS.get(f.name),
                options=options,
            )
        )
    return found


def shown_values(kind: EntityKind, view: dict[str, Any]) -> dict[str, Any]:
    return {f.name: display(f.name, view.get(f.name)) for f in fields_of(kind)}


def posted_values(kind: EntityKind, form: FormData) -> dict[str, Any]:
    """What the form sent, to show it again after a refusal."""
    kept: dict[str, Any] = {}
    for f in fields_of(kind):
        if f.name == "school_ids":
            kept[f.name] = [str(v) for v in form.getlist(f.name)]
        elif f.name in form:
            kept[f.name] = str(form.get(f.name) or "")
    return kept


def service_input(
    kind: EntityKind, form: FormData, *, keep_schools: list[int] | None = None
) -> dict[str, Any]:
    """The fields the form sent, as the services take them: blank is null, lists split.

    A disabled (locked) input is not sent by the browser, so it is not in the input: a
    forged one is, and the service refuses it (R11). `keep_schools` are the person's
    schools outside the educator's reach, which the form cannot show (R2).
    """
    data: dict[str, Any] = {}
    for f in fields_of(kind):
        if f.name == "school_ids":
            if "school_ids_sent" in form or f.name in form:
                chosen = [str(v) for v in form.getlist(f.name) if str(v).strip()]
                data[f.name] = sorted({*chosen, *(str(s) for s in keep_schools or [])})
            continue
        if f.name not in form:
            continue
        text = str(form.get(f.name) or "").strip()
        if f.value_type in _LISTS:
            data[f.name] = [part.strip() for part in text.split(",") if part.strip()]
        else:
            data[f.name] = text or None
    return data


def is_form_error(error: RollbookError) -> bool:
    """Whether a refusal is about the form's values (shown on the form) or not (its own page)."""
    return not isinstance(error, _NOT_FORM)


def messages_of(error: RollbookError, known: set[str]) -> tuple[dict[str, str], list[str]]:
    """Messages by field for the inputs `known`, and the rest for the top of the form."""
    problems = error.details if isinstance(error, ValidationFailed) else []
    if not problems:
        problems = [{"field": error.field or "", "message": error.message}]
    by_field: dict[str, str] = {}
    general: list[str] = []
    for problem in problems:
        name, message = str(problem.get("field") or ""), str(problem.get("message") or "")
        if name in known and name not in by_field:
            by_field[name] = message
        elif name and not message.startswith(name):
            general.append(f"{LABELS.get(name, name)}: {message}")
        else:
            general.append(message)
    return by_field, general
