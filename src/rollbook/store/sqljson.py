"""JSON text built by the database, in the compact form `models.JsonText` writes.

For change rows made in one `INSERT … SELECT` (a first run's memberships: millions of members
that would otherwise each go through Python to be named and encoded). SQLite and PostgreSQL
escape a string as Python's `json` does with `ensure_ascii=False`: quotes, backslashes and
control characters only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, Text, cast, func, literal, literal_column, select
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.orm import Session
from sqlalchemy.sql.selectable import Subquery


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def json_string(session: Session, value: Any) -> ColumnElement[str]:
    """`value` as a JSON string (`null` for NULL)."""
    if _dialect(session) == "postgresql":
        return func.coalesce(cast(func.to_json(cast(value, Text)), Text), literal("null"))
    return func.json_quote(cast(value, Text))


def json_object(**members: ColumnElement[str]) -> ColumnElement[str]:
    """A JSON object of members that are already JSON text (`json_string`), in this order."""
    text: ColumnElement[str] = literal("{", Text)
    for n, (name, value) in enumerate(members.items()):
        text = text + literal(("," if n else "") + f'"{name}":', Text) + value
    return text + literal("}", Text)


def json_lists(
    session: Session,
    rows: Subquery,
    groups: Sequence[str],
    item: ColumnElement[str],
    order: ColumnElement[Any],
) -> Select[Any]:
    """One row per group of `rows` (the columns named `groups`, then `listed`): the JSON
    array of `item` (JSON text made from `rows`' columns) over the group, in `order`."""
    keys = [rows.c[name] for name in groups]
    if _dialect(session) == "postgresql":
        joined = func.string_agg(item, aggregate_order_by(literal_column("','"), order))
        return select(*keys, _array(joined).label("listed")).group_by(*keys)
    # SQLite before 3.44 has no ORDER BY in an aggregate, and a GROUP BY may sort its rows
    # again: as a window over the whole group, ordered, it is exact. One row per group kept.
    whole = func.group_concat(item, literal(",", Text)).over(
        partition_by=keys, order_by=order, rows=(None, None)
    )
    first = func.row_number().over(partition_by=keys, order_by=order)
    numbered = select(*keys, whole.label("j"), first.label("n")).subquery()
    listed = _array(numbered.c.j).label("listed")
    return select(*(numbered.c[name] for name in groups), listed).where(numbered.c.n == 1)


def _array(joined: Any) -> ColumnElement[str]:
    array: ColumnElement[str] = literal("[", Text) + joined + literal("]", Text)
    return array
