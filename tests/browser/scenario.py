"""The district the browser tests walk through and the screenshots show.

Built the way a real district gets there: a snapshot synced from the SIS (so the synced
people and classes carry locks, and some shared fields and settings are sent by the SIS),
then a few things added by hand, and two sign-in accounts.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from rollbook.domain.catalogue import load_catalogue
from rollbook.domain.permissions import Actor
from rollbook.services import auth, classes, memberships, orgs, people, products, syncs
from rollbook.store import orgs as org_store
from rollbook.store.db import Database
from rollbook.store.models import Person
from rollbook.sync.engine import Engine
from tests.web.snapshot import Snapshot, district

SLUG = "springfield"
TEACHER = ("tess.teacher", "teacher-password")
ADMIN = ("ada.admin", "admin-password")
XSS_NAME = "<script>alert(1)</script>"


@dataclass(frozen=True)
class District:
    slug: str
    teacher: tuple[str, str]
    admin: tuple[str, str]
    school_id: str
    group_id: str


def first_snapshot() -> Snapshot:
    """What the SIS sends: a class of students; Ava's middle name, email and language
    support are sent too (R11), and one student's name is an injection attempt."""
    snapshot = district(students=6)
    ava = snapshot.users[1]
    ava.update(
        middleName="Grace",
        email="ava.baker@springfield.example",
        **{"metadata.ill.language_support": "English"},
    )
    snapshot.student("s-99", XSS_NAME, "Tables", username="bobby.tables")
    snapshot.klass("c-2", "Grade 3 Mathematics", "t-1", "s-1", "s-2", grades="03")
    snapshot.product("c-2", "mypath_math")
    return snapshot


def sync(db: Database, org_slug: str, snapshot: Snapshot, *, dry_run: bool = False) -> str:
    """Run a snapshot through the real sync engine; returns the run id."""
    with db.writing() as session:
        org = orgs.find(session, slug=org_slug)
        actor = Actor("operator", "setup", "District set-up", None, role="operator")
        run = syncs.start(session, actor=actor, org=org, source="sis.zip", dry_run=dry_run)
        run_id = run.id
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "sis.zip"
        path.write_bytes(snapshot.zip())
        Engine(db, load_catalogue()).execute(run_id, path)
    return str(run_id)


def build(db: Database, slug: str = SLUG) -> District:
    """The organization, a first applied sync, a group and a student by hand, two accounts."""
    with db.writing() as session:
        orgs.create_org(
            session, actor=None, slug=slug, name="Springfield Public Schools",
            threshold_percent=None,
        )  # fmt: skip
    sync(db, slug, first_snapshot())
    with db.writing() as session:
        org = orgs.find(session, slug=slug)
        school = org_store.school_by_external_id(session, org_id=org.id, external_id="sch-1")
        assert school is not None
        setup = Actor("operator", "setup", "District set-up", org.id, role="district_admin")
        for (username, password), role, scope, schools, first, last in (
            (TEACHER, "teacher", None, [str(school.id)], "Tess", "Okafor"),
            (ADMIN, "administrator", "district", [], "Ada", "Lovelace"),
        ):
            data = {"username": username, "first_name": first, "last_name": last,
                    "role": role, "admin_scope": scope, "school_ids": schools}  # fmt: skip
            loaded = people.create(session, actor=setup, org=org, kind="educator", data=data)
            auth.set_password(session, person=loaded.person, password=password)
        timothy = people.create(
            session, actor=setup, org=org, kind="student",
            data={"username": "timothy.baker", "first_name": "Timothy", "last_name": "Baker",
                  "grade": "03", "school_ids": [str(school.id)],
                  "notes": "Joined mid-year; SIS record pending."},
        )  # fmt: skip
        group = classes.create(
            session, actor=setup, org=org,
            data={"name": "After-school Reading Club", "kind": "group",
                  "school_id": str(school.id), "grades": ["03"]},
        )  # fmt: skip
        memberships.add(
            session, actor=setup, org=org, class_id=str(group.id), role="student",
            person_id=str(timothy.person.id),
        )  # fmt: skip
        products.add_link(
            session, actor=setup, org=org, class_id=str(group.id), code="reading",
            catalogue=load_catalogue(),
        )  # fmt: skip
        return District(slug, TEACHER, ADMIN, str(school.id), str(group.id))


def person_id(db: Database, slug: str, username: str) -> str:
    with db.session(write=False) as session:
        org = orgs.find(session, slug=slug)
        found = session.query(Person).filter_by(org_id=org.id, username=username).one()
        return str(found.id)
