"""Sync runs through the real API: upload, poll, read, page, decide (R3, R20, R21, R22)."""

from __future__ import annotations

import os
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from rollbook.store.db import Database
from tests.factories import Api, Roster
from tests.integration.helpers import error_of, history, walk
from tests.integration.syncing import Sis, client_with, upload, wait_for
from tests.oneroster import OneRoster, district


def _zip(snap: OneRoster, tmp_path: Path, name: str = "roster.zip") -> Path:
    return snap.zip(tmp_path / name)


def _run(api: Api, path: Path, **kwargs: Any) -> dict[str, Any]:
    queued = upload(api, path, **kwargs)
    return wait_for(api, queued["id"])


# Who may run syncs (R3) -----------------------------------------------------------------------


@pytest.mark.parametrize("who", ["district_admin", "api_key", "operator"])
def test_r3_upload_is_accepted_from_admins_api_keys_and_operators(
    roster: Roster, tmp_path: Path, who: str
) -> None:
    api = {
        "district_admin": lambda: roster.district_admin().api,
        "api_key": roster.api_key,
        "operator": roster.operator,
    }[who]()
    queued = upload(api, _zip(district(students=3, teachers=1, classes=1), tmp_path))
    assert queued["status"] in ("queued", "running", "applied")
    assert queued["dry_run"] is False
    assert set(queued) >= {
        "id",
        "status",
        "dry_run",
        "would_need_approval",
        "mode",
        "created_at",
        "finished_at",
        "counts",
        "conflicts",
        "errors",
        "warnings",
    }
    run = wait_for(api, queued["id"])
    assert run["status"] == "applied"
    assert run["counts"]["students"]["created"] == 3
    assert (run["mode"], run["finished_at"] is not None) == ("full", True)
    students = walk(roster.district_admin().api, "students")
    assert sorted(s["external_id"] for s in students) == ["u1", "u2", "u3"]
    entry = history(roster.district_admin().api, f"students/{students[0]['id']}")[0]
    assert (entry["actor"]["kind"], entry["run_id"]) == ("sync", run["id"])


@pytest.mark.parametrize("who", ["teacher", "school_admin"])
def test_r3_teachers_and_school_admins_may_not_run_syncs(
    roster: Roster, tmp_path: Path, who: str
) -> None:
    account = roster.teacher() if who == "teacher" else roster.school_admin()
    path = _zip(district(students=1), tmp_path)
    with path.open("rb") as handle:
        response = account.api.post("syncs", files={"file": ("roster.zip", handle)})
    error_of(response, 403, "forbidden")
    error_of(account.api.get("syncs"), 403, "forbidden")
    assert walk(roster.district_admin().api, "syncs") == []


def test_r2_another_organizations_syncs_do_not_exist(
    roster: Roster, other_roster: Roster, tmp_path: Path
) -> None:
    mine = roster.district_admin().api
    run = _run(mine, _zip(district(students=1), tmp_path))
    stranger = Api(roster.client, other_roster.district_admin().api.token, roster.slug)
    path = _zip(district(students=1), tmp_path, "other.zip")
    with path.open("rb") as handle:
        response = stranger.post("syncs", files={"file": ("other.zip", handle)})
    error_of(response, 404, "not_found")
    error_of(stranger.get(f"syncs/{run['id']}"), 404, "not_found")
    theirs = other_roster.district_admin().api
    error_of(theirs.get(f"syncs/{run['id']}"), 404, "not_found")
    error_of(theirs.get(f"syncs/{run['id']}/changes"), 404, "not_found")
    error_of(theirs.post(f"syncs/{run['id']}/approve"), 404, "not_found")
    assert walk(theirs, "syncs") == []


def test_r3_no_credentials_is_unauthenticated(roster: Roster, tmp_path: Path) -> None:
    path = _zip(district(students=1), tmp_path)
    with path.open("rb") as handle:
        response = roster.anonymous().post("syncs", files={"file": ("r.zip", handle)})
    error_of(response, 401, "unauthenticated")


# R22 at the door --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "why"),
    [(b"sourcedId,status\n", "not a zip archive"), (b"", "empty")],
)
def test_r22_upload_of_a_non_zip_is_sync_rejected(
    roster: Roster, tmp_path: Path, content: bytes, why: str
) -> None:
    api = roster.district_admin().api
    response = api.post("syncs", files={"file": ("users.csv", content, "text/csv")})
    error = error_of(response, 422, "sync_rejected")
    assert any(why in d["message"] for d in error["details"]), error
    assert walk(api, "syncs") == []


def test_r22_missing_file_field_is_a_validation_error(roster: Roster) -> None:
    api = roster.district_admin().api
    error = error_of(api.post("syncs", data={"other": "x"}), 422, "validation_error")
    assert [d["field"] for d in error["details"]] == ["file"]


def test_r22_unusable_zip_becomes_a_rejected_run(roster: Roster, tmp_path: Path) -> None:
    snap = district(students=2)
    snap.omit["users"] = {"familyName"}
    api = roster.district_admin().api
    run = _run(api, _zip(snap, tmp_path))
    assert run["status"] == "rejected"
    assert [(e["file"], e["line"], e["column"], e["code"]) for e in run["errors"]] == [
        ("users.csv", 1, "familyName", "missing_column")
    ]
    assert walk(api, "students", status="all") == []


def test_r22_zip_with_a_climbing_entry_name_is_rejected(roster: Roster, tmp_path: Path) -> None:
    path = tmp_path / "evil.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in district(students=1).files().items():
            archive.writestr(name, data)
        archive.writestr("../../etc/cron.d/evil", b"* * * * * root true\n")
    run = _run(roster.district_admin().api, path)
    assert run["status"] == "rejected"
    assert [e["code"] for e in run["errors"]] == ["unsafe_name"]


@pytest.fixture
def small_upload_client(db: Database, backend: str, tmp_path: Path) -> Iterator[TestClient]:
    """An application that accepts uploads of at most 2 KB."""
    with client_with(db, backend, tmp_path, max_upload_bytes=2048) as client:
        yield client


@pytest.mark.parametrize("size", [10_000, 1_200_000])
def test_r22_oversized_upload_is_refused(
    roster: Roster, small_upload_client: TestClient, tmp_path: Path, size: int
) -> None:
    path = tmp_path / "big.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("manifest.csv", os.urandom(size))
    api = Api(small_upload_client, roster.district_admin().api.token, roster.slug)
    with path.open("rb") as handle:
        response = api.post("syncs", files={"file": ("big.zip", handle, "application/zip")})
    error = error_of(response, 422, "sync_rejected")
    assert "too large" in error["message"]
    assert [d["message"] for d in error["details"]] == ["uploads are limited to 2,048 bytes"]
    assert walk(api, "syncs") == []
    # A small one still goes through that application.
    run = _run(api, _zip(district(students=1), tmp_path))
    assert run["status"] == "applied"


# Dry runs, listing, paging (R21) ----------------------------------------------------------------


def test_r21_dry_run_query_parameter_previews(roster: Roster, tmp_path: Path) -> None:
    api = roster.district_admin().api
    path = _zip(district(students=4, teachers=1, classes=1), tmp_path)
    queued = upload(api, path, dry_run=True)
    assert queued["dry_run"] is True
    run = wait_for(api, queued["id"])
    assert (run["status"], run["dry_run"]) == ("previewed", True)
    assert run["counts"]["students"]["created"] == 4
    assert walk(api, "students", status="all") == []
    preview = walk(api, f"syncs/{run['id']}/changes")
    assert len(preview) == 4 + 1 + 1 + 1 + 2  # school, people, class, members added (2 roles)
    assert all(c["entity_id"] is None for c in preview if c["action"] == "created")
    applied = _run(api, path, dry_run=False)
    assert applied["counts"] == run["counts"]


def test_r21_runs_are_listed_newest_first_and_paged(roster: Roster, tmp_path: Path) -> None:
    api = roster.district_admin().api
    snap = district(students=2)
    ids = [_run(api, _zip(snap, tmp_path, f"r{n}.zip"))["id"] for n in range(3)]
    first = api.ok("GET", "syncs", params={"limit": 2})
    assert [r["id"] for r in first["items"]] == ids[::-1][:2]
    assert first["next_cursor"]
    rest = api.ok("GET", "syncs", params={"limit": 2, "cursor": first["next_cursor"]})
    assert [r["id"] for r in rest["items"]] == [ids[0]]
    assert rest["next_cursor"] is None
    assert [r["id"] for r in walk(roster.api_key(), "syncs")] == ids[::-1]


def test_r21_changes_are_paged_and_filtered(roster: Roster, sis: Sis, tmp_path: Path) -> None:
    snap = district(students=12, teachers=2, classes=3)
    snap.find("users", "u1")["email"] = "one@school.example"
    sis.run(snap)
    teacher = roster.teacher([sis.school_id("s1")]).api
    teacher.ok("PATCH", f"students/{sis.person_id('u1')}", json={"email": "one@home.example"})
    day2 = snap.copy()
    for n in range(2, 12):
        day2.find("users", f"u{n}")["middleName"] = f"M{n}"
    api = roster.district_admin().api
    run = _run(api, _zip(day2, tmp_path))
    assert run["status"] == "applied"
    pages, cursor, seen = 0, None, []
    while True:
        params: dict[str, Any] = {"limit": 4, **({"cursor": cursor} if cursor else {})}
        page = api.ok("GET", f"syncs/{run['id']}/changes", params=params)
        seen += page["items"]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 11 and pages == 3
    assert {(c["field"], c["action"]) for c in seen} == {
        ("middle_name", "updated"),
        ("email", "updated"),
    }
    assert set(seen[0]) >= {
        "entity_kind",
        "entity_id",
        "sourced_id",
        "action",
        "field",
        "old",
        "new",
        "manual_edit_overwritten",
    }
    overwritten = api.ok("GET", f"syncs/{run['id']}/changes", params={"overwritten": "true"})
    assert [(c["sourced_id"], c["old"], c["new"]) for c in overwritten["items"]] == [
        ("u1", "one@home.example", "one@school.example")
    ]
    classes = api.ok("GET", f"syncs/{run['id']}/changes", params={"entity_kind": "class"})
    assert classes["items"] == []
    error_of(api.get(f"syncs/{run['id']}/changes", params={"limit": 0}), 422, "validation_error")
    error_of(api.get("syncs/999999999"), 404, "not_found")
    error_of(api.get("syncs/not-a-number"), 404, "not_found")


# Decisions on held runs (R20) -------------------------------------------------------------------


def _held_run(roster: Roster, tmp_path: Path) -> tuple[Api, dict[str, Any]]:
    api = roster.district_admin().api
    snap = district(students=10)
    assert _run(api, _zip(snap, tmp_path, "day1.zip"))["status"] == "applied"
    day2 = snap.copy()
    for n in (1, 2, 3):
        day2.remove_user(f"u{n}")
    run = _run(api, _zip(day2, tmp_path, "day2.zip"))
    assert (run["status"], run["would_need_approval"]) == ("needs_approval", True)
    return api, run


def test_r20_held_run_is_approved_through_the_api(roster: Roster, tmp_path: Path) -> None:
    api, run = _held_run(roster, tmp_path)
    preview = walk(api, f"syncs/{run['id']}/changes")
    assert sorted(c["sourced_id"] for c in preview) == ["u1", "u2", "u3"]
    error_of(roster.api_key().post(f"syncs/{run['id']}/approve"), 403, "forbidden")
    error_of(roster.teacher().api.post(f"syncs/{run['id']}/approve"), 403, "forbidden")
    assert len(walk(api, "students")) == 10
    approved = api.ok("POST", f"syncs/{run['id']}/approve")
    assert approved["status"] == "applied"
    assert approved["counts"]["students"]["deactivated"] == 3
    assert len(walk(api, "students")) == 7
    assert len(walk(api, f"syncs/{run['id']}/changes")) == 3
    error_of(api.post(f"syncs/{run['id']}/approve"), 409, "run_not_waiting")
    error_of(api.post(f"syncs/{run['id']}/discard"), 409, "run_not_waiting")


def test_r20_held_run_is_discarded_through_the_api(roster: Roster, tmp_path: Path) -> None:
    api, run = _held_run(roster, tmp_path)
    discarded = roster.operator().ok("POST", f"syncs/{run['id']}/discard")
    assert discarded["status"] == "discarded"
    assert len(walk(api, "students")) == 10
    assert walk(api, f"syncs/{run['id']}/changes") == []
    error_of(api.post(f"syncs/{run['id']}/approve"), 409, "run_not_waiting")


def test_r20_deciding_a_dry_run_is_run_not_waiting(roster: Roster, tmp_path: Path) -> None:
    api = roster.district_admin().api
    snap = district(students=10)
    _run(api, _zip(snap, tmp_path, "day1.zip"))
    day2 = snap.copy()
    for n in (1, 2, 3):
        day2.remove_user(f"u{n}")
    run = _run(api, _zip(day2, tmp_path, "day2.zip"), dry_run=True)
    assert (run["status"], run["would_need_approval"]) == ("previewed", True)
    error = error_of(api.post(f"syncs/{run['id']}/approve"), 409, "run_not_waiting")
    assert run["id"] in error["message"]


def test_r20_threshold_is_set_through_the_api(roster: Roster, tmp_path: Path) -> None:
    api = roster.district_admin().api
    snap = district(students=10)
    _run(api, _zip(snap, tmp_path, "day1.zip"))
    updated = roster.operator().ok("PATCH", "", json={"threshold_percent": 30})
    assert updated["threshold_percent"] == 30
    day2 = snap.copy()
    for n in (1, 2, 3):
        day2.remove_user(f"u{n}")
    assert _run(api, _zip(day2, tmp_path, "day2.zip"))["status"] == "applied"
