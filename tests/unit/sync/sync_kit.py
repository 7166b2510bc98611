"""Small synthetic OneRoster snapshots written to tmp_path, and helpers for the sync tests."""

from __future__ import annotations

import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest

from rollbook.sync.parse import Snapshot
from rollbook.sync.records import Issue
from rollbook.sync.sources.oneroster_csv import open_snapshot

SAMPLES = Path(__file__).resolve().parents[3] / ".." / "shared" / "samples"
LIMIT = 10_000_000

BASE_12: dict[str, str] = {
    "orgs.csv": (
        "sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId\n"
        "d1,,,Springfield District,district,,\n"
        "s1,,,Springfield Elementary,school,SE,d1\n"
    ),
    "users.csv": (
        "sourcedId,status,dateLastModified,enabledUser,username,givenName,familyName,"
        "middleName,identifier,email,grades,preferredGivenName,primaryOrgSourcedId\n"
        "u1,,,true,ana.lopez,Ana,Lopez,,A1,ana@example.org,03,,s1\n"
        "u2,,,true,tim.teach,Tim,Teach,,,,,,s1\n"
    ),
    "roles.csv": (
        "sourcedId,status,dateLastModified,userSourcedId,roleType,role,orgSourcedId\n"
        "r1,,,u1,primary,student,s1\n"
        "r2,,,u2,primary,teacher,s1\n"
    ),
    "classes.csv": (
        "sourcedId,status,dateLastModified,title,grades,classCode,schoolSourcedId,"
        "subjects,periods\n"
        "c1,,,Math 3,03,M3,s1,Math,1\n"
    ),
    "enrollments.csv": (
        "sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,role\n"
        "e1,,,c1,s1,u1,student\n"
        "e2,,,c1,s1,u2,teacher\n"
    ),
}

BASE_11: dict[str, str] = {
    "orgs.csv": BASE_12["orgs.csv"],
    "users.csv": (
        "sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role,username,userIds,"
        "givenName,familyName,middleName,identifier,email,sms,phone,agentSourcedIds,grades,"
        "password\n"
        "u1,,,true,s1,student,ana.lopez,,Ana,Lopez,,A1,ana@example.org,,,,03,\n"
        'u2,,,true,"s1,d1",teacher,tim.teach,,Tim,Teach,,,,,,,,\n'
    ),
    "classes.csv": BASE_12["classes.csv"],
    "enrollments.csv": BASE_12["enrollments.csv"],
}

FileSet = dict[str, str | bytes | None]
Builder = Callable[..., Path]


def manifest_for(files: Iterable[str], version: str, mode: str) -> str:
    """A manifest marking each given .csv file with `mode` and the rest absent."""
    sent = {name.removesuffix(".csv").casefold() for name in files}
    keys = ("orgs", "users", "roles", "classes", "enrollments", "resources", "classResources")
    lines = ["propertyName,value", "manifest.version,1.0", f"oneroster.version,{version}"]
    for key in keys:
        lines.append(f"file.{key},{mode if key.casefold() in sent else 'absent'}")
    return "\n".join(lines) + "\n"


@pytest.fixture
def build(tmp_path: Path) -> Builder:
    """Write a snapshot folder: the base set of `version`, with files replaced or removed."""

    def write(
        changes: FileSet | None = None,
        *,
        version: str = "1.2",
        mode: str = "bulk",
        manifest: str | None = None,
        name: str = "snap",
    ) -> Path:
        files: FileSet = dict(BASE_12 if version == "1.2" else BASE_11)
        files.update(changes or {})
        folder = tmp_path / name
        folder.mkdir()
        present = {n: c for n, c in files.items() if c is not None}
        if manifest is None:
            manifest = manifest_for(present, version, mode)
        if "manifest.csv" not in present:
            present["manifest.csv"] = manifest
        for file_name, content in present.items():
            if content is None:
                continue
            data = content.encode() if isinstance(content, str) else content
            (folder / file_name).write_bytes(data)
        return folder

    return write


def zip_folder(folder: Path, target: Path, *, prefix: str = "") -> Path:
    """Zip every file of `folder` (optionally under a folder `prefix` inside the archive)."""
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.iterdir()):
            archive.write(path, prefix + path.name)
    return target


def open_folder(folder: Path, limit: int = LIMIT) -> Snapshot:
    """Open a snapshot with the usual test limit."""
    return open_snapshot(folder, max_unpacked_bytes=limit)


def split(items: Iterable[object]) -> tuple[list[Any], list[Issue]]:
    """Rows and issues of a generator, apart."""
    rows: list[Any] = []
    issues: list[Issue] = []
    for item in items:
        (issues if isinstance(item, Issue) else rows).append(item)
    return rows, issues


def codes(issues: Iterable[Issue]) -> list[str]:
    """The codes of issues, in order."""
    return [issue.code for issue in issues]
