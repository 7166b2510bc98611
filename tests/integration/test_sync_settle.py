"""Unchanged records recognised in SQL (sync/settle.py): a record whose staged rows are those
its entity was last synced from, with no hand edit since, is settled in one join; the report
and the roster are exactly what the field-by-field path gives (R17, R18, R19, R21)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from rollbook.domain.catalogue import parse_catalogue
from rollbook.sync import classes, people
from rollbook.sync.engine import Engine
from tests.factories import Roster
from tests.integration.syncing import Report, Sis, canonical
from tests.integration.test_sync_noop import _report_without_identity
from tests.oneroster import OneRoster, district


class Spy:
    """What the settling joins of each run found: SIS ids of settled people and classes."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.people: list[set[str]] = []
        self.classes: list[set[str]] = []
        found_people, found_classes = people.settled_people, classes.settled_classes

        def settle_people(*args: Any) -> list[Any]:
            rows = found_people(*args)
            self.people.append({r[0] for r in rows})
            return rows

        def settle_classes(*args: Any) -> list[Any]:
            rows = found_classes(*args)
            self.classes.append({r[0] for r in rows})
            return rows

        monkeypatch.setattr(people, "settled_people", settle_people)
        monkeypatch.setattr(classes, "settled_classes", settle_classes)


def _day1() -> OneRoster:
    snap = district(students=4, teachers=2, classes=2)
    snap.student("u6", "spanish", **{"metadata.ill.language_support": "Spanish"})
    snap.student("u7", "bad.grade", grades="Grade 3")  # R22: a row error, every run
    snap.product("c1", "ill")
    return snap


def _day2(snap: OneRoster) -> OneRoster:
    """Something new, so that the run is not the no-op (sync/noop.py)."""
    changed = snap.copy()
    changed.student("u20", "newcomer")
    return changed


def test_r17_unchanged_people_and_classes_are_settled_in_sql(
    sis: Sis, monkeypatch: pytest.MonkeyPatch
) -> None:
    snap = _day1()
    sis.run(snap)
    spy = Spy(monkeypatch)
    again = sis.run(_day2(snap))
    assert spy.people[-1] == {"u1", "u2", "u3", "u4", "u6", "t1", "t2"}
    assert spy.classes[-1] == {"c1", "c2"}
    assert again.entity_counts("students") == {"created": 1, "unchanged": 5}
    assert again.entity_counts("educators") == {"unchanged": 2}
    assert again.entity_counts("classes") == {"unchanged": 2}
    assert again.codes() == ["bad_grade"]
    assert sis.person("u1").status == "active"
    assert set(sis.members("c1")) == {"t1", "u1", "u2", "u3", "u4"}


def test_r17_a_hand_edit_since_the_last_sync_is_reverted_though_the_rows_are_the_same(
    roster: Roster, sis: Sis, monkeypatch: pytest.MonkeyPatch
) -> None:
    snap = _day1()
    snap.find("users", "u1")["email"] = "u1@school.org"
    sis.run(snap)
    api = roster.district_admin().api
    api.ok("PATCH", f"students/{sis.person_id('u1')}", json={"email": "hand@school.org"})
    api.ok(
        "PATCH",
        f"students/{sis.person_id('u6')}/product-settings",
        json={"ill": {"language_support": "Arabic"}},
    )
    spy = Spy(monkeypatch)
    again = sis.run(_day2(snap))
    assert "u1" not in spy.people[-1] and "u6" not in spy.people[-1]
    assert again.counts["manual_edits_overwritten"] == 2
    assert sis.person("u1").email == "u1@school.org"
    settings = api.ok("GET", f"students/{sis.person_id('u6')}/product-settings")
    assert settings["ill"]["language_support"]["value"] == "Spanish"
    # Put back by the full path, both are settled again by the next run.
    sis.run(_third(snap))
    assert {"u1", "u6"} <= spy.people[-1]


def _third(snap: OneRoster) -> OneRoster:
    changed = _day2(snap)
    changed.student("u21", "another.newcomer")
    return changed


def test_a_catalogue_change_invalidates_every_fingerprint(
    roster: Roster, sis: Sis, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    snap = _day1()
    sis.run(snap)
    text = (Path(people.__file__).parents[1] / "catalogue.toml").read_text(encoding="utf-8")
    sis.engine = Engine(sis.db, parse_catalogue(text + _EXTRA_PRODUCT, origin="test"))
    spy = Spy(monkeypatch)
    again = sis.run(_day2(snap))
    assert spy.people[-1] == set() and spy.classes[-1] == set()
    assert again.entity_counts("students") == {"created": 1, "unchanged": 5}
    third = sis.run(_third(snap))
    assert "u1" in spy.people[-1] and "c1" in spy.classes[-1]
    assert third.entity_counts("students") == {"created": 1, "unchanged": 6}


_EXTRA_PRODUCT = """

[products.settled_test]
name = "A product added to the catalogue"
"""


def test_a_new_school_invalidates_every_fingerprint(
    sis: Sis, monkeypatch: pytest.MonkeyPatch
) -> None:
    snap = _day1()
    sis.run(snap)
    changed = _day2(snap)
    changed.school("s2")
    spy = Spy(monkeypatch)
    sis.run(changed)
    assert spy.people[-1] == set()
    again = _day2(snap)
    again.school("s2")
    again.student("u22", "third.newcomer")
    sis.run(again)
    assert "u1" in spy.people[-1]


def _report_without_ids(report: Report) -> dict[str, Any]:
    """`_report_without_identity`, with conflicts naming how many candidates, not which ids."""
    run = _report_without_identity(report)
    run["conflicts"] = [{**c, "candidates": len(c["candidates"])} for c in run["conflicts"]]
    return run


def _changes_without_ids(report: Report) -> list[tuple[Any, ...]]:
    """The changes of a run, without the school and member ids that differ between two
    organizations."""
    ids = ("school_ids", "school_id")
    return sorted(
        (c["sourced_id"], c["action"], c["field"], repr(c["old"]), repr(c["new"]))
        for c in report.changes
        for c in [
            {**c, "new": {k: v for k, v in c["new"].items() if k not in ids}}
            if c["action"] == "created"
            else c
        ]
        if c["field"] not in (*ids, "students", "educators")
    )


@pytest.mark.parametrize("version", ["1.2", "1.1"])
def test_r18_r21_settling_gives_the_full_path_report_dry_run_and_apply(
    roster: Roster,
    other_roster: Roster,
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
    version: str,
) -> None:
    """The same runs in two organizations, one settling in SQL, one not: same reports, same
    roster; and the dry run previews exactly what applying does."""
    snap = district(students=6, teachers=2, classes=2, version=version)
    snap.student("u7", "bad.grade", grades="Grade 3")
    snap.product("c1", "ill")
    day2 = snap.copy()
    day2.student("u20", "newcomer")
    day2.student("u21", "student1")  # R9: claims u1's username: both held back
    day2.remove_user("u2")  # R19: deactivated
    day2.find("users", "u3")["givenName"] = "Renamed"
    day2.unenroll(class_id="c2", user_id="u4")
    day2.find("classes", "c2")["title"] = "Renamed class"
    fast = Sis(roster, tmp_path_factory.mktemp("fast"))
    full = Sis(other_roster, tmp_path_factory.mktemp("full"))
    spy = Spy(monkeypatch)
    fast.run(snap)
    fast_preview = fast.run(day2, dry_run=True)
    fast_applied = fast.run(day2)
    assert {"u5", "u6", "t1", "t2"} <= spy.people[-1]
    assert spy.classes[-1] == {"c1"}

    monkeypatch.setattr(people, "settled_people", lambda ctx, salt: [])
    monkeypatch.setattr(classes, "settled_classes", lambda ctx, salt: [])
    full.run(snap)
    full_preview = full.run(day2, dry_run=True)
    full_applied = full.run(day2)
    for one, other in ((fast_preview, full_preview), (fast_applied, full_applied)):
        assert _report_without_ids(one) == _report_without_ids(other)
        assert _changes_without_ids(one) == _changes_without_ids(other)
    assert fast_preview.counts == fast_applied.counts
    assert _changes_without_ids(fast_preview) == _changes_without_ids(fast_applied)
    # u1 is found by the join, but R9 holds it back with u21: the full path reports both.
    assert {c["sourced_id"] for c in fast_applied.conflicts} == {"u1", "u21"}
    assert fast_applied.count("students", "deactivated") == 1
    assert canonical(roster.db, roster.org.id) == canonical(other_roster.db, other_roster.org.id)


def test_r19_r22_a_delta_settles_its_unchanged_users_but_never_one_without_role_rows(
    sis: Sis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 1.2 delta may send a user without its roles.csv rows: it stands on its stored roles,
    through the full path; a later full snapshot without them is an error, not a settled
    record (R22: skipped, not absent)."""
    snap = district(students=3, teachers=1, classes=1)
    sis.run(snap)
    spy = Spy(monkeypatch)
    delta = OneRoster(mode="delta")
    delta.student("u1", "student1", given="Stu1", family="Dent1")  # as sent before
    delta.student("u2", "student2", given="Stu2", family="Dent2")
    delta.student("u3", "student3", given="Renamed", family="Dent3")
    delta.rows["roles"] = [r for r in delta.rows["roles"] if r["userSourcedId"] != "u2"]
    report = sis.run(delta)
    assert spy.people[-1] == {"u1"}
    assert report.entity_counts("students") == {"unchanged": 2, "updated": 1}
    full = snap.copy()
    full.rows["roles"] = [r for r in full.rows["roles"] if r["userSourcedId"] != "u2"]
    full.student("u20", "newcomer")
    again = sis.run(full)
    assert "u2" not in spy.people[-1]
    assert again.codes() == ["no_role"]
    assert sis.person("u2").status == "active"
