"""Matching (R6), conflicts (R9, R10), creation (R8) and manual entities left alone (R5),
through the real sync on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from rollbook.sync import people
from tests.factories import Api, Roster
from tests.integration.helpers import history, new_class, new_educator, new_student, walk
from tests.integration.syncing import Report, Sis, canonical
from tests.oneroster import OneRoster, district


def _admin(roster: Roster) -> Api:
    return roster.district_admin().api


def _base(**extra: Any) -> OneRoster:
    snap = OneRoster(**extra)
    snap.school("s1")
    return snap


# R6: matching keys --------------------------------------------------------------------------


def test_r6_username_matches_without_case_and_surrounding_spaces(roster: Roster, sis: Sis) -> None:
    school = roster.school(external_id="s1")
    admin = _admin(roster)
    manual = new_student(admin, school, username="Timothy.Baker")
    snap = _base()
    snap.student("u1", "  TIMOTHY.baker  ", given="Tim", family="Baker")
    report = sis.run(snap)
    assert report.status == "applied"
    assert report.entity_counts("students") == {"adopted": 1}
    after = admin.ok("GET", f"students/{manual['id']}")
    assert (after["origin"], after["external_id"], after["username"]) == (
        "sis",
        "u1",
        "TIMOTHY.baker",
    )
    assert len(walk(admin, "students", status="all")) == 1


def test_r6_external_id_matches_a_person_of_another_username(roster: Roster, sis: Sis) -> None:
    school = roster.school(external_id="s1")
    admin = _admin(roster)
    manual = new_student(admin, school, username="old.name", external_id="u1")
    snap = _base()
    snap.student("u1", "new.name")
    report = sis.run(snap)
    assert report.entity_counts("students") == {"adopted": 1}
    after = admin.ok("GET", f"students/{manual['id']}")
    assert (after["origin"], after["username"]) == ("sis", "new.name")


def test_r6_alt_external_id_matches_the_identifier_column(roster: Roster, sis: Sis) -> None:
    school = roster.school(external_id="s1")
    admin = _admin(roster)
    manual = new_educator(admin, school, username="grace", alt_external_id="EMP-7")
    snap = _base()
    snap.teacher("t1", "g.hopper", identifier="EMP-7", given="Grace", family="Hopper")
    report = sis.run(snap)
    assert report.entity_counts("educators") == {"adopted": 1}
    after = admin.ok("GET", f"educators/{manual['id']}")
    assert (after["origin"], after["external_id"], after["username"]) == ("sis", "t1", "g.hopper")


def test_r6_classes_match_on_sourced_id_and_on_class_code(roster: Roster, sis: Sis) -> None:
    school = roster.school(external_id="s1")
    admin = _admin(roster)
    by_id = new_class(admin, school, name="Room 1", external_id="c1")
    by_code = new_class(admin, school, name="Room 2", kind="group", alt_external_id="M-2")
    snap = _base()
    snap.klass("c1", "Math 1", code="M-1")
    snap.klass("c2", "Math 2", code="M-2")
    report = sis.run(snap)
    assert report.entity_counts("classes") == {"adopted": 2}
    first = admin.ok("GET", f"classes/{by_id['id']}")
    second = admin.ok("GET", f"classes/{by_code['id']}")
    assert (first["origin"], first["name"], first["alt_external_id"]) == ("sis", "Math 1", "M-1")
    assert (second["origin"], second["name"], second["external_id"], second["kind"]) == (
        "sis",
        "Math 2",
        "c2",
        "class",
    )


def test_r6_classes_have_no_username_so_a_class_name_never_matches(
    roster: Roster, sis: Sis
) -> None:
    school = roster.school(external_id="s1")
    admin = _admin(roster)
    manual = new_class(admin, school, name="Math 1")
    snap = _base()
    snap.klass("c1", "Math 1")
    report = sis.run(snap)
    assert report.entity_counts("classes") == {"created": 1}
    assert admin.ok("GET", f"classes/{manual['id']}")["origin"] == "manual"


def test_r6_blank_keys_never_match_and_never_conflict(roster: Roster, sis: Sis) -> None:
    school = roster.school(external_id="s1")
    admin = _admin(roster)
    manual_people = [new_student(admin, school) for _ in range(2)]
    manual_classes = [new_class(admin, school) for _ in range(2)]
    before = [admin.ok("GET", f"students/{p['id']}") for p in manual_people]
    snap = _base()
    snap.student("u1", "first", identifier="", email="")
    snap.student("u2", "second", identifier="   ")
    snap.klass("c1", code="")
    snap.klass("c2", code="")
    report = sis.run(snap)
    assert report.conflicts == []
    assert report.entity_counts("students") == {"created": 2}
    assert report.entity_counts("classes") == {"created": 2}
    assert [admin.ok("GET", f"students/{p['id']}") for p in manual_people] == before
    for klass in manual_classes:
        assert admin.ok("GET", f"classes/{klass['id']}")["origin"] == "manual"


def test_r6_inactive_manual_person_matches_and_is_adopted_active(roster: Roster, sis: Sis) -> None:
    school = roster.school(external_id="s1")
    admin = _admin(roster)
    manual = new_student(admin, school, username="kim")
    admin.ok("DELETE", f"students/{manual['id']}", 204)
    snap = _base()
    snap.student("u1", "Kim")
    report = sis.run(snap)
    assert report.entity_counts("students") == {"adopted": 1}
    after = admin.ok("GET", f"students/{manual['id']}")
    assert (after["origin"], after["status"]) == ("sis", "active")


def test_r6_r19_inactive_sis_entities_match_and_are_reactivated(roster: Roster, sis: Sis) -> None:
    snap = district(students=10, teachers=1, classes=1)
    sis.run(snap)
    gone = snap.copy()
    gone.remove_user("u1")
    report = sis.run(gone)
    assert report.entity_counts("students") == {"deactivated": 1, "unchanged": 9}
    back = sis.run(snap)
    assert back.entity_counts("students") == {"reactivated": 1, "unchanged": 9}
    assert sis.person("u1").status == "active"
    assert sis.members("c1")["u1"] == "sis"


def test_r6_schools_match_by_external_id_and_are_adopted(roster: Roster, sis: Sis) -> None:
    school = roster.school(name="Lincoln (typed by hand)", external_id="s1")
    other = roster.school(name="Summer school")
    snap = _base()
    snap.find("orgs", "s1")["name"] = "Lincoln Elementary"
    snap.student("u1", "ana")
    report = sis.run(snap)
    assert report.counts["schools"] == {"created": 0, "adopted": 1, "updated": 1}
    admin = _admin(roster)
    schools = {s["id"]: s for s in admin.ok("GET", "schools")["items"]}
    assert schools[school]["name"] == "Lincoln Elementary"
    assert schools[other]["name"] == "Summer school"
    student = admin.ok("GET", f"students/{sis.person_id('u1')}")
    assert student["school_ids"] == [school]


def test_r6_the_district_row_is_the_organization_not_a_school(roster: Roster, sis: Sis) -> None:
    snap = _base()
    snap.administrator("a1", "super", district=True)
    report = sis.run(snap)
    assert report.counts["schools"]["created"] == 1
    admin = _admin(roster)
    assert [s["external_id"] for s in admin.ok("GET", "schools")["items"]] == ["s1"]
    person = admin.ok("GET", f"educators/{sis.person_id('a1')}")
    assert (person["role"], person["admin_scope"], person["school_ids"]) == (
        "administrator",
        "district",
        [],
    )


# R8: creation; R5: manual entities left alone ----------------------------------------------


def test_r8_unmatched_records_create_sis_entities(roster: Roster, sis: Sis) -> None:
    snap = district(students=2, teachers=1, classes=1)
    snap.find("users", "u1").update(
        middleName="Jo", email="stu1@example.org", identifier="A-1", preferredGivenName="Stu"
    )
    report = sis.run(snap)
    assert report.entity_counts("students") == {"created": 2}
    assert report.entity_counts("educators") == {"created": 1}
    assert report.entity_counts("classes") == {"created": 1}
    assert report.counts["enrollments"] == {"added": 3, "removed": 0}
    admin = _admin(roster)
    student = admin.ok("GET", f"students/{sis.person_id('u1')}")
    assert {k: student[k] for k in ("origin", "status", "username", "external_id")} == {
        "origin": "sis",
        "status": "active",
        "username": "student1",
        "external_id": "u1",
    }
    assert (student["middle_name"], student["email"], student["alt_external_id"]) == (
        "Jo",
        "stu1@example.org",
        "A-1",
    )
    assert (student["preferred_first_name"], student["grade"]) == ("Stu", "03")
    assert student["school_ids"] == [sis.school_id("s1")]
    assert student["fields"]["first_name"] == {
        "class": "locked",
        "editable": False,
        "source": "sis",
        "sis_sends": True,
    }
    klass = admin.ok("GET", f"classes/{sis.class_id('c1')}")
    assert (klass["origin"], klass["kind"], klass["name"], klass["alt_external_id"]) == (
        "sis",
        "class",
        "Class 1",
        "CODE-c1",
    )


def _manual_world(roster: Roster, api: Api) -> dict[str, str]:
    """Manual entities of every kind, with memberships, products, settings and notes."""
    school = roster.school(external_id="s1")
    student = new_student(api, school, external_id="X-1", notes="tutoring", grade="04")["id"]
    educator = new_educator(api, school, alt_external_id="EMP-X")["id"]
    group = new_class(api, school, kind="group", external_id="G-1")["id"]
    api.ok("PUT", f"classes/{group}/students/{student}")
    api.ok("PUT", f"classes/{group}/educators/{educator}")
    api.ok("PUT", f"classes/{group}/products/ill")
    api.ok(
        "PATCH",
        f"students/{student}/product-settings",
        json={"ill": {"language_support": "Spanish"}},
    )
    return {"student": student, "educator": educator, "group": group}


def _representation(api: Api, ids: dict[str, str]) -> dict[str, Any]:
    student, educator, group = ids["student"], ids["educator"], ids["group"]
    return {
        "student": api.ok("GET", f"students/{student}"),
        "student.classes": walk(api, f"students/{student}/classes"),
        "student.settings": api.ok("GET", f"students/{student}/product-settings"),
        "student.history": history(api, f"students/{student}"),
        "educator": api.ok("GET", f"educators/{educator}"),
        "educator.history": history(api, f"educators/{educator}"),
        "group": api.ok("GET", f"classes/{group}"),
        "group.students": walk(api, f"classes/{group}/students"),
        "group.educators": walk(api, f"classes/{group}/educators"),
        "group.products": api.ok("GET", f"classes/{group}/products"),
        "group.history": history(api, f"classes/{group}"),
    }


def test_r5_r8_manual_entities_nothing_matches_stay_exactly_as_they_are(
    roster: Roster, sis: Sis
) -> None:
    admin = _admin(roster)
    ids = _manual_world(roster, admin)
    before = _representation(admin, ids)
    snap = district(students=3, teachers=1, classes=2)
    snap.product("c1", "ill")
    for _ in range(2):
        report = sis.run(snap)
        assert report.status == "applied"
        assert report.count("students", "deactivated") == 0
        assert _representation(admin, ids) == before
    smaller = snap.copy()
    smaller.remove_user("u3")
    report = sis.run(smaller)
    assert report.entity_counts("students") == {"deactivated": 1, "unchanged": 2}
    assert _representation(admin, ids) == before


# R9, R10: conflicts ---------------------------------------------------------------------------


def test_r9_keys_pointing_at_two_existing_entities_conflict(roster: Roster, sis: Sis) -> None:
    school = roster.school(external_id="s1")
    admin = _admin(roster)
    by_name = new_student(admin, school, username="amy")
    by_id = new_student(admin, school, username="someone", external_id="u1")
    before = [admin.ok("GET", f"students/{p['id']}") for p in (by_name, by_id)]
    snap = _base()
    snap.student("u1", "Amy")
    snap.student("u2", "bob")
    report = sis.run(snap)
    assert report.status == "applied"
    (conflict,) = report.conflicts
    assert conflict["sourced_id"] == "u1"
    assert conflict["kind"] == "student"
    assert sorted(conflict["candidates"]) == sorted([by_name["id"], by_id["id"]])
    assert conflict["key"] == "username" and conflict["value"] == "Amy"
    assert "users.csv line 2" in conflict["message"]
    assert report.counts["conflicts"] == 1
    assert report.entity_counts("students") == {"created": 1}
    assert [admin.ok("GET", f"students/{p['id']}") for p in (by_name, by_id)] == before


def test_r9_two_records_claiming_one_username_are_both_held_back(roster: Roster, sis: Sis) -> None:
    snap = district(students=3, teachers=1, classes=1)
    sis.run(snap)
    first, second = sis.person("u1"), sis.person("u2")
    day2 = snap.copy()
    day2.find("users", "u1")["username"] = "twin"
    day2.find("users", "u2")["username"] = " TWIN "
    day2.find("users", "u3")["givenName"] = "Renamed"
    report = sis.run(day2)
    assert sorted(c["sourced_id"] for c in report.conflicts) == ["u1", "u2"]
    assert {c["key"] for c in report.conflicts} == {"username"}
    for conflict in report.conflicts:
        assert "same username" in conflict["message"]
    assert report.entity_counts("students") == {"updated": 1}
    assert sis.person("u3").first_name == "Renamed"
    for kept in (first, second):
        now = sis.person(kept.external_id or "")
        assert (now.status, now.username, now.version) == ("active", kept.username, kept.version)
    assert set(sis.members("c1")) == {"u1", "u2", "u3", "t1"}


def test_r9_two_records_claiming_one_identifier_are_both_held_back(
    roster: Roster, sis: Sis
) -> None:
    snap = _base()
    snap.student("u1", "one", identifier="ID-1")
    snap.student("u2", "two", identifier="ID-1")
    snap.student("u3", "three", identifier="ID-3")
    report = sis.run(snap)
    assert sorted(c["sourced_id"] for c in report.conflicts) == ["u1", "u2"]
    assert {(c["key"], c["value"]) for c in report.conflicts} == {("alt_external_id", "ID-1")}
    assert report.entity_counts("students") == {"created": 1}


def test_r9_two_classes_claiming_one_class_code_are_both_held_back(
    roster: Roster, sis: Sis
) -> None:
    snap = _base()
    snap.klass("c1", code="SAME")
    snap.klass("c2", code="SAME")
    snap.klass("c3", code="OTHER")
    report = sis.run(snap)
    assert sorted(c["sourced_id"] for c in report.conflicts) == ["c1", "c2"]
    assert {c["kind"] for c in report.conflicts} == {"class"}
    assert report.entity_counts("classes") == {"created": 1}


def test_r10_student_record_with_an_educators_username_is_a_conflict(
    roster: Roster, sis: Sis
) -> None:
    snap = district(students=1, teachers=1, classes=1)
    sis.run(snap)
    teacher = sis.person("t1")
    day2 = snap.copy()
    day2.remove_user("t1")
    day2.student("u9", "Teacher1")
    report = sis.run(day2)
    (conflict,) = report.conflicts
    assert (conflict["sourced_id"], conflict["kind"], conflict["key"]) == (
        "u9",
        "student",
        "username",
    )
    assert conflict["candidates"] == [str(teacher.id)]
    assert "educator" in conflict["message"]
    # The educator whose record was held back is not deactivated by this run (R9).
    assert sis.person("t1").status == "active"
    assert report.count("educators", "deactivated") == 0
    assert report.count("students", "created") == 0


def test_r10_educator_record_with_a_manual_students_username_is_a_conflict(
    roster: Roster, sis: Sis
) -> None:
    school = roster.school(external_id="s1")
    admin = _admin(roster)
    student = new_student(admin, school, username="pat")
    before = admin.ok("GET", f"students/{student['id']}")
    snap = _base()
    snap.teacher("t1", "PAT")
    report = sis.run(snap)
    (conflict,) = report.conflicts
    assert (conflict["kind"], conflict["candidates"]) == ("educator", [student["id"]])
    assert admin.ok("GET", f"students/{student['id']}") == before
    assert report.entity_counts("educators") == {}


def test_r9_a_username_handed_to_another_person_in_one_snapshot_is_not_guessed(
    roster: Roster, sis: Sis
) -> None:
    snap = district(students=3, teachers=1, classes=1)
    sis.run(snap)
    first = sis.person("u1")
    day2 = snap.copy()
    day2.find("users", "u1")["username"] = "student1.old"
    day2.student("u9", "student1", given="New", family="Comer")
    for order in ("as sent", "reversed"):
        if order == "reversed":
            day2.rows["users"].reverse()
        report = sis.run(day2)
        assert report.status == "applied", report.run
        assert sorted(c["sourced_id"] for c in report.conflicts) == ["u1", "u9"]
        assert all(c["candidates"] == [str(first.id)] for c in report.conflicts)
        now = sis.person("u1")
        assert (now.id, now.username, now.status) == (first.id, "student1", "active")
        assert report.entity_counts("students") == {"unchanged": 2}


def test_r9_a_class_code_handed_to_another_class_in_one_snapshot_is_not_guessed(
    roster: Roster, sis: Sis
) -> None:
    snap = district(students=1, classes=2)
    sis.run(snap)
    day2 = snap.copy()
    day2.find("classes", "c1")["classCode"] = "RENAMED"
    day2.klass("c9", code="CODE-c1")
    report = sis.run(day2)
    assert report.status == "applied", report.run
    assert sorted(c["sourced_id"] for c in report.conflicts) == ["c1", "c9"]
    assert sis.klass("c1").alt_external_id == "CODE-c1"
    assert report.entity_counts("classes") == {"unchanged": 1}


def test_r2_r6_entities_of_another_organization_never_match(
    roster: Roster, other_roster: Roster, sis: Sis, tmp_path: Path
) -> None:
    school = other_roster.school(external_id="s1")
    theirs = new_student(other_roster.district_admin().api, school, username="student1")
    Sis(other_roster, tmp_path / "other").run(district(students=2, classes=1))
    report = sis.run(district(students=2, classes=1))
    assert report.conflicts == []
    assert report.entity_counts("students") == {"created": 2}
    assert report.entity_counts("classes") == {"created": 1}
    assert report.counts["schools"]["created"] == 1
    other = other_roster.district_admin().api
    assert other.ok("GET", f"students/{theirs['id']}")["origin"] == "sis"
    assert len(walk(other, "students")) == 2


def test_r10_a_student_the_sis_now_sends_as_a_teacher_is_a_conflict(
    roster: Roster, sis: Sis
) -> None:
    snap = district(students=2, classes=1)
    sis.run(snap)
    student = sis.person("u1")
    day2 = snap.copy()
    for role in day2.rows["roles"]:
        if role["userSourcedId"] == "u1":
            role["role"] = "teacher"
    report = sis.run(day2)
    (conflict,) = report.conflicts
    assert (conflict["kind"], conflict["key"], conflict["candidates"]) == (
        "educator",
        "external_id",
        [str(student.id)],
    )
    assert "belongs to a student, not an educator" in conflict["message"]
    after = sis.person("u1")
    assert (after.kind, after.status, after.version) == ("student", "active", student.version)
    assert set(sis.members("c1")) == {"u1", "u2"}


def test_r9_a_first_sync_looks_nobody_up_and_decides_as_the_full_lookup_does(
    roster: Roster,
    other_roster: Roster,
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An organization without people skips the candidate lookups (sync/people.py): the
    records sharing a key across chunks of the run (1,000 users each) are held back by R9
    exactly as when an unrelated person makes the lookups run."""
    snap = district(students=1200, teachers=2, classes=2)
    snap.find("users", "u1")["username"] = "twin"
    snap.find("users", "u1100")["username"] = " TWIN "
    snap.find("users", "u2")["identifier"] = "ID-SHARED"
    snap.find("users", "u1150")["identifier"] = "ID-SHARED"
    snap.student("u3", "again.u3")  # a sourcedId sent twice (R22 skips one, R9 the other)
    looked_up: list[int] = []
    lookup = people._candidates

    def counted(ctx: Any, records: Any) -> Any:
        looked_up.append(len(records))
        return lookup(ctx, records)

    monkeypatch.setattr(people, "_candidates", counted)
    empty = Sis(roster, tmp_path_factory.mktemp("empty"))
    fast = empty.run(snap)
    assert looked_up == []
    school = other_roster.school(name="Unrelated school")
    admin = other_roster.district_admin()
    new_student(admin.api, school, username="unrelated.person")
    full = Sis(other_roster, tmp_path_factory.mktemp("full")).run(snap)
    assert looked_up, "the organization with a person looked its records up"
    assert sorted(c["sourced_id"] for c in fast.conflicts) == ["u1", "u1100", "u1150", "u2", "u3"]
    assert _decisions(fast) == _decisions(full)
    assert fast.errors == full.errors
    ours = canonical(roster.db, roster.org.id)
    theirs = canonical(other_roster.db, other_roster.org.id)
    unrelated = ("Unrelated school", "unrelated.person", f"'{admin.username}'")
    for table, rows in theirs.items():
        theirs[table] = [r for r in rows if not any(u in repr(r) for u in unrelated)]
    assert ours == theirs


def _decisions(report: Report) -> dict[str, Any]:
    conflicts = sorted(
        (c["sourced_id"], c["key"], c["value"], len(c["candidates"]), c["message"])
        for c in report.conflicts
    )
    return {"counts": report.counts, "conflicts": conflicts}


def _many_chunks_snapshot() -> OneRoster:
    """A first snapshot whose users meet every outcome of the people step: created, not
    imported (a guardian), held for an input error (an unknown school), held by R9 (a
    username and an identifier two records carry, a sourcedId sent twice)."""
    snap = district(students=700, teachers=3, classes=2)
    snap.find("users", "u1")["username"] = "twin"
    snap.find("users", "u650")["username"] = " TWIN "
    snap.find("users", "u2")["identifier"] = "ID-SHARED"
    snap.find("users", "u690")["identifier"] = "ID-SHARED"
    snap.student("u3", "again.u3")
    snap.user("g1", "guardian.g1", "guardian")
    snap.student("u-lost", "lost.student", schools=("nowhere",))
    return snap


class _Counted(people._Apart):
    """The other process's chunks, counted as they reach the run; with `kill_after`, that
    process is killed once that many have been read off its pipe."""

    received = 0
    kill_after: int | None = None

    def __iter__(self) -> Any:
        for prepared in super().__iter__():
            type(self).received += 1
            yield prepared

    def _frames(self) -> Any:
        for number, frame in enumerate(super()._frames(), start=1):
            yield frame
            if number == type(self).kill_after:
                self._process.kill()
                self._process.wait()


@pytest.mark.parametrize("kill_after", [None, 2], ids=["whole", "killed"])
def test_r9_r22_a_first_run_worked_out_in_another_process_decides_as_in_place(
    roster: Roster,
    other_roster: Roster,
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    kill_after: int | None,
) -> None:
    """An organization's first full run of many chunks has its staged users worked out in a
    process of its own (sync/people.py `_Apart`): its counts, conflicts, errors and roster
    are those of the same run worked out in place, also when that process is killed midway
    (the rest is then worked out in place). The run works out some chunks itself meanwhile
    (`HERE_FIRST`, `HERE_EVERY`)."""
    snap = _many_chunks_snapshot()
    monkeypatch.setattr(people, "CHUNK", 100)
    monkeypatch.setattr(people, "APART_CHUNKS", 10**9)
    here = Sis(other_roster, tmp_path_factory.mktemp("here")).run(snap)
    monkeypatch.setattr(people, "APART_CHUNKS", 2)
    # Of the eight chunks the run works out the first and every third: 0, 2 and 5.
    monkeypatch.setattr(people, "HERE_FIRST", 1)
    monkeypatch.setattr(people, "HERE_EVERY", 3)
    monkeypatch.setattr(_Counted, "received", 0)
    monkeypatch.setattr(_Counted, "kill_after", kill_after)
    monkeypatch.setattr(people, "_Apart", _Counted)
    apart = Sis(roster, tmp_path_factory.mktemp("apart")).run(snap)
    in_place = [r for r in caplog.records if "works out its people in place" in r.getMessage()]
    if kill_after is None:
        assert (_Counted.received, in_place) == (5, [])
    else:
        # Chunks already in the pipe when it was killed still arrive whole.
        assert kill_after <= _Counted.received < 5 and len(in_place) == 1
    assert sorted(c["sourced_id"] for c in apart.conflicts) == ["u1", "u2", "u3", "u650", "u690"]
    assert apart.counts["students"]["created"] == here.counts["students"]["created"] > 690
    assert _decisions(apart) == _decisions(here)
    assert apart.errors == here.errors and apart.errors
    assert canonical(roster.db, roster.org.id) == canonical(other_roster.db, other_roster.org.id)
