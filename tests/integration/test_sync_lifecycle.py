"""The run as a whole: idempotence, counting, one run at a time, all or nothing (R18);
deactivation and return (R19); history of every sync change (R23)."""

from __future__ import annotations

import gc
import socket
import subprocess
import sys
from typing import Any

import pytest
from sqlalchemy import bindparam, text

from rollbook.store.sync_tables import SyncLock, SyncRun
from rollbook.sync import engine as engine_module
from tests.factories import Roster
from tests.integration.helpers import history, new_class, new_student, walk
from tests.integration.syncing import Sis
from tests.oneroster import OneRoster, district

LANGUAGE = "metadata.ill.language_support"


def _rich() -> OneRoster:
    """A district with every kind of data: two schools, admins, settings, products."""
    snap = district(schools=("s1", "s2"), students=12, teachers=3, classes=3)
    snap.administrator("a1", "principal.skinner")
    snap.administrator("a2", "superintendent", district=True)
    snap.student("u13", "thirteen", schools=("s1", "s2"), email="u13@example.org", middleName="Q")
    for n in (1, 2, 3):
        snap.find("users", f"u{n}")[LANGUAGE] = "Spanish"
    snap.find("users", "u4")["metadata.reading.session_minutes"] = "30"
    snap.klass("c4", "Art", school="s2", grades="01,02", subjects="Art", periods="3")
    snap.enroll("c4", "u13")
    snap.enroll("c4", "t2", "teacher")
    snap.product("c1", "ill")
    snap.product("c1", "reading")
    snap.product("c4", "galileo")
    return snap


# R18 ------------------------------------------------------------------------------------------


def test_r18_second_identical_run_reports_zero_changes(roster: Roster, sis: Sis) -> None:
    snap = _rich()
    first = sis.run(snap)
    assert first.status == "applied"
    state = sis.state()
    second = sis.run(snap)
    assert second.status == "applied"
    assert second.entity_counts("students") == {"unchanged": 13}
    assert second.entity_counts("educators") == {"unchanged": 5}
    assert second.entity_counts("classes") == {"unchanged": 4}
    counts = second.counts
    assert counts["enrollments"] == {"added": 0, "removed": 0}
    assert counts["class_products"] == {"added": 0, "removed": 0}
    assert counts["schools"] == {"created": 0, "adopted": 0, "updated": 0}
    assert (counts["product_settings_changed"], counts["manual_edits_overwritten"]) == (0, 0)
    assert second.changes == []
    assert sis.state() == state
    # Also in another byte layout: a zip with the files in a folder.
    third = sis.run(snap, as_zip=True)
    assert third.changes == [] and third.entity_counts("students") == {"unchanged": 13}


_READ_BY_REQUESTS = ("person_schools", "product_settings")


def _row_estimates(roster: Roster) -> dict[str, float]:
    with roster.db.engine.connect() as connection:
        found = connection.execute(
            text("SELECT relname, reltuples FROM pg_class WHERE relname IN :names").bindparams(
                bindparam("names", expanding=True)
            ),
            {"names": list(_READ_BY_REQUESTS)},
        )
        return {name: float(rows) for name, rows in found}


def _pretend_row_estimates(roster: Roster, rows: float) -> None:
    """Set PostgreSQL's belief of how many rows those tables hold (-1: never sampled)."""
    with roster.db.engine.begin() as connection:
        connection.execute(
            text("UPDATE pg_class SET reltuples = :rows WHERE relname IN :names").bindparams(
                bindparam("names", expanding=True)
            ),
            {"rows": rows, "names": list(_READ_BY_REQUESTS)},
        )


def test_a_full_run_leaves_postgresql_knowing_the_tables_requests_read(
    roster: Roster, sis: Sis
) -> None:
    """A full run refreshes PostgreSQL's statistics of person_schools and product_settings,
    which it fills and every page of people reads by their ids: without them (autovacuum off
    or not yet round) PostgreSQL read the whole table for each page of 50 people."""
    if roster.db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's statistics; SQLite plans from its indexes")
    _pretend_row_estimates(roster, -1)  # as if never analyzed
    assert set(_row_estimates(roster).values()) == {-1.0}
    assert sis.run(_rich()).status == "applied"
    assert all(rows > 0 for rows in _row_estimates(roster).values()), _row_estimates(roster)


def test_a_small_run_leaves_the_statistics_of_large_shared_tables_alone(
    roster: Roster, sis: Sis
) -> None:
    """The roster's tables hold every organization: a run that changes a few of their rows
    does not sample a district's million people again (sync/writes.py analyze), while a
    table PostgreSQL knows nothing of is still sampled (the test above)."""
    if roster.db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's statistics; SQLite plans from its indexes")
    large = 5_000_000.0
    _pretend_row_estimates(roster, large)  # as if a large district shared them
    try:
        assert sis.run(_rich()).status == "applied"
        assert set(_row_estimates(roster).values()) == {large}
    finally:
        with roster.db.engine.begin() as connection:
            for name in _READ_BY_REQUESTS:
                connection.execute(text(f"ANALYZE {name}"))
    assert all(rows < large for rows in _row_estimates(roster).values())


def test_a_first_run_leaves_postgresql_knowing_the_memberships_it_wrote(
    roster: Roster, sis: Sis
) -> None:
    """A first run writes all its memberships in one statement, then logs them from the
    table (R23): PostgreSQL must plan that log knowing the rows are there. Planned from a
    table it believed empty, it looked up each member's person and class one by one (3.8 s
    of a first sync of 100,000 students instead of 1.1 s)."""
    if roster.db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's statistics; SQLite plans from its indexes")
    with roster.db.engine.begin() as connection:
        connection.execute(text("UPDATE pg_class SET reltuples = -1 WHERE relname = 'memberships'"))
    run = sis.run(district(students=80, teachers=1, classes=2))
    assert run.status == "applied"
    assert run.counts["enrollments"]["added"] == 162
    with roster.db.engine.connect() as connection:
        believed = connection.scalar(
            text("SELECT reltuples FROM pg_class WHERE relname = 'memberships'")
        )
        held = connection.scalar(text("SELECT count(*) FROM memberships"))
    assert believed == held, (believed, held)


def test_r18_each_entity_is_counted_once(roster: Roster, sis: Sis) -> None:
    school = roster.school(external_id="s1")
    admin = roster.district_admin().api
    new_student(admin, school, username="student1", first_name="Hand", email="hand@example.org")
    snap = _rich()
    first = sis.run(snap)
    for kind, total in (("students", 13), ("educators", 5), ("classes", 4)):
        assert sum(first.counts[kind].values()) == total, kind
    assert first.entity_counts("students") == {"created": 12, "adopted": 1}
    sis.threshold(50)
    day2 = snap.copy()
    day2.remove_user("u5")
    day2.find("users", "u6")["givenName"] = "Changed"
    day2.find("users", "u7")["enabledUser"] = "false"
    second = sis.run(day2)
    assert second.entity_counts("students") == {"updated": 1, "deactivated": 2, "unchanged": 10}
    # Back and changed at once: reactivated, counted once (not also updated).
    day3 = snap.copy()
    day3.find("users", "u5")["givenName"] = "Returned"
    third = sis.run(day3)
    assert third.entity_counts("students") == {"reactivated": 2, "updated": 1, "unchanged": 10}
    assert sis.person("u5").first_name == "Returned"


def test_r18_a_second_run_while_the_lock_is_held_fails_clearly(roster: Roster, sis: Sis) -> None:
    snap = district(students=2)
    sis.run(snap)
    state = sis.state()
    holder_run = sis.queue()
    with sis.db.writing() as session:
        session.add(
            SyncLock(org_id=roster.org.id, run_id=holder_run, holder=engine_module.holder_name())
        )
    try:
        day2 = snap.copy()
        day2.find("users", "u1")["givenName"] = "Changed"
        report = sis.run(day2)
        assert report.status == "failed"
        assert report.run["message"] == (
            f"another sync of this organization is running (run {holder_run}): wait for it"
        )
        assert sis.state() == state
    finally:
        engine_module.release(sis.db, org_id=roster.org.id, run_id=holder_run)
    assert sis.run(day2).status == "applied"


def test_r18_a_lock_held_by_a_dead_process_is_taken_over(roster: Roster, sis: Sis) -> None:
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    pid = int(dead.stdout)
    stale = sis.queue()
    with sis.db.writing() as session:
        run = session.get(SyncRun, stale)
        assert run is not None
        run.status, run.phase = "running", "applying"
        session.add(
            SyncLock(org_id=roster.org.id, run_id=stale, holder=f"{socket.gethostname()}:{pid}")
        )
    report = sis.run(district(students=2))
    assert report.status == "applied"
    left = sis.report(stale)
    assert left.status == "failed"
    assert "stopped" in left.run["message"] and "nothing was applied" in left.run["message"]
    with sis.db.session(write=False) as session:
        assert session.get(SyncLock, roster.org.id) is None


def _lock_of(sis: Sis) -> SyncLock | None:
    with sis.db.session(write=False) as session:
        return session.get(SyncLock, sis.roster.org.id)


def test_r18_a_run_gives_up_its_lock_with_its_outcome(
    roster: Roster, sis: Sis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whoever sees a run's outcome finds the organization free: an approval right after
    the poll, or the next run, never shares the finishing run's lock (which a late release
    would then drop from under it)."""
    snap = district(students=10)
    # A worker thread that has not reached its last line yet: only the outcome's own
    # transaction may give the lock up.
    monkeypatch.setattr(engine_module, "release", lambda db, **kwargs: None)
    assert sis.run(snap).status == "applied"
    assert _lock_of(sis) is None
    held = sis.run(_without_three(snap))
    assert held.status == "needs_approval"
    assert _lock_of(sis) is None
    assert sis.run(snap, dry_run=True).status == "previewed"
    assert _lock_of(sis) is None
    broken = snap.copy()
    broken.omit["users"] = {"username"}
    assert sis.run(broken).status == "rejected"
    assert _lock_of(sis) is None
    assert sis.approve(held.id).status == "applied"
    assert _lock_of(sis) is None
    again = sis.run(snap)
    assert again.status == "applied" and again.count("students", "reactivated") == 3
    assert _lock_of(sis) is None


def _without_three(snap: OneRoster) -> OneRoster:
    day = snap.copy()
    for n in (1, 2, 3):
        day.remove_user(f"u{n}")
    return day


@pytest.mark.parametrize("step", ["apply_products", "apply_memberships", "ClassesStep"])
def test_r18_a_run_that_fails_mid_apply_leaves_roster_and_history_unchanged(
    roster: Roster, sis: Sis, monkeypatch: pytest.MonkeyPatch, step: str
) -> None:
    snap = _rich()
    sis.run(snap)
    admin = roster.district_admin().api
    student_id = sis.person_id("u1")
    before_history = history(admin, f"students/{student_id}")
    state = sis.state()

    def explode(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(engine_module, step, explode)
    day2 = snap.copy()
    day2.remove_user("u12")
    day2.find("users", "u1")["givenName"] = "Changed"
    day2.student("u99", "newcomer")
    day2.enroll("c1", "u99")
    day2.remove_product("c1", "reading")
    report = sis.run(day2)
    assert report.status == "failed"
    assert "disk on fire" in report.run["message"]
    assert report.changes == []
    assert sis.state() == state
    assert history(admin, f"students/{student_id}") == before_history
    monkeypatch.undo()
    assert sis.run(day2).status == "applied"


# R19 ------------------------------------------------------------------------------------------


def test_r19_absent_sis_entities_are_deactivated_never_deleted(roster: Roster, sis: Sis) -> None:
    snap = _rich()
    sis.run(snap)
    sis.threshold(50)
    admin = roster.district_admin().api
    student_id, educator_id, class_id = (
        sis.person_id("u1"),
        sis.person_id("t3"),
        sis.class_id("c4"),
    )
    settings_before = admin.ok("GET", f"students/{student_id}/product-settings")
    day2 = snap.copy()
    day2.remove_user("u1")
    day2.remove_user("t3")
    day2.remove_class("c4")
    report = sis.run(day2)
    assert report.status == "applied"
    assert report.count("students", "deactivated") == 1
    assert report.count("educators", "deactivated") == 1
    assert report.count("classes", "deactivated") == 1
    for path in (f"students/{student_id}", f"educators/{educator_id}", f"classes/{class_id}"):
        entity = admin.ok("GET", path)
        assert (entity["status"], entity["origin"]) == ("inactive", "sis")
        assert history(admin, path)[0]["action"] == "deactivated"
    assert student_id not in [s["id"] for s in walk(admin, "students")]
    assert student_id in [s["id"] for s in walk(admin, "students", status="inactive")]
    assert class_id not in [c["id"] for c in walk(admin, "classes")]
    assert admin.ok("GET", f"students/{student_id}/product-settings") == settings_before
    # They return with their history and settings when the SIS sends them again.
    back = sis.run(snap)
    assert back.count("students", "reactivated") == 1
    assert back.count("educators", "reactivated") == 1
    assert back.count("classes", "reactivated") == 1
    student = admin.ok("GET", f"students/{student_id}")
    assert student["status"] == "active"
    assert admin.ok("GET", f"students/{student_id}/product-settings") == settings_before
    actions = [e["action"] for e in history(admin, f"students/{student_id}")]
    assert actions[:2] == ["reactivated", "deactivated"] and actions[-1] == "created"
    assert set(sis.members("c4")) == {"u13", "t2"}
    assert sis.products("c4") == {"galileo": "sis"}


def test_r19_enabled_user_false_makes_a_person_inactive(roster: Roster, sis: Sis) -> None:
    snap = district(students=10)
    snap.find("users", "u10")["enabledUser"] = "false"
    first = sis.run(snap)
    assert first.entity_counts("students") == {"created": 10}
    assert sis.person("u10").status == "inactive"
    sis.threshold(20)
    day2 = snap.copy()
    day2.find("users", "u1")["enabledUser"] = "false"
    second = sis.run(day2)
    assert second.entity_counts("students") == {"deactivated": 1, "unchanged": 9}
    assert sis.person("u1").status == "inactive"
    change = next(c for c in second.changes_of("u1") if c["field"] == "status")
    assert change["action"] == "deactivated"
    assert (change["old"], change["new"]) == ("active", "inactive")
    third = sis.run(snap)
    assert third.entity_counts("students") == {"reactivated": 1, "unchanged": 9}


def _delta() -> OneRoster:
    return OneRoster(mode="delta")


def test_r19_delta_deactivates_only_what_it_marks_tobedeleted(roster: Roster, sis: Sis) -> None:
    snap = district(students=20, teachers=2, classes=2)
    sis.run(snap)
    delta = _delta()
    delta.student("u1", "student1", given="Stu1", family="Dent1", status="tobedeleted")
    delta.student("u2", "student2", given="Renamed", family="Dent2")
    delta.student("u21", "newcomer")
    delta.enroll("c1", "u21")
    delta.enroll("c1", "u3", status="tobedeleted")
    report = sis.run(delta)
    assert report.status == "applied" and report.run["mode"] == "delta"
    assert report.entity_counts("students") == {"created": 1, "updated": 1, "deactivated": 1}
    assert report.entity_counts("classes") == {}
    assert sis.person("u1").status == "inactive"
    assert sis.person("u2").first_name == "Renamed"
    assert all(sis.person(f"u{n}").status == "active" for n in range(2, 21))
    assert sis.klass("c2").status == "active"
    members = sis.members("c1")
    assert "u21" in members and "u3" not in members and "u4" in members
    assert report.counts["enrollments"] == {"added": 1, "removed": 1}


def test_r19_delta_user_sent_without_its_unchanged_roles_keeps_them(
    roster: Roster, sis: Sis
) -> None:
    snap = district(schools=("s1", "s2"), students=3, teachers=1, classes=1)
    snap.administrator("a1", "boss", district=True)
    sis.run(snap)
    delta = _delta()
    delta.student("u1", "student1", given="Renamed", family="Dent1")
    delta.teacher("t1", "teacher1", given="Tea1", family="Changed")
    delta.administrator("a1", "boss", district=True, given="Big")
    delta.student("u9", "brand.new")
    delta.rows["roles"] = [r for r in delta.rows["roles"] if r["userSourcedId"] == "u9"]
    report = sis.run(delta)
    assert report.status == "applied"
    assert report.entity_counts("students") == {"created": 1, "updated": 1}
    assert report.entity_counts("educators") == {"updated": 2}
    assert report.errors == []
    for ref, field in (("u1", "first_name"), ("t1", "last_name"), ("a1", "first_name")):
        assert set(report.field_changes(ref)) == {field}, ref
    boss = sis.person("a1")
    assert (boss.role, boss.admin_scope) == ("administrator", "district")
    # A new user still needs its roles.
    unknown = _delta()
    unknown.student("u10", "nobody")
    unknown.rows["roles"] = []
    assert sis.run(unknown).codes() == ["no_role"]


def test_r19_delta_tobedeleted_never_reaches_a_manual_entity(roster: Roster, sis: Sis) -> None:
    school = roster.school(external_id="s1")
    admin = roster.district_admin().api
    manual = new_student(admin, school, external_id="u1", username="hand.made")
    before = admin.ok("GET", f"students/{manual['id']}")
    delta = _delta()
    delta.school("s1")
    delta.student("u1", "hand.made", status="tobedeleted")
    report = sis.run(delta)
    assert report.status == "applied"
    assert admin.ok("GET", f"students/{manual['id']}") == before


def test_r19_delta_class_tobedeleted_and_products(roster: Roster, sis: Sis) -> None:
    snap = district(students=2, teachers=1, classes=12)
    snap.product("c1", "ill")
    snap.product("c2", "ill")
    sis.run(snap)
    delta = _delta()
    delta.klass("c2", status="tobedeleted")
    delta.resource("ill")
    delta.product("c1", "ill", status="tobedeleted")
    delta.products_sent = True
    report = sis.run(delta)
    assert report.entity_counts("classes") == {"deactivated": 1}
    assert sis.klass("c2").status == "inactive"
    assert sis.products("c1") == {}
    assert report.counts["class_products"] == {"added": 0, "removed": 1}


def test_r19_delta_keeps_a_product_another_resource_of_it_still_sends(
    roster: Roster, sis: Sis
) -> None:
    snap = district(students=2, teachers=1, classes=12)
    snap.product("c1", "ill")
    sis.run(snap)
    delta = _delta()
    delta.resource("ill")
    delta.product("c1", "ill", status="tobedeleted")
    delta.resource("ILL", sourced_id="res-ill-2024")
    delta.rows["classResources"].append(
        {"sourcedId": "cr-c1-2024", "title": "ILL", "classSourcedId": "c1",
         "resourceSourcedId": "res-ill-2024"}
    )  # fmt: skip
    delta.products_sent = True
    report = sis.run(delta)
    assert report.status == "applied"
    assert set(sis.products("c1")) == {"ill"}
    assert report.counts["class_products"] == {"added": 0, "removed": 0}


# R23 ------------------------------------------------------------------------------------------


def test_r23_every_sync_change_is_in_the_entitys_history(roster: Roster, sis: Sis) -> None:
    school = roster.school(external_id="s1")
    admin = roster.district_admin().api
    new_student(admin, school, username="student1")
    new_class(admin, school, external_id="c2")
    snap = _rich()
    first = sis.run(snap)
    sis.threshold(50)
    day2 = snap.copy()
    day2.remove_user("u2")
    day2.find("users", "u3")[LANGUAGE] = "English"
    day2.find("users", "u4")["email"] = "four@example.org"
    day2.unenroll(class_id="c1", user_id="u5")
    day2.remove_product("c1", "reading")
    second = sis.run(day2)
    paths = {"student": "students", "educator": "educators", "class": "classes"}
    for report in (first, second):
        per_entity: dict[tuple[str, str], int] = {}
        for change in report.changes:
            if change["entity_kind"] in paths:
                key = (change["entity_kind"], change["entity_id"])
                per_entity[key] = per_entity.get(key, 0) + 1
        assert len(per_entity) > 5
        for (kind, entity_id), n in per_entity.items():
            entries = [
                e for e in history(admin, f"{paths[kind]}/{entity_id}") if e["run_id"] == report.id
            ]
            assert len(entries) == n, (kind, entity_id)
            for entry in entries:
                assert entry["actor"]["kind"] == "sync"
                assert entry["actor"]["id"] == report.id
    actions = {c["action"] for c in first.changes + second.changes}
    assert {
        "created",
        "adopted",
        "updated",
        "deactivated",
        "members_added",
        "members_removed",
        "product_added",
        "product_removed",
        "setting_changed",
    } <= actions


# Python's cyclic garbage collector ------------------------------------------------------------


@pytest.mark.parametrize("own_process", [True, False])
def test_a_run_that_is_its_process_only_work_pauses_the_collector(
    roster: Roster, sis: Sis, own_process: bool
) -> None:
    """The command line and the server's sync child run with the collector off (an eighth of
    a first sync's time was its passes), and turn it on again; a server thread never does."""
    seen: list[bool] = []
    sis.engine.own_process = own_process
    path = sis.path_of(_rich())
    run_id = sis.queue(source=str(path))
    sis.engine.execute(run_id, path, progress=lambda _step, _n: seen.append(gc.isenabled()))
    assert sis.report(run_id).status == "applied"
    assert seen, "the run reported no progress"
    assert set(seen) == {not own_process}
    assert gc.isenabled()


def test_a_failed_run_turns_the_collector_on_again(roster: Roster, sis: Sis) -> None:
    sis.engine.own_process = True
    path = sis.tmp_path / "missing.zip"
    run_id = sis.queue(source=str(path))
    sis.engine.execute(run_id, path)
    assert sis.report(run_id).status in ("failed", "rejected")
    assert gc.isenabled()
