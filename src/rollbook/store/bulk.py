"""Bulk writes through each driver's fastest path: `executemany` on SQLite, `COPY` on PostgreSQL.

The sync writes millions of rows; SQLAlchemy's per-row parameter handling costs more than the
database does. Rows here are tuples in the order of `columns`, run through each column's own
bind processor (so JSON and timestamps are stored exactly as the ORM stores them), then handed
to the driver in one call per batch.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from operator import itemgetter
from typing import Any, TypeVar

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    String,
    Table,
    any_,
    bindparam,
    delete,
    func,
    literal,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import QueryableAttribute, Session

T = TypeVar("T")


def _processors(
    table: Table, columns: Sequence[str], dialect: Any
) -> list[Callable[[Any], Any] | None]:
    return [table.c[name].type._cached_bind_processor(dialect) for name in columns]


def _processed(row: Sequence[Any], active: list[tuple[int, Callable[[Any], Any]]]) -> list[Any]:
    values = list(row)
    for index, process in active:
        values[index] = process(values[index])
    return values


def bulk_insert(
    session: Session,
    table: Table,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    constants: Mapping[str, Any] | None = None,
) -> int:
    """Insert `rows` (tuples in `columns` order) into `table` in this session's transaction;
    `constants` are columns with the same value in every row, processed once (a first sync
    spent 2.5 s of its 38 processing the organization and timestamp of 510,000 memberships)."""
    connection = session.connection()
    dialect = connection.dialect
    active = [(i, p) for i, p in enumerate(_processors(table, columns, dialect)) if p]
    if active:
        rows = (_processed(row, active) for row in rows)
    if constants:
        fixed = list(constants.values())
        added = list(constants)
        for index, process in enumerate(_processors(table, added, dialect)):
            if process:
                fixed[index] = process(fixed[index])
        tail = tuple(fixed)
        columns = [*columns, *added]
        rows = ((*row, *tail) for row in rows)
    raw = connection.connection.driver_connection
    quote = dialect.identifier_preparer.quote
    names = ", ".join(quote(c) for c in columns)
    target = quote(table.name)
    count = 0
    if dialect.name == "postgresql":
        with raw.cursor() as cursor, cursor.copy(f"COPY {target} ({names}) FROM STDIN") as copy:  # type: ignore[union-attr]
            for row in rows:
                copy.write_row(row)
                count += 1
        return count
    batch = list(rows)
    marks = ", ".join("?" for _ in columns)
    cursor = raw.cursor()  # type: ignore[union-attr]
    try:
        # Names come from our own table metadata (checked above), never from input.
        statement = f"INSERT INTO {target} ({names}) VALUES ({marks})"  # noqa: S608
        cursor.executemany(statement, batch)
    finally:
        cursor.close()
    return len(batch)


def bulk_insert_dicts(session: Session, table: Table, rows: Sequence[dict[str, Any]]) -> int:
    """`bulk_insert` for rows given as dicts that all have the same keys."""
    if not rows:
        return 0
    columns = list(rows[0])
    if len(columns) == 1:
        (only,) = columns
        return bulk_insert(session, table, columns, ((row[only],) for row in rows))
    return bulk_insert(session, table, columns, map(itemgetter(*columns), rows))


def parts(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    """`items` `size` at a time: lists for `IN (...)` that stay far from PostgreSQL's 65,535
    parameters per statement, and batches of bounded memory."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def any_of(
    session: Session,
    column: ColumnElement[Any] | QueryableAttribute[Any],
    values: Collection[Any],
) -> ColumnElement[bool]:
    """`column IN (values)` for a chunk of keys (see `parts`). On PostgreSQL the values go as
    one array (`column = ANY(:values)`): an `IN` of 1,000 values is 1,000 parameters for
    SQLAlchemy to render, the driver to split and the server to parse; looking up 100,000
    people by SIS id 1,000 at a time took 0.26 s so, 0.66-0.72 s as an `IN`."""
    if session.get_bind().dialect.name != "postgresql":
        return column.in_(values)
    element = BigInteger() if column.type.python_type is int else String()
    return column == any_(bindparam(None, list(values), type_=ARRAY(element)))


def delete_run_rows(session: Session, table: Table, run_id: int) -> None:
    """Delete one run's rows of a work table whose key leads with `run_id`.

    On SQLite, when the table holds that run's rows alone (its least and greatest run id,
    each one step down the key), the table is emptied whole: SQLite then frees its pages
    instead of deleting the rows one by one through every index (12.6 s for the seven
    million staged rows of a first sync of 1,000,000 students). The run holds SQLite's one
    write lock, so no other run's rows can arrive in between. Never on PostgreSQL, where
    other organizations' runs stage at the same time.
    """
    column = table.c.run_id
    if session.get_bind().dialect.name == "sqlite":
        low = session.scalar(select(func.min(column)))
        high = session.scalar(select(func.max(column)))
        if low == high == run_id:
            session.execute(delete(table))
            return
    session.execute(delete(table).where(column == run_id))


@contextmanager
def indexes_built_after(session: Session, *tables: Table) -> Iterator[None]:
    """Fill tables that hold no row at all without their indexes, built again at the end.

    Entered with a SQLite write transaction open, each of `tables` that is empty has its
    indexes (not the primary key's) dropped, and the block's end creates them again from the
    statements SQLite kept for them, in the same transaction: other connections keep seeing
    the indexes (WAL), and a rollback or a killed process restores them. A million people
    inserted a thousand at a time took 23.5 s with their seven indexes in place, 5.0 s
    without them and 8.4 s to build the seven from the finished table. A table with any row
    (another organization's) keeps its indexes, and so does every table on PostgreSQL, where
    dropping an index would lock its table against every reader until the transaction ends.

    If the block raises, nothing is built: the caller's transaction is to be rolled back.
    A unique index is rebuilt too, so a duplicate the block inserted fails the transaction at
    the end of the block instead of at its insert.
    """
    if session.get_bind().dialect.name != "sqlite":
        yield
        return
    connection = session.connection()
    quote = connection.dialect.identifier_preparer.quote
    kept: list[str] = []
    for table in tables:
        if connection.execute(select(literal(1)).select_from(table).limit(1)).first():
            continue
        indexes = connection.execute(
            text(
                "SELECT name, sql FROM sqlite_master"
                " WHERE type = 'index' AND tbl_name = :table AND sql IS NOT NULL"
            ),
            {"table": table.name},
        ).all()
        for name, statement in indexes:
            connection.exec_driver_sql(f"DROP INDEX {quote(name)}")
            kept.append(statement)
    yield
    for statement in kept:
        connection.exec_driver_sql(statement)
