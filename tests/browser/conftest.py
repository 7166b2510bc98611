"""Browser tests: Debian's Chromium driven by pytest-playwright against the app served by
uvicorn on 127.0.0.1 (SQLite file database in a temporary folder).

Without /usr/bin/chromium they skip, saying why, unless ROLLBOOK_REQUIRE_BROWSER=1 (as in
CI): then they fail. Playwright's own browser downloads are never used.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from playwright.sync_api import Page

from rollbook.store.db import Database
from tests.browser import scenario
from tests.browser.server import CHROMIUM, CHROMIUM_ARGS, live_server


def _require_browser() -> bool:
    return os.environ.get("ROLLBOOK_REQUIRE_BROWSER", "") not in ("", "0", "false")


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """Launch Debian's Chromium with the flags this machine needs."""
    if not CHROMIUM.exists():
        reason = f"Chromium is not installed at {CHROMIUM} (apt-get install -y chromium)"
        if _require_browser():
            pytest.fail(f"ROLLBOOK_REQUIRE_BROWSER is set but {reason}")
        pytest.skip(reason)
    return {
        **browser_type_launch_args,
        "executable_path": str(CHROMIUM),
        "args": CHROMIUM_ARGS,
        "headless": True,
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    return {**browser_context_args, "viewport": {"width": 1280, "height": 900}}


@dataclass(frozen=True)
class Site:
    base: str
    db: Database
    district: scenario.District

    def url(self, path: str) -> str:
        return f"{self.base}/orgs/{self.district.slug}/{path}"

    def person(self, username: str) -> str:
        return scenario.person_id(self.db, self.district.slug, username)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """A served district of this test module's own."""
    with live_server(tmp_path_factory.mktemp("site")) as (base, db):
        yield Site(base, db, scenario.build(db))


@pytest.fixture
def page(page: Page) -> Page:
    """Every page fails its test on an alert: no injected script may ever run."""
    page.on("dialog", lambda dialog: pytest.fail(f"a dialog opened: {dialog.message}"))
    return page


def sign_in(page: Page, site: Site, account: tuple[str, str]) -> None:
    page.goto(f"{site.base}/login")
    page.get_by_label("Organization").fill(site.district.slug)
    page.get_by_label("Username").fill(account[0])
    page.get_by_label("Password").fill(account[1])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r".*/students$"))
