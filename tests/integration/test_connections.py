"""What every SQLite connection of the server is set up with (store/db.py)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from rollbook.app import create_app
from rollbook.config import Settings
from rollbook.store.db import Database


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


def test_a_negative_memory_map_is_a_wrong_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROLLBOOK_SQLITE_MMAP_MIB", "-1")
    with pytest.raises(ValueError, match="sqlite_mmap_mib"):
        Settings()
