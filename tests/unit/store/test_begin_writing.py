"""SQLite's write lock taken by short tries (store.db.begin_writing): a writer queued behind
another starts once it commits, gives up as busy past the busy timeout, and leaves the
connection's busy timeout as it was."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from rollbook.store import db as store_db
from rollbook.store.db import SQLITE_BUSY_TIMEOUT_MS, begin_writing, is_busy


def _connect(path: Path) -> sqlite3.Connection:
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    return connection


def test_a_queued_writer_starts_once_the_writer_before_it_commits(tmp_path: Path) -> None:
    first, second = _connect(tmp_path / "w.db"), _connect(tmp_path / "w.db")
    first.execute("CREATE TABLE t (n INTEGER)")
    first.execute("BEGIN IMMEDIATE")
    first.execute("INSERT INTO t VALUES (1)")
    started = threading.Event()
    done: list[int] = []

    def write() -> None:
        started.set()
        begin_writing(second)
        second.execute("INSERT INTO t VALUES (2)")
        second.execute("COMMIT")
        done.append(1)

    writer = threading.Thread(target=write)
    writer.start()
    started.wait()
    writer.join(0.2)
    assert writer.is_alive() and not done  # waits while the first holds the lock
    first.execute("COMMIT")
    writer.join(5)
    assert done == [1]
    assert [n for (n,) in first.execute("SELECT n FROM t ORDER BY n")] == [1, 2]
    assert second.execute("PRAGMA busy_timeout").fetchone() == (SQLITE_BUSY_TIMEOUT_MS,)


def test_a_writer_waiting_past_the_busy_timeout_is_busy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_db, "SQLITE_BUSY_TIMEOUT_MS", 50)
    first, second = _connect(tmp_path / "w.db"), _connect(tmp_path / "w.db")
    first.execute("BEGIN IMMEDIATE")
    with pytest.raises(Exception) as raised:
        begin_writing(second)
    assert is_busy(raised.value)
    assert not second.in_transaction
    assert second.execute("PRAGMA busy_timeout").fetchone() == (50,)
