"""A generated 10,000-student district through the real sync: counts, idempotence, day 2."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from rollbook.generate import District, write_district
from tests.factories import Roster
from tests.integration.syncing import Sis

STUDENTS = 10_000


def _rows(folder: Path, name: str) -> list[dict[str, str]]:
    with (folder / name).open(newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.slow
def test_r17_r18_r19_ten_thousand_students_sync_then_change_nothing_then_day_two(
    roster: Roster, sis: Sis, tmp_path: Path
) -> None:
    day1 = District(students=STUDENTS, seed=11)
    folder = tmp_path / "day1"
    written = write_district(folder, day1)
    users = _rows(folder, "users.csv")
    students = sum(u["sourcedId"].startswith("stu-") for u in users)
    educators = len(users) - students
    assert students == STUDENTS

    first = sis.run(folder, changes=False)
    assert first.status == "applied", first.run
    assert first.errors == [] and first.conflicts == []
    assert first.entity_counts("students") == {"created": students}
    assert first.entity_counts("educators") == {"created": educators}
    assert first.entity_counts("classes") == {"created": written["classes"]}
    assert first.counts["enrollments"]["added"] == written["enrollments"]
    assert first.counts["class_products"]["added"] == written["classResources"]
    assert first.counts["schools"]["created"] == written["orgs"] - 1
    settings = sum(
        bool(u["metadata.ill.language_support"] or u["metadata.reading.session_minutes"])
        for u in users
    )
    assert first.counts["product_settings_changed"] == settings

    second = sis.run(folder, changes=False)
    assert second.status == "applied"
    assert second.entity_counts("students") == {"unchanged": students}
    assert second.entity_counts("educators") == {"unchanged": educators}
    assert second.entity_counts("classes") == {"unchanged": written["classes"]}
    assert second.counts["enrollments"] == {"added": 0, "removed": 0}
    assert second.counts["class_products"] == {"added": 0, "removed": 0}
    assert second.counts["product_settings_changed"] == 0
    assert second.run["change_count"] == 0

    day2 = District(students=STUDENTS, seed=11, day=2)
    write_district(tmp_path / "day2", day2)
    gone = [i for i in range(STUDENTS) if day2.gone(i)]
    new = [i for i in range(STUDENTS, STUDENTS + day2.new_students()) if not day2.gone(i)]
    changed = [i for i in range(STUDENTS) if not day2.gone(i) and day2.changed_on(i) == 2]
    assert gone and new and changed
    third = sis.run(tmp_path / "day2", changes=False)
    assert third.status == "applied", third.run
    assert third.entity_counts("students") == {
        "created": len(new),
        "deactivated": len(gone),
        "updated": len(changed),
        "unchanged": STUDENTS - len(gone) - len(changed),
    }
    assert third.entity_counts("educators") == {"unchanged": educators}
    assert sis.person(f"stu-{gone[0]}").status == "inactive"
    assert sis.person(f"stu-{new[0]}").status == "active"
