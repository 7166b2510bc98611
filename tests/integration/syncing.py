"""Running syncs in the tests: through the Engine as the worker and the command line do, and
reading back what a run reported and what the roster holds."""

from __future__ import annotations

import itertools
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from rollbook.app import create_app
from rollbook.config import Settings
from rollbook.domain.catalogue import load_catalogue
from rollbook.services import orgs
from rollbook.services.syncs import change_view, count_changes, run_view
from rollbook.store.db import Database
from rollbook.store.models import (
    Change,
    Class,
    ClassProduct,
    Membership,
    Org,
    Person,
    PersonSchool,
    ProductSetting,
    School,
)
from rollbook.store.sync_tables import SyncRun
from rollbook.sync.copies import SnapshotCopies
from rollbook.sync.engine import Engine, create_run
from tests.factories import Api, Roster
from tests.oneroster import OneRoster

CATALOGUE = load_catalogue(None)
_names = itertools.count(1)


@dataclass
class Report:
    """A finished run as GET …/syncs/{id} shows it, with its changes (preview ones too)."""

    run: dict[str, Any]
    changes: list[dict[str, Any]]

    @property
    def id(self) -> str:
        return str(self.run["id"])

    @property
    def status(self) -> str:
        return str(self.run["status"])

    @property
    def counts(self) -> dict[str, Any]:
        return dict(self.run["counts"])

    @property
    def errors(self) -> list[dict[str, Any]]:
        return list(self.run["errors"])

    @property
    def warnings(self) -> list[dict[str, Any]]:
        return list(self.run["warnings"])

    @property
    def conflicts(self) -> list[dict[str, Any]]:
        return list(self.run["conflicts"])

    def count(self, kind: str, what: str) -> int:
        return int(self.run["counts"][kind][what])

    def entity_counts(self, kind: str) -> dict[str, int]:
        return {k: v for k, v in self.run["counts"][kind].items() if v}

    def codes(self, severity: str = "errors") -> list[str]:
        return [i["code"] for i in self.run[severity]]

    def changes_of(self, sourced_id: str) -> list[dict[str, Any]]:
        return [c for c in self.changes if c["sourced_id"] == sourced_id]

    def field_changes(self, sourced_id: str) -> dict[str, dict[str, Any]]:
        """The field updates of one entity: {field: change}."""
        return {
            c["field"]: c
            for c in self.changes_of(sourced_id)
            if c["action"] in ("updated", "setting_changed")
        }


class Sis:
    """One test's SIS: runs snapshots for the test's organization through the Engine."""

    def __init__(
        self,
        roster: Roster,
        tmp_path: Path,
        max_unpacked_bytes: int = 10**9,
        *,
        copies: bool = True,
    ) -> None:
        self.roster = roster
        self.db: Database = roster.db
        # Runs keep copies of their snapshots as the server's do, so that every sync test
        # also holds for a run read by its changed lines (sync/quick.py) where it may be.
        self.engine = Engine(
            self.db,
            CATALOGUE,
            max_unpacked_bytes=max_unpacked_bytes,
            copies=SnapshotCopies(tmp_path / "copies") if copies else None,
            quick_share=1.0,  # however small the test's snapshot, however much it changes
        )
        self.tmp_path = tmp_path

    def path_of(self, snapshot: OneRoster | Path, *, as_zip: bool = False) -> Path:
        if isinstance(snapshot, Path):
            return snapshot
        target = self.tmp_path / f"snapshot-{next(_names)}"
        if as_zip:
            return snapshot.zip(target.with_suffix(".zip"))
        return snapshot.write(target)

    def threshold(self, percent: int) -> None:
        """The organization's R20 threshold."""
        with self.db.writing() as session:
            org = session.get(Org, self.roster.org.id)
            assert org is not None
            orgs.set_threshold(session, org=org, percent=percent)

    def queue(self, *, dry_run: bool = False, source: str = "test") -> int:
        with self.db.writing() as session:
            run = create_run(
                session,
                org=self.roster.org,
                actor=self.roster.actor(),
                source=source,
                dry_run=dry_run,
            )
            return int(run.id)

    def run(
        self,
        snapshot: OneRoster | Path,
        *,
        dry_run: bool = False,
        as_zip: bool = False,
        changes: bool = True,
    ) -> Report:
        """Write the snapshot, queue a run and execute it; the finished run's report (without
        its change list when `changes` is false: large runs)."""
        path = self.path_of(snapshot, as_zip=as_zip)
        run_id = self.queue(dry_run=dry_run, source=str(path))
        self.engine.execute(run_id, path)
        return self.report(run_id, changes=changes)

    def approve(self, run_id: str) -> Report:
        self.engine.decide(int(run_id), approve=True, by="test")
        return self.report(run_id)

    def discard(self, run_id: str) -> Report:
        self.engine.decide(int(run_id), approve=False, by="test")
        return self.report(run_id)

    def report(self, run_id: int | str, *, changes: bool = True) -> Report:
        with self.db.session(write=False) as session:
            run = session.get(SyncRun, int(run_id))
            assert run is not None
            view = run_view(session, run)
            listed: list[dict[str, Any]] = []
            if changes:
                rows = session.scalars(
                    select(Change).where(Change.run_id == int(run_id)).order_by(Change.id)
                )
                listed = [{**change_view(c), "preview": c.preview} for c in rows]
            view["change_count"] = count_changes(session, int(run_id))
        return Report(view, listed)

    # Reading the roster ------------------------------------------------------------------

    def person(self, external_id: str) -> Person:
        """The person the SIS knows by this sourcedId."""
        with self.db.session(write=False) as session:
            found = session.scalars(
                select(Person).where(
                    Person.org_id == self.roster.org.id, Person.external_id == external_id
                )
            ).one()
            session.expunge(found)
            return found

    def person_id(self, external_id: str) -> str:
        return str(self.person(external_id).id)

    def klass(self, external_id: str) -> Class:
        with self.db.session(write=False) as session:
            found = session.scalars(
                select(Class).where(
                    Class.org_id == self.roster.org.id, Class.external_id == external_id
                )
            ).one()
            session.expunge(found)
            return found

    def class_id(self, external_id: str) -> str:
        return str(self.klass(external_id).id)

    def school_id(self, external_id: str) -> str:
        with self.db.session(write=False) as session:
            return str(
                session.scalars(
                    select(School.id).where(
                        School.org_id == self.roster.org.id, School.external_id == external_id
                    )
                ).one()
            )

    def members(self, class_external_id: str) -> dict[str, str]:
        """{person external id (or id when none): membership source} of one class."""
        with self.db.session(write=False) as session:
            rows = session.execute(
                select(Person.external_id, Person.id, Membership.source)
                .join(Membership, Membership.person_id == Person.id)
                .join(Class, Class.id == Membership.class_id)
                .where(Class.org_id == self.roster.org.id, Class.external_id == class_external_id)
            ).all()
        return {ref or str(pid): source for ref, pid, source in rows}

    def products(self, class_external_id: str) -> dict[str, str]:
        """{product code: source} of one class."""
        with self.db.session(write=False) as session:
            rows = session.execute(
                select(ClassProduct.product, ClassProduct.source)
                .join(Class, Class.id == ClassProduct.class_id)
                .where(Class.org_id == self.roster.org.id, Class.external_id == class_external_id)
            ).all()
        return {code: source for code, source in rows}

    def state(self) -> dict[str, Any]:
        """Every roster row of the organization and its change log: a run that must change
        nothing leaves this exactly equal."""
        return dump(self.db, self.roster.org.id)


def dump(db: Database, org_id: int) -> dict[str, Any]:
    """The organization's roster tables and change log, row by row."""
    out: dict[str, Any] = {}
    with db.session(write=False) as session:
        for model in (
            School,
            Person,
            PersonSchool,
            Class,
            Membership,
            ClassProduct,
            ProductSetting,
        ):
            table = model.__table__
            rows = session.execute(select(table).where(table.c.org_id == org_id)).all()
            out[model.__name__] = sorted(
                (tuple(sorted(r._mapping.items(), key=lambda kv: kv[0])) for r in rows), key=repr
            )
        out["Change"] = sorted(
            (c.id, c.run_id, c.action, c.entity_id, c.field, c.preview)
            for c in session.scalars(select(Change).where(Change.org_id == org_id))
        )
    return out


def wait_for(api: Api, run_id: str, timeout: float = 60.0) -> dict[str, Any]:
    """Poll GET …/syncs/{id} until the run stops moving; the run."""
    deadline = time.monotonic() + timeout
    while True:
        run: dict[str, Any] = api.ok("GET", f"syncs/{run_id}")
        if run["status"] not in ("queued", "running"):
            return run
        if time.monotonic() > deadline:
            raise AssertionError(f"run {run_id} still {run['status']} after {timeout}s")
        time.sleep(0.05)


def upload(
    api: Api, path: Path, *, dry_run: bool | None = None, status: int = 202
) -> dict[str, Any]:
    """POST a zip to …/syncs as multipart field `file`; the answer's body."""
    params = {} if dry_run is None else {"dry_run": str(dry_run).lower()}
    with path.open("rb") as handle:
        response = api.post(
            "syncs", files={"file": (path.name, handle, "application/zip")}, params=params
        )
    assert response.status_code == status, (response.status_code, response.text)
    body: dict[str, Any] = response.json()
    return body


def canonical(db: Database, org_id: int) -> dict[str, list[tuple[Any, ...]]]:
    """The organization's roster without anything that names a row of this database: schools,
    people, person_schools, classes, memberships, class_products and product_settings, each
    entity named by its SIS id (or username, or name, when it has none).

    Two organizations that went through the same runs dump equal, so a roster can be
    compared with a clean run of the same snapshot elsewhere. Run bookkeeping (the change
    log, runs, staging, locks) and times are left out; `sis_hash` and `sis_print` are kept as
    whether they are set (they cover the organization's own school ids).
    """
    skip = {"id", "org_id", "created_at", "updated_at"}
    with db.session(write=False) as session:
        schools = {
            s.id: f"school:{s.external_id or s.name}"
            for s in session.scalars(select(School).where(School.org_id == org_id))
        }
        people: dict[int, str] = {}
        classes: dict[int, str] = {}
        out: dict[str, list[tuple[Any, ...]]] = {
            "schools": sorted(
                (name, s.origin, s.status)
                for s in session.scalars(select(School).where(School.org_id == org_id))
                for name in [schools[s.id]]
            )
        }
        for model, names, label in ((Person, people, "username"), (Class, classes, "name")):
            table = model.__table__
            rows = []
            for row in session.execute(select(table).where(table.c.org_id == org_id)):
                values = dict(row._mapping)
                names[values["id"]] = str(values["external_id"] or f"{label}:{values[label]}")
                if "school_id" in values:
                    values["school_id"] = schools.get(values["school_id"])
                values["sis_hash"] = values["sis_hash"] is not None
                values["sis_print"] = values["sis_print"] is not None
                rows.append(tuple(sorted((k, repr(v)) for k, v in values.items() if k not in skip)))
            out[table.name] = sorted(rows)
        out["person_schools"] = sorted(
            (people[r.person_id], schools[r.school_id])
            for r in session.scalars(select(PersonSchool).where(PersonSchool.org_id == org_id))
        )
        out["memberships"] = sorted(
            (classes[m.class_id], people[m.person_id], m.role, m.source)
            for m in session.scalars(select(Membership).where(Membership.org_id == org_id))
        )
        out["class_products"] = sorted(
            (classes[p.class_id], p.product, p.source)
            for p in session.scalars(select(ClassProduct).where(ClassProduct.org_id == org_id))
        )
        out["product_settings"] = sorted(
            (people[s.person_id], s.product, s.setting, repr(s.value), s.source, s.sis_sends)
            for s in session.scalars(select(ProductSetting).where(ProductSetting.org_id == org_id))
        )
    return out


def rollbook_command() -> list[str]:
    """The installed `rollbook` console script (or the same entry point through Python)."""
    script = Path(sys.executable).with_name("rollbook")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from rollbook.cli import main; main()"]


@contextmanager
def client_with(
    db: Database, backend: str, tmp_path: Path, **settings: Any
) -> Iterator[TestClient]:
    """The application on the test's database with some settings of its own (small upload or
    unpack limits), and a sign-in limit no test reaches."""
    config = Settings(
        database_url=backend,
        upload_dir=str(tmp_path / "uploads"),
        sign_in_attempts_per_minute=1000,
        **settings,
    )
    with TestClient(create_app(config, db=db), raise_server_exceptions=False) as client:
        yield client
