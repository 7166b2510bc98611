"""Refresh the screenshots of the main pages in docs/screenshots/ (`make screenshots`).

Builds the browser tests' district in a temporary SQLite database, serves it on 127.0.0.1,
and drives Debian's Chromium (/usr/bin/chromium) through Playwright, as the teacher and as
the district administrator, at laptop size (and one page at tablet size).

    python -m bench.screenshots [--out docs/screenshots]
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import Page, sync_playwright
from tests.browser import scenario
from tests.browser.server import CHROMIUM, CHROMIUM_ARGS, live_server

LAPTOP = {"width": 1280, "height": 800}
TABLET = {"width": 820, "height": 1180}


def sign_in(page: Page, base: str, slug: str, account: tuple[str, str]) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("Organization").fill(slug)
    page.get_by_label("Username").fill(account[0])
    page.get_by_label("Password").fill(account[1])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r".*/students$"))


def shoot(page: Page, out: Path, name: str, url: str | None = None) -> None:
    if url is not None:
        page.goto(url)
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(out / f"{name}.png"), full_page=True)
    print(f"wrote {out / name}.png")


def teacher_pages(page: Page, base: str, out: Path, d: scenario.District, ava: str) -> None:
    org = f"{base}/orgs/{d.slug}"
    shoot(page, out, "login", f"{base}/login")
    sign_in(page, base, d.slug, d.teacher)
    shoot(page, out, "students", f"{org}/students")
    page.get_by_label("Search").fill("ba")
    page.wait_for_timeout(600)
    shoot(page, out, "students-search")
    page.goto(f"{org}/students/{ava}")
    page.get_by_label("Middle name").fill("Grace Anne")
    page.get_by_role("button", name="Save changes").click()
    shoot(page, out, "student-details")
    shoot(page, out, "student-classes", f"{org}/students/{ava}/classes")
    shoot(page, out, "student-product-settings", f"{org}/students/{ava}/product-settings")
    shoot(page, out, "student-history", f"{org}/students/{ava}/history")
    shoot(page, out, "classes", f"{org}/classes")
    page.goto(f"{org}/classes/{d.group_id}/students")
    page.get_by_label("Add a student").fill("a")
    page.wait_for_timeout(600)
    shoot(page, out, "group-students")
    page.goto(f"{org}/classes")
    page.get_by_role("link", name="Grade 3 Reading").click()
    page.get_by_role("link", name="Products").click()
    shoot(page, out, "class-products")
    page.goto(f"{org}/product-settings/bulk")
    page.get_by_label("From a class or group").select_option(label="Grade 3 Reading")
    page.get_by_role("button", name="Show its students").click()
    page.get_by_label("Setting", exact=True).select_option("ill.language_support")
    page.get_by_label("Value", exact=True).select_option("Spanish")
    page.get_by_role("button", name="Apply to the chosen students").click()
    shoot(page, out, "bulk-settings")
    shoot(page, out, "educators", f"{org}/educators")


def admin_pages(page: Page, base: str, out: Path, d: scenario.District, folder: Path) -> None:
    org = f"{base}/orgs/{d.slug}"
    sign_in(page, base, d.slug, d.admin)
    again = folder / "sis-day-2.zip"
    again.write_bytes(scenario.first_snapshot().zip())
    page.goto(f"{org}/syncs")
    page.get_by_label("OneRoster .zip").set_input_files(str(again))
    page.get_by_role("button", name="Upload and preview").click()
    page.get_by_role("button", name="Apply this snapshot").wait_for()
    shoot(page, out, "sync-preview")
    page.get_by_role("button", name="Apply this snapshot").click()
    page.get_by_text("Applied at").wait_for()
    shrunk = scenario.first_snapshot()
    shrunk.users = shrunk.users[:2]
    shrunk.enrollments = [e for e in shrunk.enrollments if e[1] in ("t-1", "s-1")]
    held = folder / "sis-day-3.zip"
    held.write_bytes(shrunk.zip())
    page.goto(f"{org}/syncs")
    page.get_by_label("OneRoster .zip").set_input_files(str(held))
    page.get_by_role("button", name="Upload and preview").click()
    page.get_by_role("button", name="Apply this snapshot").click()
    page.get_by_role("button", name="Approve and apply").wait_for()
    shoot(page, out, "sync-held")
    shoot(page, out, "syncs", f"{org}/syncs")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/screenshots"))
    args = parser.parse_args(argv)
    if not CHROMIUM.exists():
        print(f"{CHROMIUM} is missing: apt-get install -y chromium", file=sys.stderr)
        return 2
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp, live_server(Path(tmp)) as (base, db):
        d = scenario.build(db)
        ava = scenario.person_id(db, d.slug, "ava.baker.s-1")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
            )
            teacher = browser.new_page(viewport=LAPTOP)
            teacher_pages(teacher, base, out, d, ava)
            tablet = browser.new_page(viewport=TABLET)
            sign_in(tablet, base, d.slug, d.teacher)
            shoot(tablet, out, "student-details-tablet", f"{base}/orgs/{d.slug}/students/{ava}")
            admin = browser.new_page(viewport=LAPTOP)
            admin_pages(admin, base, out, d, Path(tmp))
            browser.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
