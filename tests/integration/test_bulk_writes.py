"""Bulk writes (store/bulk.py) store what the ORM would, on both backends: values taken from
dicts in column order (one column or many) and JSON stored as the compact text the sync
compares as a string."""

from __future__ import annotations

import json
import sqlite3
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from psycopg.errors import UniqueViolation
from sqlalchemy import Column, Index, Integer, MetaData, Table, Text, select, text
from sqlalchemy.exc import IntegrityError

from rollbook.store.bulk import bulk_insert_dicts, delete_run_rows, indexes_built_after
from rollbook.store.db import Database
from rollbook.store.models import JsonText
from rollbook.sync import stage

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


@given(json_values.filter(lambda value: value is not None))
def test_stored_json_is_the_compact_dumps_text(value: Any) -> None:
    stored = JsonText().process_bind_param(value, None)  # type: ignore[arg-type]
    assert stored == json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    assert JsonText().process_result_value(stored, None) == value  # type: ignore[arg-type]


def test_no_json_value_is_stored_as_null() -> None:
    assert JsonText().process_bind_param(None, None) is None  # type: ignore[arg-type]


@pytest.fixture
def probe(db: Database) -> Iterator[Table]:
    """A table of this test's own, dropped afterwards."""
    table = Table(
        f"bulk_probe_{uuid.uuid4().hex[:8]}",
        MetaData(),
        Column("n", Integer),
        Column("word", Text),
        Column("data", JsonText),
    )
    table.create(db.engine)
    yield table
    table.drop(db.engine)


def test_rows_of_several_columns_keep_each_value_in_its_column(db: Database, probe: Table) -> None:
    rows = [
        {"word": f"w{i}", "n": i, "data": {"schools": [f"s{i}", "é"], "on": i % 2 == 0}}
        for i in range(7)
    ]
    with db.writing() as session:
        assert bulk_insert_dicts(session, probe, rows) == 7
    with db.session(write=False) as session:
        stored = session.execute(select(probe).order_by(probe.c.n)).all()
        raw = session.execute(text(f"SELECT data FROM {probe.name} WHERE n = 3")).scalar_one()
    assert [(r.n, r.word, r.data) for r in stored] == [
        (row["n"], row["word"], row["data"]) for row in rows
    ]
    assert raw == '{"schools":["s3","é"],"on":false}'


def test_rows_of_one_column_are_stored_whole(db: Database, probe: Table) -> None:
    # One column is the case where taking the values by key gives a value, not a tuple.
    rows = [{"word": word} for word in ("alpha", "be", "c")]
    with db.writing() as session:
        assert bulk_insert_dicts(session, probe, rows) == 3
    with db.session(write=False) as session:
        stored = session.scalars(select(probe.c.word).order_by(probe.c.word)).all()
    assert stored == ["alpha", "be", "c"]


def test_no_rows_write_nothing(db: Database, probe: Table) -> None:
    with db.writing() as session:
        assert bulk_insert_dicts(session, probe, []) == 0
    with db.session(write=False) as session:
        assert session.scalars(select(probe.c.n)).all() == []


@pytest.fixture
def work_table(db: Database) -> Iterator[Table]:
    """A work table keyed by run, as the staging and sync tables are; dropped afterwards."""
    table = Table(
        f"run_probe_{uuid.uuid4().hex[:8]}",
        MetaData(),
        Column("run_id", Integer, primary_key=True, autoincrement=False),
        Column("line", Integer, primary_key=True, autoincrement=False),
        Column("word", Text),
    )
    table.create(db.engine)
    yield table
    table.drop(db.engine)


def _lines_of(db: Database, table: Table) -> list[tuple[int, int]]:
    with db.session(write=False) as session:
        return sorted(tuple(row) for row in session.execute(select(table.c.run_id, table.c.line)))


def test_a_runs_rows_are_deleted_and_no_other_runs(db: Database, work_table: Table) -> None:
    """Clearing a run's staged rows leaves every other run's (one organization's run must
    never empty another's), and empties the table when the run was alone in it."""
    rows = [{"run_id": run, "line": n, "word": f"w{n}"} for run in (7, 8, 9) for n in range(50)]
    with db.writing() as session:
        bulk_insert_dicts(session, work_table, rows)
    with db.writing() as session:
        delete_run_rows(session, work_table, 8)
    assert _lines_of(db, work_table) == [(r, n) for r in (7, 9) for n in range(50)]
    with db.writing() as session:
        delete_run_rows(session, work_table, 7)
        delete_run_rows(session, work_table, 1)  # no rows: nothing happens
    assert _lines_of(db, work_table) == [(9, n) for n in range(50)]
    with db.writing() as session:
        delete_run_rows(session, work_table, 9)
    assert _lines_of(db, work_table) == []


@pytest.fixture
def indexed(db: Database) -> Iterator[Table]:
    """A table of this test's own with two indexes, one of them unique; dropped afterwards."""
    name = f"index_probe_{uuid.uuid4().hex[:8]}"
    table = Table(
        name,
        MetaData(),
        Column("n", Integer, primary_key=True),
        Column("word", Text),
        Index(f"ix_{name}_word", "word", "n"),
        Index(f"ix_{name}_unique", "word", unique=True),
    )
    table.create(db.engine)
    yield table
    table.drop(db.engine)


def _indexes(session: Any, table: Table) -> set[tuple[str, str]]:
    """The table's indexes, named with their definition, as this session's connection sees them."""
    if session.get_bind().dialect.name == "sqlite":
        query = "SELECT name, sql FROM sqlite_master WHERE tbl_name = :t AND sql IS NOT NULL"
        query += " AND type = 'index'"
    else:
        query = "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = :t"
        query += " AND indexname NOT LIKE '%pkey'"
    return {(name, sql) for name, sql in session.execute(text(query), {"t": table.name})}


def test_an_empty_table_is_filled_without_its_indexes_then_has_them(
    db: Database, indexed: Table
) -> None:
    with db.session(write=False) as session:
        before = _indexes(session, indexed)
    assert len(before) == 2
    sqlite = db.engine.dialect.name == "sqlite"
    with db.writing() as session, indexes_built_after(session, indexed):
        # PostgreSQL keeps them: dropping one locks the table against every reader.
        assert _indexes(session, indexed) == (set() if sqlite else before)
        with db.session(write=False) as other:
            assert _indexes(other, indexed) == before  # the drop is not visible outside
        bulk_insert_dicts(session, indexed, [{"n": i, "word": f"w{i % 7}:{i}"} for i in range(50)])
    with db.session(write=False) as session:
        assert _indexes(session, indexed) == before
        found = session.execute(select(indexed.c.n).where(indexed.c.word == "w3:10")).scalar_one()
        if sqlite:
            assert session.execute(text("PRAGMA integrity_check")).scalar_one() == "ok"
    assert found == 10


def test_a_table_with_rows_keeps_its_indexes(db: Database, indexed: Table) -> None:
    with db.writing() as session:
        bulk_insert_dicts(session, indexed, [{"n": 1, "word": "another organization's"}])
    with db.session(write=False) as session:
        before = _indexes(session, indexed)
    with db.writing() as session, indexes_built_after(session, indexed):
        assert _indexes(session, indexed) == before
        bulk_insert_dicts(session, indexed, [{"n": 2, "word": "this run's"}])


def test_a_block_that_fails_leaves_the_indexes_as_they_were(db: Database, indexed: Table) -> None:
    with db.session(write=False) as session:
        before = _indexes(session, indexed)
    with (
        pytest.raises(RuntimeError),
        db.writing() as session,
        indexes_built_after(session, indexed),
    ):
        bulk_insert_dicts(session, indexed, [{"n": 1, "word": "half"}])
        raise RuntimeError("the run failed here")
    with db.session(write=False) as session:
        assert _indexes(session, indexed) == before
        assert session.execute(select(indexed.c.n)).all() == []


def test_a_duplicate_for_a_unique_index_still_fails_the_transaction(
    db: Database, indexed: Table
) -> None:
    # SQLite's at the end of the block; PostgreSQL's at the insert, from the driver's COPY.
    with (
        pytest.raises((IntegrityError, UniqueViolation)),
        db.writing() as session,
        indexes_built_after(session, indexed),
    ):
        bulk_insert_dicts(session, indexed, [{"n": 1, "word": "twice"}])
        bulk_insert_dicts(session, indexed, [{"n": 2, "word": "twice"}])
    with db.session(write=False) as session:
        assert session.execute(select(indexed.c.n)).all() == []


# A duplicate key, as each driver's bulk path reports it.
DUPLICATE = (IntegrityError, UniqueViolation, sqlite3.IntegrityError)


def _batch(run_id: int, lines: range) -> list[dict[str, Any]]:
    return [{"run_id": run_id, "line": n, "word": f"w{n}"} for n in lines]


def test_staged_batches_written_on_a_thread_are_all_committed_when_staging_ends(
    db: Database, work_table: Table
) -> None:
    """Staging hands its batches to a thread that commits each on PostgreSQL (`_Committed`):
    when staging returns, every batch is there, the first ones written in place before the
    thread started (R22: no row lost)."""
    write = stage._Committed(db)
    write(work_table, _batch(1, range(0, 5)))
    write.start()
    for start in range(5, 500, 5):
        write(work_table, _batch(1, range(start, start + 5)))
    write.finish()
    assert _lines_of(db, work_table) == [(1, n) for n in range(500)]


def test_a_staged_batch_that_fails_is_raised_and_nothing_after_it_is_written(
    db: Database, work_table: Table
) -> None:
    write = stage._Committed(db)
    write.start()
    write(work_table, _batch(1, range(0, 5)))
    with pytest.raises(DUPLICATE):
        # Lines 3 and 4 again: the key refuses them (raised here on SQLite, which writes in
        # place; by a later write or by `finish` on PostgreSQL).
        write(work_table, _batch(1, range(3, 8)))
        for start in range(10, 200, 5):
            write(work_table, _batch(1, range(start, start + 5)))
        write.finish()
    assert not [t for t in threading.enumerate() if t.name == "rollbook-stage"]
    assert _lines_of(db, work_table) == [(1, n) for n in range(5)]


def test_abandoned_staging_writes_nothing_more_and_leaves_no_thread(
    db: Database, work_table: Table
) -> None:
    """Staging that fails (a file it cannot read) abandons the batches still queued: the
    thread ends, and what it committed is whole batches from the first on (the failed run's
    staged rows are then cleared with it)."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite stages in place: nothing is queued")
    write = stage._Committed(db)
    write.start()
    for start in range(0, 1000, 10):
        write(work_table, _batch(1, range(start, start + 10)))
    write.abandon()
    assert not [t for t in threading.enumerate() if t.name == "rollbook-stage"]
    written = _lines_of(db, work_table)
    assert len(written) % 10 == 0 and len(written) < 1000
    assert written == [(1, n) for n in range(len(written))]
