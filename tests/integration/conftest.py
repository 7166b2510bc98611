"""Fixtures of the API tests beyond the shared ones: a second organization."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from rollbook.store.db import Database
from tests.factories import Roster


@pytest.fixture
def other_roster(db: Database, client: TestClient) -> Roster:
    """Another organization on the same database: its data must not exist for `roster`."""
    return Roster.new(db, client)
