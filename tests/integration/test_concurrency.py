"""Hand edits from eight clients while a sync runs; two syncs of one organization at once.

quality.md: "manual edits from 8 clients while a sync runs: no acknowledged edit lost". Eight
district administrators, each with a token of their own, edit through the real ASGI app (the
session's TestClient, one thread each) while the Engine applies the next day of a generated
district in another thread. Every answer is noted; afterwards each acknowledged edit (2xx)
is present, or the run's changes list it as a manual edit overwritten with exactly the value
that edit wrote; an edit followed by a later acknowledged edit of the same field is judged
by the later one. Edits may be refused (409, 412) or slow, never answered with a 5xx.

R18: two runs of one organization started together never interleave: one is refused with
the lock's message (or they run one after the other), and the roster equals a clean
application of what was applied.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from rollbook.generate import District, write_district
from rollbook.store.db import Database
from rollbook.store.models import Class, Membership, Person
from tests.factories import Api, Roster
from tests.integration.helpers import error_of, walk
from tests.integration.syncing import Sis, canonical, rollbook_command

STUDENTS = int(os.environ.get("ROLLBOOK_CONCURRENCY_STUDENTS", "2000"))
CLIENTS = 8
PER_CLIENT = 30  # students each client edits, again and again (an entity has one editor)
BUSY = "another sync of this organization is running"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def days(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Path]:
    root = tmp_path_factory.mktemp("concurrency-district")
    for day in (1, 2, 3):
        write_district(root / f"day{day}", District(students=STUDENTS, seed=5, day=day))
    return {day: root / f"day{day}" for day in (1, 2, 3)}


@dataclass
class Edit:
    """One acknowledged hand edit: where, what, and the value it wrote."""

    client: int
    seq: int
    kind: str  # field | setting | member | product
    path: str  # the entity's API path
    entity_id: int
    name: str  # field name, `product.setting`, or the member/product id
    value: Any


@dataclass
class Ledger:
    """Every answer the clients heard, and the acknowledged edits in order per client."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    statuses: Counter[int] = field(default_factory=Counter)
    by_action: Counter[str] = field(default_factory=Counter)
    edits: list[Edit] = field(default_factory=list)
    server_errors: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    slowest: float = 0.0

    def heard(self, action: str, status: int, took: float, text: str) -> None:
        with self.lock:
            self.statuses[status] += 1
            self.by_action[f"{action} {status}"] += 1
            self.slowest = max(self.slowest, took)
            if status >= 500:
                self.server_errors.append(f"{action}: {status} {text[:300]}")

    def acknowledged(self, edit: Edit) -> None:
        with self.lock:
            self.edits.append(edit)

    def surprise(self, what: str) -> None:
        with self.lock:
            self.unexpected.append(what)


class Editor:
    """One client: a district administrator editing its own students, classes and group."""

    def __init__(
        self,
        number: int,
        api: Api,
        students: list[int],
        classes: list[int],
        group: int,
        ledger: Ledger,
    ) -> None:
        self.number = number
        self.api = api
        self.students = students
        self.classes = classes
        self.group = group
        self.ledger = ledger
        self.rng = random.Random(1000 + number)
        self.seq = 0
        self.etags: dict[int, str] = {}

    def call(self, action: str, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
        started = time.monotonic()
        response = self.api.request(method, path, **kwargs)
        took = time.monotonic() - started
        self.ledger.heard(action, response.status_code, took, response.text)
        if response.headers.get("ETag") and path.startswith("students/") and path.count("/") == 1:
            self.etags[int(path.split("/")[1])] = response.headers["ETag"]
        body = response.json() if response.content else None
        return response.status_code, body

    def loop(self, stop: threading.Event) -> None:
        actions: list[Callable[[], None]] = [
            self.email,
            self.email,
            self.preferred,
            self.notes,
            self.setting,
            self.setting,
            self.if_match,
            self.locked,
            self.member,
            self.product,
        ]
        try:
            while not stop.is_set():
                self.seq += 1
                self.rng.choice(actions)()
        except Exception as error:  # a failed thread must fail the test, not vanish
            self.ledger.surprise(f"client {self.number} stopped: {error!r}")

    def _field(self, name: str, value: Any, headers: dict[str, str] | None = None) -> None:
        student = self.rng.choice(self.students)
        path = f"students/{student}"
        status, _ = self.call(name, "PATCH", path, json={name: value}, headers=headers)
        if 200 <= status < 300:
            self.ledger.acknowledged(
                Edit(self.number, self.seq, "field", path, student, name, value)
            )

    def email(self) -> None:
        self._field("email", f"hand.{self.number}.{self.seq}@example.org")

    def preferred(self) -> None:
        self._field("preferred_first_name", f"Hand{self.number}x{self.seq}")

    def notes(self) -> None:
        self._field("notes", f"note {self.number}/{self.seq}")

    def if_match(self) -> None:
        """An edit on what this client last read: 200, or 412 when a sync moved it since."""
        student = self.rng.choice(self.students)
        if student not in self.etags:
            self.call("read", "GET", f"students/{student}")
        value = f"IfMatch{self.number}x{self.seq}"
        path = f"students/{student}"
        status, _ = self.call(
            "if_match",
            "PATCH",
            path,
            json={"middle_name": value},
            headers={"If-Match": self.etags[student]},
        )
        if status not in (200, 412):
            self.ledger.surprise(f"If-Match edit answered {status}")
        if status == 200:
            self.ledger.acknowledged(
                Edit(self.number, self.seq, "field", path, student, "middle_name", value)
            )
        else:
            self.etags.pop(student)

    def locked(self) -> None:
        """A locked field of a synced student: refused, whatever the sync is doing."""
        student = self.rng.choice(self.students)
        status, body = self.call(
            "locked", "PATCH", f"students/{student}", json={"first_name": "Hand"}
        )
        if status != 409 or body["error"]["code"] != "field_locked":
            self.ledger.surprise(f"locked field edit answered {status} {body}")

    def setting(self) -> None:
        student = self.rng.choice(self.students)
        language = self.rng.choice(["Spanish", "Arabic", "Vietnamese", "Somali", "Tagalog"])
        minutes = 10 + self.seq % 100
        body = {"ill": {"language_support": language}, "reading": {"session_minutes": minutes}}
        path = f"students/{student}"
        status, _ = self.call("setting", "PATCH", f"{path}/product-settings", json=body)
        if 200 <= status < 300:
            for name, value in (
                ("ill.language_support", language),
                ("reading.session_minutes", minutes),
            ):
                self.ledger.acknowledged(
                    Edit(self.number, self.seq, "setting", path, student, name, value)
                )

    def member(self) -> None:
        """A synced student into this client's own group (R15: manual groups only)."""
        student = self.rng.choice(self.students)
        path = f"classes/{self.group}"
        status, _ = self.call("member", "PUT", f"{path}/students/{student}")
        if 200 <= status < 300:
            self.ledger.acknowledged(
                Edit(self.number, self.seq, "member", path, self.group, str(student), True)
            )

    def product(self) -> None:
        """A product the SIS does not send, added by hand to a synced class (R14: it stays)."""
        klass = self.rng.choice(self.classes)
        path = f"classes/{klass}"
        status, _ = self.call("product", "PUT", f"{path}/products/purpose")
        if 200 <= status < 300:
            self.ledger.acknowledged(
                Edit(self.number, self.seq, "product", path, klass, "purpose", True)
            )


def _entities(db: Database, org_id: int) -> tuple[list[int], list[int], int]:
    with db.session(write=False) as session:
        students = list(
            session.scalars(
                select(Person.id)
                .where(Person.org_id == org_id, Person.kind == "student", Person.origin == "sis")
                .order_by(Person.id)
            )
        )
        classes = list(
            session.scalars(
                select(Class.id)
                .where(Class.org_id == org_id, Class.origin == "sis")
                .order_by(Class.id)
            )
        )
        school = session.scalar(select(Class.school_id).where(Class.org_id == org_id).limit(1))
    assert school is not None
    return students, classes, school


def _overwritten(api: Api, run_id: str) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """The run's changes listed as manual edits overwritten, by (entity id, field)."""
    found: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for change in walk(api, f"syncs/{run_id}/changes", overwritten="true"):
        found.setdefault((change["entity_id"], change["field"]), []).append(change)
    return found


def _current(api: Api, db: Database, edit: Edit) -> Any:
    if edit.kind == "field":
        return api.ok("GET", edit.path)[edit.name]
    if edit.kind == "setting":
        product, setting = edit.name.split(".")
        found = api.ok("GET", f"{edit.path}/product-settings")[product][setting]
        return found["value"] if found["source"] is not None else None
    if edit.kind == "member":
        with db.session(write=False) as session:
            return (
                session.get(Membership, {"class_id": edit.entity_id, "person_id": int(edit.name)})
                is not None
            )
    links = walk(api, f"{edit.path}/products")
    return any(link["code"] == edit.name for link in links)


def test_no_acknowledged_edit_is_lost_while_a_sync_runs(
    roster: Roster, sis: Sis, days: dict[int, Path]
) -> None:
    assert sis.run(days[1], changes=False).status == "applied"
    students, classes, school = _entities(roster.db, roster.org.id)
    admins = [roster.district_admin() for _ in range(CLIENTS)]
    ledger = Ledger()
    editors = []
    for n, admin in enumerate(admins):
        group = admin.api.ok(
            "POST", "classes", 201, json={"name": f"Group {n}", "school_id": str(school)}
        )
        mine = students[n::CLIENTS][:PER_CLIENT]
        editors.append(
            Editor(n, admin.api, mine, classes[n::CLIENTS][:10], int(group["id"]), ledger)
        )
    stop = threading.Event()
    threads = [threading.Thread(target=e.loop, args=(stop,)) for e in editors]
    outcome: dict[str, Any] = {}

    def sync() -> None:
        started = time.monotonic()
        outcome["report"] = sis.run(days[2], changes=False)
        outcome["seconds"] = time.monotonic() - started

    syncing = threading.Thread(target=sync)
    for thread in threads:
        thread.start()
    time.sleep(0.5)
    syncing.start()
    syncing.join(timeout=600)
    time.sleep(0.5)
    stop.set()
    for thread in threads:
        thread.join(timeout=120)
    assert not syncing.is_alive() and not any(t.is_alive() for t in threads)

    assert ledger.server_errors == []
    assert ledger.unexpected == []
    report = outcome["report"]
    assert report.status == "applied", report.run["message"]
    reader = admins[0].api
    overwritten = _overwritten(reader, report.id)
    last: dict[tuple[str, int, str], Edit] = {}
    for edit in ledger.edits:  # in the order acknowledged: later edits replace earlier ones
        last[(edit.kind, edit.entity_id, edit.name)] = edit
    lost = []
    kept = replaced = 0
    for edit in last.values():
        if _current(reader, roster.db, edit) == edit.value:
            kept += 1
            continue
        listed = overwritten.get((str(edit.entity_id), edit.name), [])
        if any(change["old"] == edit.value for change in listed):
            replaced += 1
            continue
        lost.append(edit)
    assert lost == []
    assert kept and replaced, (kept, replaced)
    print(
        f"\n{roster.db.engine.dialect.name}: {sum(ledger.statuses.values())} requests from "
        f"{CLIENTS} clients during a {outcome['seconds']:.1f}s sync of {STUDENTS:,} students: "
        f"{dict(sorted(ledger.statuses.items()))}; {len(ledger.edits)} acknowledged edits, "
        f"{len(last)} last edits of an entity's field: {kept} present, {replaced} listed as "
        f"overwritten, 0 lost; slowest answer {ledger.slowest:.2f}s"
    )


@pytest.mark.parametrize("how", ["threads", "processes"])
def test_r18_two_syncs_of_one_organization_started_together_never_interleave(
    roster: Roster,
    sis: Sis,
    days: dict[int, Path],
    db: Database,
    client: TestClient,
    backend: str,
    how: str,
) -> None:
    """Two runs (day 2 and day 3) started at once, in two threads of one process (the Engine)
    or as two `rollbook sync` processes."""
    assert sis.run(days[1], changes=False).status == "applied"
    runs: dict[int, dict[str, Any]] = {}
    if how == "threads":
        barrier = threading.Barrier(2)

        def run(day: int) -> None:
            run_id = sis.queue(source=str(days[day]))
            barrier.wait()
            sis.engine.execute(run_id, days[day])
            runs[day] = sis.report(run_id, changes=False).run

        threads = [threading.Thread(target=run, args=(day,)) for day in (2, 3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=600)
    else:
        env = {**os.environ, "ROLLBOOK_DATABASE_URL": backend}
        children = {
            day: subprocess.Popen(
                [*rollbook_command(), "sync", roster.slug, str(days[day]), "--json"],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for day in (2, 3)
        }
        for day, child in children.items():
            out, err = child.communicate(timeout=600)
            assert "Traceback" not in err, err
            runs[day] = json.loads(out)
    statuses = sorted(r["status"] for r in runs.values())
    applied = [day for day, r in runs.items() if r["status"] == "applied"]
    if statuses == ["applied", "failed"]:
        (loser,) = (r for r in runs.values() if r["status"] == "failed")
        assert loser["message"].startswith(BUSY), loser
        order = applied
    else:
        # One after the other: the second started only once the first had finished.
        assert statuses == ["applied", "applied"], statuses
        order = sorted(runs, key=lambda day: runs[day]["started_at"])
        first, second = (runs[day] for day in order)
        assert second["started_at"] >= first["finished_at"]
    clean = Sis(Roster.new(db, client), sis.tmp_path)
    for day in (1, *order):
        assert clean.run(days[day], changes=False).status == "applied"
    assert canonical(db, roster.org.id) == canonical(db, clean.roster.org.id)
    print(f"\n{how}: {statuses}, applied in order: day {order}")


def test_an_etag_read_before_a_sync_changed_the_student_is_stale(
    roster: Roster, sis: Sis, days: dict[int, Path]
) -> None:
    assert sis.run(days[1], changes=False).status == "applied"
    admin = roster.district_admin().api
    changed = District(students=STUDENTS, seed=5, day=2)
    index = next(i for i in range(STUDENTS) if not changed.gone(i) and changed.changed_on(i) == 2)
    student = sis.person_id(f"stu-{index}")
    read = admin.get(f"students/{student}")
    assert sis.run(days[2], changes=False).status == "applied"
    stale = admin.patch(
        f"students/{student}", json={"notes": "late"}, headers={"If-Match": read.headers["ETag"]}
    )
    error_of(stale, 412, "version_conflict")
    assert admin.ok("GET", f"students/{student}")["notes"] is None


def test_two_editors_with_one_etag_one_wins_the_other_hears_412(roster: Roster) -> None:
    school = roster.school()
    student = roster.sis_student(school_ids=[school])
    editors = [roster.district_admin().api for _ in range(CLIENTS)]
    for attempt in range(5):
        etag = editors[0].get(f"students/{student}").headers["ETag"]
        barrier = threading.Barrier(len(editors))
        answers: list[int] = []
        threads = [
            threading.Thread(
                target=_edit_with, args=(api, student, f"{attempt}.{n}", etag, barrier, answers)
            )
            for n, api in enumerate(editors)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert sorted(answers) == [200] + [412] * (len(editors) - 1), (attempt, answers)


def _edit_with(
    api: Api, student: str, note: str, etag: str, barrier: threading.Barrier, answers: list[int]
) -> None:
    """One editor's PATCH on the shared ETag (each writes a note of its own: an edit that
    changes nothing is a 200 that does not move the version)."""
    barrier.wait()
    response = api.patch(
        f"students/{student}", json={"notes": f"editor {note}"}, headers={"If-Match": etag}
    )
    answers.append(response.status_code)


# The tables another organization's run samples while it applies, and holds until it commits:
# the work tables it fills as it applies, and the roster's (the staged tables are sampled in a
# short transaction of their own after staging).
_SAMPLED_WHILE_APPLYING = (
    "sync_keys",
    "sync_members",
    "people",
    "person_schools",
    "product_settings",
    "classes",
    "memberships",
    "class_products",
)


def test_a_small_run_does_not_wait_for_another_organizations_run_to_commit(
    roster: Roster, sis: Sis, tmp_path: Path
) -> None:
    """PostgreSQL: `ANALYZE` holds its table's SHARE UPDATE EXCLUSIVE lock to the end of the
    transaction, and a run of 300 students waited for another organization's whole run at
    its first `ANALYZE`. Here another transaction holds that lock on every table a run
    samples while applying, as a district's long run does; this run must finish anyway."""
    if roster.db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's ANALYZE locks; SQLite has one writer, taken in short turns")
    folder = tmp_path / "small"
    write_district(folder, District(students=300, seed=11, day=1))
    finished: list[str] = []

    def run() -> None:
        finished.append(sis.run(folder, changes=False).status)

    with roster.db.engine.connect() as other, other.begin():
        tables = ", ".join(_SAMPLED_WHILE_APPLYING)
        other.exec_driver_sql(f"LOCK TABLE {tables} IN SHARE UPDATE EXCLUSIVE MODE")
        thread = threading.Thread(target=run)
        thread.start()
        thread.join(timeout=60)
        waited = thread.is_alive()
        # The lock is given up here: a run that waited for it ends now.
    thread.join(timeout=120)
    assert not waited, "the run waited for the other transaction's lock"
    assert finished == ["applied"]
    # Its roster is whole, planned with the statistics there were.
    assert len(sis.state()["Person"]) > 300
