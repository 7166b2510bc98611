"""Hostile and malformed input (quality.md, R22): what the snapshot fuzzing found, pinned down,
and the hostile uploads that tests/unit/sync and test_sync_api.py did not cover yet.

Already covered elsewhere: entry names climbing out of an archive or absolute (unit, API,
command line), an archive that declares more than the unpack limit and an entry that unpacks
past its declared size (unit), a nested archive (unit), an upload past the upload limit
(test_sync_api.py), non-UTF-8 text and UTF-16 (unit).
"""

from __future__ import annotations

import stat
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.exc import IntegrityError

from rollbook.store.db import Database
from rollbook.sync import engine as engine_module
from tests.factories import Api, Roster
from tests.integration.syncing import Sis, canonical, client_with, upload, wait_for
from tests.oneroster import district

# Found by tests/fuzz/test_snapshot_fuzz.py -------------------------------------------------


def test_a_class_sent_with_blank_grades_subjects_and_periods_gets_empty_lists(
    roster: Roster, sis: Sis
) -> None:
    """Was: the run failed (NOT NULL constraint failed: classes.grades) on both backends."""
    snap = district(students=1, classes=2)
    assert sis.run(snap).status == "applied"
    for column in ("grades", "subjects", "periods"):
        snap.find("classes", "c1")[column] = ""
    report = sis.run(snap)
    assert report.status == "applied", report.run
    klass = sis.klass("c1")
    assert (klass.grades, klass.subjects, klass.periods) == ([], [], [])
    assert sis.klass("c2").grades == ["03"]


def test_ids_no_column_can_hold_skip_their_rows_and_the_rest_applies(
    roster: Roster, sis: Sis
) -> None:
    """Was: on PostgreSQL a NUL or a 256th character in any id failed the whole run
    ("PostgreSQL text fields cannot contain NUL", "value too long for type character
    varying(255)"); SQLite stored them as they came."""
    snap = district(students=2, teachers=1, classes=1)
    snap.student("u\x009", "nul.id")
    snap.rows["roles"][-1]["sourcedId"] = "role-nul"
    snap.student("u" * 300, "long.id")
    snap.rows["roles"][-1]["sourcedId"] = "role-long"
    snap.enroll("c" * 300, "u1", sourcedId="enr-long-class")
    snap.enroll("c1", "u2\x00", sourcedId="enr-nul-user")
    report = sis.run(snap)
    assert report.status == "applied", report.run
    bad = [(e["file"], e["column"], e["code"], e["sourced_id"]) for e in report.errors]
    assert sorted(bad, key=repr) == sorted(
        [
            ("users.csv", "sourcedId", "bad_value", None),
            ("users.csv", "sourcedId", "bad_value", None),
            ("roles.csv", "userSourcedId", "bad_value", "role-nul"),
            ("roles.csv", "userSourcedId", "bad_value", "role-long"),
            ("enrollments.csv", "classSourcedId", "bad_value", "enr-long-class"),
            ("enrollments.csv", "userSourcedId", "bad_value", "enr-nul-user"),
        ],
        key=repr,
    )
    assert any("NUL" in e["message"] for e in report.errors)
    assert any("longer than 255" in e["message"] for e in report.errors)
    assert report.count("students", "created") == 2
    assert set(sis.members("c1")) == {"u1", "u2", "t1"}


def test_issue_fields_and_extension_values_longer_than_their_columns_are_stored(
    roster: Roster, sis: Sis
) -> None:
    """A header cell, an `ext:` org type, role or role type past its staging column: the run
    applies (was: failed on PostgreSQL, value too long)."""
    snap = district(students=1, teachers=1)
    snap.school("s2", type="ext:" + "x" * 60)
    snap.rows["roles"][-1]["roleType"] = "ext:" + "y" * 60
    snap.student("u7", "ext.role")
    snap.rows["roles"].append(
        {
            "sourcedId": "role-u7-ext",
            "userSourcedId": "u7",
            "roleType": "secondary",
            "role": "ext:" + "z" * 60,
            "orgSourcedId": "s1",
        }
    )
    snap.find("users", "u1")["x" * 300 + "\x00"] = "v"
    report = sis.run(snap)
    assert report.status == "applied", report.run
    assert all(len(w["column"] or "") <= 255 for w in report.warnings)
    assert sis.person("u7").status == "active"


def test_a_database_error_is_not_shown_in_a_failed_run(
    roster: Roster, sis: Sis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Was: "the run failed: (sqlite3.IntegrityError) … [SQL: UPDATE classes SET …]
    [parameters: (…)]" in the report, with row values; they belong in the server's log."""

    def explode(*args: Any, **kwargs: Any) -> None:
        raise IntegrityError("UPDATE classes SET name=? -- Lopez", ("Lopez",), Exception("x"))

    monkeypatch.setattr(engine_module, "apply_products", explode)
    report = sis.run(district(students=1))
    assert report.status == "failed"
    assert report.run["message"] == (
        "the run failed on a database error (logged on the server); nothing was applied"
    )


# Hostile archives --------------------------------------------------------------------------


@pytest.fixture
def small_unpack_client(db: Database, backend: str, tmp_path: Path) -> Iterator[TestClient]:
    """An application whose archives may unpack to at most 20 KB."""
    with client_with(db, backend, tmp_path, max_unpacked_bytes=20_000) as client:
        yield client


def test_an_upload_that_unpacks_past_the_limit_is_a_rejected_run(
    roster: Roster, sis: Sis, small_unpack_client: TestClient, tmp_path: Path
) -> None:
    assert sis.run(district(students=2)).status == "applied"
    api = Api(small_unpack_client, roster.district_admin().api.token, roster.slug)
    before = canonical(roster.db, roster.org.id)
    bomb = district(students=3).zip(tmp_path / "bomb.zip")
    with zipfile.ZipFile(bomb, "a", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("padding.csv", b"," * 5_000_000)  # a few kilobytes compressed
    assert bomb.stat().st_size < 50_000
    run = wait_for(api, upload(api, bomb)["id"])
    assert run["status"] == "rejected"
    assert [e["code"] for e in run["errors"]] == ["archive_too_large"]
    assert "20,000" in run["errors"][0]["message"]
    assert canonical(roster.db, roster.org.id) == before


def test_a_symlink_entry_is_read_as_bytes_never_followed(
    roster: Roster, sis: Sis, tmp_path: Path
) -> None:
    """rollbook never unpacks to disk: a link named users.csv is the text of its target."""
    path = tmp_path / "link.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in district(students=1).files().items():
            if name != "users.csv":
                archive.writestr(name, data)
        link = zipfile.ZipInfo("users.csv")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(link, "/etc/passwd")
    report = sis.run(path)
    assert report.status == "rejected"
    messages = " ".join(e["message"] for e in report.errors)
    assert "users.csv" in messages
    assert "root:" not in messages


def test_an_encrypted_entry_is_rejected_with_a_message(
    roster: Roster, sis: Sis, tmp_path: Path
) -> None:
    path = district(students=1).zip(tmp_path / "locked.zip")
    data = bytearray(path.read_bytes())
    # Set the "encrypted" flag of every entry, in the local and the central headers.
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = data.find(signature)
        while at != -1:
            data[at + offset] |= 0x01
            at = data.find(signature, at + 4)
    path.write_bytes(bytes(data))
    report = sis.run(path)
    assert report.status == "rejected", report.run
    assert report.errors and all(e["file"] for e in report.errors)
    assert "Traceback" not in report.run["message"]


def test_rollbook_serves_no_csv_export(client: TestClient) -> None:
    """quality.md asks formula-looking cells (`=cmd`) in exports to be neutralised: rollbook
    has no export (its only CSV writer is `rollbook generate`'s synthetic district). When one
    is added, this fails, as a reminder that its cells need neutralising."""
    document = client.get("/api/v1/openapi.json").json()
    assert "text/csv" not in str(document)
    routes = [getattr(route, "path", "") for route in client.app.routes]  # type: ignore[attr-defined]
    assert not [path for path in routes if "export" in path or path.endswith(".csv")]
