"""Reading the bytes: UTF-8 with or without BOM, broken encodings and quoting (R22), streaming."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sync_kit import BASE_12, LIMIT, Builder, codes, open_folder, split, zip_folder

from rollbook.sync.records import SnapshotRejected
from rollbook.sync.sources.oneroster_csv import open_snapshot


def test_a_utf8_bom_is_accepted(build: Builder) -> None:
    users = b"\xef\xbb\xbf" + BASE_12["users.csv"].replace("Lopez", "López").encode()
    rows, issues = split(open_folder(build({"users.csv": users})).users())
    assert [r.family_name for r in rows] == ["López", "Teach"]
    assert issues == []


def test_a_bom_on_the_manifest_is_accepted(build: Builder) -> None:
    folder = build()
    manifest = folder / "manifest.csv"
    manifest.write_bytes(b"\xef\xbb\xbf" + manifest.read_bytes())
    assert open_folder(folder).version == "1.2"


def test_r22_a_file_that_is_not_utf8_rejects_naming_file_and_line(build: Builder) -> None:
    users = BASE_12["users.csv"].replace("Teach", "Teäch").encode("latin-1")
    snapshot = open_folder(build({"users.csv": users}))
    rows = snapshot.users()
    assert next(rows).sourced_id == "u1"
    with pytest.raises(SnapshotRejected) as caught:
        next(rows)
    (issue,) = caught.value.issues
    assert (issue.file, issue.line, issue.code) == ("users.csv", 3, "bad_encoding")
    assert issue.message.startswith("users.csv line 3: is not UTF-8 text (byte 0xe4")
    assert "export the file again as UTF-8 CSV" in issue.message


def test_r22_a_utf16_header_rejects_at_open(build: Builder) -> None:
    with pytest.raises(SnapshotRejected) as caught:
        open_folder(build({"orgs.csv": BASE_12["orgs.csv"].encode("utf-16")}))
    assert [(i.file, i.line, i.code) for i in caught.value.issues] == [
        ("orgs.csv", 1, "bad_encoding")
    ]


def test_r22_a_nul_byte_in_a_name_is_a_row_error(build: Builder) -> None:
    users = BASE_12["users.csv"].replace("Teach", "Te\0ach")
    rows, issues = split(open_folder(build({"users.csv": users})).users())
    assert len(rows) == 1
    assert [(i.line, i.column, i.code) for i in issues] == [(3, "familyName", "bad_value")]
    assert "control characters" in issues[0].message


def test_r22_a_field_past_the_csv_size_limit_is_a_structure_error(build: Builder) -> None:
    users = BASE_12["users.csv"].replace("Teach", '"' + "x" * 200_000 + '"')
    with pytest.raises(SnapshotRejected) as caught:
        list(open_folder(build({"users.csv": users})).users())
    assert codes(caught.value.issues) == ["bad_csv"]
    assert caught.value.issues[0].line == 3


def test_rows_stream_without_reading_the_whole_file(build: Builder, tmp_path: Path) -> None:
    # A damaged byte far down the file is only met when the reader gets there.
    rows = "".join(f"e{i},,,c1,s1,u1,student\n" for i in range(50_000))
    header = BASE_12["enrollments.csv"].splitlines()[0] + "\n"
    enrollments = (header + rows).encode() + b"e-bad,,,c1,s1,u\xff,student\n"
    archive = zip_folder(build({"enrollments.csv": enrollments}), tmp_path / "big.zip")
    stream = open_snapshot(archive, max_unpacked_bytes=LIMIT).enrollments()
    first = [next(stream) for _ in range(3)]
    assert [r.line for r in first] == [2, 3, 4]
    stream.close()


def test_generators_can_be_read_again(build: Builder, tmp_path: Path) -> None:
    archive = zip_folder(build(), tmp_path / "snap.zip")
    snapshot = open_snapshot(archive, max_unpacked_bytes=LIMIT)
    assert list(snapshot.classes()) == list(snapshot.classes())


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(noise=st.binary(max_size=300), cut=st.integers(min_value=0, max_value=400))
def test_malformed_bytes_raise_nothing_but_snapshot_rejected(
    build: Builder, tmp_path_factory: pytest.TempPathFactory, noise: bytes, cut: int
) -> None:
    folder = tmp_path_factory.mktemp("fuzz")
    users = BASE_12["users.csv"].encode()
    damaged = users[:cut] + noise + users[cut:]
    for name, content in {**BASE_12, "users.csv": damaged}.items():
        (folder / name).write_bytes(content if isinstance(content, bytes) else content.encode())
    (folder / "manifest.csv").write_text(
        "propertyName,value\noneroster.version,1.2\nfile.orgs,bulk\nfile.users,bulk\n"
        "file.roles,bulk\nfile.classes,bulk\nfile.enrollments,bulk\n"
    )
    archive = folder / "snap.zip"
    with zipfile.ZipFile(archive, "w") as out:
        for path in folder.glob("*.csv"):
            out.write(path, path.name)
    for source in (folder, archive):
        try:
            snapshot = open_snapshot(source, max_unpacked_bytes=LIMIT)
            list(snapshot.users())
        except SnapshotRejected as rejected:
            assert rejected.issues and all(i.severity == "error" for i in rejected.issues)


@settings(max_examples=100, deadline=None)
@given(data=st.binary(max_size=600))
def test_a_random_upload_is_rejected_not_crashed(
    tmp_path_factory: pytest.TempPathFactory, data: bytes
) -> None:
    upload = tmp_path_factory.mktemp("upload") / "upload.zip"
    upload.write_bytes(data)
    with pytest.raises(SnapshotRejected):
        open_snapshot(upload, max_unpacked_bytes=LIMIT)
