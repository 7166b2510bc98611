"""Fixtures of the API tests beyond the shared ones: a second organization."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from rollbook.store.db import Database
from tests.factories import Roster
from tests.integration.syncing import Sis


@pytest.fixture
def other_roster(db: Database, client: TestClient) -> Roster:
    """Another organization on the same database: its data must not exist for `roster`."""
    return Roster.new(db, client)


@pytest.fixture
def sis(roster: Roster, tmp_path: Path) -> Sis:
    """This test's SIS: runs OneRoster snapshots for `roster`'s organization."""
    return Sis(roster, tmp_path)


@pytest.fixture(autouse=True)
def _reading_by_changes_never_fails(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """A run that cannot be read by its changes reads its whole snapshot (sync/quick.py):
    right, but a failure on the way is a defect the fallback would hide."""
    with caplog.at_level(logging.INFO, logger="rollbook.sync"):
        yield
    failed = [
        r.getMessage() for r in caplog.records if "reading by its changes failed" in r.getMessage()
    ]
    assert failed == []
