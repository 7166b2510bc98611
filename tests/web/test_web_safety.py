"""The pages (and the API) against the web's usual attacks (quality.md "the web pages").

Every page is found by walking the application's own page routes, with the ids of an
organization whose names, notes and schools all carry markup, as its district
administrator. On every page walked: the security headers, no markup rendered as markup,
and every POST form collected. Every form is then posted without its CSRF token and with a
wrong one, and must be refused with nothing changed; a POST route of the pages that no
walked page offers a form for fails the test by name.

Beside them: every cookie is HttpOnly and SameSite, the API token endpoint limits sign-in
attempts like the sign-in page (tests/web/test_auth.py covers the page and the session
cookie's flags), and no password, token or API key reaches the application's logs.
"""

from __future__ import annotations

import io
import logging
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.cookies import SimpleCookie
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from markupsafe import escape
from sqlalchemy import func, select, update

from rollbook.app import create_app
from rollbook.config import Settings
from rollbook.store.db import Database
from rollbook.store.models import Change, SignInAttempt, utcnow
from rollbook.store.sync_tables import SyncRun
from rollbook.sync.worker import SyncWorker
from rollbook.web.session import CSRF_HEADER, SESSION_COOKIE
from tests.factories import Roster, unique
from tests.web.conftest import CSRF_INPUT, browser, wait_for_run
from tests.web.html import Element, parse
from tests.web.snapshot import Snapshot
from tests.web.test_auth import post_sign_in

SCRIPT = '<script>alert("rollbook-xss")</script>'
IMAGE = '"><img src=x onerror=alert("rollbook-xss")>'
BOLD = "<b onmouseover=alert(1)>Bold</b>"
HOSTILE = (SCRIPT, IMAGE, BOLD)
PASSWORD = "correct horse battery staple"
EXPIRED = "This form has expired"


# ---------------------------------------------------------------------------------------
# The page routes of the application.


def _route_contexts(app: FastAPI) -> Iterator[Any]:
    try:  # FastAPI 0.16x keeps included routers whole in app.routes: flatten them
        from fastapi.routing import iter_route_contexts
    except ImportError:  # pragma: no cover
        yield from app.routes
        return
    yield from iter_route_contexts(app.routes)


def page_routes(app: FastAPI, method: str) -> list[str]:
    """Path templates of the pages (not the API, the static files or the OpenAPI pages)."""
    found = []
    for route in _route_contexts(app):
        path = route.path or ""
        methods = getattr(route, "methods", None) or set()
        if method in methods and not path.startswith(("/api/", "/static", "/docs")):
            found.append(path)
    return found


def template_regex(path: str) -> re.Pattern[str]:
    pattern = re.sub(r"\\\{[^}]+\\\}", "[^/?]+", re.escape(path))
    return re.compile(f"^{pattern}$")


# ---------------------------------------------------------------------------------------
# An organization whose every name is hostile, and its district administrator's browser.


def hostile_snapshot(students: int) -> Snapshot:
    snapshot = Snapshot(schools={"sch-1": f"School {BOLD}"})
    snapshot.teacher("t-1", SCRIPT, IMAGE, username="sis.teacher")
    ids = [f"s-{n}" for n in range(1, students + 1)]
    for sid in ids:
        snapshot.student(sid, SCRIPT, f"{IMAGE} {sid}", username=f"sis.{sid}")
    snapshot.klass("c-1", f"Class {SCRIPT}", "t-1", *ids).product("c-1", "ill")
    return snapshot


@dataclass
class Walked:
    url: str
    response: httpx.Response


@dataclass
class World:
    db: Database
    roster: Roster
    admin: TestClient
    token: str
    ids: dict[str, list[str]]
    walked: list[Walked] = field(default_factory=list)

    def csrf(self) -> str:
        from rollbook.web.session import csrf_token_for

        return csrf_token_for(self.token)


def _upload(world: World, snapshot: Snapshot) -> str:
    answer = world.admin.post(
        f"/orgs/{world.roster.slug}/syncs",
        data={"csrf_token": world.csrf()},
        files={"file": ("sis.zip", snapshot.zip(), "application/zip")},
    )
    assert answer.status_code == 303, answer.text
    run = str(answer.headers["location"].rsplit("/", 1)[-1])
    assert wait_for_run(world.db, run) == "previewed"
    return run


def _apply(world: World, run: str) -> tuple[str, str]:
    answer = world.admin.post(
        f"/orgs/{world.roster.slug}/syncs/{run}/apply", data={"csrf_token": world.csrf()}
    )
    assert answer.status_code == 303, answer.text
    real = str(answer.headers["location"].rsplit("/", 1)[-1])
    return real, wait_for_run(world.db, real)


def _fill(path: str, slug: str, ids: dict[str, list[str]]) -> list[str]:
    """Every address of a page template, with each kind of entity of the organization."""
    names = [n.split(":")[0] for n in re.findall(r"\{([^}]+)\}", path)]
    entity = next((n for n in names if n != "org"), None)
    values: list[str] = [""]
    if entity == "person_id":
        values = ids["educators" if "/educators/" in path else "students"]
    elif entity == "student_id":
        values = ids["students"]
    elif entity:
        values = ids.get({"class_id": "classes", "run_id": "runs"}.get(entity, ""), ["nowhere"])
    urls = []
    for value in values:
        url = path.replace("{org}", slug)
        url = re.sub(r"\{(?!org)[^}]+\}", value, url)
        urls.append(url)
    return urls


@pytest.fixture(scope="module")
def world(db: Database, client: TestClient) -> World:
    roster = Roster.new(db, client)
    school = roster.school(name=f"Manual {BOLD}")
    account = roster.district_admin(first_name=SCRIPT, last_name=IMAGE)
    assert account.api.token
    admin = browser(client, roster.slug, account.api.token)
    world = World(db, roster, admin, account.api.token, {})
    # The SIS: a district applied, then a snapshot held for approval (R20), then a preview
    # that waits for "Apply". Every name in them carries markup.
    applied, status = _apply(world, _upload(world, hostile_snapshot(6)))
    assert status == "applied"
    held, status = _apply(world, _upload(world, hostile_snapshot(1)))
    assert status == "needs_approval"
    previewed = _upload(world, hostile_snapshot(6))
    # By hand: a student, an educator and a group with markup everywhere, edited once.
    api = account.api
    student = api.ok(
        "POST",
        "students",
        201,
        json={
            "username": "manual.student",
            "first_name": SCRIPT,
            "last_name": IMAGE,
            "middle_name": BOLD,
            "notes": SCRIPT,
            "school_ids": [school],
        },
    )["id"]
    api.ok("PATCH", f"students/{student}", json={"notes": IMAGE, "middle_name": SCRIPT})
    api.ok("PATCH", f"students/{student}/product-settings", json={"ill": {"session_minutes": 20}})
    educator = api.ok(
        "POST",
        "educators",
        201,
        json={
            "username": "manual.teacher",
            "first_name": IMAGE,
            "last_name": SCRIPT,
            "role": "teacher",
            "notes": BOLD,
            "school_ids": [school],
        },
    )["id"]
    group = api.ok(
        "POST",
        "classes",
        201,
        json={"name": f"Group {SCRIPT}", "kind": "group", "school_id": school, "notes": IMAGE},
    )["id"]
    for member in (f"students/{student}", f"educators/{educator}"):
        api.ok("PUT", f"classes/{group}/{member}")
    api.ok("PUT", f"classes/{group}/products/reading")
    synced = api.ok("GET", "classes", params={"origin": "sis"})["items"][0]["id"]
    sis_student = api.ok("GET", "students", params={"origin": "sis"})["items"][0]["id"]
    sis_educator = api.ok("GET", "educators", params={"origin": "sis"})["items"][0]["id"]
    world.ids = {
        "students": [student, sis_student],
        "educators": [educator, sis_educator],
        "classes": [group, synced],
        "runs": [applied, held, previewed],
    }
    # Walk every page the administrator can open, and a few htmx fragments and searches.
    app: FastAPI = client.app  # type: ignore[assignment]
    for path in page_routes(app, "GET"):
        if path == "/":
            continue
        for url in _fill(path, roster.slug, world.ids):
            world.walked.append(Walked(url, admin.get(url)))
    base = f"/orgs/{roster.slug}"
    fragments = {
        f"{base}/students?q=%3Cscript": "results",
        f"{base}/educators?q=%22%3E": "results",
        f"{base}/classes?q=group": "results",
        f"{base}/classes/{group}/students?add_q=sis": "candidates",
    }
    for url, target in fragments.items():
        htmx = {"HX-Request": "true", "HX-Target": target}
        world.walked.append(Walked(f"{url} (htmx)", admin.get(url, headers=htmx)))
        world.walked.append(Walked(url, admin.get(url)))
    world.walked.append(
        Walked(
            "bulk from a class",
            admin.get(f"{base}/product-settings/bulk?from=class&class_id={group}"),
        )
    )
    world.walked.append(
        Walked("bulk from a list", admin.get(f"{base}/product-settings/bulk?from=list&q="))
    )
    return world


def test_the_walk_reached_every_page(world: World, client: TestClient) -> None:
    app: FastAPI = client.app  # type: ignore[assignment]
    templates = [p for p in page_routes(app, "GET") if p != "/"]
    assert len(templates) >= 25
    for path in templates:
        pattern = template_regex(path)
        assert any(pattern.match(w.url) for w in world.walked), path
    errors = [
        (w.url, w.response.status_code) for w in world.walked if w.response.status_code >= 500
    ]
    assert not errors, errors
    opened = [w for w in world.walked if w.response.status_code == 200]
    assert len(opened) >= 40, [(w.url, w.response.status_code) for w in world.walked]


# ---------------------------------------------------------------------------------------
# Markup renders as text.


def test_names_with_markup_render_as_text_on_every_page(world: World) -> None:
    for walked in world.walked:
        html = walked.response.text
        for raw in HOSTILE:
            assert raw not in html, (walked.url, raw)
    shown = {w.url: w.response.text for w in world.walked if w.response.status_code == 200}
    slug = world.roster.slug
    # The names are there, escaped, on each list, each entity page and each run's report.
    must_show = [
        f"/orgs/{slug}/students",
        f"/orgs/{slug}/educators",
        f"/orgs/{slug}/classes",
        *[f"/orgs/{slug}/students/{i}" for i in world.ids["students"]],
        *[f"/orgs/{slug}/educators/{i}" for i in world.ids["educators"]],
        *[f"/orgs/{slug}/classes/{i}" for i in world.ids["classes"]],
        *[f"/orgs/{slug}/syncs/{i}" for i in world.ids["runs"]],
        f"/orgs/{slug}/students/{world.ids['students'][0]}/history",
        f"/orgs/{slug}/classes/{world.ids['classes'][0]}/students",
    ]
    for url in must_show:
        assert str(escape(SCRIPT)) in shown[url], url
    assert str(escape(BOLD)) in shown[f"/orgs/{slug}/students"]  # the school's name


# ---------------------------------------------------------------------------------------
# Security headers, on pages and on the API (errors and crashes included).


def security_header_problems(label: str, response: httpx.Response, *, page: bool) -> list[str]:
    headers = response.headers
    csp = headers.get("content-security-policy", "")
    problems = []
    if headers.get("x-content-type-options") != "nosniff":
        problems.append("X-Content-Type-Options")
    if headers.get("x-frame-options", "").upper() != "DENY" and "frame-ancestors 'none'" not in csp:
        problems.append("X-Frame-Options or CSP frame-ancestors")
    if not headers.get("referrer-policy"):
        problems.append("Referrer-Policy")
    is_html = headers.get("content-type", "").startswith("text/html")
    if page and is_html and ("default-src 'self'" not in csp or "script-src 'self'" not in csp):
        problems.append("Content-Security-Policy")
    return [f"{label} ({response.status_code}): no {p}" for p in problems]


def test_security_headers_on_every_page(world: World) -> None:
    problems = []
    for walked in world.walked:
        problems += security_header_problems(walked.url, walked.response, page=True)
    stranger = browser(world.admin, world.roster.slug)
    for url in ("/login", f"/orgs/{world.roster.slug}/students", "/", "/static/rollbook.css"):
        problems += security_header_problems(url, stranger.get(url), page=True)
    assert not problems, "\n".join(problems)


def test_security_headers_on_the_api_errors_and_crashes(
    world: World, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = world.roster.api_key()
    answers = {
        "openapi": client.get("/api/v1/openapi.json"),
        "no credential": client.get(f"/api/v1/orgs/{world.roster.slug}/students"),
        "list": key.get("students"),
        "unknown": key.get("students/999999999"),
        "invalid": client.post("/api/v1/auth/token", data={}),
        "no such method": key.request("PATCH", "/api/v1/orgs", json={}),
        "no such address": client.get("/api/v1/nothing-here"),
    }

    def crash(*args: object, **kwargs: object) -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr("rollbook.api.products.products.catalogue_view", crash)
    answers["crash"] = key.get("/api/v1/products")
    assert [r.status_code for r in answers.values()] == [200, 401, 200, 404, 422, 405, 404, 500]
    assert answers["crash"].status_code == 500
    assert "secret internals" not in answers["crash"].text
    problems = []
    for label, response in answers.items():
        problems += security_header_problems(label, response, page=False)
    assert not problems, "\n".join(problems)


# ---------------------------------------------------------------------------------------
# CSRF: every POST form of every walked page.


@dataclass(frozen=True)
class PostForm:
    page: str
    action: str
    fields: tuple[tuple[str, str], ...]
    multipart: bool


def _fields_of(form: Element) -> list[tuple[str, str]]:
    fields = []
    for element in form.iter():
        name = element.get("name")
        if not name or element.tag not in ("input", "select", "textarea", "button"):
            continue
        if element.tag == "input" and element.get("type") == "file":
            continue
        if element.tag == "select":
            options = element.find_all("option")
            chosen = next(
                (o for o in options if o.has("selected")), options[0] if options else None
            )
            value = (chosen.get("value") if chosen else "") or ""
        elif element.tag == "textarea":
            value = element.text
        else:
            value = element.get("value") or ""
        fields.append((name, value))
    return fields


def post_forms(world: World) -> list[PostForm]:
    """Every distinct POST form on the walked pages (distinct by action and field names)."""
    found: dict[tuple[str, tuple[str, ...]], PostForm] = {}
    for walked in world.walked:
        if "text/html" not in walked.response.headers.get("content-type", ""):
            continue
        for form in parse(walked.response.text).find_all("form"):
            if (form.get("method") or "get").lower() != "post":
                continue
            action = form.get("action") or walked.url.split(" ")[0]
            fields = tuple(_fields_of(form))
            key = (action, tuple(sorted({n for n, _ in fields})))
            multipart = form.get("enctype") == "multipart/form-data"
            found.setdefault(key, PostForm(walked.url, action, fields, multipart))
    return list(found.values())


def _counts(world: World) -> tuple[int, int]:
    with world.db.session(write=False) as session:
        changes = session.scalar(
            select(func.count()).select_from(Change).where(Change.org_id == world.roster.org.id)
        )
        runs = session.scalar(
            select(func.count()).select_from(SyncRun).where(SyncRun.org_id == world.roster.org.id)
        )
    return int(changes or 0), int(runs or 0)


def _tiny_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.txt", "no snapshot")
    return buffer.getvalue()


def test_every_post_form_refuses_a_missing_or_wrong_csrf_token(
    world: World, client: TestClient
) -> None:
    forms = post_forms(world)
    app: FastAPI = client.app  # type: ignore[assignment]
    offered = {f.action.split("?")[0] for f in forms}
    missing = [
        path
        for path in page_routes(app, "POST")
        if not any(template_regex(path).match(action) for action in offered)
    ]
    assert not missing, f"POST routes no walked page offers a form for: {missing}"
    before = _counts(world)
    refused = []
    for form in forms:
        data = [(n, v) for n, v in form.fields if n != "csrf_token"]
        files = {"file": ("sis.zip", _tiny_zip(), "application/zip")} if form.multipart else None
        attempts: dict[str, dict[str, Any]] = {
            "no token": {},
            "a wrong token": {"data_extra": [("csrf_token", "0" * 64)]},
            "a wrong htmx header": {"headers": {CSRF_HEADER: "0" * 64}},
            "another session's token": {"data_extra": [("csrf_token", _other_csrf(world))]},
        }
        for what, how in attempts.items():
            body = data + how.get("data_extra", [])
            answer = world.admin.post(
                form.action, data=dict(body), files=files, headers=how.get("headers")
            )
            refused.append((form.action, what))
            assert answer.status_code == 403, (form.page, form.action, what, answer.status_code)
            assert EXPIRED in answer.text, (form.action, what)
    assert _counts(world) == before  # nothing was written by any of them
    # The session itself survived the sign-out forms it refused.
    assert world.admin.get(f"/orgs/{world.roster.slug}/students").status_code == 200
    assert len(refused) >= 4 * 15


def _other_csrf(world: World) -> str:
    from rollbook.web.session import csrf_token_for

    other = world.roster.teacher()
    assert other.api.token
    return csrf_token_for(other.api.token)


# ---------------------------------------------------------------------------------------
# Cookies, rate limits, logs.


def _set_cookies(response: httpx.Response) -> dict[str, str]:
    found = {}
    for header in response.headers.get_list("set-cookie"):
        name = next(iter(SimpleCookie(header).keys()), header.split("=", 1)[0])
        found[name] = header
    return found


def _sign_in(http: TestClient, org: str, username: str, password: str) -> httpx.Response:
    form = http.get("/login")
    token = CSRF_INPUT.search(form.text)
    assert token
    answer: httpx.Response = http.post(
        "/login",
        data={"org": org, "username": username, "password": password, "csrf_token": token[1]},
    )
    return answer


def test_every_cookie_is_http_only_and_same_site(roster: Roster) -> None:
    account = roster.teacher(password=PASSWORD)
    http = browser(roster.client, roster.slug)
    seen: dict[str, list[str]] = {}
    form = http.get("/login")
    signed_in = _sign_in(http, roster.slug, account.username, PASSWORD)
    assert signed_in.status_code == 303
    logout_form = http.get("/logout")
    token = CSRF_INPUT.search(logout_form.text)
    assert token
    signed_out = http.post("/logout", data={"csrf_token": token[1]})
    assert signed_out.status_code == 303
    for response in (form, signed_in, signed_out):
        for name, header in _set_cookies(response).items():
            seen.setdefault(name, []).append(header)
    assert set(seen) >= {SESSION_COOKIE, "rollbook_login"}
    for headers in seen.values():
        for header in headers:
            assert "httponly" in header.lower(), header
            assert re.search(r"samesite=(lax|strict)", header, re.IGNORECASE), header


def test_the_api_token_endpoint_limits_sign_in_attempts(
    roster: Roster, db: Database, app_settings: Settings
) -> None:
    account = roster.teacher(password=PASSWORD)
    strict = create_app(
        Settings(database_url=app_settings.database_url, sign_in_attempts_per_minute=3), db=db
    )
    http = TestClient(strict, raise_server_exceptions=False)

    def attempt(username: str, password: str) -> httpx.Response:
        form = {"org": roster.slug, "username": username, "password": password}
        answer: httpx.Response = http.post("/api/v1/auth/token", data=form)
        return answer

    for _ in range(3):
        assert attempt(account.username, "wrong password").status_code == 401
    limited = attempt(account.username, PASSWORD)
    assert limited.status_code == 429
    assert limited.json()["error"]["code"] == "too_many_attempts"
    assert "access_token" not in limited.text
    # The same name in other spelling is the same account; the limit holds for it too.
    assert attempt(f"  {account.username.upper()} ", PASSWORD).status_code == 429
    # Another account is not locked out by someone guessing this one's password.
    other = roster.teacher(password=PASSWORD)
    assert attempt(other.username, PASSWORD).status_code == 200


@pytest.fixture
def threaded_sync(roster: Roster) -> Iterator[None]:
    """Syncs run in a thread of the server for one test, so that their log is captured with
    the rest (in a child process their log goes to the server's standard error)."""
    state = roster.client.app.state  # type: ignore[attr-defined]
    worker: SyncWorker = state.sync_worker
    state.sync_worker = SyncWorker(worker.engine, worker.upload_dir, process=False)
    try:
        yield
    finally:
        state.sync_worker.shutdown()
        state.sync_worker = worker


@pytest.mark.usefixtures("threaded_sync")
def test_no_password_token_or_key_reaches_the_logs(
    roster: Roster, db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    # SQLAlchemy keeps its loggers at WARNING unless asked: statements and their
    # parameters too, so that what reaches the database is checked as well.
    caplog.set_level(logging.INFO, logger="sqlalchemy.engine")
    account = roster.teacher(password=PASSWORD)
    admin = roster.district_admin(password=PASSWORD + " admin")
    client = roster.client
    wrong = "wrong-" + unique("secret")
    secrets = [PASSWORD, PASSWORD + " admin", wrong]
    # The sign-in page: a failed attempt, then a session.
    http = browser(client, roster.slug)
    assert _sign_in(http, roster.slug, account.username, wrong).status_code == 401
    assert _sign_in(http, roster.slug, account.username, PASSWORD).status_code == 303
    session = http.cookies.get(SESSION_COOKIE)
    assert session
    secrets.append(session)
    assert http.get(f"/orgs/{roster.slug}/students").status_code == 200
    # The API: a failed sign-in, a token, and its use.
    form = {"org": roster.slug, "username": admin.username}
    failed = client.post("/api/v1/auth/token", data={**form, "password": wrong})
    assert failed.status_code == 401
    issued = client.post("/api/v1/auth/token", data={**form, "password": PASSWORD + " admin"})
    assert issued.status_code == 200
    token = issued.json()["access_token"]
    secrets.append(token)
    bearer = {"Authorization": f"Bearer {token}"}
    assert client.get(f"/api/v1/orgs/{roster.slug}/students", headers=bearer).status_code == 200
    # An operator issues an API key, which uploads a snapshot; the run is executed.
    operator = roster.operator()
    assert operator.token
    secrets.append(operator.token)
    key = operator.ok("POST", "apikeys", 201, json={"name": "logs"})["key"]
    secrets.append(key)
    snapshot = hostile_snapshot(2).zip()
    started = client.post(
        f"/api/v1/orgs/{roster.slug}/syncs",
        headers={"Authorization": f"Bearer {key}"},
        files={"file": ("sis.zip", snapshot, "application/zip")},
    )
    assert started.status_code == 202, started.text
    assert wait_for_run(db, started.json()["id"]) == "applied"
    # A request with a wrong credential is logged, if at all, without it.
    wrong_key = "rbk_" + unique("notakey")
    secrets.append(wrong_key)
    no = client.get(
        f"/api/v1/orgs/{roster.slug}/students", headers={"Authorization": f"Bearer {wrong_key}"}
    )
    assert no.status_code == 401
    logged = [
        "\n".join(filter(None, [r.getMessage(), r.exc_text or "", str(r.args or "")]))
        for r in caplog.records
    ]
    assert len(logged) > 50, "little was logged: the capture does not work"
    assert any("rollbook.sync" in r.name for r in caplog.records)  # the worker's thread too
    leaks = [(s[:12], line[:200]) for line in logged for s in secrets if s in line]
    assert not leaks, leaks


def test_the_sign_in_limit_is_shared_by_every_server_process(
    roster: Roster, db: Database, app_settings: Settings
) -> None:
    """`rollbook serve --workers N`: attempts counted by one process count in the others
    (two applications on one database here; tests/integration/test_serve_workers.py serves
    with two real processes)."""
    account = roster.teacher(password=PASSWORD)
    config = Settings(database_url=app_settings.database_url, sign_in_attempts_per_minute=4)
    processes = [TestClient(create_app(config, db=db), raise_server_exceptions=False)]
    processes.append(TestClient(create_app(config, db=db), raise_server_exceptions=False))
    form = {"org": roster.slug, "username": account.username, "password": "wrong password"}
    answers = [processes[n % 2].post("/api/v1/auth/token", data=form) for n in range(4)]
    assert [a.status_code for a in answers] == [401] * 4
    for http in processes:
        right = {**form, "password": PASSWORD}
        limited = http.post("/api/v1/auth/token", data=right)
        assert limited.status_code == 429, limited.text
    # The web form counts in the same place.
    page = post_sign_in(processes[1], roster.slug, account.username, PASSWORD)
    assert page.status_code == 429  # type: ignore[attr-defined]


def test_sign_in_attempts_are_kept_a_minute_as_fingerprints(
    roster: Roster, db: Database, app_settings: Settings
) -> None:
    """The shared count stores no username or address, and forgets attempts after a minute."""
    account = roster.teacher(password=PASSWORD)
    http = TestClient(create_app(app_settings, db=db), raise_server_exceptions=False)
    form = {"org": roster.slug, "username": account.username, "password": "wrong password"}
    assert http.post("/api/v1/auth/token", data=form).status_code == 401
    with db.writing() as session:
        rows = session.execute(select(SignInAttempt.key, SignInAttempt.at)).all()
        assert rows and all(account.username not in key for key, _ in rows)
        assert all(re.fullmatch(r"[0-9a-f]{64}", key) for key, _ in rows)
        session.execute(update(SignInAttempt).values(at=utcnow() - timedelta(seconds=61)))
    assert http.post("/api/v1/auth/token", data=form).status_code == 401
    with db.session(write=False) as session:
        assert session.scalar(select(func.count()).select_from(SignInAttempt)) == 1
