"""Many requests at once on few request threads and few connections: every one is answered;
a request waiting for a row a long transaction holds gives up with 503 busy.

A request holds its pooled connection between its dependencies, which run in the request
threads one after the other. With more requests inside than connections, requests holding a
connection waited for a thread while the requests holding the threads waited for a
connection, and all of them hung until the pool gave up (500 after 30 s). The server admits
no more requests than its pool can serve (app.Admission); the rest wait at the door.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import anyio.to_thread
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from rollbook.app import create_app
from rollbook.config import Settings
from rollbook.store.db import Database
from rollbook.store.models import Person
from rollbook.web.session import SESSION_COOKIE, csrf_token_for
from tests.factories import Roster
from tests.integration.helpers import error_of, new_student, student_body

REQUESTS = 48


def _served(own: Database, settings: Settings) -> Iterator[tuple[Database, TestClient]]:
    """An application of its own on the session's database (migrated by the `db` fixture)."""
    with TestClient(create_app(settings, db=own), raise_server_exceptions=False) as client:
        yield own, client
    own.dispose()


@pytest.fixture
def small(backend: str, db: Database) -> Iterator[tuple[Database, TestClient]]:
    """An application with 2 request threads and a pool of 2 (6 connections at most)."""
    assert db is not None
    settings = Settings(
        database_url=backend, pool_size=2, request_threads=2, sign_in_attempts_per_minute=1000
    )
    yield from _served(Database.connect(backend, pool_size=2), settings)


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


@pytest.fixture
def impatient(backend: str, db: Database) -> Iterator[tuple[Database, TestClient]]:
    """An application whose requests wait at most 300 ms for a row lock (PostgreSQL)."""
    if backend.startswith("sqlite"):
        pytest.skip("SQLite's writer is waited for by its busy timeout, not a lock timeout")
    assert db is not None
    waiting = Database.connect(backend, lock_timeout_ms=300)
    yield from _served(waiting, Settings(database_url=backend))


def test_an_edit_of_a_row_a_long_transaction_holds_answers_503_busy_and_writes_nothing(
    impatient: tuple[Database, TestClient],
) -> None:
    """A sync's transaction holds the rows it changed until it commits (minutes, for a large
    district): an edit of one of them gives up after the lock timeout instead of hanging."""
    db, client = impatient
    roster = Roster.new(db, client)
    school = roster.school()
    admin = roster.district_admin()
    student = new_student(admin.api, school, preferred_first_name="Before")["id"]
    with db.engine.connect() as holder:
        holder.execute(
            update(Person).where(Person.id == int(student)).values(preferred_first_name="Held")
        )
        answer = admin.api.patch(f"students/{student}", json={"preferred_first_name": "Mine"})
        error_of(answer, 503, "busy")
        assert answer.headers["Retry-After"] == "5"
        assert admin.api.get(f"students/{student}").json()["preferred_first_name"] == "Before"
        holder.rollback()
    admin.api.ok("PATCH", f"students/{student}", json={"preferred_first_name": "Mine"})
    assert admin.api.get(f"students/{student}").json()["preferred_first_name"] == "Mine"


@pytest.fixture
def few_threads(backend: str, db: Database) -> Iterator[tuple[Database, TestClient]]:
    """PostgreSQL with 2 request threads for the reads and a lock timeout of 20 s."""
    if backend.startswith("sqlite"):
        pytest.skip("SQLite's writes wait for their turn at the gate, holding no thread")
    assert db is not None
    settings = Settings(database_url=backend, request_threads=2, sign_in_attempts_per_minute=1000)
    yield from _served(Database.connect(backend, lock_timeout_ms=20_000), settings)


def test_edits_waiting_for_a_row_a_transaction_holds_leave_the_reads_their_threads(
    few_threads: tuple[Database, TestClient],
) -> None:
    """A sync's transaction holds the rows it changed; edits of them wait, each in a thread.
    Those are the writes' own threads (app.state.write_threads): with 4 such edits and 2
    request threads, a read still answers at once, not when the edits give up."""
    db, client = few_threads
    roster = Roster.new(db, client)
    school = roster.school()
    admin = roster.district_admin()
    held = new_student(admin.api, school, preferred_first_name="Before")["id"]
    other = new_student(admin.api, school, preferred_first_name="Other")["id"]
    with db.engine.connect() as holder, ThreadPoolExecutor(max_workers=4) as clients:
        holder.execute(
            update(Person).where(Person.id == int(held)).values(preferred_first_name="Held")
        )
        edits = [
            clients.submit(
                admin.api.patch, f"students/{held}", json={"preferred_first_name": f"Edit {n}"}
            )
            for n in range(4)
        ]
        time.sleep(1.0)  # every edit is inside, waiting for the row
        assert not any(edit.done() for edit in edits)
        read = admin.api.get(f"students/{other}")
        assert read.status_code == 200 and read.json()["preferred_first_name"] == "Other"
        assert not any(edit.done() for edit in edits), "the read waited for the edits"
        holder.rollback()
        # Each had read the student before the row was free: the first to write wins, the
        # others find the version moved (412, as with a stale If-Match); none is lost unsaid.
        statuses = [edit.result(timeout=30).status_code for edit in edits]
        assert 200 in statuses and set(statuses) <= {200, 412}, statuses
    assert admin.api.get(f"students/{held}").json()["preferred_first_name"].startswith("Edit ")


def test_the_lock_timeout_keeps_the_server_options_of_the_address(backend: str) -> None:
    if backend.startswith("sqlite"):
        pytest.skip("PostgreSQL's server options")
    own = Database.connect(f"{backend}?options=-c%20statement_timeout%3D4321", lock_timeout_ms=1234)
    try:
        with own.engine.connect() as connection:
            assert connection.exec_driver_sql("SHOW lock_timeout").scalar() == "1234ms"
            assert connection.exec_driver_sql("SHOW statement_timeout").scalar() == "4321ms"
    finally:
        own.dispose()


def test_a_request_holding_sqlites_write_turn_never_queues_for_the_request_threads(
    client: TestClient, roster: Roster, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While a writing request holds SQLite's one write turn, every other writer waits. What
    it does while it holds the turn (the pages' form: session, actor, organization, CSRF; the
    route, and the end of its session) runs in the turn's own thread, never in the request
    threads' queue behind the reads (API, page forms and the pages' sign-in;
    api.deps.TurnRoute). An API write reads its actor and organization in a request thread
    before it takes the turn, then hands over to the turn's thread once (api.deps.reached).
    On PostgreSQL nobody waits for a turn, and writes run the same way in threads of the
    writes' own (app.state.write_threads), never in the reads' threads."""
    school = roster.school()
    admin = roster.district_admin(password="correct horse battery")
    student = new_student(admin.api, school)["id"]
    gate = client.app.state.write_gate  # type: ignore[attr-defined]
    sqlite = roster.db.engine.dialect.name == "sqlite"
    assert (gate is not None) == sqlite
    # SQLite: the turn's own thread; PostgreSQL: the writes' own threads.
    lane = gate.lane if sqlite else client.app.state.write_threads  # type: ignore[attr-defined]
    handed: list[str] = []
    run_sync = anyio.to_thread.run_sync

    async def recording(func: Any, *args: Any, limiter: Any = None, **kwargs: Any) -> Any:
        handed.append("requests" if limiter is None else "turn" if limiter is lane else "own")
        return await run_sync(func, *args, limiter=limiter, **kwargs)

    monkeypatch.setattr(anyio.to_thread, "run_sync", recording)
    admin.api.ok("PATCH", f"students/{student}", json={"preferred_first_name": "Turn"})
    edit, handed[:] = list(handed), []
    token = admin.api.token
    page = TestClient(client.app, raise_server_exceptions=False, follow_redirects=False)
    page.cookies.set(SESSION_COOKIE, token)
    form = {"preferred_first_name": "Form", "csrf_token": csrf_token_for(token)}
    posted = page.post(f"/orgs/{roster.slug}/students/{student}", data=form)
    assert posted.status_code == 303, posted.text
    form_post, handed[:] = list(handed), []
    visitor = TestClient(client.app, raise_server_exceptions=False, follow_redirects=False)
    login_form = visitor.get("/login")  # a read: the request threads
    login_csrf = re.search(r'name="csrf_token" value="([^"]*)"', login_form.text)
    assert login_csrf is not None
    handed[:] = []
    credentials = {"org": roster.slug, "username": admin.username}
    signed = visitor.post(
        "/login",
        data={**credentials, "password": "correct horse battery", "csrf_token": login_csrf[1]},
    )
    assert signed.status_code == 303, signed.text
    monkeypatch.undo()
    assert edit == ["requests", "turn"], edit
    for writes in (form_post, handed):
        assert "requests" not in writes and writes.count("turn") >= 1, writes
    assert form_post.count("turn") >= 2
    assert admin.api.get(f"students/{student}").json()["preferred_first_name"] == "Form"


def test_a_read_hands_over_to_the_request_threads_once_and_ends_its_session(
    client: TestClient, roster: Roster, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An API read and a page: one thread works out who asks and the organization
    (api.deps.Deferred), runs the route and ends the session (TurnRoute); every connection is
    back in the pool after each, refused or not."""
    school = roster.school()
    admin = roster.district_admin()
    student = new_student(admin.api, school)["id"]
    handed: list[str] = []
    run_sync = anyio.to_thread.run_sync

    async def recording(func: Any, *args: Any, limiter: Any = None, **kwargs: Any) -> Any:
        handed.append(getattr(func, "__name__", repr(func)))
        return await run_sync(func, *args, limiter=limiter, **kwargs)

    pool = roster.db.engine.pool
    checked_out = pool.checkedout()  # type: ignore[attr-defined]
    monkeypatch.setattr(anyio.to_thread, "run_sync", recording)
    assert admin.api.get(f"students/{student}").status_code == 200
    api_read, handed[:] = list(handed), []
    page = TestClient(client.app, raise_server_exceptions=False, follow_redirects=False)
    page.cookies.set(SESSION_COOKIE, admin.api.token)
    assert page.get(f"/orgs/{roster.slug}/students/{student}").status_code == 200
    page_read = list(handed)
    monkeypatch.undo()
    assert len(api_read) == 1 and len(page_read) == 1, (api_read, page_read)
    assert pool.checkedout() == checked_out  # type: ignore[attr-defined]
    students = f"/api/v1/orgs/{roster.slug}/students"
    # Refused before its route ran (no credential), or in the route's thread (a credential
    # nobody holds, an organization out of reach): each ends its session too.
    assert admin.api.client.get(students).status_code == 401
    unknown = {"Authorization": "Bearer rbt_nobody"}
    assert admin.api.client.get(students, headers=unknown).status_code == 401
    own = {"Authorization": f"Bearer {admin.api.token}"}
    assert admin.api.client.get("/api/v1/orgs/no-such-org/students", headers=own).status_code == 404
    assert page.get("/orgs/no-such-org/students").status_code == 404
    assert pool.checkedout() == checked_out  # type: ignore[attr-defined]
