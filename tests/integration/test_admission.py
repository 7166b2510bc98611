"""Many requests at once on few request threads and few connections: every one is answered.

A request holds its pooled connection between its dependencies, which run in the request
threads one after the other. With more requests inside than connections, requests holding a
connection waited for a thread while the requests holding the threads waited for a
connection, and all of them hung until the pool gave up (500 after 30 s). The server admits
no more requests than its pool can serve (app.Admission); the rest wait at the door.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient

from rollbook.app import create_app
from rollbook.config import Settings
from rollbook.store.db import Database
from tests.factories import Roster
from tests.integration.helpers import new_student, student_body

REQUESTS = 48


@pytest.fixture
def small(backend: str, db: Database) -> Iterator[tuple[Database, TestClient]]:
    """An application with 2 request threads and a pool of 2 (6 connections at most), on
    the session's database (`db`: migrated)."""
    assert db is not None
    few = Database.connect(backend, pool_size=2)
    settings = Settings(
        database_url=backend, pool_size=2, request_threads=2, sign_in_attempts_per_minute=1000
    )
    app = create_app(settings, db=few)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield few, client
    few.dispose()


def test_many_requests_on_two_threads_and_a_small_pool_are_all_answered(
    small: tuple[Database, TestClient],
) -> None:
    db, client = small
    roster = Roster.new(db, client)
    school = roster.school()
    admin = roster.district_admin()
    student = new_student(admin.api, school)["id"]

    def one(number: int) -> int:
        if number % 4 == 0:
            body = {"preferred_first_name": f"Edit {number}"}
            return admin.api.patch(f"students/{student}", json=body).status_code
        if number % 4 == 1:
            return admin.api.post("students", json=student_body(school)).status_code
        return admin.api.get("students", params={"q": "a"}).status_code

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=REQUESTS) as clients:
        codes = Counter(clients.map(one, range(REQUESTS), timeout=25))
    assert codes == {200: REQUESTS * 3 // 4, 201: REQUESTS // 4}
    assert time.monotonic() - started < 25
