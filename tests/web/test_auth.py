"""Signing in and out of the pages: the session cookie, CSRF, rate limiting, redirects."""

from __future__ import annotations

from fastapi.testclient import TestClient

from rollbook.app import create_app
from rollbook.config import Settings
from rollbook.store.db import Database
from rollbook.web.session import SESSION_COOKIE
from tests.factories import Roster
from tests.web.conftest import CSRF_INPUT, Pages, browser
from tests.web.html import parse

PASSWORD = "correct horse battery"


def sign_in_form(http: TestClient, **fields: str) -> tuple[str, dict[str, str]]:
    """The sign-in form's token (and its cookie is now in the jar), with the fields to post."""
    page = http.get("/login")
    assert page.status_code == 200
    token = CSRF_INPUT.search(page.text)
    assert token
    return token.group(1), fields


def post_sign_in(http: TestClient, org: str, username: str, password: str) -> object:
    token, _ = sign_in_form(http)
    return http.post(
        "/login",
        data={"org": org, "username": username, "password": password, "csrf_token": token},
    )


def test_start_page_sends_strangers_to_sign_in_and_educators_to_students(
    roster: Roster, pages
) -> None:
    stranger = browser(roster.client, roster.slug)
    assert stranger.get("/").headers["location"] == "/login"
    teacher: Pages = pages(roster.teacher())
    assert teacher.get("/").headers["location"] == f"/orgs/{roster.slug}/students"


def test_sign_in_sets_a_http_only_lax_session_cookie(roster: Roster) -> None:
    account = roster.teacher(password=PASSWORD)
    http = browser(roster.client, roster.slug)
    answer = post_sign_in(http, roster.slug, account.username, PASSWORD)
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/orgs/{roster.slug}/students"
    cookie = next(
        c for c in answer.headers.get_list("set-cookie") if c.startswith(f"{SESSION_COOKIE}=")
    )
    assert "HttpOnly" in cookie
    assert "samesite=lax" in cookie.lower()
    assert "Secure" not in cookie  # served over plain http here
    assert http.get(f"/orgs/{roster.slug}/students").status_code == 200


def test_the_cookie_is_secure_over_https(roster: Roster) -> None:
    account = roster.teacher(password=PASSWORD)
    http = browser(roster.client, roster.slug, base_url="https://testserver")
    answer = post_sign_in(http, roster.slug, account.username, PASSWORD)
    assert answer.status_code == 303
    cookies = answer.headers.get_list("set-cookie")
    assert any(c.startswith(f"{SESSION_COOKIE}=") and "Secure" in c for c in cookies)


def test_a_refused_sign_in_says_so_and_keeps_what_was_typed(roster: Roster) -> None:
    account = roster.teacher(password=PASSWORD)
    http = browser(roster.client, roster.slug)
    answer = post_sign_in(http, roster.slug, account.username, "wrong password")
    assert answer.status_code == 401
    page = parse(answer.text)
    assert "wrong organization, username or password" in page.find(id="problems").text.lower()
    assert page.find("input", name="org").get("value") == roster.slug
    assert page.find("input", name="username").get("value") == account.username
    assert "wrong password" not in answer.text
    assert SESSION_COOKIE not in http.cookies


def test_missing_fields_are_named(roster: Roster) -> None:
    http = browser(roster.client, roster.slug)
    token, _ = sign_in_form(http)
    answer = http.post("/login", data={"org": roster.slug, "csrf_token": token})
    assert answer.status_code == 422
    assert "Enter your username and password." in answer.text


def test_sign_in_without_the_forms_token_is_refused(roster: Roster) -> None:
    account = roster.teacher(password=PASSWORD)
    http = browser(roster.client, roster.slug)
    http.get("/login")
    answer = http.post(
        "/login",
        data={"org": roster.slug, "username": account.username, "password": PASSWORD},
    )
    assert answer.status_code == 403
    assert SESSION_COOKIE not in http.cookies


def test_sign_in_attempts_are_limited(roster: Roster, db: Database, app_settings: Settings) -> None:
    account = roster.teacher(password=PASSWORD)
    strict = create_app(
        Settings(database_url=app_settings.database_url, sign_in_attempts_per_minute=2), db=db
    )
    http = TestClient(strict, raise_server_exceptions=False, follow_redirects=False)
    for _ in range(2):
        assert post_sign_in(http, roster.slug, account.username, "nope").status_code == 401
    limited = post_sign_in(http, roster.slug, account.username, PASSWORD)
    assert limited.status_code == 429
    assert "too many sign-in attempts" in limited.text.lower()


def test_pages_send_strangers_to_sign_in_and_back(roster: Roster) -> None:
    http = browser(roster.client, roster.slug)
    answer = http.get(f"/orgs/{roster.slug}/students?q=ab")
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/login?next=")
    htmx = http.get(f"/orgs/{roster.slug}/students", headers={"HX-Request": "true"})
    assert htmx.headers["HX-Redirect"].startswith("/login")
    form = http.get(answer.headers["location"])
    assert f'value="/orgs/{roster.slug}/students?q=ab"' in form.text


def test_after_sign_in_only_a_local_next_is_followed(roster: Roster) -> None:
    account = roster.teacher(password=PASSWORD)
    for next_path, lands in (
        (f"/orgs/{roster.slug}/classes", f"/orgs/{roster.slug}/classes"),
        ("//evil.example/x", f"/orgs/{roster.slug}/students"),
        ("https://evil.example/", f"/orgs/{roster.slug}/students"),
    ):
        http = browser(roster.client, roster.slug)
        token, _ = sign_in_form(http)
        answer = http.post(
            "/login",
            data={
                "org": roster.slug,
                "username": account.username,
                "password": PASSWORD,
                "csrf_token": token,
                "next": next_path,
            },
        )
        assert answer.headers["location"] == lands


def test_sign_out_needs_the_token_and_ends_the_session(roster: Roster, pages) -> None:
    teacher: Pages = pages(roster.teacher())
    assert teacher.get("/logout").status_code == 200
    assert teacher.post("/logout", csrf=None).status_code == 403
    assert teacher.post("/logout", csrf="forged").status_code == 403
    assert teacher.get("students").status_code == 200
    answer = teacher.post("/logout")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/login"
    teacher.http.cookies.set(SESSION_COOKIE, teacher.token or "")
    assert teacher.get("students").status_code == 303  # the token itself is revoked


def test_an_api_key_in_the_cookie_is_not_a_session(roster: Roster) -> None:
    key = roster.api_key().token
    http = browser(roster.client, roster.slug, key)
    assert http.get(f"/orgs/{roster.slug}/students").status_code == 303
