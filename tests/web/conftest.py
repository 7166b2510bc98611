"""Page tests: a browser-like client of the pages, signed in with a session cookie.

The pages run in-process on the shared application of `tests/conftest.py`, so every page
test runs on SQLite and on PostgreSQL like the API tests.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from rollbook.store.db import Database
from rollbook.store.sync_tables import SyncRun
from rollbook.web.session import SESSION_COOKIE, csrf_token_for
from tests.factories import Account, Roster

CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]*)"')


@dataclass
class Pages:
    """One educator's browser: a cookie jar holding their session."""

    http: TestClient
    slug: str
    token: str | None

    def url(self, path: str) -> str:
        return path if path.startswith("/") else f"/orgs/{self.slug}/{path}"

    @property
    def csrf(self) -> str:
        assert self.token is not None
        return csrf_token_for(self.token)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.get(self.url(path), **kwargs)

    def post(
        self, path: str, data: dict[str, Any] | None = None, *, csrf: str | None = "", **kw: Any
    ) -> httpx.Response:
        """A form post; the session's CSRF token unless `csrf` says otherwise (None: none)."""
        body = dict(data or {})
        if csrf is not None:
            body["csrf_token"] = csrf or self.csrf
        return self.http.post(self.url(path), data=body, **kw)

    def htmx(self, path: str, target: str) -> httpx.Response:
        return self.get(path, headers={"HX-Request": "true", "HX-Target": target})


def browser(client: TestClient, slug: str, token: str | None = None, **kw: Any) -> TestClient:
    http = TestClient(client.app, raise_server_exceptions=False, follow_redirects=False, **kw)
    if token:
        http.cookies.set(SESSION_COOKIE, token)
    return http


@pytest.fixture
def pages(client: TestClient):  # type: ignore[no-untyped-def]
    """`pages(account)`: the pages as that educator sees them."""

    def signed_in(account: Account) -> Pages:
        token = account.api.token
        return Pages(browser(client, account.api.slug, token), account.api.slug, token)

    return signed_in


@pytest.fixture
def other_roster(db: Database, client: TestClient) -> Roster:
    """Another organization on the same database: its data must not exist for `roster`."""
    return Roster.new(db, client)


def wait_for_run(db: Database, run_id: str, timeout: float = 60) -> str:
    """The status of a run once it has left `queued` and `running`."""
    deadline = time.monotonic() + timeout
    while True:
        with db.session(write=False) as session:
            run = session.get(SyncRun, int(run_id))
            status = run.status if run else "missing"
        if status not in ("queued", "running") or time.monotonic() > deadline:
            return status
        time.sleep(0.1)


def text_of(html: str) -> str:
    """The visible text of a page, roughly: tags dropped, spaces folded."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()
