"""A first full sync into an empty SQLite database fills people, their schools and the
memberships without their indexes and builds them at the end (store/bulk.py
`indexes_built_after`): afterwards the database holds every index its schema declares, each
agreeing with its table, whether the run was applied or only previewed (R21)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rollbook.cli import app
from rollbook.store.db import Database

TABLES = ("people", "person_schools", "memberships")


def _indexes(path: Path) -> set[tuple[str, str]]:
    with sqlite3.connect(path) as connection:
        rows = connection.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
            f" AND tbl_name IN ({', '.join('?' for _ in TABLES)})",
            TABLES,
        ).fetchall()
    return set(rows)


def _run(runner: CliRunner, *args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, (result.stdout, result.stderr)
    return result.stdout


@pytest.fixture
def empty(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty, migrated SQLite database of this test's own."""
    import rollbook.cli_sync  # noqa: F401 - registers the sync commands, as main() does

    path = tmp_path / "rollbook.db"
    db = Database.connect(f"sqlite:///{path}")
    db.migrate()
    db.dispose()
    monkeypatch.setenv("ROLLBOOK_DATABASE_URL", f"sqlite:///{path}")
    monkeypatch.setenv("ROLLBOOK_SNAPSHOT_COPIES", "off")
    return path


@pytest.mark.parametrize("dry_run", [False, True], ids=["applied", "previewed"])
def test_first_sync_into_an_empty_database_leaves_every_index_whole(
    empty: Path, tmp_path: Path, dry_run: bool
) -> None:
    declared = _indexes(empty)
    assert {name for name, _ in declared} >= {"ix_people_org_username", "ix_memberships_person"}
    runner = CliRunner()
    snapshot = tmp_path / "district"
    _run(runner, "generate", str(snapshot), "--students", "300", "--seed", "3")
    _run(runner, "org", "create", "first", "--name", "First District", "--threshold", "100")
    run = json.loads(
        _run(runner, "sync", "first", str(snapshot), "--json", *(["--dry-run"] if dry_run else []))
    )
    assert run["status"] == ("previewed" if dry_run else "applied")
    assert run["counts"]["students"]["created"] == 300
    assert _indexes(empty) == declared
    with sqlite3.connect(empty) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        people = connection.execute("SELECT count(*) FROM people").fetchone()[0]
        members = connection.execute("SELECT count(*) FROM memberships").fetchone()[0]
        # Found through the rebuilt unique index on (org_id, username_key).
        plan = connection.execute(
            "EXPLAIN QUERY PLAN SELECT id FROM people WHERE org_id = 1 AND username_key = 'x'"
        ).fetchall()
    assert any("ix_people_org_username" in str(row) for row in plan)
    if dry_run:
        assert (people, members) == (0, 0)
    else:
        assert people >= 300 and members > people
