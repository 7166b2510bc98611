"""Every field of every kind of entity, with its class (rules.md R11-R13, interfaces.md).

The tables below are the single declaration of which field is locked, shared or
manual-only. The API's `fields` block, the web pages' locks, the manual edit checks and
the sync's per-field decisions all read them from here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

FieldClass = Literal["locked", "shared", "manual"]
EntityKind = Literal["student", "educator", "class"]
Origin = Literal["sis", "manual"]
Source = Literal["sis", "manual"]

ORIGINS: tuple[Origin, ...] = ("sis", "manual")
ENTITY_KINDS: tuple[EntityKind, ...] = ("student", "educator", "class")

# Value types understood by `domain.values.normalize`.
ValueType = Literal[
    "status",
    "username",
    "identifier",
    "name",
    "optional_name",
    "email",
    "grade",
    "grades",
    "strings",
    "school_ids",
    "school_id",
    "role",
    "admin_scope",
    "class_kind",
    "note",
]


@dataclass(frozen=True, slots=True)
class Field:
    """One field of an entity kind: its class, its value type and where the SIS sends it."""

    name: str
    field_class: FieldClass
    value_type: ValueType
    bit: int
    required: bool = False
    oneroster: str | None = None

    @property
    def mask(self) -> int:
        return 1 << self.bit

    @property
    def is_locked(self) -> bool:
        return self.field_class == "locked"

    @property
    def is_shared(self) -> bool:
        return self.field_class == "shared"

    @property
    def sis_may_send(self) -> bool:
        """Whether any sync ever writes this field (manual-only fields are never touched)."""
        return self.field_class != "manual"


def _fields(*rows: tuple[str, FieldClass, ValueType, bool, str | None]) -> tuple[Field, ...]:
    return tuple(
        Field(name, cls, vtype, bit, required, oneroster)
        for bit, (name, cls, vtype, required, oneroster) in enumerate(rows)
    )


# name, class, value type, required on creation, OneRoster source
STUDENT_FIELDS = _fields(
    ("status", "locked", "status", False, "status/enabledUser"),
    ("username", "locked", "username", True, "username"),
    ("external_id", "locked", "identifier", False, "sourcedId"),
    ("alt_external_id", "shared", "identifier", False, "identifier"),
    ("first_name", "locked", "name", True, "givenName"),
    ("last_name", "locked", "name", True, "familyName"),
    ("middle_name", "shared", "optional_name", False, "middleName"),
    ("preferred_first_name", "shared", "optional_name", False, "preferredGivenName"),
    ("grade", "shared", "grade", False, "grades"),
    ("email", "shared", "email", False, "email"),
    ("school_ids", "locked", "school_ids", True, "orgSourcedIds / roles.csv"),
    ("notes", "manual", "note", False, None),
)

EDUCATOR_FIELDS = _fields(
    ("status", "locked", "status", False, "status/enabledUser"),
    ("username", "locked", "username", True, "username"),
    ("external_id", "locked", "identifier", False, "sourcedId"),
    ("alt_external_id", "shared", "identifier", False, "identifier"),
    ("first_name", "locked", "name", True, "givenName"),
    ("last_name", "locked", "name", True, "familyName"),
    ("middle_name", "shared", "optional_name", False, "middleName"),
    ("email", "shared", "email", False, "email"),
    ("school_ids", "locked", "school_ids", False, "orgSourcedIds / roles.csv"),
    ("role", "locked", "role", True, "role"),
    ("admin_scope", "locked", "admin_scope", False, "role / orgSourcedIds"),
    ("notes", "manual", "note", False, None),
)

CLASS_FIELDS = _fields(
    ("status", "locked", "status", False, "status"),
    ("kind", "locked", "class_kind", False, None),
    ("name", "locked", "name", True, "title"),
    ("external_id", "locked", "identifier", False, "sourcedId"),
    ("alt_external_id", "locked", "identifier", False, "classCode"),
    ("school_id", "locked", "school_id", True, "schoolSourcedId"),
    ("grades", "locked", "grades", False, "grades"),
    ("subjects", "locked", "strings", False, "subjects"),
    ("periods", "locked", "strings", False, "periods"),
    ("notes", "manual", "note", False, None),
)

FIELDS: dict[EntityKind, tuple[Field, ...]] = {
    "student": STUDENT_FIELDS,
    "educator": EDUCATOR_FIELDS,
    "class": CLASS_FIELDS,
}

# Product settings of a student are shared fields too (R16): the SIS may send them.
PRODUCT_SETTING_CLASS: FieldClass = "shared"


def fields_of(kind: EntityKind) -> tuple[Field, ...]:
    """The fields of one kind of entity, in display order."""
    return FIELDS[kind]


# Each kind's fields by name: looked up for every field of every person a sync creates.
_BY_NAME: dict[EntityKind, dict[str, Field]] = {
    kind: {f.name: f for f in fields} for kind, fields in FIELDS.items()
}


def field_of(kind: EntityKind, name: str) -> Field:
    """One field by name; KeyError when the kind has no such field."""
    try:
        return _BY_NAME[kind][name]
    except KeyError:
        raise KeyError(f"{kind} has no field {name!r}") from None


def field_names(kind: EntityKind) -> frozenset[str]:
    return frozenset(f.name for f in FIELDS[kind])


def mask_of(kind: EntityKind, names: object) -> int:
    """The provenance bit mask of a collection of field names."""
    mask = 0
    for name in names:  # type: ignore[attr-defined]
        mask |= field_of(kind, name).mask
    return mask


def editable(field: Field, origin: Origin) -> bool:
    """R11/R13: a locked field of a `sis` entity cannot be edited by hand; all else can."""
    return not (field.is_locked and origin == "sis")


def source_of(field: Field, *, origin: Origin, has_value: bool, manual_mask: int) -> Source | None:
    """Where the current value of a field came from (R23): a hand edit, the SIS, or nowhere."""
    if field.mask & manual_mask:
        return "manual"
    if not has_value:
        return None
    return "sis" if origin == "sis" else "manual"


def sis_sends(field: Field, *, origin: Origin, sis_mask: int) -> bool:
    """R11: whether the last applied sync supplied a non-blank value for this field."""
    return origin == "sis" and bool(field.mask & sis_mask)


LOCK_HINT = "Managed by your SIS: change it there"
SIS_SENDS_WARNING = "Sent by your SIS: a manual change will be replaced at the next sync"
