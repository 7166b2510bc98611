"""Adoption (R7): the seed's Timothy, entered by hand, whom the SIS sends as Tim."""

from __future__ import annotations

from tests.factories import Roster
from tests.integration.helpers import history, new_class, new_student, walk
from tests.integration.syncing import Sis
from tests.oneroster import OneRoster


def _tim_snapshot() -> OneRoster:
    snap = OneRoster()
    snap.school("s1", "Lincoln Elementary")
    snap.student(
        "stu-42", "Timothy.Baker", given="Tim", family="Baker", grades="04", email="tim@school.org"
    )
    snap.teacher("t1", "ms.frizzle", given="Valerie", family="Frizzle")
    snap.klass("c1", "Science 4", code="SCI-4", grades="04", subjects="Science")
    snap.enroll("c1", "stu-42")
    snap.enroll("c1", "t1", "teacher")
    return snap


def test_r7_timothy_entered_by_hand_is_adopted_as_tim(roster: Roster, sis: Sis) -> None:
    school = roster.school(external_id="s1")
    teacher = roster.teacher([school])
    timothy = new_student(
        teacher.api,
        school,
        username="timothy.baker",
        first_name="Timothy",
        last_name="Baker",
        middle_name="James",
        email="timothy@home.example",
        notes="needs the front row",
    )
    group = new_class(teacher.api, school, name="English learners", kind="group")
    teacher.api.ok("PUT", f"classes/{group['id']}/students/{timothy['id']}")
    report = sis.run(_tim_snapshot())
    assert report.status == "applied"
    assert report.entity_counts("students") == {"adopted": 1}
    tim = teacher.api.ok("GET", f"students/{timothy['id']}")
    assert (tim["origin"], tim["first_name"], tim["username"], tim["external_id"]) == (
        "sis",
        "Tim",
        "Timothy.Baker",
        "stu-42",
    )
    # Fields the SIS does not send keep their manual values: notes (manual-only) and the
    # middle name (shared, not sent).
    assert (tim["notes"], tim["middle_name"]) == ("needs the front row", "James")
    assert tim["fields"]["middle_name"]["source"] == "manual"
    assert tim["fields"]["middle_name"]["sis_sends"] is False
    assert tim["fields"]["notes"] == {
        "class": "manual",
        "editable": True,
        "source": "manual",
        "sis_sends": False,
    }
    # A shared field the SIS sends replaces the hand value, and says so.
    assert (tim["email"], tim["grade"]) == ("tim@school.org", "04")
    assert tim["fields"]["email"]["source"] == "sis" and tim["fields"]["email"]["sis_sends"]
    assert tim["fields"]["first_name"]["editable"] is False
    assert report.counts["manual_edits_overwritten"] == 1
    overwritten = [c for c in report.changes if c["manual_edit_overwritten"]]
    assert [(c["field"], c["old"], c["new"]) for c in overwritten] == [
        ("email", "timothy@home.example", "tim@school.org")
    ]
    # One student, not two; he keeps his manual group and joins the SIS class.
    assert len(walk(teacher.api, "students", status="all")) == 1
    classes = {c["name"]: c for c in walk(teacher.api, f"students/{timothy['id']}/classes")}
    assert classes["English learners"]["member"] is True
    assert classes["English learners"]["selectable"] is True
    assert classes["Science 4"]["member"] is True
    assert classes["Science 4"]["selectable"] is False
    changes = history(teacher.api, f"students/{timothy['id']}")
    adopted = next(c for c in changes if c["action"] == "adopted")
    assert (adopted["actor"]["kind"], adopted["run_id"]) == ("sync", report.id)
    renamed = next(c for c in changes if c["field"] == "first_name" and c["run_id"])
    assert (renamed["old"], renamed["new"]) == ("Timothy", "Tim")


def test_r7_adopted_person_counts_once_and_a_second_run_changes_nothing(
    roster: Roster, sis: Sis
) -> None:
    school = roster.school(external_id="s1")
    teacher = roster.teacher([school])
    new_student(teacher.api, school, username="timothy.baker", first_name="Timothy")
    snap = _tim_snapshot()
    first = sis.run(snap)
    assert first.entity_counts("students") == {"adopted": 1}
    assert sum(first.count("students", k) for k in first.counts["students"]) == 1
    second = sis.run(snap)
    assert second.entity_counts("students") == {"unchanged": 1}
    assert second.changes == []


def test_r7_adopted_class_loses_hand_added_members_with_each_listed(
    roster: Roster, sis: Sis
) -> None:
    school = roster.school(external_id="s1")
    teacher = roster.teacher([school])
    timothy = new_student(teacher.api, school, username="timothy.baker", first_name="Timothy")
    zoe = new_student(teacher.api, school, username="zoe", first_name="Zoe", last_name="Park")
    klass = new_class(teacher.api, school, name="Science (by hand)", alt_external_id="SCI-4")
    for student in (timothy, zoe):
        teacher.api.ok("PUT", f"classes/{klass['id']}/students/{student['id']}")
    teacher.api.ok("PUT", f"classes/{klass['id']}/educators/{teacher.person_id}")
    report = sis.run(_tim_snapshot())
    assert report.entity_counts("classes") == {"adopted": 1}
    adopted = teacher.api.ok("GET", f"classes/{klass['id']}")
    assert (adopted["origin"], adopted["name"], adopted["external_id"]) == (
        "sis",
        "Science 4",
        "c1",
    )
    students = walk(teacher.api, f"classes/{klass['id']}/students")
    educators = walk(teacher.api, f"classes/{klass['id']}/educators")
    assert [s["id"] for s in students] == [timothy["id"]]
    assert [e["external_id"] for e in educators] == ["t1"]
    removed = [c for c in report.changes if c["action"] == "members_removed"]
    listed = {(c["field"], m["id"], m["name"]) for c in removed for m in c["old"]}
    me = teacher.api.ok("GET", f"educators/{teacher.person_id}")
    assert listed == {
        ("students", zoe["id"], f"Zoe {zoe['last_name']}"),
        ("educators", teacher.person_id, f"{me['first_name']} {me['last_name']}"),
    }
    assert report.counts["enrollments"]["removed"] == 2
    entries = history(teacher.api, f"classes/{klass['id']}")
    gone = [m["id"] for c in entries if c["action"] == "members_removed" for m in c["old"]]
    assert sorted(gone) == sorted([zoe["id"], teacher.person_id])
    assert all(c["run_id"] == report.id for c in entries if c["action"] == "members_removed")
    # Zoe herself is untouched: a manual student the SIS does not know.
    assert teacher.api.ok("GET", f"students/{zoe['id']}")["origin"] == "manual"


def test_r7_adopted_class_takes_the_sis_membership_source(roster: Roster, sis: Sis) -> None:
    school = roster.school(external_id="s1")
    teacher = roster.teacher([school])
    timothy = new_student(teacher.api, school, username="timothy.baker")
    klass = new_class(teacher.api, school, external_id="c1")
    teacher.api.ok("PUT", f"classes/{klass['id']}/students/{timothy['id']}")
    report = sis.run(_tim_snapshot())
    assert sis.members("c1") == {"stu-42": "sis", "t1": "sis"}
    assert report.counts["enrollments"] == {"added": 1, "removed": 0}
    # From now on the class's membership is the SIS's (R15).
    zoe = new_student(teacher.api, school)
    response = teacher.api.put(f"classes/{klass['id']}/students/{zoe['id']}")
    assert response.status_code == 409 and response.json()["error"]["code"] == "class_synced"
