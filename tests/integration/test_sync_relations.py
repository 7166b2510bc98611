"""Class products (R14, every row of its table) and memberships (R15) under the sync."""

from __future__ import annotations

import contextlib
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import Connection, func, update

from rollbook.store.db import Database
from rollbook.store.models import utcnow
from rollbook.store.sync_tables import StageEnrollment
from rollbook.sync import relations
from tests.factories import Api, Roster
from tests.integration.helpers import error_of, history, new_class, new_student, walk
from tests.integration.syncing import Report, Sis
from tests.oneroster import OneRoster, district


def _snap() -> OneRoster:
    snap = district(students=3, teachers=2, classes=2)
    snap.product("c1", "ill")
    return snap


def _teacher(roster: Roster, sis: Sis) -> Api:
    return roster.teacher([sis.school_id("s1")]).api


def _links(api: Api, class_id: str) -> dict[str, tuple[str, bool]]:
    items = api.ok("GET", f"classes/{class_id}/products")["items"]
    return {p["code"]: (p["source"], p["sis_sends"]) for p in items}


# R14 ------------------------------------------------------------------------------------------


def test_r14_sent_product_not_associated_is_added_with_source_sis(roster: Roster, sis: Sis) -> None:
    report = sis.run(_snap())
    assert report.counts["class_products"] == {"added": 1, "removed": 0}
    assert _links(_teacher(roster, sis), sis.class_id("c1")) == {"ill": ("sis", True)}
    added = [c for c in report.changes if c["action"] == "product_added"]
    assert [(c["sourced_id"], c["new"]) for c in added] == [
        ("c1", {"code": "ill", "source": "sis"})
    ]


def test_r14_two_resources_of_one_product_for_one_class_link_it_once(
    roster: Roster, sis: Sis
) -> None:
    """A SIS may send a resource per edition of one product, and a class may name several."""
    snap = _snap()
    snap.resource("ILL", sourced_id="res-ill-2024")
    snap.rows["classResources"].append(
        {"sourcedId": "cr-c1-2024", "title": "ILL", "classSourcedId": "c1",
         "resourceSourcedId": "res-ill-2024"}
    )  # fmt: skip
    report = sis.run(snap)
    assert report.run["status"] == "applied", report.run
    assert report.counts["class_products"] == {"added": 1, "removed": 0}
    assert _links(_teacher(roster, sis), sis.class_id("c1")) == {"ill": ("sis", True)}
    assert sis.run(snap).counts["class_products"] == {"added": 0, "removed": 0}


def test_r14_sis_product_removed_by_hand_comes_back(roster: Roster, sis: Sis) -> None:
    snap = _snap()
    sis.run(snap)
    api = _teacher(roster, sis)
    class_id = sis.class_id("c1")
    api.ok("DELETE", f"classes/{class_id}/products/ill", 204)
    report = sis.run(snap)
    assert report.counts["class_products"] == {"added": 1, "removed": 0}
    assert _links(api, class_id) == {"ill": ("sis", True)}
    actions = [(e["action"], e["actor"]["kind"]) for e in history(api, f"classes/{class_id}")]
    assert actions[:2] == [("product_added", "sync"), ("product_removed", "educator")]


def test_r14_product_added_by_hand_that_the_sis_later_sends_becomes_the_sis(
    roster: Roster, sis: Sis
) -> None:
    snap = _snap()
    sis.run(snap)
    api = _teacher(roster, sis)
    class_id = sis.class_id("c1")
    api.ok("PUT", f"classes/{class_id}/products/galileo")
    assert _links(api, class_id)["galileo"] == ("manual", False)
    day2 = snap.copy()
    day2.product("c1", "galileo")
    report = sis.run(day2)
    assert report.counts["class_products"] == {"added": 0, "removed": 0}
    assert _links(api, class_id) == {"ill": ("sis", True), "galileo": ("sis", True)}
    # From now on it is the SIS's: no longer sent, it goes.
    report = sis.run(snap)
    assert report.counts["class_products"] == {"added": 0, "removed": 1}
    assert _links(api, class_id) == {"ill": ("sis", True)}


def test_r14_sis_product_sent_again_changes_nothing(roster: Roster, sis: Sis) -> None:
    snap = _snap()
    sis.run(snap)
    report = sis.run(snap)
    assert report.counts["class_products"] == {"added": 0, "removed": 0}
    assert report.changes == []


def test_r14_sis_product_no_longer_sent_is_removed(roster: Roster, sis: Sis) -> None:
    snap = _snap()
    sis.run(snap)
    day2 = snap.copy()
    day2.remove_product("c1", "ill")
    day2.products_sent = True
    report = sis.run(day2)
    assert report.counts["class_products"] == {"added": 0, "removed": 1}
    removed = [c for c in report.changes if c["action"] == "product_removed"]
    assert [(c["sourced_id"], c["old"]) for c in removed] == [
        ("c1", {"code": "ill", "source": "sis"})
    ]
    assert sis.products("c1") == {}


def test_r14_product_added_by_hand_and_not_sent_is_kept(roster: Roster, sis: Sis) -> None:
    snap = _snap()
    sis.run(snap)
    api = _teacher(roster, sis)
    class_id = sis.class_id("c1")
    api.ok("PUT", f"classes/{class_id}/products/science")
    for _ in range(2):
        report = sis.run(snap)
        assert report.counts["class_products"] == {"added": 0, "removed": 0}
        assert _links(api, class_id) == {"ill": ("sis", True), "science": ("manual", False)}


def test_r14_product_not_sent_and_removed_by_hand_is_not_added_back(
    roster: Roster, sis: Sis
) -> None:
    snap = _snap()
    sis.run(snap)
    api = _teacher(roster, sis)
    class_id = sis.class_id("c2")
    api.ok("PUT", f"classes/{class_id}/products/science")
    api.ok("DELETE", f"classes/{class_id}/products/science", 204)
    sis.run(snap)
    assert _links(api, class_id) == {}


def test_r14_products_of_manual_classes_are_left_alone(roster: Roster, sis: Sis) -> None:
    snap = _snap()
    sis.run(snap)
    api = _teacher(roster, sis)
    group = new_class(api, sis.school_id("s1"), kind="group")["id"]
    api.ok("PUT", f"classes/{group}/products/ill")
    sis.run(snap)
    assert _links(api, group) == {"ill": ("manual", False)}


def test_r14_resources_of_other_vendors_are_a_warning(roster: Roster, sis: Sis) -> None:
    snap = _snap()
    snap.product("c2", "chess-club")
    report = sis.run(snap)
    assert report.status == "applied"
    assert [(w["file"], w["column"], w["code"]) for w in report.warnings] == [
        ("resources.csv", "vendorResourceId", "unknown_product")
    ]
    assert sis.products("c2") == {}
    assert sis.products("c1") == {"ill": "sis"}


# R15 ------------------------------------------------------------------------------------------


def test_r15_sis_class_members_are_exactly_what_the_sis_sends(roster: Roster, sis: Sis) -> None:
    snap = _snap()
    report = sis.run(snap)
    assert sis.members("c1") == {"u1": "sis", "u2": "sis", "u3": "sis", "t1": "sis"}
    assert report.counts["enrollments"] == {"added": 8, "removed": 0}
    # R23: the first run's members are logged as added, by class and field, like any run's.
    first = [
        (c["field"], c["new"])
        for c in report.changes
        if c["sourced_id"] == "c1" and c["action"] == "members_added"
    ]
    assert sorted((f, sorted(m["sourced_id"] for m in new)) for f, new in first) == [
        ("educators", ["t1"]),
        ("students", ["u1", "u2", "u3"]),
    ]
    day2 = snap.copy()
    day2.unenroll(class_id="c1", user_id="u1")
    day2.enroll("c1", "t2", "aide")
    report = sis.run(day2)
    assert report.counts["enrollments"] == {"added": 1, "removed": 1}
    assert sis.members("c1") == {"u2": "sis", "u3": "sis", "t1": "sis", "t2": "sis"}
    api = _teacher(roster, sis)
    class_id = sis.class_id("c1")
    assert {e["external_id"] for e in walk(api, f"classes/{class_id}/educators")} == {"t1", "t2"}
    changes = {c["action"]: c for c in report.changes if c["sourced_id"] == "c1"}
    assert [m["sourced_id"] for m in changes["members_removed"]["old"]] == ["u1"]
    assert changes["members_removed"]["field"] == "students"
    assert [m["sourced_id"] for m in changes["members_added"]["new"]] == ["t2"]
    assert changes["members_added"]["field"] == "educators"


def test_r15_enrollment_roles_count_whatever_their_case(roster: Roster, sis: Sis) -> None:
    snap = district(students=2, teachers=2, classes=1)
    snap.unenroll(class_id="c1")
    snap.enroll("c1", "u1", "Student")
    snap.enroll("c1", "u2", "STUDENT")
    snap.enroll("c1", "t1", "Teacher")
    snap.enroll("c1", "t2", "aIDE")
    assert sis.run(snap).status == "applied"
    assert sis.members("c1") == {"u1": "sis", "u2": "sis", "t1": "sis", "t2": "sis"}


def test_r15_a_run_staged_with_roles_as_sent_applies_its_members_when_approved(
    db: Database, roster: Roster, sis: Sis
) -> None:
    """Enrollment roles are staged lower-cased; a run held for approval may have been staged
    before that, with the roles as the SIS sent them, and be approved after an upgrade."""
    snap = district(students=3, teachers=1, classes=1)
    assert sis.run(snap).status == "applied"
    day2 = snap.copy()
    day2.remove_user("u1")
    day2.remove_user("u2")
    day2.student("u9", "student9", given="Nue", family="Vo")
    day2.enroll("c1", "u9")
    held = sis.run(day2)
    assert held.status == "needs_approval"
    with db.writing() as session:
        changed = session.execute(
            update(StageEnrollment)
            .where(StageEnrollment.run_id == int(held.id))
            .values(role=func.upper(StageEnrollment.role))
        )
        assert changed.rowcount == 3  # type: ignore[attr-defined]
    assert sis.approve(held.id).status == "applied"
    assert sis.members("c1") == {"u3": "sis", "u9": "sis", "t1": "sis"}


def test_r15_sis_class_members_cannot_be_changed_by_hand(roster: Roster, sis: Sis) -> None:
    sis.run(_snap())
    api = _teacher(roster, sis)
    class_id = sis.class_id("c1")
    extra = new_student(api, sis.school_id("s1"))
    error_of(api.put(f"classes/{class_id}/students/{extra['id']}"), 409, "class_synced")
    error_of(api.delete(f"classes/{class_id}/students/{sis.person_id('u1')}"), 409, "class_synced")


def test_r15_manual_memberships_of_sis_people_are_kept(roster: Roster, sis: Sis) -> None:
    snap = _snap()
    sis.run(snap)
    api = _teacher(roster, sis)
    group = new_class(api, sis.school_id("s1"), kind="group")["id"]
    for ref in ("u1", "u2"):
        api.ok("PUT", f"classes/{group}/students/{sis.person_id(ref)}")
    api.ok("PUT", f"classes/{group}/educators/{sis.person_id('t2')}")
    day2 = snap.copy()
    day2.unenroll(user_id="u1")
    report = sis.run(day2)
    assert report.counts["enrollments"]["removed"] == 2
    members = {s["external_id"] for s in walk(api, f"classes/{group}/students")}
    assert members == {"u1", "u2"}
    assert {e["external_id"] for e in walk(api, f"classes/{group}/educators")} == {"t2"}
    assert all(c["entity_id"] != group for c in report.changes)


def test_r15_a_person_classes_tab_shows_sis_classes_unselectable(roster: Roster, sis: Sis) -> None:
    sis.run(_snap())
    api = _teacher(roster, sis)
    group = new_class(api, sis.school_id("s1"), name="Tutoring", kind="group")["id"]
    classes = {c["id"]: c for c in walk(api, f"students/{sis.person_id('u1')}/classes")}
    assert classes[sis.class_id("c1")]["member"] is True
    assert classes[sis.class_id("c1")]["selectable"] is False
    assert (classes[group]["member"], classes[group]["selectable"]) == (False, True)


def test_r15_enrollments_of_a_deactivated_class_are_not_applied(roster: Roster, sis: Sis) -> None:
    snap = _snap()
    sis.run(snap)
    sis.threshold(50)
    day2 = snap.copy()
    day2.find("classes", "c2")["status"] = "tobedeleted"
    report = sis.run(day2)
    assert report.entity_counts("classes") == {"deactivated": 1, "unchanged": 1}
    assert sis.klass("c2").status == "inactive"
    assert report.counts["enrollments"]["added"] == 0


def test_r15_r23_members_of_more_classes_than_one_query_takes_are_all_logged(
    roster: Roster, sis: Sis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A later run reads, logs and writes its added memberships a range of classes at a
    time, and looks the log's class ids and people up a part at a time (PostgreSQL takes
    65,535 parameters in a statement): here ranges of 2 classes and parts of 2, across 5
    classes that a second run fills."""
    monkeypatch.setattr(relations, "IN_LIST", 2)
    monkeypatch.setattr(relations, "CLASS_BATCH", 2)
    snap = district(students=3, teachers=1, classes=5)
    empty = snap.copy()
    empty.unenroll()
    sis.run(empty)
    report = sis.run(snap)
    for n in range(1, 6):
        added = {
            c["field"]: {m["sourced_id"]: m["name"] for m in c["new"]}
            for c in report.changes_of(f"c{n}")
            if c["action"] == "members_added"
        }
        assert added == {
            "students": {f"u{s}": f"Stu{s} Dent{s}" for s in range(1, 4)},
            "educators": {"t1": "Tea1 Cher1"},
        }, n
        assert sis.members(f"c{n}") == {"u1": "sis", "u2": "sis", "u3": "sis", "t1": "sis"}
    assert report.counts["enrollments"] == {"added": 20, "removed": 0}


def _member_lists(report: Report, sourced_id: str) -> dict[str, list[dict[str, Any]]]:
    return {
        c["field"]: c["new"]
        for c in report.changes_of(sourced_id)
        if c["action"] == "members_added"
    }


def test_r23_a_first_run_logs_its_members_as_any_run_does(sis: Sis) -> None:
    """A first run's membership log is built by the database (sync/relations.py), a later
    run's in Python: the same entries, members in the order of their ids, names with
    quotes, backslashes and letters beyond ASCII kept as they are."""
    snap = district(students=4, teachers=1, classes=2)
    snap.find("users", "u2")["givenName"] = 'Zoë "Z"'
    snap.find("users", "u3")["familyName"] = "O'Brien\\Ñ"
    first_run = snap.copy()
    first_run.unenroll(class_id="c2")
    first = sis.run(first_run)
    later = sis.run(snap)

    def expected(refs: list[str]) -> list[dict[str, Any]]:
        people = sorted((sis.person(r) for r in refs), key=lambda p: p.id)
        return [
            {"id": str(p.id), "sourced_id": p.external_id, "name": f"{p.first_name} {p.last_name}"}
            for p in people
        ]

    students = expected(["u4", "u3", "u2", "u1"])
    assert {'Zoë "Z" Dent2', "Stu3 O'Brien\\Ñ"} <= {m["name"] for m in students}
    assert _member_lists(first, "c1") == {"students": students, "educators": expected(["t1"])}
    assert _member_lists(later, "c2") == {"students": students, "educators": expected(["t1"])}
    assert first.counts["enrollments"] == {"added": 5, "removed": 0}


def _sqlite_plan(roster: Roster, query: Any, connection: Connection | None = None) -> str:
    """SQLite's plan of a statement, its steps joined by " | "; on `connection` where the
    statement reads that connection's temporary tables, else on a connection of its own."""
    statement = query.compile(roster.db.engine, compile_kwargs={"render_postcompile": True})
    with contextlib.ExitStack() as stack:
        if connection is None:
            connection = stack.enter_context(roster.db.engine.connect())
        plan = connection.exec_driver_sql(
            f"EXPLAIN QUERY PLAN {statement}",
            tuple(statement.params[name] for name in statement.positiontup or ()),
        ).all()
    return " | ".join(str(row[-1]) for row in plan)


def test_r15_hand_made_memberships_the_sis_sends_are_found_without_reading_every_membership(
    roster: Roster,
) -> None:
    """The statement that makes them the SIS's reads the partial index of hand-made
    memberships (migration 0009), not the millions of the SIS's own, on SQLite, whose plan
    the schema decides (PostgreSQL plans from its statistics)."""
    if roster.db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's plan; PostgreSQL plans from its statistics")
    details = _sqlite_plan(roster, relations.claim_members(1))
    assert "ix_memberships_manual" in details, details


def test_r23_a_first_runs_member_lists_follow_the_memberships_key_without_a_sort(
    roster: Roster,
) -> None:
    """On SQLite the lists are joined in the order their rows reach the grouping
    (store/sqljson.py `json_lists`): the memberships' primary key, read in (class, person)
    order, with no sort in between that could reorder a class's members."""
    if roster.db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's plan; PostgreSQL orders inside the aggregate")
    with roster.db.session(write=False) as session:
        query = relations.first_members_log(session, org_id=1, run_id=1, now=utcnow())
    details = _sqlite_plan(roster, query)
    assert "sqlite_autoindex_memberships_1" in details, details
    assert "FOR GROUP BY" not in details, details


def test_r15_an_enrollment_finds_its_class_and_person_in_one_search_each(roster: Roster) -> None:
    """On SQLite the run's keys are looked up by SIS id in tables of their own
    (`relations.enrollment_keys`), one b-tree search each: not `sync_keys`' index and then
    its row, nor the class's and the person's rows (5.1 million enrollments of a
    1,000,000-student district took 25.5 s that way, 8.8 s this way). The tables are
    dropped once the memberships are written."""
    if roster.db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's plan; PostgreSQL joins the keys by hashes")
    with roster.db.session(write=True) as session:
        ctx: Any = SimpleNamespace(session=session, run_id=1)
        with relations.enrollment_keys(ctx) as keys:
            query = relations.sent_memberships(ctx, keys)
            details = _sqlite_plan(roster, query, session.connection())
        left = session.connection().exec_driver_sql(
            "SELECT name FROM sqlite_temp_master WHERE type = 'table' AND name LIKE 'run_%'"
        )
        left_over = left.all()
    assert "SEARCH run_class_keys USING PRIMARY KEY (sourced_id=?)" in details, details
    assert "SEARCH run_person_keys USING PRIMARY KEY (sourced_id=?)" in details, details
    for other in ("sync_keys", "people", "classes"):
        assert f" {other} " not in details, details
    assert left_over == []
