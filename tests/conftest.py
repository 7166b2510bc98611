"""Test databases (SQLite and PostgreSQL), the application, and small factories.

Every storage, service and API test runs once per backend. PostgreSQL is the server of
ROLLBOOK_TEST_POSTGRES_URL (default: the local trust-auth server); each test session
creates a database of its own there and drops it at the end. Where no server answers,
the PostgreSQL half skips with the reason, unless ROLLBOOK_REQUIRE_POSTGRES=1 (as in CI),
in which case it fails.

Tests keep out of each other's way by giving every test an organization of its own,
which is also how rollbook partitions its data.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from rollbook.app import create_app
from rollbook.config import Settings
from rollbook.store.db import Database
from tests.factories import Roster

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"
SAMPLES = Path(__file__).resolve().parents[1].parent / "shared" / "samples"


def _require_postgres() -> bool:
    return os.environ.get("ROLLBOOK_REQUIRE_POSTGRES", "") not in ("", "0", "false")


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, dropped afterwards."""
    base = os.environ.get("ROLLBOOK_TEST_POSTGRES_URL", DEFAULT_PG)
    url = make_url(base)
    admin = url.set(drivername="postgresql").render_as_string(hide_password=False)
    name = f"rollbook_test_{uuid.uuid4().hex[:10]}"
    try:
        with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as error:
        reason = f"PostgreSQL not reachable at {url.render_as_string()}: {error}".strip()
        if _require_postgres():
            pytest.fail(f"ROLLBOOK_REQUIRE_POSTGRES is set but {reason}")
        pytest.skip(reason)
    yield url.set(database=name).render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The database URL of one backend, migrated to the newest schema."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'rollbook.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture(scope="session")
def db(backend: str) -> Iterator[Database]:
    database = Database.connect(backend)
    database.migrate()
    yield database
    database.dispose()


@pytest.fixture(scope="session")
def app_settings(backend: str) -> Settings:
    return Settings(database_url=backend, sign_in_attempts_per_minute=1000)


@pytest.fixture(scope="session")
def client(db: Database, app_settings: Settings) -> Iterator[TestClient]:
    app = create_app(app_settings, db=db)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def roster(db: Database, client: TestClient) -> Roster:
    """An organization of this test's own, with helpers to fill it and to call the API."""
    return Roster.new(db, client)
