"""The folder and zip source: finding files, and refusing hostile or broken archives (R22)."""

from __future__ import annotations

import io
import struct
import zipfile
from pathlib import Path

import pytest
from sync_kit import LIMIT, Builder, codes, open_folder, split, zip_folder

from rollbook.sync.records import Issue, SnapshotRejected, rejection
from rollbook.sync.sources.oneroster_csv import _Capped, open_snapshot


def rejected(path: Path, limit: int = LIMIT) -> SnapshotRejected:
    with pytest.raises(SnapshotRejected) as caught:
        snapshot = open_snapshot(path, max_unpacked_bytes=limit)
        for name in ("orgs", "users", "roles", "classes", "enrollments"):
            list(getattr(snapshot, name)())
    return caught.value


def test_a_folder_and_its_zip_read_the_same(build: Builder, tmp_path: Path) -> None:
    folder = build()
    archive = zip_folder(folder, tmp_path / "snap.zip")
    from_folder = open_folder(folder)
    from_zip = open_snapshot(archive, max_unpacked_bytes=LIMIT)
    assert list(from_zip.users()) == list(from_folder.users())
    assert (from_zip.version, from_zip.mode) == ("1.2", "full")
    assert from_zip.warnings == []


def test_a_folder_and_its_zip_state_each_file_size(build: Builder, tmp_path: Path) -> None:
    folder = build()
    archive = zip_folder(folder, tmp_path / "snap.zip", prefix="export/")
    users = (folder / "users.csv").stat().st_size
    for snapshot in (open_folder(folder), open_snapshot(archive, max_unpacked_bytes=LIMIT)):
        source = snapshot.source
        name = source.find("users.csv")
        assert name is not None
        assert source.size(name) == users
        assert source.size("absent.csv") is None


def test_a_zip_of_one_exported_folder_is_read_from_that_folder(
    build: Builder, tmp_path: Path
) -> None:
    archive = zip_folder(build(), tmp_path / "snap.zip", prefix="export-2024/")
    with zipfile.ZipFile(archive, "a") as extra:
        extra.writestr("__MACOSX/export-2024/._manifest.csv", b"junk")
        extra.writestr("__MACOSX/export-2024/manifest.csv", b"junk")
    rows, issues = split(open_snapshot(archive, max_unpacked_bytes=LIMIT).users())
    assert len(rows) == 2 and issues == []


def test_files_are_found_without_regard_to_case(build: Builder) -> None:
    folder = build()
    (folder / "users.csv").rename(folder / "Users.CSV")
    (folder / "manifest.csv").rename(folder / "MANIFEST.csv")
    rows, _ = split(open_folder(folder).users())
    assert len(rows) == 2


def test_two_spellings_of_one_file_reject_the_snapshot(build: Builder) -> None:
    folder = build()
    (folder / "Users.csv").write_bytes((folder / "users.csv").read_bytes())
    error = rejected(folder)
    assert codes(error.issues) == ["ambiguous_file"]
    assert "Users.csv" in str(error) and "users.csv" in str(error)


@pytest.mark.parametrize(
    "entry",
    ["../users.csv", "snap/../../etc/passwd", "..\\..\\evil.csv", "a/b/../../../x.csv"],
)
def test_r22_a_zip_entry_climbing_out_rejects_the_whole_archive(
    build: Builder, tmp_path: Path, entry: str
) -> None:
    archive = zip_folder(build(), tmp_path / "snap.zip")
    with zipfile.ZipFile(archive, "a") as hostile:
        hostile.writestr(entry, b"x")
    error = rejected(archive)
    assert codes(error.issues) == ["unsafe_name"]
    assert "snap.zip" in error.issues[0].message


@pytest.mark.parametrize("entry", ["/etc/cron.d/evil", "C:/Windows/evil.csv", "\\abs.csv"])
def test_r22_a_zip_entry_with_an_absolute_name_rejects_the_whole_archive(
    build: Builder, tmp_path: Path, entry: str
) -> None:
    archive = zip_folder(build(), tmp_path / "snap.zip")
    with zipfile.ZipFile(archive, "a") as hostile:
        info = zipfile.ZipInfo("placeholder")
        info.filename = entry  # ZipInfo() would strip a leading slash; a hostile tool does not
        hostile.writestr(info, b"x")
    error = rejected(archive)
    assert codes(error.issues) == ["unsafe_name"]
    assert "absolute" in error.issues[0].message


def test_an_archive_that_unpacks_past_the_limit_is_refused(build: Builder, tmp_path: Path) -> None:
    archive = zip_folder(build(), tmp_path / "snap.zip")
    with zipfile.ZipFile(archive, "a", zipfile.ZIP_DEFLATED) as bomb:
        bomb.writestr("padding.txt", b"\0" * 3_000_000)  # compresses to a few kilobytes
    assert archive.stat().st_size < 50_000
    error = rejected(archive, limit=1_000_000)
    assert codes(error.issues) == ["archive_too_large"]
    assert "1,000,000" in str(error)


def test_an_entry_that_unpacks_past_its_declared_size_is_refused(
    build: Builder, tmp_path: Path
) -> None:
    archive = zip_folder(build(), tmp_path / "snap.zip")
    data = bytearray(archive.read_bytes())
    # Shrink the uncompressed size users.csv declares in the central directory (offset 24).
    entry = data.find(b"PK\x01\x02", data.find(b"users.csv") - 100)
    while data[entry + 46 : entry + 55] != b"users.csv":
        entry = data.find(b"PK\x01\x02", entry + 4)
    struct.pack_into("<I", data, entry + 24, 10)
    archive.write_bytes(bytes(data))
    error = rejected(archive)
    assert error.issues[0].file == "users.csv"
    assert error.issues[0].message.startswith("users.csv line 1: ")


def test_the_byte_counter_stops_at_the_declared_size() -> None:
    # zipfile itself checks sizes today; the counter keeps the promise if it ever stops.
    stream = io.BufferedReader(_Capped(io.BytesIO(b"x" * 100), 10, "users.csv"))
    with pytest.raises(SnapshotRejected) as caught:
        stream.read()
    assert codes(caught.value.issues) == ["archive_too_large"]
    assert io.BufferedReader(_Capped(io.BytesIO(b"x" * 10), 10, "a.csv")).read() == b"x" * 10


def test_a_nested_archive_is_ignored_with_a_warning(build: Builder, tmp_path: Path) -> None:
    archive = zip_folder(build(), tmp_path / "snap.zip")
    with zipfile.ZipFile(archive, "a") as outer:
        outer.writestr("more.zip", b"PK\x05\x06" + b"\0" * 18)
    snapshot = open_snapshot(archive, max_unpacked_bytes=LIMIT)
    assert codes(snapshot.warnings) == ["nested_archive"]
    assert "more.zip" in snapshot.warnings[0].message


def test_a_file_that_is_not_a_zip_is_rejected(tmp_path: Path) -> None:
    upload = tmp_path / "roster.zip"
    upload.write_text("sourcedId,name\n")
    error = rejected(upload)
    assert codes(error.issues) == ["unreadable_archive"]
    assert "roster.zip" in str(error)


def test_a_path_that_does_not_exist_is_rejected(tmp_path: Path) -> None:
    error = rejected(tmp_path / "nowhere.zip")
    assert codes(error.issues) == ["unreadable_archive"]


def test_a_damaged_entry_is_rejected_when_read(build: Builder, tmp_path: Path) -> None:
    archive = zip_folder(build(), tmp_path / "snap.zip")
    data = bytearray(archive.read_bytes())
    with zipfile.ZipFile(archive) as reading:
        info = reading.getinfo("enrollments.csv")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    data[start : start + 8] = b"\xff" * 8
    archive.write_bytes(bytes(data))
    error = rejected(archive)
    assert codes(error.issues) == ["unreadable_file"]
    assert error.issues[0].file == "enrollments.csv"


def test_an_issue_reports_exactly_the_keys_of_a_run_report() -> None:
    issue = Issue("users.csv", 14, "grades", "bad_grade", "users.csv line 14, ...", "u1", "error")
    assert issue.as_dict() == {
        "file": "users.csv",
        "line": 14,
        "column": "grades",
        "code": "bad_grade",
        "message": "users.csv line 14, ...",
        "sourced_id": "u1",
    }


def test_a_rejection_message_names_file_line_and_column() -> None:
    issue = rejection("missing_column", "required column is missing", "users.csv", 1, "username")
    assert str(SnapshotRejected([issue])) == (
        "users.csv line 1, column username: required column is missing"
    )


def test_an_archive_holding_two_snapshots_is_rejected(build: Builder, tmp_path: Path) -> None:
    folder = build()
    archive = zip_folder(folder, tmp_path / "two.zip", prefix="monday/")
    with zipfile.ZipFile(archive, "a") as both:
        both.write(folder / "manifest.csv", "tuesday/manifest.csv")
    error = rejected(archive)
    assert codes(error.issues) == ["ambiguous_file"]
    assert "monday/manifest.csv, tuesday/manifest.csv" in str(error)
