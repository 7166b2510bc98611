"""The demo district: schools, manual students, classes and groups, sign-in accounts, and a
first sync of the bundled snapshot (`snapshot/`), which adopts the hand-made "Timothy"
as the SIS's "Tim" (R7)."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from rollbook.domain.catalogue import Catalogue, load_catalogue
from rollbook.domain.permissions import Actor
from rollbook.services import auth, classes, memberships, orgs, people, products, settings
from rollbook.store import orgs as org_store
from rollbook.store import people as people_store
from rollbook.store.db import Database
from rollbook.store.models import Org, Person
from rollbook.store.sync_tables import SyncRun
from rollbook.sync.engine import Engine, create_run

SLUG = "demo"


@dataclass(frozen=True, slots=True)
class DemoAccount:
    label: str
    username: str
    password: str


ACCOUNTS: tuple[tuple[str, dict[str, Any], str], ...] = (
    (
        "District administrator",
        {"username": "ada.admin", "first_name": "Ada", "last_name": "Lovelace",
         "role": "administrator", "admin_scope": "district", "school_ids": []},
        "rollbook-admin",
    ),
    (
        "Teacher (Lincoln)",
        {"username": "tess.teacher", "first_name": "Tess", "last_name": "Okafor",
         "role": "teacher", "school_ids": ["demo-lincoln"]},
        "rollbook-teacher",
    ),
)  # fmt: skip

SCHOOLS = (("demo-lincoln", "Lincoln Elementary"), ("demo-washington", "Washington Middle School"))

STUDENTS: tuple[dict[str, Any], ...] = (
    {"username": "timothy.baker", "first_name": "Timothy", "last_name": "Baker", "grade": "03",
     "school_ids": ["demo-lincoln"], "notes": "Joined mid-year; SIS record pending."},
    {"username": "lucia.fernandez", "first_name": "Lucía", "last_name": "Fernández", "grade": "04",
     "school_ids": ["demo-lincoln"]},
    {"username": "minh.nguyen", "first_name": "Minh", "last_name": "Nguyen", "grade": "04",
     "school_ids": ["demo-lincoln"]},
    {"username": "amara.diallo", "first_name": "Amara", "last_name": "Diallo", "grade": "07",
     "school_ids": ["demo-washington"]},
    {"username": "omar.haddad", "first_name": "Omar", "last_name": "Haddad", "grade": "07",
     "school_ids": ["demo-washington"]},
)  # fmt: skip

GROUPS: tuple[dict[str, Any], ...] = (
    {"name": "English Learners: Newcomers", "kind": "group", "school_id": "demo-lincoln",
     "grades": ["03", "04"], "subjects": ["ELD"]},
    {"name": "After-school Reading Club", "kind": "group", "school_id": "demo-lincoln",
     "grades": ["03", "04"]},
    {"name": "Summer Bridge Math", "kind": "class", "school_id": "demo-washington",
     "grades": ["07"], "subjects": ["Mathematics"]},
)  # fmt: skip


def build_demo(session: Session) -> list[DemoAccount]:
    """Create the demo organization once; every call resets the demo accounts' passwords."""
    org = org_store.org_by_slug(session, SLUG)
    if org is None:
        org = _create(session)
    return _accounts(session, org)


def _create(session: Session) -> Org:
    org = orgs.create_org(
        session, actor=None, slug=SLUG, name="Demo Unified School District", threshold_percent=None
    )
    for external_id, name in SCHOOLS:
        orgs.create_school(session, actor=None, org=org, name=name, external_id=external_id)
    actor = Actor("operator", "demo", "demo set-up", org.id, role="district_admin")
    for _label, data, _password in ACCOUNTS:
        people.create(session, actor=actor, org=org, kind="educator", data=data)
    students = [
        people.create(session, actor=actor, org=org, kind="student", data=data) for data in STUDENTS
    ]
    catalogue = load_catalogue()
    made = [classes.create(session, actor=actor, org=org, data=data) for data in GROUPS]
    newcomers, reading, bridge = made
    for loaded in students[:3]:
        memberships.add(session, actor=actor, org=org, class_id=str(newcomers.id),
                        role="student", person_id=str(loaded.person.id))  # fmt: skip
    memberships.add(session, actor=actor, org=org, class_id=str(reading.id),
                    role="student", person_id=str(students[0].person.id))  # fmt: skip
    for loaded in students[3:]:
        memberships.add(session, actor=actor, org=org, class_id=str(bridge.id),
                        role="student", person_id=str(loaded.person.id))  # fmt: skip
    for klass, code in ((newcomers, "ill"), (reading, "reading"), (bridge, "mypath_math")):
        products.add_link(session, actor=actor, org=org, class_id=str(klass.id), code=code,
                          catalogue=catalogue)  # fmt: skip
    settings.write(session, actor=actor, org=org, student_id=str(students[1].person.id),
                   data={"ill": {"language_support": "Spanish"}}, catalogue=catalogue)  # fmt: skip
    return org


def sync_demo(db: Database, catalogue: Catalogue) -> SyncRun | None:
    """Apply the bundled snapshot once, as the demo district's first sync."""
    with db.writing() as session:
        org = org_store.org_by_slug(session, SLUG)
        assert org is not None
        if session.scalar(select(SyncRun.id).where(SyncRun.org_id == org.id).limit(1)):
            return None
        actor = Actor("operator", "demo", "demo set-up", org.id, role="district_admin")
        run = create_run(session, org=org, actor=actor, source="demo snapshot", dry_run=False)
        run_id = run.id
    with resources.as_file(resources.files("rollbook.demo").joinpath("snapshot")) as folder:
        return Engine(db, catalogue).execute(run_id, Path(folder))


def _accounts(session: Session, org: Org) -> list[DemoAccount]:
    accounts = []
    for label, data, password in ACCOUNTS:
        person = people_store.holder_of_username(
            session, org_id=org.id, username_key=data["username"]
        )
        if isinstance(person, Person):
            auth.set_password(session, person=person, password=password)
            accounts.append(DemoAccount(label, data["username"], password))
    return accounts
