"""References kept without foreign-key constraints (`models.refers_to`), checked on demand."""

from __future__ import annotations

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from rollbook.store.models import Base


def references() -> list[tuple[str, str, str, str]]:
    """(table, column, target table, target column) of every column declared with
    `refers_to`."""
    found = []
    for table in Base.metadata.sorted_tables:
        for column in table.columns:
            target = column.info.get("references")
            if target:
                parent, key = target.split(".")
                found.append((table.name, column.name, parent, key))
    return found


def dangling_references(session: Session) -> dict[str, int]:
    """How many rows of each such column name no row of their target ("memberships.person_id":
    0). A full scan of each table: for checks and tests, not for a request."""
    tables = Base.metadata.tables
    counts = {}
    for name, column, parent, key in references():
        child, target = tables[name], tables[parent]
        orphan = ~exists().where(target.c[key] == child.c[column])
        counts[f"{name}.{column}"] = (
            session.scalar(select(func.count()).select_from(child).where(orphan)) or 0
        )
    return counts
