"""The safety threshold (R20) and the dry run (R21), through the Engine."""

from __future__ import annotations

from typing import Any

import pytest

from rollbook.sync import engine as engine_module
from rollbook.sync.engine import NotWaiting
from tests.factories import Roster
from tests.integration.helpers import history
from tests.integration.syncing import Report, Sis
from tests.oneroster import OneRoster, district


def _without(snap: OneRoster, *users: str) -> OneRoster:
    day = snap.copy()
    for user in users:
        day.remove_user(user)
    return day


# R20 ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("threshold", "gone", "held"),
    [
        (10, 2, False),  # D = floor(10% of 20) = 2: applied
        (10, 3, True),  # D = 3 > 2: held
        (0, 1, True),  # t = 0: any deactivation is held
        (15, 3, False),  # floor(3.0) = 3
        (14, 3, True),  # floor(2.8) = 2
    ],
)
def test_r20_more_deactivations_than_the_threshold_hold_the_run(
    roster: Roster, sis: Sis, threshold: int, gone: int, held: bool
) -> None:
    snap = district(students=20)
    sis.run(snap)
    sis.threshold(threshold)
    report = sis.run(_without(snap, *[f"u{n}" for n in range(1, gone + 1)]))
    assert report.status == ("needs_approval" if held else "applied")
    assert report.run["would_need_approval"] is held
    assert report.count("students", "deactivated") == gone


def test_r20_deactivating_every_entity_of_a_kind_is_held_at_any_threshold(
    roster: Roster, sis: Sis
) -> None:
    snap = district(students=3, teachers=2)
    sis.run(snap)
    sis.threshold(100)
    report = sis.run(_without(snap, "t1", "t2"))
    assert report.status == "needs_approval"
    assert report.count("educators", "deactivated") == 2
    # One of the two is fine at 100%.
    assert sis.run(_without(snap, "t1")).status == "applied"


def test_r20_kinds_are_counted_separately(roster: Roster, sis: Sis) -> None:
    snap = district(students=30, teachers=10, classes=10)
    sis.run(snap)
    # 3 of 30 students (= floor(10% of 30)) and 1 of 10 educators: applied.
    assert sis.run(_without(snap, "u1", "u2", "u3", "t10")).status == "applied"
    # 2 of the remaining 9 educators is past floor(0.9) = 0, whatever the students do.
    report = sis.run(_without(snap, "u1", "u2", "u3", "t10", "t9"))
    assert report.status == "needs_approval"


def test_r20_tobedeleted_and_disabled_users_count_as_deactivations(
    roster: Roster, sis: Sis
) -> None:
    snap = district(students=10)
    sis.run(snap)
    day2 = snap.copy()
    day2.find("users", "u1")["enabledUser"] = "false"
    day2.find("users", "u2")["status"] = "tobedeleted"
    report = sis.run(day2)
    assert report.status == "needs_approval"
    assert report.count("students", "deactivated") == 2


def _held(sis: Sis) -> tuple[OneRoster, Report, dict[str, Any]]:
    snap = district(students=10, teachers=1, classes=1)
    snap.find("users", "u5")["email"] = "five@school.example"
    sis.run(snap)
    state = sis.state()
    day2 = _without(snap, "u1", "u2", "u3")
    day2.student("u11", "eleven")
    day2.enroll("c1", "u11")
    report = sis.run(day2)
    return day2, report, state


def test_r20_held_run_waits_with_its_preview_and_changes_nothing(roster: Roster, sis: Sis) -> None:
    _, report, state = _held(sis)
    assert report.status == "needs_approval"
    assert report.run["would_need_approval"] is True
    assert report.run["finished_at"] is None
    assert report.entity_counts("students") == {"created": 1, "deactivated": 3, "unchanged": 7}
    assert report.counts["enrollments"] == {"added": 1, "removed": 3}
    assert report.changes and all(c["preview"] for c in report.changes)
    deactivated = sorted(c["sourced_id"] for c in report.changes if c["action"] == "deactivated")
    assert deactivated == ["u1", "u2", "u3"]
    created = next(c for c in report.changes if c["action"] == "created")
    assert (created["sourced_id"], created["entity_id"]) == ("u11", None)
    _assert_roster_unchanged(sis, state)
    admin = roster.district_admin().api
    for entry in history(admin, f"students/{sis.person_id('u1')}"):
        assert entry["action"] == "created"


def test_r20_approve_applies_against_the_roster_as_it_is_then(roster: Roster, sis: Sis) -> None:
    _, report, _ = _held(sis)
    api = roster.teacher([sis.school_id("s1")]).api
    five = sis.person_id("u5")
    api.ok("PATCH", f"students/{five}", json={"email": "five@home.example"})
    assert report.counts["manual_edits_overwritten"] == 0
    approved = sis.approve(report.id)
    assert approved.status == "applied"
    assert approved.run["finished_at"] is not None
    assert approved.entity_counts("students") == {
        "created": 1,
        "deactivated": 3,
        "updated": 1,
        "unchanged": 6,
    }
    assert approved.counts["manual_edits_overwritten"] == 1
    assert not any(c["preview"] for c in approved.changes)
    assert api.ok("GET", f"students/{five}")["email"] == "five@school.example"
    assert sis.person("u1").status == "inactive"
    assert sis.person("u11").status == "active"
    entries = history(api, f"students/{sis.person_id('u1')}")
    assert (entries[0]["action"], entries[0]["run_id"]) == ("deactivated", report.id)


def test_r20_discard_drops_the_run(roster: Roster, sis: Sis) -> None:
    _, report, state = _held(sis)
    discarded = sis.discard(report.id)
    assert discarded.status == "discarded"
    assert discarded.changes == []
    assert sis.state() == state
    with pytest.raises(NotWaiting):
        sis.approve(report.id)


def test_r20_approving_a_run_that_is_not_waiting_is_refused(roster: Roster, sis: Sis) -> None:
    report = sis.run(district(students=2))
    with pytest.raises(NotWaiting):
        sis.approve(report.id)
    with pytest.raises(NotWaiting):
        sis.discard(report.id)
    assert sis.report(report.id).status == "applied"


def test_r20_dry_run_reports_would_need_approval(roster: Roster, sis: Sis) -> None:
    snap = district(students=10)
    sis.run(snap)
    state = sis.state()
    report = sis.run(_without(snap, "u1", "u2"), dry_run=True)
    assert (report.status, report.run["would_need_approval"]) == ("previewed", True)
    assert report.count("students", "deactivated") == 2
    _assert_roster_unchanged(sis, state)
    with pytest.raises(NotWaiting):
        sis.approve(report.id)


def _assert_roster_unchanged(sis: Sis, state: dict[str, Any]) -> None:
    """Nothing of the roster moved, and no change entered any history (previews aside)."""
    after = sis.state()
    assert {k: v for k, v in after.items() if k != "Change"} == {
        k: v for k, v in state.items() if k != "Change"
    }
    assert [c for c in after["Change"] if not c[5]] == [c for c in state["Change"] if not c[5]]


# R21 ------------------------------------------------------------------------------------------


def _comparable(changes: list[dict[str, Any]], new_schools: set[str]) -> list[tuple[Any, ...]]:
    """Changes without the ids that only an applied run gives out (a preview names none)."""

    def strip(value: Any) -> Any:
        if isinstance(value, list):
            return [strip(v) for v in value]
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k != "id"}
        return None if value in new_schools else value

    return [
        (
            c["entity_kind"],
            c["sourced_id"],
            c["action"],
            c["field"],
            strip(c["old"]),
            strip(c["new"]),
            c["manual_edit_overwritten"],
        )
        for c in changes
    ]


def test_r21_dry_run_reports_what_the_real_run_then_does(roster: Roster, sis: Sis) -> None:
    snap = district(students=20, teachers=2, classes=3)
    snap.product("c1", "ill")
    snap.find("users", "u4")["metadata.ill.language_support"] = "English"
    sis.run(snap)
    api = roster.teacher([sis.school_id("s1")]).api
    api.ok(
        "PATCH",
        f"students/{sis.person_id('u4')}/product-settings",
        json={"ill": {"language_support": "Spanish"}},
    )
    api.ok("PATCH", f"students/{sis.person_id('u5')}", json={"middle_name": "Hand"})
    day2 = _without(snap, "u1")
    day2.find("users", "u2")["givenName"] = "Changed"
    day2.find("users", "u5")["middleName"] = "Sis"
    day2.student("u21", "newcomer", schools=("s2",))
    day2.school("s2")
    day2.klass("c9", school="s2")
    day2.enroll("c9", "u21")
    day2.enroll("c9", "t2", "teacher")
    day2.product("c9", "science")
    day2.remove_product("c1", "ill")
    day2.products_sent = True
    state = sis.state()
    preview = sis.run(day2, dry_run=True)
    assert (preview.status, preview.run["dry_run"]) == ("previewed", True)
    assert preview.run["would_need_approval"] is False
    assert all(c["preview"] for c in preview.changes)
    # The preview's changes are stored with the run, and in no entity's history.
    _assert_roster_unchanged(sis, state)
    for ref in ("u2", "u4", "u5"):
        entries = history(api, f"students/{sis.person_id(ref)}")
        assert all(e["run_id"] != preview.id for e in entries)
    real = sis.run(day2)
    assert real.status == "applied"
    assert preview.counts == real.counts
    new_school = {sis.school_id("s2")}
    assert _comparable(preview.changes, new_school) == _comparable(real.changes, new_school)
    assert real.counts["manual_edits_overwritten"] == 2
    assert preview.errors == real.errors and preview.warnings == real.warnings


def test_r21_dry_run_reports_conflicts_and_errors_too(roster: Roster, sis: Sis) -> None:
    snap = district(students=3)
    snap.student("u8", "twin")
    snap.student("u9", "TWIN")
    snap.student("u10", "bad", grades="Grade 3")
    preview = sis.run(snap, dry_run=True)
    assert preview.status == "previewed"
    assert sorted(c["sourced_id"] for c in preview.conflicts) == ["u8", "u9"]
    assert preview.codes() == ["bad_grade"]
    real = sis.run(snap)
    assert preview.counts == real.counts
    assert preview.conflicts == real.conflicts
    assert preview.errors == real.errors


def test_r21_first_ever_dry_run_creates_nothing(roster: Roster, sis: Sis) -> None:
    state = sis.state()
    preview = sis.run(district(students=5, teachers=1, classes=2), dry_run=True)
    assert preview.entity_counts("students") == {"created": 5}
    assert all(c["entity_id"] is None for c in preview.changes if c["action"] == "created")
    _assert_roster_unchanged(sis, state)


def test_r18_r20_an_approval_that_fails_mid_apply_changes_nothing_and_says_so(
    roster: Roster, sis: Sis, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, report, state = _held(sis)

    def explode(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(engine_module, "apply_products", explode)
    failed = sis.approve(report.id)
    assert failed.status == "failed"
    assert "disk on fire" in failed.run["message"]
    assert not any(not c["preview"] for c in failed.changes)
    _assert_roster_unchanged(sis, state)
    with pytest.raises(NotWaiting):
        sis.approve(report.id)
