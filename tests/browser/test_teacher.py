"""A teacher's walk through the pages in a real browser (R4, R11, R13-R16)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from rollbook.domain.fields import LOCK_HINT, SIS_SENDS_WARNING
from tests.browser import scenario
from tests.browser.conftest import Site, sign_in

pytestmark = pytest.mark.browser
AVA = "ava.baker.s-1"


def test_sign_in_and_see_locks_on_synced_students(page: Page, site: Site) -> None:
    sign_in(page, site, site.district.teacher)
    expect(page.get_by_role("heading", name="Students")).to_be_visible()
    synced = page.get_by_role("row").filter(has_text="Baker, Ava")
    expect(synced.get_by_role("img", name="Synced from your SIS")).to_be_visible()
    expect(synced.locator('[data-origin="sis"]')).to_have_count(1)
    manual = page.get_by_role("row").filter(has_text="Baker, Timothy")
    expect(manual.locator('[data-origin="sis"]')).to_have_count(0)


def test_search_as_you_type_narrows_the_list_in_place(page: Page, site: Site) -> None:
    sign_in(page, site, site.district.teacher)
    page.get_by_label("Search").press_sequentially("chen", delay=40)
    expect(page.get_by_role("row").filter(has_text="Chen, Liam")).to_be_visible()
    expect(page.get_by_role("row").filter(has_text="Baker, Ava")).to_have_count(0)
    expect(page).to_have_url(re.compile(r"q=chen"))


def test_a_locked_field_is_disabled_with_its_hover_text(page: Page, site: Site) -> None:
    sign_in(page, site, site.district.teacher)
    page.goto(site.url(f"students/{site.person(AVA)}"))
    first = page.get_by_label(re.compile(r"^First name"))
    expect(first).to_be_disabled()
    expect(first).to_have_attribute("data-locked", "true")
    expect(first).to_have_attribute("title", LOCK_HINT)
    first.hover(force=True)
    expect(page.get_by_label("Username")).to_be_disabled()
    expect(page.get_by_role("img", name=LOCK_HINT).first).to_be_visible()


def test_editing_a_shared_field_shows_the_warning_first(page: Page, site: Site) -> None:
    sign_in(page, site, site.district.teacher)
    page.goto(site.url(f"students/{site.person(AVA)}"))
    middle = page.get_by_label("Middle name")
    expect(middle).to_have_attribute("data-sis-sends", "true")
    warning = page.locator('[data-field="middle_name"] .warning')
    expect(warning).to_have_text(SIS_SENDS_WARNING)
    expect(warning).to_be_visible()
    middle.fill("Grace Anne")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_text("Saved.")).to_be_visible()
    expect(page.get_by_text("Your change to Middle name lasts until the next sync")).to_be_visible()
    expect(page.get_by_label("Middle name")).to_have_value("Grace Anne")


def test_create_a_group_and_add_a_synced_student(page: Page, site: Site) -> None:
    sign_in(page, site, site.district.teacher)
    page.get_by_role("link", name="Classes & groups").click()
    page.get_by_role("link", name="Add class or group").click()
    page.get_by_label("Name").fill("English Learners: Newcomers")
    expect(page.get_by_label("Kind")).to_have_value("group")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", name="English Learners: Newcomers")).to_be_visible()
    page.get_by_role("link", name="Students").last.click()
    page.get_by_label("Add a student").press_sequentially("Liam", delay=40)
    page.get_by_role("button", name="Add Liam Chen").click()
    expect(page.get_by_text("Added.")).to_be_visible()
    member = page.get_by_role("row").filter(has_text="Liam Chen")
    expect(member.get_by_role("img", name="Synced from your SIS")).to_be_visible()


def test_a_synced_class_is_offered_as_not_selectable(page: Page, site: Site) -> None:
    sign_in(page, site, site.district.teacher)
    page.goto(site.url(f"students/{site.person(AVA)}/classes"))
    synced = page.locator("tr", has_text="Grade 3 Reading")
    expect(synced).to_have_attribute("data-selectable", "false")
    expect(synced.get_by_role("button")).to_be_disabled()
    group = page.locator("tr", has_text="After-school Reading Club")
    expect(group).to_have_attribute("data-selectable", "true")
    group.get_by_role("button", name="Add to After-school Reading Club").click()
    expect(page.get_by_text("Added to After-school Reading Club.")).to_be_visible()


def test_change_a_product_setting(page: Page, site: Site) -> None:
    sign_in(page, site, site.district.teacher)
    page.goto(site.url(f"students/{site.person(AVA)}"))
    page.get_by_role("link", name="Product Settings").click()
    literacy = page.locator('[data-product="ill"]')
    language = literacy.get_by_label("Language support")
    expect(language).to_have_attribute("data-sis-sends", "true")
    expect(literacy.locator(".warning")).to_be_visible()
    language.select_option("Spanish")
    literacy.get_by_label("Session length (minutes)").fill("45")
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_text("Settings saved.")).to_be_visible()
    expect(page.locator('[data-product="ill"]').get_by_label("Language support")).to_have_value(
        "Spanish"
    )
    page.get_by_role("link", name="History").click()
    expect(page.get_by_role("row").filter(has_text="ill.language_support").first).to_be_visible()


def test_a_script_in_a_name_is_only_text(page: Page, site: Site) -> None:
    sign_in(page, site, site.district.teacher)
    page.get_by_label("Search").press_sequentially("tab", delay=40)
    link = page.get_by_role("link", name=f"Tables, {scenario.XSS_NAME}")
    expect(link).to_be_visible()
    link.click()
    expect(page.get_by_role("heading", name=f"{scenario.XSS_NAME} Tables")).to_be_visible()
    assert page.evaluate("document.querySelectorAll('main script').length") == 0


def test_the_keyboard_reaches_everything_with_a_visible_focus(page: Page, site: Site) -> None:
    page.goto(f"{site.base}/login")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    focused = page.locator(":focus")
    outline = focused.evaluate("e => getComputedStyle(e).outlineStyle")
    assert outline != "none"
