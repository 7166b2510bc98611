"""JSON text built by the database, in the compact form `models.JsonText` writes.

For change rows made in one `INSERT … SELECT` (a first run's memberships: millions of members
that would otherwise each go through Python to be named and encoded). SQLite and PostgreSQL
escape a string as Python's `json` does with `ensure_ascii=False`: quotes, backslashes and
control characters only.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Text, cast, func, literal, literal_column
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.orm import Session


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def json_string(session: Session, value: Any) -> ColumnElement[str]:
    """`value` as a JSON string (`null` for NULL)."""
    if _dialect(session) == "postgresql":
        return func.coalesce(cast(func.to_json(cast(value, Text)), Text), literal("null"))
    return func.json_quote(cast(value, Text))


def json_object(session: Session, **members: ColumnElement[str]) -> ColumnElement[str]:
    """A JSON object of members that are already JSON text (`json_string`), in this order."""
    text: ColumnElement[str] = literal("{", Text)
    for n, (name, value) in enumerate(members.items()):
        text = text + literal(("," if n else "") + f'"{name}":', Text) + value
    return text + literal("}", Text)


def json_array_agg(session: Session, item: ColumnElement[str], *order_by: Any) -> Any:
    """The aggregate JSON array of `item` (JSON text) over a group, in `order_by` order. On
    SQLite (no `ORDER BY` in an aggregate before 3.44) the rows must reach it in that order:
    select them from a subquery ordered so."""
    if _dialect(session) == "postgresql":
        joined = func.string_agg(item, aggregate_order_by(literal_column("','"), *order_by))
    else:
        joined = func.group_concat(item, literal(",", Text))
    return literal("[", Text) + joined + literal("]", Text)
