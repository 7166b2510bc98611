"""The authorization matrix (quality.md): every route, every actor, own or other organization.

The routes come from the application itself (`app.routes`): a route without an entry in
the tables below fails the test by name ("new route without an authorization entry"), and
an entry whose route is gone fails too. Each route declares the action it takes (one of
`domain.permissions.GRANTS`, or public / any signed-in actor); the expected outcome of every
actor is computed from that action, the decided grants and the order of refusals of
docs/decisions.md:

    no credential → 401 (pages: the sign-in form) · another organization → 404 ·
    the role may not take the action → 403, before the body and whatever the address names ·
    an entity outside the actor's schools → 404 · then the body and the rules (422, 409, 412)

`DECIDED` is written from rules.md (R1-R3) and docs/decisions.md, not from the code, and must
equal `GRANTS`: the matrix checks the application against the documents.

Outcome classes: `allowed` (2xx, a redirect elsewhere than the sign-in form, or 409/412/422:
the request got past authorization and was answered by the body or the rules), `401`, `403`,
`404`, and for pages `login` (sent to the sign-in form). A refused request (401, 403, or
another organization's 404) carries a body that would be invalid, so a refusal that came
only after reading the body shows up as `allowed` (422) and fails.

Every route is tried by: anonymous, a teacher of another school of the organization, a
teacher, a school administrator, a district administrator, an API key of the organization
and an operator; against the own organization (for a route naming a student, educator or
class: one of the actor's school, one of another school, and one of another organization
under the own organization's address) and against another organization.
"""

from __future__ import annotations

import io
import re
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Final, Literal, TypeAlias

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.routing import BaseRoute, Mount

from rollbook.domain.permissions import GRANTS, Action, Role
from rollbook.services import auth
from rollbook.store.db import Database
from rollbook.sync.engine import create_run
from rollbook.web.session import CSRF_FIELD, LOGIN_COOKIE, SESSION_COOKIE, csrf_token_for
from tests.factories import Roster, unique

API = "/api/v1"

# ---------------------------------------------------------------------------------------
# What the documents decide (R1-R3, docs/decisions.md "Who may do what").

_EDUCATORS: set[Role] = {"teacher", "school_admin", "district_admin"}
DECIDED: dict[Action, set[Role]] = {
    # R1: teachers and administrators read and edit students and classes; API keys read
    # the roster (decisions: they do not edit by hand); operators do not read children's data.
    "roster.read": _EDUCATORS | {"api_key"},
    "students.write": _EDUCATORS,
    "classes.write": _EDUCATORS,
    # R1: administrators (school or district) create and edit educators.
    "educators.write": {"school_admin", "district_admin"},
    # Decisions: every educator reads their schools; district administrators and operators
    # create them; API keys read the roster, schools included.
    "schools.read": _EDUCATORS | {"api_key", "operator"},
    "schools.write": {"district_admin", "operator"},
    # R3: operators create organizations and issue API keys.
    "orgs.manage": {"operator"},
    "apikeys.create": {"operator"},
    # R3 and decisions: syncs are run by district administrators, operators and org API
    # keys, read by the same, decided by district administrators and operators.
    "syncs.run": {"district_admin", "api_key", "operator"},
    "syncs.read": {"district_admin", "api_key", "operator"},
    "syncs.decide": {"district_admin", "operator"},
    # interfaces.md: the catalogue is for anyone signed in.
    "products.read": _EDUCATORS | {"api_key", "operator"},
}

PUBLIC: Final = "public"  # no credential needed (sign-in)
SIGNED_IN: Final = "signed_in"  # any signed-in actor who reaches the organization
NO_PAGE: Final = "no_page"  # the pages' catch-all: there is no page here, for anyone
Access: TypeAlias = Action | Literal["public", "signed_in", "no_page"]

# ---------------------------------------------------------------------------------------
# The routes: what each one does, as an action of GRANTS.

EXCLUDED: dict[str, str] = {
    "/static": "the vendored htmx and the stylesheet: files, no data",
    f"{API}/openapi.json": "the OpenAPI document: public by contract (interfaces.md)",
    f"{API}/docs": "the Swagger page of the OpenAPI document",
    "/docs/oauth2-redirect": "Swagger's OAuth helper page, static",
    "/": "the start page: a redirect to /login or to the educator's own students",
}

ORG = f"{API}/orgs/{{org}}"
API_ACCESS: dict[tuple[str, str], Access] = {
    ("POST", f"{API}/auth/token"): PUBLIC,
    ("GET", f"{API}/orgs"): "orgs.manage",
    ("POST", f"{API}/orgs"): "orgs.manage",
    ("GET", ORG): SIGNED_IN,
    ("PATCH", ORG): "orgs.manage",
    ("GET", f"{ORG}/schools"): "schools.read",
    ("POST", f"{ORG}/schools"): "schools.write",
    ("POST", f"{ORG}/apikeys"): "apikeys.create",
    ("GET", f"{API}/products"): "products.read",
    ("GET", f"{ORG}/students"): "roster.read",
    ("POST", f"{ORG}/students"): "students.write",
    ("GET", f"{ORG}/students/{{person_id}}"): "roster.read",
    ("PATCH", f"{ORG}/students/{{person_id}}"): "students.write",
    ("DELETE", f"{ORG}/students/{{person_id}}"): "students.write",
    ("GET", f"{ORG}/students/{{person_id}}/classes"): "roster.read",
    ("GET", f"{ORG}/students/{{person_id}}/history"): "roster.read",
    ("GET", f"{ORG}/students/{{student_id}}/product-settings"): "roster.read",
    ("PATCH", f"{ORG}/students/{{student_id}}/product-settings"): "students.write",
    ("POST", f"{ORG}/product-settings/bulk"): "students.write",
    ("GET", f"{ORG}/educators"): "roster.read",
    ("POST", f"{ORG}/educators"): "educators.write",
    ("GET", f"{ORG}/educators/{{person_id}}"): "roster.read",
    ("PATCH", f"{ORG}/educators/{{person_id}}"): "educators.write",
    ("DELETE", f"{ORG}/educators/{{person_id}}"): "educators.write",
    ("GET", f"{ORG}/educators/{{person_id}}/classes"): "roster.read",
    ("GET", f"{ORG}/educators/{{person_id}}/history"): "roster.read",
    ("GET", f"{ORG}/classes"): "roster.read",
    ("POST", f"{ORG}/classes"): "classes.write",
    ("GET", f"{ORG}/classes/{{class_id}}"): "roster.read",
    ("PATCH", f"{ORG}/classes/{{class_id}}"): "classes.write",
    ("DELETE", f"{ORG}/classes/{{class_id}}"): "classes.write",
    ("GET", f"{ORG}/classes/{{class_id}}/students"): "roster.read",
    ("PUT", f"{ORG}/classes/{{class_id}}/students/{{person_id}}"): "classes.write",
    ("DELETE", f"{ORG}/classes/{{class_id}}/students/{{person_id}}"): "classes.write",
    ("GET", f"{ORG}/classes/{{class_id}}/educators"): "roster.read",
    ("PUT", f"{ORG}/classes/{{class_id}}/educators/{{person_id}}"): "classes.write",
    ("DELETE", f"{ORG}/classes/{{class_id}}/educators/{{person_id}}"): "classes.write",
    ("GET", f"{ORG}/classes/{{class_id}}/products"): "roster.read",
    ("PUT", f"{ORG}/classes/{{class_id}}/products/{{code}}"): "classes.write",
    ("DELETE", f"{ORG}/classes/{{class_id}}/products/{{code}}"): "classes.write",
    ("GET", f"{ORG}/classes/{{class_id}}/history"): "roster.read",
    ("POST", f"{ORG}/syncs"): "syncs.run",
    ("GET", f"{ORG}/syncs"): "syncs.read",
    ("GET", f"{ORG}/syncs/{{run_id}}"): "syncs.read",
    ("GET", f"{ORG}/syncs/{{run_id}}/changes"): "syncs.read",
    ("POST", f"{ORG}/syncs/{{run_id}}/approve"): "syncs.decide",
    ("POST", f"{ORG}/syncs/{{run_id}}/discard"): "syncs.decide",
}

PAGE = "/orgs/{org}"
PAGE_ACCESS: dict[tuple[str, str], Access] = {
    ("GET", "/login"): PUBLIC,
    ("POST", "/login"): PUBLIC,
    ("GET", "/logout"): PUBLIC,  # outcomes in PAGE_LITERAL
    ("POST", "/logout"): PUBLIC,  # outcomes in PAGE_LITERAL
    ("GET", f"{PAGE}/students"): "roster.read",
    ("GET", f"{PAGE}/students/new"): "students.write",
    ("POST", f"{PAGE}/students/new"): "students.write",
    ("GET", f"{PAGE}/students/{{person_id}}"): "roster.read",
    ("POST", f"{PAGE}/students/{{person_id}}"): "students.write",
    ("GET", f"{PAGE}/students/{{person_id}}/classes"): "roster.read",
    ("POST", f"{PAGE}/students/{{person_id}}/classes"): "classes.write",
    ("GET", f"{PAGE}/students/{{person_id}}/history"): "roster.read",
    ("GET", f"{PAGE}/students/{{student_id}}/product-settings"): "roster.read",
    ("POST", f"{PAGE}/students/{{student_id}}/product-settings"): "students.write",
    ("GET", f"{PAGE}/educators"): "roster.read",
    ("GET", f"{PAGE}/educators/new"): "educators.write",
    ("POST", f"{PAGE}/educators/new"): "educators.write",
    ("GET", f"{PAGE}/educators/{{person_id}}"): "roster.read",
    ("POST", f"{PAGE}/educators/{{person_id}}"): "educators.write",
    ("GET", f"{PAGE}/educators/{{person_id}}/classes"): "roster.read",
    ("POST", f"{PAGE}/educators/{{person_id}}/classes"): "classes.write",
    ("GET", f"{PAGE}/educators/{{person_id}}/history"): "roster.read",
    ("GET", f"{PAGE}/classes"): "roster.read",
    ("GET", f"{PAGE}/classes/new"): "classes.write",
    ("POST", f"{PAGE}/classes/new"): "classes.write",
    ("GET", f"{PAGE}/classes/{{class_id}}"): "roster.read",
    ("POST", f"{PAGE}/classes/{{class_id}}"): "classes.write",
    ("GET", f"{PAGE}/classes/{{class_id}}/students"): "roster.read",
    ("POST", f"{PAGE}/classes/{{class_id}}/students"): "classes.write",
    ("GET", f"{PAGE}/classes/{{class_id}}/educators"): "roster.read",
    ("POST", f"{PAGE}/classes/{{class_id}}/educators"): "classes.write",
    ("GET", f"{PAGE}/classes/{{class_id}}/products"): "roster.read",
    ("POST", f"{PAGE}/classes/{{class_id}}/products"): "classes.write",
    ("GET", f"{PAGE}/classes/{{class_id}}/history"): "roster.read",
    ("GET", f"{PAGE}/product-settings/bulk"): "roster.read",
    ("GET", f"{PAGE}/product-settings/bulk/value"): "roster.read",
    ("POST", f"{PAGE}/product-settings/bulk"): "students.write",
    ("GET", f"{PAGE}/syncs"): "syncs.read",
    ("POST", f"{PAGE}/syncs"): "syncs.run",
    ("GET", f"{PAGE}/syncs/{{run_id}}"): "syncs.read",
    ("GET", f"{PAGE}/syncs/{{run_id}}/progress"): "syncs.read",
    ("POST", f"{PAGE}/syncs/{{run_id}}/apply"): "syncs.run",
    ("POST", f"{PAGE}/syncs/{{run_id}}/approve"): "syncs.decide",
    ("POST", f"{PAGE}/syncs/{{run_id}}/discard"): "syncs.decide",
    ("GET", f"{PAGE}/{{rest:path}}"): NO_PAGE,
}

# ---------------------------------------------------------------------------------------
# The actors, and where each request points.


@dataclass(frozen=True)
class Who:
    name: str
    role: Role | None  # None: no credential
    school: Literal["S1", "S2"] | None  # the actor's school; None: the whole organization
    org_bound: bool  # belongs to one organization (operators do not)

    @property
    def educator(self) -> bool:
        """Only educators have page sessions: an API key in the cookie is not one."""
        return self.role in _EDUCATORS


ACTORS: tuple[Who, ...] = (
    Who("anonymous", None, None, org_bound=False),
    Who("teacher_of_another_school", "teacher", "S2", org_bound=True),
    Who("teacher", "teacher", "S1", org_bound=True),
    Who("school_admin", "school_admin", "S1", org_bound=True),
    Who("district_admin", "district_admin", None, org_bound=True),
    Who("api_key", "api_key", None, org_bound=True),
    Who("operator", "operator", None, org_bound=False),
)
WHO = {who.name: who for who in ACTORS}

# Variants of a request: `own` (the actor's organization; an entity of the actor's school),
# `out` (own organization, an entity of another school), `foreign` (own organization's
# address, another organization's entity), `other` (another organization's address and
# entity), `none` (a route outside any organization).
Variant = Literal["own", "out", "foreign", "other", "none"]
ENTITY_PARAMS = {"person_id", "student_id", "class_id", "run_id"}

# Pages whose outcome is not a grant: signing out is for a session, and ends at the form.
PAGE_LITERAL: dict[tuple[str, str], dict[str, str]] = {
    ("GET", "/logout"): {w.name: "allowed" if w.educator else "login" for w in ACTORS},
    ("POST", "/logout"): {w.name: "login" for w in ACTORS},
}


def params_of(path: str) -> set[str]:
    return {p.split(":")[0] for p in re.findall(r"\{([^}]+)\}", path)}


def variants(path: str) -> tuple[Variant, ...]:
    names = params_of(path)
    if "org" not in names:
        return ("none",)
    if names & ENTITY_PARAMS:
        return ("own", "out", "foreign", "other")
    return ("own", "other")


def expected(access: Access, who: Who, variant: Variant, *, page: bool) -> str:
    """The outcome R1-R3 and the decided order of refusals give."""
    if access == NO_PAGE:
        return "404"
    if access == PUBLIC:
        return "allowed"
    if who.role is None or (page and not who.educator):
        return "login" if page else "401"
    if variant == "other" and who.org_bound:
        return "404"
    if access != SIGNED_IN and who.role not in GRANTS[access]:
        return "403"
    if variant == "foreign":
        return "404"
    if variant == "out" and who.school is not None:
        return "404"
    return "allowed"


def table(access: dict[tuple[str, str], Access], *, page: bool) -> dict[Any, dict[str, Any]]:
    """{(method, path): {actor: {variant: outcome}}}: the matrix as data."""
    found: dict[Any, dict[str, Any]] = {}
    for route, what in access.items():
        literal = PAGE_LITERAL.get(route) if page else None
        found[route] = {
            who.name: {
                v: (literal[who.name] if literal else expected(what, who, v, page=page))
                for v in variants(route[1])
            }
            for who in ACTORS
        }
    return found


EXPECTED_API = table(API_ACCESS, page=False)
EXPECTED_PAGES = table(PAGE_ACCESS, page=True)

# ---------------------------------------------------------------------------------------
# The routes of the application.


def _walk(routes: list[BaseRoute]) -> Iterator[tuple[str, BaseRoute | Any]]:
    try:  # FastAPI 0.16x keeps included routers whole in app.routes: flatten them
        from fastapi.routing import iter_route_contexts
    except ImportError:  # pragma: no cover - older FastAPI lists every route itself
        for route in routes:
            yield getattr(route, "path", ""), route
        return
    for context in iter_route_contexts(routes):
        yield context.path or "", context


def app_routes(app: FastAPI) -> tuple[set[tuple[str, str]], set[tuple[str, str]]]:
    """(API routes, page routes) of the application, each (method, path), minus EXCLUDED."""
    api: set[tuple[str, str]] = set()
    pages: set[tuple[str, str]] = set()
    for path, route in _walk(list(app.routes)):
        if path in EXCLUDED:
            continue
        original = getattr(route, "original_route", route)
        assert not isinstance(original, Mount), f"a mount not in EXCLUDED: {path}"
        methods = sorted(set(getattr(route, "methods", None) or ()) - {"HEAD"})
        assert methods, f"a route without methods not in EXCLUDED: {path}"
        into = api if path.startswith(f"{API}/") else pages
        into.update((m, path) for m in methods)
    return api, pages


def coverage_problems(app: FastAPI) -> list[str]:
    api, pages = app_routes(app)
    problems = []
    for found, declared in ((api, API_ACCESS), (pages, PAGE_ACCESS)):
        problems += [
            f"new route without an authorization entry: {m} {p}"
            for m, p in sorted(found - set(declared))
        ]
        problems += [
            f"authorization entry for a route that no longer exists: {m} {p}"
            for m, p in sorted(set(declared) - found)
        ]
    return problems


# ---------------------------------------------------------------------------------------
# One organization set up once per backend: two schools, the actors, entities everywhere.


@dataclass
class Targets:
    """An entity of every kind in one place (a school of an organization)."""

    slug: str
    school: str
    student: str
    educator: str
    klass: str  # a manual group: its members and products take hand edits
    run: str


@dataclass
class Credential:
    who: Who
    token: str | None
    person_id: str | None = None
    org_id: int | None = None


@dataclass
class World:
    db: Database
    api: TestClient
    pages: TestClient
    own: Roster
    other: Roster
    places: dict[str, Targets]
    actors: dict[str, Credential]

    def place(self, who: Who, variant: Variant) -> Targets:
        mine = who.school or "S1"
        return self.places[
            {
                "own": mine,
                "none": mine,
                "out": "S1" if mine == "S2" else "S2",
                "foreign": "elsewhere",
                "other": "elsewhere",
            }[variant]
        ]

    def slug(self, variant: Variant) -> str:
        return self.other.slug if variant == "other" else self.own.slug


def _targets(db: Database, roster: Roster, school: str) -> Targets:
    admin = roster.district_admin().api
    body = {"name": unique("Group "), "school_id": school, "kind": "group"}
    group = admin.ok("POST", "classes", 201, json=body)["id"]
    with db.writing() as session:
        run = str(
            create_run(
                session, org=roster.org, actor=roster.actor(), source="matrix.zip", dry_run=True
            ).id
        )
    return Targets(
        slug=roster.slug,
        school=school,
        student=roster.sis_student(school_ids=[school]),
        educator=roster.sis_educator(school_ids=[school]),
        klass=group,
        run=run,
    )


@pytest.fixture(scope="module")
def world(db: Database, client: TestClient) -> World:
    own, other = Roster.new(db, client), Roster.new(db, client)
    s1, s2 = own.school("Matrix One"), own.school("Matrix Two")
    places = {
        "S1": _targets(db, own, s1),
        "S2": _targets(db, own, s2),
        "elsewhere": _targets(db, other, other.school("Elsewhere")),
    }
    accounts = {
        "teacher_of_another_school": own.teacher([s2]),
        "teacher": own.teacher([s1]),
        "school_admin": own.school_admin([s1]),
        "district_admin": own.district_admin(),
    }
    actors = {
        name: Credential(WHO[name], a.api.token, a.person_id, own.org.id)
        for name, a in accounts.items()
    }
    actors["anonymous"] = Credential(WHO["anonymous"], None)
    actors["api_key"] = Credential(WHO["api_key"], own.api_key().token)
    actors["operator"] = Credential(WHO["operator"], own.operator().token)
    pages = TestClient(client.app, raise_server_exceptions=False, follow_redirects=False)
    return World(db, client, pages, own, other, places, actors)


def fill(path: str, slug: str, t: Targets) -> str:
    def value(match: re.Match[str]) -> str:
        name, before = match.group(1).split(":")[0], path[: match.start()]
        return {
            "org": slug,
            "person_id": t.educator if before.endswith("/educators/") else t.student,
            "student_id": t.student,
            "class_id": t.klass,
            "run_id": t.run,
            "code": "ill",
            "rest": "no-such-page",
        }[name]

    return re.sub(r"\{([^}]+)\}", value, path)


def tiny_zip() -> bytes:
    """Not a OneRoster snapshot (no manifest): the run is rejected and changes nothing."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.txt", "authorization matrix")
    return buffer.getvalue()


TINY_ZIP = tiny_zip()
INVALID_JSON_BODY = {"__not_a_field__": 1}


def api_body(method: str, path: str, t: Targets, *, refused: bool) -> dict[str, Any]:
    """Request arguments: a small good body, or an invalid one where a refusal is expected."""
    if path == f"{API}/auth/token":
        return {"data": {}}  # public: missing fields, 422 without touching any account
    if (method, path) == ("POST", f"{ORG}/syncs"):
        file = {} if refused else {"files": {"file": ("m.zip", TINY_ZIP, "application/zip")}}
        return {"params": {"dry_run": "true"}, **file}
    good: dict[tuple[str, str], Any] = {
        ("POST", f"{API}/orgs"): {"slug": f"m-{uuid.uuid4().hex[:10]}", "name": "Matrix"},
        ("PATCH", ORG): {"threshold_percent": 10},
        ("POST", f"{ORG}/schools"): {"name": unique("Matrix School ")},
        ("POST", f"{ORG}/apikeys"): {"name": "matrix"},
        ("POST", f"{ORG}/students"): {
            "username": unique("matrix.student"),
            "first_name": "Ana",
            "last_name": "Matrix",
            "school_ids": [t.school],
        },
        ("PATCH", f"{ORG}/students/{{person_id}}"): {"notes": "matrix"},
        ("PATCH", f"{ORG}/students/{{student_id}}/product-settings"): {
            "ill": {"session_minutes": 30}
        },
        ("POST", f"{ORG}/product-settings/bulk"): {
            "student_ids": [t.student],
            "product": "ill",
            "setting": "session_minutes",
            "value": 30,
        },
        ("POST", f"{ORG}/educators"): {
            "username": unique("matrix.teacher"),
            "first_name": "Eda",
            "last_name": "Matrix",
            "role": "teacher",
            "school_ids": [t.school],
        },
        ("PATCH", f"{ORG}/educators/{{person_id}}"): {"notes": "matrix"},
        ("POST", f"{ORG}/classes"): {"name": unique("Matrix "), "school_id": t.school},
        ("PATCH", f"{ORG}/classes/{{class_id}}"): {"notes": "matrix"},
    }
    if (method, path) not in good:
        return {}
    return {"json": INVALID_JSON_BODY if refused else good[(method, path)]}


def page_form(method: str, path: str, t: Targets, *, refused: bool) -> dict[str, Any]:
    """Form fields (and files) of a page POST: small and valid, or empty where refused."""
    if method != "POST" or refused:
        return {}
    if path == f"{PAGE}/syncs":
        return {"files": {"file": ("m.zip", TINY_ZIP, "application/zip")}}
    forms: dict[str, dict[str, Any]] = {
        f"{PAGE}/students/{{person_id}}/classes": {"action": "add", "class_id": t.klass},
        f"{PAGE}/educators/{{person_id}}/classes": {"action": "add", "class_id": t.klass},
        f"{PAGE}/classes/{{class_id}}/students": {"action": "add", "person_id": t.student},
        f"{PAGE}/classes/{{class_id}}/educators": {"action": "add", "person_id": t.educator},
        f"{PAGE}/classes/{{class_id}}/products": {"action": "add", "code": "ill"},
        f"{PAGE}/students/{{student_id}}/product-settings": {"ill.session_minutes": "30"},
        f"{PAGE}/product-settings/bulk": {
            "setting": "ill.session_minutes",
            "value": "30",
            "student_ids": t.student,
        },
    }
    return {"data": forms.get(path, {})}


# ---------------------------------------------------------------------------------------
# Outcomes.


def api_outcome(response: httpx.Response) -> str:
    status = response.status_code
    if 200 <= status < 300 or status in (409, 412, 422):
        return "allowed"
    if status in (401, 403, 404):
        code = {401: "unauthenticated", 403: "forbidden", 404: "not_found"}[status]
        got = str(response.json().get("error", {}).get("code"))
        return str(status) if got == code else f"{status} with code {got}"
    return f"unexpected {status}"


def page_outcome(response: httpx.Response) -> str:
    status = response.status_code
    target = response.headers.get("location") or response.headers.get("hx-redirect") or ""
    if status in (301, 302, 303, 307, 308) or (status == 204 and target):
        return "login" if target.split("?")[0] == "/login" else "allowed"
    if 200 <= status < 300 or status in (409, 412, 422):
        return "allowed"
    if status in (403, 404):
        return str(status) if "<html" in response.text else f"{status} without a page"
    return f"unexpected {status}"


def _refused(outcome: str, variant: Variant) -> bool:
    """Refusals that must come before the body is read (decisions: order of refusals)."""
    return outcome in ("401", "403") or (outcome == "404" and variant == "other")


def call_api(world: World, cred: Credential, route: tuple[str, str], variant: Variant) -> str:
    method, path = route
    want = EXPECTED_API[route][cred.who.name][variant]
    t = world.place(cred.who, variant)
    headers = {"Authorization": f"Bearer {cred.token}"} if cred.token else {}
    kwargs = api_body(method, path, t, refused=_refused(want, variant))
    response = world.api.request(
        method, fill(path, world.slug(variant), t), headers=headers, **kwargs
    )
    return api_outcome(response)


def _fresh_session(world: World, cred: Credential) -> str:
    """Signing out revokes the session: it gets a token of its own."""
    assert cred.person_id is not None
    with world.db.writing() as session:
        return auth.issue_token(session, "educator", int(cred.person_id), cred.org_id, 600).token


def call_page(world: World, cred: Credential, route: tuple[str, str], variant: Variant) -> str:
    method, path = route
    want = EXPECTED_PAGES[route][cred.who.name][variant]
    t = world.place(cred.who, variant)
    token = cred.token
    if route == ("POST", "/logout") and cred.who.educator:
        token = _fresh_session(world, cred)
    cookies = {SESSION_COOKIE: token} if token else {}
    kwargs = page_form(method, path, t, refused=_refused(want, variant))
    if method == "POST":
        data = kwargs.setdefault("data", {})
        if path == "/login":  # the sign-in form's double-submit token
            cookies[LOGIN_COOKIE] = data[CSRF_FIELD] = "matrix-login-token"
        elif token:
            data[CSRF_FIELD] = csrf_token_for(token)
    header = "; ".join(f"{k}={v}" for k, v in cookies.items())
    world.pages.cookies.clear()  # nothing carried over from the previous answer
    response = world.pages.request(
        method,
        fill(path, world.slug(variant), t),
        headers={"Cookie": header} if header else {},
        **kwargs,
    )
    return page_outcome(response)


def run_matrix(world: World, *, page: bool) -> tuple[int, list[str]]:
    """Every route of the app, as every actor, in every variant: (checks, mismatches)."""
    api, pages = app_routes(world.api.app)  # type: ignore[arg-type]
    routes, table_ = (pages, EXPECTED_PAGES) if page else (api, EXPECTED_API)
    call = call_page if page else call_api
    mismatches: list[str] = []
    checks = 0
    for route in sorted(routes):
        if route not in table_:
            mismatches.append(f"new route without an authorization entry: {route[0]} {route[1]}")
            continue
        for who in ACTORS:
            for variant, want in table_[route][who.name].items():
                got = call(world, world.actors[who.name], route, variant)
                checks += 1
                if got != want:
                    mismatches.append(
                        f"{route[0]} {route[1]} as {who.name} ({variant}): "
                        f"expected {want}, got {got}"
                    )
    return checks, mismatches


# ---------------------------------------------------------------------------------------
# The tests.


def test_the_grants_in_the_code_are_the_decided_ones() -> None:
    assert set(GRANTS) == set(DECIDED)
    wrong = {a: (sorted(GRANTS[a]), sorted(DECIDED[a])) for a in GRANTS if GRANTS[a] != DECIDED[a]}
    assert not wrong, f"GRANTS differ from R1-R3/decisions (code, decided): {wrong}"


def test_every_route_has_an_authorization_entry(client: TestClient) -> None:
    problems = coverage_problems(client.app)  # type: ignore[arg-type]
    assert not problems, "\n".join(problems)


def test_a_new_route_is_named_and_a_gone_one_too() -> None:
    """The guard of the guard: the coverage check names what it misses."""
    app = FastAPI()
    app.get(f"{API}/orgs/{{org}}/brand-new")(lambda org: {})
    problems = coverage_problems(app)
    assert f"new route without an authorization entry: GET {API}/orgs/{{org}}/brand-new" in (
        problems
    )
    assert f"authorization entry for a route that no longer exists: GET {API}/orgs" in problems


def test_the_table_reads_as_the_rules_say() -> None:
    """A few rows written out by hand, so the computation itself is checked against R1-R3."""
    students = EXPECTED_API[("POST", f"{ORG}/students")]
    assert {w: students[w]["own"] for w in WHO} == {
        "anonymous": "401",
        "teacher_of_another_school": "allowed",
        "teacher": "allowed",
        "school_admin": "allowed",
        "district_admin": "allowed",
        "api_key": "403",
        "operator": "403",
    }
    assert students["district_admin"]["other"] == "404"
    edit = EXPECTED_API[("PATCH", f"{ORG}/educators/{{person_id}}")]
    assert edit["teacher"] == {"own": "403", "out": "403", "foreign": "403", "other": "404"}
    assert edit["school_admin"] == {
        "own": "allowed",
        "out": "404",
        "foreign": "404",
        "other": "404",
    }
    runs = EXPECTED_API[("POST", f"{ORG}/syncs")]
    assert runs["operator"] == {"own": "allowed", "other": "allowed"}
    assert runs["school_admin"]["own"] == "403"
    assert EXPECTED_PAGES[("GET", f"{PAGE}/students")]["api_key"]["own"] == "login"
    assert EXPECTED_PAGES[("GET", f"{PAGE}/syncs")]["school_admin"]["own"] == "403"


@pytest.mark.parametrize("kind", ["api", "pages"])
def test_every_route_as_every_actor(world: World, kind: str) -> None:
    checks, mismatches = run_matrix(world, page=kind == "pages")
    routes = len(EXPECTED_PAGES if kind == "pages" else EXPECTED_API)
    assert checks >= routes * len(ACTORS) * 2 - routes, checks
    assert not mismatches, f"{len(mismatches)} of {checks} checks:\n" + "\n".join(mismatches)
