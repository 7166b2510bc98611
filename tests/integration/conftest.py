"""Fixtures of the API tests beyond the shared ones: a second organization."""

from __future__ import annotations

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
