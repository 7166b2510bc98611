"""What the server's connections are set up with (store/db.py)."""

from __future__ import annotations

import gc
import time
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from typer.testing import CliRunner

from rollbook.app import create_app
from rollbook.config import Settings
from rollbook.store import db as store_db
from rollbook.store.db import Database
from rollbook.sync.writes import _sample


def _pragma(db: Database, name: str) -> object:
    with db.engine.connect() as connection:
        return connection.exec_driver_sql(f"PRAGMA {name}").scalar()


@pytest.mark.parametrize(("mib", "expected"), [(None, 2047), (64, 64), (0, 0)])
def test_the_servers_sqlite_connections_read_through_a_memory_map_as_set(
    backend: str, db: Database, mib: int | None, expected: int
) -> None:
    """A large district's database is read by every request connection: through a shared
    memory map (ROLLBOOK_SQLITE_MMAP_MIB, 2,047 MiB unless set; 0 turns it off) rather than
    into each connection's own small page cache."""
    if not backend.startswith("sqlite"):
        pytest.skip("SQLite's memory map")
    assert db is not None
    given = {} if mib is None else {"sqlite_mmap_mib": mib}
    app = create_app(Settings(database_url=backend, **given))
    with TestClient(app):
        served: Database = app.state.db
        assert _pragma(served, "mmap_size") == expected * 1024 * 1024
        assert _pragma(served, "journal_mode") == "wal"
        assert _pragma(served, "foreign_keys") == 1
    served.dispose()
    assert _pragma(db, "mmap_size") == 0  # other connections (the tests', a sync's) keep none


def test_rollbook_serve_reads_through_the_memory_map(
    backend: str, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`rollbook serve` with one process hands uvicorn an application over the server's own
    connections (app.server_database): the configured pool and, on SQLite, the memory map.
    It once opened a command's connections, and the setting was read only by `--workers N`."""
    if not backend.startswith("sqlite"):
        pytest.skip("SQLite's memory map")
    import uvicorn

    from rollbook.cli import app as cli_app

    served: list[Any] = []
    monkeypatch.setattr(uvicorn, "run", lambda application, **_: served.append(application))
    monkeypatch.setenv("ROLLBOOK_DATABASE_URL", backend)
    monkeypatch.setenv("ROLLBOOK_SQLITE_MMAP_MIB", "64")
    monkeypatch.setenv("ROLLBOOK_POOL_SIZE", "3")
    result = CliRunner().invoke(cli_app, ["serve", "--port", "1"])
    assert result.exit_code == 0, result.output
    (application,) = served
    server_db: Database = application.state.db
    try:
        assert _pragma(server_db, "mmap_size") == 64 * 1024 * 1024
        assert server_db.engine.pool.size() == 3  # type: ignore[attr-defined]
    finally:
        server_db.dispose()
        gc.unfreeze()  # `serve` froze what this process held, as a server's (cli.settled)


def test_a_negative_memory_map_is_a_wrong_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROLLBOOK_SQLITE_MMAP_MIB", "-1")
    with pytest.raises(ValueError, match="sqlite_mmap_mib"):
        Settings()


def _terminate(url: str, pid: int) -> None:
    admin = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute("SELECT pg_terminate_backend(%s)", (pid,))


def _backend_pid(db: Database) -> int:
    with db.engine.connect() as connection:
        return int(connection.exec_driver_sql("SELECT pg_backend_pid()").scalar_one())


def test_a_postgresql_connection_gone_while_idle_is_replaced_before_use(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pooled connection that sat idle (a server restart, a firewall's cut) is checked
    before it is lent, and replaced: the request never sees it (store/db.py, idle ping)."""
    monkeypatch.setattr(store_db, "IDLE_PING_SECONDS", 0.2)
    db = Database.connect(postgres_url, pool_size=1)
    try:
        first = _backend_pid(db)
        _terminate(postgres_url, first)
        time.sleep(0.3)
        assert _backend_pid(db) != first  # no error: replaced on the way out of the pool
    finally:
        db.dispose()


def test_a_postgresql_connection_in_use_moments_ago_is_lent_without_a_ping(
    postgres_url: str,
) -> None:
    """Under load a connection goes back and out many times a second: it is not pinged each
    time (a round trip on every request). A server gone meanwhile fails one statement, and
    the pool then replaces every connection it holds."""
    db = Database.connect(postgres_url, pool_size=1)
    try:
        first = _backend_pid(db)
        _terminate(postgres_url, first)
        with pytest.raises(OperationalError):
            _backend_pid(db)
        assert _backend_pid(db) != first
    finally:
        db.dispose()


def test_a_run_plans_without_fresh_statistics_while_another_transaction_samples_the_table(
    backend: str, db: Database
) -> None:
    """PostgreSQL: a run does not wait on another transaction's `ANALYZE` of a table it only
    wanted to sample (sync/writes.py `_sample`); it goes on without, and samples it when
    nobody holds the table."""
    if backend.startswith("sqlite"):
        pytest.skip("PostgreSQL's ANALYZE and lock_timeout")
    with db.engine.connect() as holder, db.session(write=True) as session:
        holder.exec_driver_sql("BEGIN")
        # The lock ANALYZE takes, held as another transaction's ANALYZE holds it.
        holder.exec_driver_sql("LOCK TABLE people IN SHARE UPDATE EXCLUSIVE MODE")
        assert _sample(session, "people", wait=False) is False
        holder.exec_driver_sql("ROLLBACK")
        assert _sample(session, "people", wait=False) is True
        session.rollback()
