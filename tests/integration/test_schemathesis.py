"""The API against its own OpenAPI document, fuzzed by schemathesis (quality.md).

Schemathesis reads `/api/v1/openapi.json` from the application and generates requests for
every operation, valid and invalid, as the district administrator of an organization of
the test's own (Bearer token), with these checks on every answer: no 5xx
(`not_a_server_error`), the body matches the documented response schema
(`response_schema_conformance`), and the status code is one the operation documents
(`status_code_conformance`).

Only the in-process application is ever called: the requests go through schemathesis'
ASGI client, whose adapters serve `http://` and `https://` alike from the app object, so no
socket is opened. The client is used without entering it: the shared test application's
lifespan (and its sync worker) stays the one `tests/conftest.py` started.

Path parameters are mostly real (the organization always; students, educators, classes,
runs, products and schools of the organization four times in five), so generated requests
reach the handlers instead of stopping at "no such student".

Examples per operation: `ROLLBOOK_FUZZ_EXAMPLES` (default 15; `make fuzz` runs 500).
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.python.asgi import ASGIClient
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

from rollbook.app import create_app
from rollbook.config import Settings
from rollbook.store.db import Database
from rollbook.sync.engine import create_run
from tests.factories import Roster

EXAMPLES = int(os.environ.get("ROLLBOOK_FUZZ_EXAMPLES", "15"))
CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance]
PROBABILITY = 0.8  # how often an id parameter is a real one rather than a generated string


def _organization(db: Database, client: TestClient) -> tuple[Roster, dict[str, list[str]]]:
    """An organization with a bit of everything, and the ids of what it holds."""
    roster = Roster.new(db, client)
    schools = [roster.school(), roster.school(external_id="SCH-2")]
    students = [roster.sis_student(school_ids=[schools[0]]) for _ in range(2)]
    educators = [roster.sis_educator(school_ids=[schools[0]])]
    admin = roster.district_admin()
    manual = admin.api.ok(
        "POST",
        "students",
        201,
        json={
            "username": "fuzz.manual",
            "first_name": "Manu",
            "last_name": "Al",
            "school_ids": [schools[1]],
        },
    )["id"]
    group = admin.api.ok(
        "POST", "classes", 201, json={"name": "Fuzz group", "school_id": schools[1]}
    )["id"]
    admin.api.ok("PUT", f"classes/{group}/students/{manual}")
    admin.api.ok("PUT", f"classes/{group}/products/ill")
    synced = roster.sis_class(school_id=schools[0], members=students, products=["reading"])
    with db.writing() as session:
        run = str(
            create_run(
                session, org=roster.org, actor=roster.actor(), source="fuzz.zip", dry_run=True
            ).id
        )
    ids = {
        "schools": schools,
        "students": [*students, manual],
        "educators": [*educators, admin.person_id],
        "classes": [group, synced],
        "runs": [run],
        "products": ["ill", "reading", "science"],
    }
    return roster, ids


def _bindings(document: dict[str, Any]) -> list[dict[str, Any]]:
    """Per operation, which dictionary of real ids each path parameter draws from."""
    found = []
    for path, item in document["paths"].items():
        for operation in item.values():
            person = "educators" if "/educators/{person_id}" in path else "students"
            names = {
                "person_id": person,
                "student_id": "students",
                "class_id": "classes",
                "run_id": "runs",
                "code": "products",
            }
            parameters = {
                f"path.{name}": {"dictionary": words, "probability": PROBABILITY}
                for name, words in names.items()
                if f"{{{name}}}" in path
            }
            if parameters:
                found.append(
                    {"include-operation-id": operation["operationId"], "parameters": parameters}
                )
    return found


def _operations() -> list[str]:
    """Every operation of the OpenAPI document, as "METHOD /path" (read without a database)."""
    url = f"sqlite:///{tempfile.gettempdir()}/rollbook-openapi-{os.getpid()}/never-opened.db"
    document = create_app(Settings(database_url=url)).openapi()
    return [
        f"{method.upper()} {path}" for path, item in document["paths"].items() for method in item
    ]


OPERATIONS = _operations()


@dataclass
class Fuzz:
    schema: Any
    slug: str
    client: ASGIClient


@pytest.fixture(scope="module")
def fuzz(db: Database, client: TestClient) -> Fuzz:
    roster, ids = _organization(db, client)
    token = roster.district_admin().api.token
    document = client.get("/api/v1/openapi.json").json()
    config = schemathesis.Config.from_dict(
        {
            "headers": {"Authorization": f"Bearer {token}"},
            "parameters": {"query.school_id": {"dictionary": "schools", "probability": 0.5}},
            "dictionaries": {name: {"values": values} for name, values in ids.items()},
            "generation": {"with-security-parameters": False},
            "operations": _bindings(document),
        }
    )
    schema = schemathesis.openapi.from_dict(document, config=config)
    schema.app = client.app
    # Schemathesis' ASGI client of the test application: in-process, and not entered, so the
    # application's lifespan (the sync worker) stays the one tests/conftest.py started.
    return Fuzz(schema, roster.slug, ASGIClient(client.app))  # type: ignore[arg-type]


def test_every_operation_is_fuzzed(client: TestClient) -> None:
    """The parametrization below comes from the same document the application serves."""
    served = client.get("/api/v1/openapi.json").json()["paths"]
    assert [f"{m.upper()} {p}" for p, item in served.items() for m in item] == OPERATIONS


@pytest.mark.parametrize("operation", OPERATIONS)
def test_the_api_answers_as_its_openapi_document_says(fuzz: Fuzz, operation: str) -> None:
    method, path = operation.split(" ", 1)
    api_operation = fuzz.schema[path][method]
    modes = [GenerationMode.POSITIVE]
    if len(api_operation.query) or len(api_operation.body):
        # Invalid input needs something to make invalid: path parameters are free strings
        # here (and the organization is fixed), so an operation without a query or a body
        # has no negative case, and hypothesis would spend seconds finding that out.
        modes.append(GenerationMode.NEGATIVE)
    for mode in modes:
        strategy = api_operation.as_strategy(
            generation_mode=mode, path_parameters={"org": fuzz.slug}
        )

        @given(case=strategy)
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def answers(case: Any) -> None:
            case.call_and_validate(session=fuzz.client, checks=CHECKS)

        try:
            answers()
        except Unsatisfiable:
            # Nothing of this operation can be made invalid (say, only string path
            # parameters, and the organization is fixed): the positive cases cover it.
            assert mode is GenerationMode.NEGATIVE, operation
