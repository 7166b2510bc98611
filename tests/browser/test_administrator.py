"""A district administrator previews, applies and approves syncs in a real browser (R20, R21)."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser import scenario
from tests.browser.conftest import Site, sign_in

pytestmark = pytest.mark.browser


def upload(page: Page, site: Site, path: Path) -> None:
    page.goto(site.url("syncs"))
    page.get_by_label("OneRoster .zip").set_input_files(str(path))
    page.get_by_role("button", name="Upload and preview").click()


def test_upload_preview_apply_then_approve_a_held_run(
    page: Page, site: Site, tmp_path: Path
) -> None:
    sign_in(page, site, site.district.admin)
    changed = scenario.first_snapshot()
    changed.student("s-50", "Nora", "Newcomer")
    day2 = tmp_path / "day2.zip"
    day2.write_bytes(changed.zip())
    upload(page, site, day2)
    expect(page.get_by_text("This is a preview: nothing has changed yet.")).to_be_visible()
    students = page.locator('tr[data-counts="students"] td')
    expect(students.first).to_have_text("1")
    expect(page.get_by_text("SIS id s-50")).to_be_visible()
    page.get_by_role("button", name="Apply this snapshot").click()
    expect(page.get_by_text("Applied at")).to_be_visible()
    page.get_by_role("link", name="Students").first.click()
    expect(page.get_by_role("row").filter(has_text="Newcomer, Nora")).to_be_visible()

    shrunk = scenario.first_snapshot()
    shrunk.users = shrunk.users[:2]
    shrunk.enrollments = [e for e in shrunk.enrollments if e[1] in ("t-1", "s-1")]
    day3 = tmp_path / "day3.zip"
    day3.write_bytes(shrunk.zip())
    upload(page, site, day3)
    held = page.get_by_text("applying it will wait for an administrator's approval")
    expect(held).to_be_visible()
    page.get_by_role("button", name="Apply this snapshot").click()
    expect(page.get_by_text("Held for approval.")).to_be_visible()
    page.get_by_role("button", name="Approve and apply").click()
    expect(page.get_by_text("Applied at")).to_be_visible()
    expect(page.locator('tr[data-counts="students"] td').nth(3)).to_have_text("7")


def test_a_bad_upload_is_refused_with_a_message(page: Page, site: Site, tmp_path: Path) -> None:
    sign_in(page, site, site.district.admin)
    bad = tmp_path / "roster.zip"
    bad.write_text("not a zip at all")
    upload(page, site, bad)
    expect(page.get_by_role("alert")).to_contain_text("not a zip archive")


def test_teachers_have_no_syncs_page(page: Page, site: Site) -> None:
    sign_in(page, site, site.district.teacher)
    expect(page.get_by_role("link", name="Syncs")).to_have_count(0)
    page.goto(site.url("syncs"))
    expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
