"""Sign-in, tokens, API keys, operators (R3) and the open OpenAPI document."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import select

from rollbook.services import auth, orgs
from rollbook.store.models import ApiKey
from tests.factories import Api, Roster
from tests.integration.helpers import error_of, new_student, student_body

TOKEN = "/api/v1/auth/token"
PASSWORD = "correct horse battery"


def _sign_in(roster: Roster, org: str, username: str, password: str) -> object:
    form = {"org": org, "username": username, "password": password}
    return roster.anonymous().post(TOKEN, data=form)


def test_token_sign_in_gives_a_bearer_token_that_works(roster: Roster) -> None:
    school = roster.school()
    account = roster.teacher([school], password=PASSWORD, username="ms.ada")
    response = _sign_in(roster, roster.slug, " MS.ADA", PASSWORD)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] > 0
    api = Api(roster.client, body["access_token"], roster.slug)
    new_student(api, school)
    assert api.ok("GET", f"educators/{account.person_id}")["username"] == "ms.ada"


@pytest.mark.parametrize(
    ("org", "username", "password"),
    [
        ("mine", "ms.ada", "wrong password"),
        ("no-such-org", "ms.ada", PASSWORD),
        ("mine", "nobody", PASSWORD),
    ],
)
def test_failed_sign_in_is_401_with_one_message(
    roster: Roster, org: str, username: str, password: str
) -> None:
    roster.teacher(password=PASSWORD, username="ms.ada")
    response = _sign_in(roster, roster.slug if org == "mine" else org, username, password)
    error = error_of(response, 401, "unauthenticated")
    assert error["message"] == auth.SIGN_IN_FAILED
    assert "access_token" not in response.text


def test_deactivated_educator_cannot_sign_in(roster: Roster) -> None:
    school = roster.school()
    roster.teacher([school], password=PASSWORD, username="leaving")
    admin = roster.district_admin()
    leaving = admin.api.ok("GET", "educators", params={"q": "leaving"})["items"][0]["id"]
    admin.api.ok("DELETE", f"educators/{leaving}", 204)
    error_of(_sign_in(roster, roster.slug, "leaving", PASSWORD), 401, "unauthenticated")


def test_a_deactivated_educators_token_stops_working_at_once(roster: Roster) -> None:
    school = roster.school()
    leaving = roster.teacher([school])
    assert leaving.api.get("students").status_code == 200
    roster.district_admin().api.ok("DELETE", f"educators/{leaving.person_id}", 204)
    error_of(leaving.api.get("students"), 401, "unauthenticated")


def test_an_educators_scope_follows_their_schools_from_the_next_request(roster: Roster) -> None:
    first, second = roster.school(), roster.school()
    teacher = roster.teacher([first])
    student = new_student(roster.district_admin().api, second)
    error_of(teacher.api.get(f"students/{student['id']}"), 404, "not_found")
    roster.district_admin().api.ok(
        "PATCH", f"educators/{teacher.person_id}", json={"school_ids": [first, second]}
    )
    assert teacher.api.ok("GET", f"students/{student['id']}")["id"] == student["id"]


def test_sign_in_without_a_form_field_is_a_validation_error(roster: Roster) -> None:
    response = roster.anonymous().post(TOKEN, data={"org": roster.slug, "username": "x"})
    error = error_of(response, 422, "validation_error")
    assert [d["field"] for d in error["details"]] == ["password"]


def test_expired_token_is_unauthenticated(roster: Roster) -> None:
    account = roster.teacher()
    with roster.db.writing() as session:
        expired = auth.issue_token(session, "educator", int(account.person_id), roster.org.id, -1)
    api = Api(roster.client, expired.token, roster.slug)
    error_of(api.get("students"), 401, "unauthenticated")


@pytest.mark.parametrize("who", ["token", "api key"])
def test_who_asks_is_settled_before_the_organization_they_address(roster: Roster, who: str) -> None:
    """Who asks and the organization addressed are read in one statement (auth.actor_at):
    an unknown credential is 401 whether the organization exists or not, a known one 404 at
    an organization that does not exist or that is not its own (R2)."""
    if who == "token":
        credential = roster.teacher().api.token
    else:
        with roster.db.writing() as session:
            credential = auth.create_api_key(session, org=roster.org, name="reader")
    unknown = credential[:4] + "x" * (len(credential) - 4)
    for slug in (roster.slug, "no-such-org"):
        error_of(Api(roster.client, unknown, slug).get("students"), 401, "unauthenticated")
    error_of(Api(roster.client, credential, "no-such-org").get("students"), 404, "not_found")
    with roster.db.writing() as session:
        other = orgs.create_org(
            session,
            actor=None,
            slug=f"{roster.slug[:50]}-else",
            name="Elsewhere",
            threshold_percent=None,
        )
        elsewhere = other.slug
    error_of(Api(roster.client, credential, elsewhere).get("students"), 404, "not_found")
    assert Api(roster.client, credential, roster.slug).get("students").status_code == 200


@pytest.mark.parametrize("credential", ["garbage", "rbt_not-a-real-token", "rbk_not-a-real-key"])
def test_unknown_credential_is_unauthenticated(roster: Roster, credential: str) -> None:
    response = Api(roster.client, credential, roster.slug).get("students")
    error_of(response, 401, "unauthenticated")
    assert response.headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "students"),
        ("POST", "students"),
        ("GET", "classes"),
        ("GET", "educators"),
        ("POST", "product-settings/bulk"),
        ("GET", "/api/v1/orgs"),
        ("POST", "/api/v1/orgs"),
    ],
)
def test_no_credential_is_unauthenticated(roster: Roster, method: str, path: str) -> None:
    error_of(roster.anonymous().request(method, path, json={}), 401, "unauthenticated")


def test_openapi_document_needs_no_credential(roster: Roster) -> None:
    document = roster.anonymous().ok("GET", "/api/v1/openapi.json")
    assert "/api/v1/orgs/{org}/students" in document["paths"]
    assert "/api/v1/auth/token" in document["paths"]


def test_r3_operator_creates_and_lists_organizations(roster: Roster) -> None:
    operator = roster.operator()
    created = operator.ok("POST", "/api/v1/orgs", 201, json={"slug": "new-district", "name": "New"})
    assert (created["slug"], created["threshold_percent"]) == ("new-district", 10)
    slugs = {o["slug"] for o in operator.ok("GET", "/api/v1/orgs")["items"]}
    assert {"new-district", roster.slug} <= slugs
    again = operator.post("/api/v1/orgs", json={"slug": "new-district", "name": "Twice"})
    error_of(again, 422, "validation_error")


def test_r3_bad_organization_is_a_validation_error_naming_each_field(roster: Roster) -> None:
    response = roster.operator().post("/api/v1/orgs", json={"slug": "Bad Slug!", "name": " "})
    error = error_of(response, 422, "validation_error")
    assert {d["field"] for d in error["details"]} == {"slug", "name"}


@pytest.mark.parametrize("who", ["district_admin", "teacher", "api_key"])
def test_r3_only_operators_manage_organizations(roster: Roster, who: str) -> None:
    api = roster.api_key() if who == "api_key" else getattr(roster, who)().api
    error_of(api.get("/api/v1/orgs"), 403, "forbidden")
    error_of(api.post("/api/v1/orgs", json={"slug": "x-y", "name": "X"}), 403, "forbidden")
    error_of(api.post("apikeys", json={}), 403, "forbidden")


def test_r3_operator_issues_an_api_key_that_reads_the_roster(roster: Roster) -> None:
    school = roster.school()
    student = roster.sis_student(school_ids=[school])
    issued = roster.operator().ok("POST", "apikeys", 201, json={"name": "nightly"})
    key = Api(roster.client, issued["key"], roster.slug)
    assert [s["id"] for s in key.ok("GET", "students")["items"]] == [student]


def test_api_key_is_stored_as_a_hash_never_in_plain_text(roster: Roster) -> None:
    issued = roster.operator().ok("POST", "apikeys", 201, json={"name": "stored"})["key"]
    with roster.db.session(write=False) as session:
        rows = session.scalars(select(ApiKey).where(ApiKey.org_id == roster.org.id)).all()
    [row] = rows
    columns = [str(getattr(row, c.key)) for c in ApiKey.__table__.columns]
    assert not any(issued in value for value in columns)
    assert row.key_hash == hashlib.sha256(issued.encode()).hexdigest()


def test_r3_operator_may_not_read_or_edit_the_roster(roster: Roster) -> None:
    school = roster.school()
    student = roster.sis_student(school_ids=[school])
    operator = roster.operator()
    error_of(operator.get("students"), 403, "forbidden")
    error_of(operator.get(f"students/{student}"), 403, "forbidden")
    error_of(operator.get("classes"), 403, "forbidden")
    error_of(operator.post("students", json=student_body(school)), 403, "forbidden")


def test_r3_operator_and_district_admin_create_schools(roster: Roster) -> None:
    made = roster.operator().ok("POST", "schools", 201, json={"name": "North", "external_id": "N1"})
    assert made == {"id": made["id"], "external_id": "N1", "name": "North"}
    admin = roster.district_admin()
    south = admin.api.ok("POST", "schools", 201, json={"name": "South"})
    names = {s["name"] for s in admin.api.ok("GET", "schools")["items"]}
    assert names == {"North", "South"}
    assert south["external_id"] is None


def test_r2_school_admin_and_teacher_may_not_create_schools_and_see_their_own(
    roster: Roster,
) -> None:
    mine = roster.school(name="Mine")
    roster.school(name="Other")
    for account in (roster.teacher([mine]), roster.school_admin([mine])):
        error_of(account.api.post("schools", json={"name": "X"}), 403, "forbidden")
        assert [s["id"] for s in account.api.ok("GET", "schools")["items"]] == [mine]
