"""The no-op run (sync/noop.py): the same snapshot again with nothing edited by hand since is
recognised without reading it, and reports exactly what the full pass would (R17, R18)."""

from __future__ import annotations

from typing import Any

import pytest

from rollbook.sync import engine
from tests.factories import Roster
from tests.integration.syncing import Report, Sis
from tests.oneroster import OneRoster, district

NOOP = "nothing was edited by hand since"


def _snapshot() -> OneRoster:
    """A district with something of everything a report lists: a conflict, a row error, a
    warning, a setting, a product."""
    snap = district(students=3, teachers=1, classes=1)
    snap.student("u8", "same.name")
    snap.student("u9", "SAME.name")  # R9: two records claim one username
    snap.student("u7", "bad.grade", grades="Grade 3")  # R22: a row error
    snap.student("u6", "spanish", **{"metadata.ill.language_support": "Spanish"})
    snap.product("c1", "ill")
    snap.school("x1", type="department")  # read leniently, with a warning
    return snap


def _report_without_identity(report: Report) -> dict[str, Any]:
    """What a report says, without what differs between two runs (ids, times, message)."""
    run = {k: v for k, v in report.run.items() if k in ("status", "counts", "mode")}
    for key in ("conflicts", "errors", "warnings"):
        run[key] = report.run[key]
    return run


def test_r18_the_same_snapshot_again_is_recognised_without_reading_it(
    sis: Sis, monkeypatch: pytest.MonkeyPatch
) -> None:
    snap = _snapshot()
    first = sis.run(snap)
    assert first.status == "applied"
    before = sis.state()

    # Were the run to read anything, it would stage it: make staging impossible.
    def no_staging(*args: object, **kwargs: object) -> None:
        raise AssertionError("a no-op run must not stage the snapshot")

    monkeypatch.setattr(engine, "stage_snapshot", no_staging)
    again = sis.run(snap)
    assert again.status == "applied"
    assert NOOP in again.run["message"]
    assert again.changes == []
    assert sis.state()["Change"] == before["Change"]
    assert {k: v for k, v in sis.state().items() if k != "Change"} == {
        k: v for k, v in before.items() if k != "Change"
    }
    assert again.count("students", "unchanged") == first.count("students", "created")


def test_r18_the_no_op_report_is_the_full_pass_report(
    roster: Roster,
    other_roster: Roster,
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The same two runs in two organizations, one allowed the no-op, one not: same report."""
    snap = _snapshot()
    fast = Sis(roster, tmp_path_factory.mktemp("fast"))
    full = Sis(other_roster, tmp_path_factory.mktemp("full"))
    fast.run(snap)
    fast_again = fast.run(snap)
    assert NOOP in fast_again.run["message"]

    monkeypatch.setattr(engine, "unchanged_since", lambda session, run: None)
    full.run(snap)
    full_again = full.run(snap)
    assert NOOP not in (full_again.run["message"] or "")
    assert _report_without_identity(fast_again) == _report_without_identity(full_again)
    assert fast_again.counts["conflicts"] == 2 and fast_again.counts["errors"] == 1


def test_r17_a_hand_edit_in_between_takes_the_full_pass_and_is_undone(
    roster: Roster, sis: Sis
) -> None:
    snap = _snapshot()
    sis.run(snap)
    admin = roster.district_admin()
    student = sis.person_id("u6")
    admin.api.ok(
        "PATCH",
        f"students/{student}/product-settings",
        json={"ill": {"language_support": "Arabic"}},
    )
    again = sis.run(snap)
    assert NOOP not in (again.run["message"] or "")
    assert again.counts["manual_edits_overwritten"] == 1
    settings = admin.api.ok("GET", f"students/{student}/product-settings")
    assert settings["ill"]["language_support"]["value"] == "Spanish"
    # The edit came less than a minute (sync/noop.IN_FLIGHT) before that run began applying,
    # so the next run cannot rule out an edit it missed: it takes the full pass again, and
    # finds nothing left to change.
    third = sis.run(snap)
    assert NOOP not in (third.run["message"] or "")
    assert third.changes == []


def test_a_school_made_by_hand_in_between_takes_the_full_pass(roster: Roster, sis: Sis) -> None:
    snap = _snapshot()
    snap.student("u5", "at.new.school", schools=("s9",))  # s9 unknown: a row error
    first = sis.run(snap)
    assert "unknown_school" in first.codes()
    roster.school(name="Made by hand", external_id="s9")
    again = sis.run(snap)
    assert NOOP not in (again.run["message"] or "")
    assert "unknown_school" not in again.codes()
    assert sis.person("u5").status == "active"


def test_r21_a_dry_run_of_the_same_snapshot_previews_the_no_op(sis: Sis) -> None:
    snap = _snapshot()
    first = sis.run(snap)
    preview = sis.run(snap, dry_run=True)
    assert preview.status == "previewed"
    assert NOOP in preview.run["message"]
    assert preview.count("students", "unchanged") == first.count("students", "created")


def test_a_changed_snapshot_is_read_again(sis: Sis) -> None:
    snap = _snapshot()
    sis.run(snap)
    changed = snap.copy()
    changed.student("u10", "newcomer")
    again = sis.run(changed)
    assert NOOP not in (again.run["message"] or "")
    assert again.count("students", "created") == 1
