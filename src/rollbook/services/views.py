"""Entities as every client reads them: values, origin, version and the `fields` block.

The `fields` block (class, editable, source, sis_sends per field) is enough for any client
to draw locks, grayed fields and the R11 warning without knowing the rules.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache, cached_property, lru_cache
from operator import attrgetter
from typing import Any, cast

from rollbook.domain.fields import (
    EntityKind,
    Origin,
    editable,
    fields_of,
    sis_sends,
    source_of,
)
from rollbook.store.models import Class, Person
from rollbook.store.people import PersonRow

_EMPTY: tuple[object, ...] = (None, "", [])


@cache
def _fields(kind: EntityKind) -> tuple[tuple[str, int], ...]:
    """Each field's name and provenance bit, in display order."""
    return tuple((f.name, f.mask) for f in fields_of(kind))


@cache
def _person_reader(kind: EntityKind) -> tuple[tuple[str, ...], Callable[[Any], tuple[Any, ...]]]:
    """The field names of a kind of person and a getter of their values in one call (a page
    reads 50 people's). `school_ids` is not a column of a person: the getter reads its id in
    its place, which person_values then overwrites, keeping the field's position."""
    names = tuple(name for name, _ in _fields(kind))
    return names, attrgetter(*("id" if name == "school_ids" else name for name in names))


class FieldsBlock(dict[str, dict[str, Any]]):
    """A `fields` block, shared by every entity that has it: read it, never change it. Its
    JSON is made once, for the pages of a list (api.people.page_response)."""

    @cached_property
    def json(self) -> str:
        return encode(self)


# Built once: `json.dumps` with options builds a new encoder per call (as store.models does
# for stored JSON).
_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def encode(value: Any) -> str:
    """JSON as the API sends it (Starlette's JSONResponse: compact, UTF-8, no NaN)."""
    return _ENCODER.encode(value)


def fields_block(
    kind: EntityKind, *, origin: str, values: dict[str, Any], manual_mask: int, sis_mask: int
) -> FieldsBlock:
    """Per field: its class, whether it is editable now, its source, whether the SIS sends it.

    The block depends only on the kind, the origin, the two provenance masks and which fields
    hold a value, so it is worked out once per combination (a page of 50 people shares a few)
    and the same block is handed to every entity that has it: read it, never change it
    (copying it for each of 50 people was a tenth of a list request, bench.requests)."""
    filled = 0
    for name, mask in _fields(kind):
        if values.get(name) not in _EMPTY:
            filled |= mask
    return _block(kind, origin, filled, manual_mask, sis_mask)


@lru_cache(maxsize=4096)
def _block(
    kind: EntityKind, origin: str, filled: int, manual_mask: int, sis_mask: int
) -> FieldsBlock:
    org_origin = cast(Origin, origin)
    return FieldsBlock(
        {
            f.name: {
                "class": f.field_class,
                "editable": editable(f, org_origin),
                "source": source_of(
                    f, origin=org_origin, has_value=bool(filled & f.mask), manual_mask=manual_mask
                ),
                "sis_sends": sis_sends(f, origin=org_origin, sis_mask=sis_mask),
            }
            for f in fields_of(kind)
        }
    )


def person_values(person: Person | PersonRow, school_ids: list[int]) -> dict[str, Any]:
    """The field values of a person, keyed like domain/fields.py."""
    names, read = _person_reader(cast(EntityKind, person.kind))
    values = dict(zip(names, read(person), strict=True))
    values["school_ids"] = [str(s) for s in school_ids]
    return values


def person_view(person: Person | PersonRow, school_ids: list[int]) -> dict[str, Any]:
    values = person_values(person, school_ids)
    return {
        "id": str(person.id),
        "origin": person.origin,
        **values,
        "version": person.version,
        "created_at": person.created_at.isoformat(),
        "updated_at": person.updated_at.isoformat(),
        "fields": fields_block(
            cast(EntityKind, person.kind),
            origin=person.origin,
            values=values,
            manual_mask=person.manual_mask,
            sis_mask=person.sis_mask,
        ),
    }


def class_values(klass: Class) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for f in fields_of("class"):
        value = getattr(klass, f.name)
        values[f.name] = str(value) if f.name == "school_id" else value
    return values


def class_view(klass: Class) -> dict[str, Any]:
    values = class_values(klass)
    return {
        "id": str(klass.id),
        "origin": klass.origin,
        **values,
        "version": klass.version,
        "created_at": klass.created_at.isoformat(),
        "updated_at": klass.updated_at.isoformat(),
        "fields": fields_block(
            "class",
            origin=klass.origin,
            values=values,
            manual_mask=klass.manual_mask,
            sis_mask=klass.sis_mask,
        ),
    }
