"""ETag and If-Match: an edit made on a stale read is refused (412) and changes nothing."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import event, text
from sqlalchemy.orm import Session

from tests.factories import Account, Roster
from tests.integration.helpers import (
    error_of,
    invalid,
    new_class,
    new_educator,
    new_student,
    snapshot,
)

KINDS = ["students", "educators", "classes"]


def _entity(roster: Roster, plural: str) -> tuple[Account, dict[str, Any]]:
    school = roster.school()
    admin = roster.school_admin([school])
    make = {"students": new_student, "educators": new_educator, "classes": new_class}[plural]
    return admin, make(admin.api, school)


@pytest.mark.parametrize("plural", KINDS)
def test_etag_on_create_read_and_edit_carries_the_version(roster: Roster, plural: str) -> None:
    admin, entity = _entity(roster, plural)
    path = f"{plural}/{entity['id']}"
    read = admin.api.get(path)
    assert read.headers["ETag"] == '"1"'
    edited = admin.api.patch(path, json={"notes": "n"}, headers={"If-Match": read.headers["ETag"]})
    assert edited.status_code == 200, edited.text
    assert (edited.headers["ETag"], edited.json()["version"]) == ('"2"', 2)


def test_etag_on_create_response(roster: Roster) -> None:
    school = roster.school()
    teacher = roster.teacher([school])
    response = teacher.api.post("classes", json={"name": "Art", "school_id": school})
    assert response.headers["ETag"] == '"1"'


@pytest.mark.parametrize("plural", KINDS)
def test_stale_if_match_is_version_conflict_and_changes_nothing(
    roster: Roster, plural: str
) -> None:
    admin, entity = _entity(roster, plural)
    path = f"{plural}/{entity['id']}"
    admin.api.ok("PATCH", path, json={"notes": "first"})
    before = snapshot(admin.api, path)
    response = admin.api.patch(path, json={"notes": "second"}, headers={"If-Match": '"1"'})
    error_of(response, 412, "version_conflict")
    assert snapshot(admin.api, path) == before


@pytest.mark.parametrize("tag", ['"1"', "1", 'W/"1"', " 1 ", "*"])
def test_if_match_is_accepted_quoted_unquoted_weak_or_star(roster: Roster, tag: str) -> None:
    admin, student = _entity(roster, "students")
    path = f"students/{student['id']}"
    edited = admin.api.ok("PATCH", path, json={"notes": "x"}, headers={"If-Match": tag})
    assert edited["version"] == 2


def test_if_match_that_is_not_a_version_is_a_validation_error(roster: Roster) -> None:
    admin, student = _entity(roster, "students")
    path = f"students/{student['id']}"
    before = snapshot(admin.api, path)
    invalid(admin.api.patch(path, json={"notes": "x"}, headers={"If-Match": "abc"}), "If-Match")
    assert snapshot(admin.api, path) == before


def test_version_does_not_move_when_nothing_changes(roster: Roster) -> None:
    admin, student = _entity(roster, "students")
    path = f"students/{student['id']}"
    same = admin.api.patch(path, json={"first_name": student["first_name"]})
    assert same.headers["ETag"] == '"1"'


class _MoveVersionOnce:
    """Another writer (a sync) commits between the edit's read and its write: the first
    flush that updates the entity finds the version already moved."""

    def __init__(self, table: str, entity_id: int) -> None:
        self.table, self.entity_id, self.fired = table, entity_id, 0

    def __call__(self, session: Session, _context: object, _instances: object) -> None:
        if self.fired or not any(getattr(o, "id", None) == self.entity_id for o in session.dirty):
            return
        self.fired += 1
        session.connection().execute(
            text(f"UPDATE {self.table} SET version = version + 1 WHERE id = :id"),
            {"id": self.entity_id},
        )


def _patch_while_the_version_moves(
    roster: Roster, plural: str, headers: dict[str, str]
) -> tuple[Account, str, dict[str, Any], httpx.Response]:
    """PATCH an entity whose version another writer moves between the edit's read and its
    write; the admin, the entity's path, its snapshot before, and the answer."""
    admin, entity = _entity(roster, plural)
    path = f"{plural}/{entity['id']}"
    before = snapshot(admin.api, path)
    mover = _MoveVersionOnce("classes" if plural == "classes" else "people", int(entity["id"]))
    event.listen(Session, "before_flush", mover)
    try:
        response = admin.api.patch(path, json={"notes": "edited"}, headers=headers)
    finally:
        event.remove(Session, "before_flush", mover)
    assert mover.fired == 1, "the version was not moved: the test tests nothing"
    return admin, path, before, response


@pytest.mark.parametrize("plural", KINDS)
def test_edit_without_if_match_is_applied_when_the_version_moved_meanwhile(
    roster: Roster, plural: str
) -> None:
    admin, path, _, edited = _patch_while_the_version_moves(roster, plural, {})
    assert edited.status_code == 200, edited.text
    assert admin.api.ok("GET", path)["notes"] == "edited"


@pytest.mark.parametrize("plural", KINDS)
def test_edit_with_if_match_is_refused_when_the_version_moved_meanwhile(
    roster: Roster, plural: str
) -> None:
    admin, path, before, response = _patch_while_the_version_moves(
        roster, plural, {"If-Match": '"1"'}
    )
    error_of(response, 412, "version_conflict")
    assert snapshot(admin.api, path) == before
