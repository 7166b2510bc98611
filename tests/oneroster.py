"""OneRoster 1.2 (and 1.1) CSV snapshots written from Python data, for the sync tests.

A `OneRoster` holds rows as dicts keyed by OneRoster column names; helpers add the rows a
district sends (a school, a student with its role rows, a class, an enrollment, a product of
a class) and `write()` / `zip()` put the CSV files and a manifest on disk. Anything can be
bent for a negative test: extra or omitted columns, raw file contents, manifest modes.

    snap = OneRoster()
    snap.school("s1")
    snap.student("u1", "ana.lopez", grades="03", **{"metadata.ill.language_support": "Spanish"})
    snap.klass("c1", school="s1", code="M3")
    snap.enroll("c1", "u1")
    snap.product("c1", "ill")
    folder = snap.write(tmp_path / "day1")
"""

from __future__ import annotations

import copy
import csv
import io
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rollbook.sync.binding import COLUMNS

FILES = ("orgs", "users", "roles", "classes", "enrollments", "resources", "classResources")
ROLES_12 = {"student", "teacher", "aide", "administrator", "principal"}


def _joined(value: str | Sequence[str]) -> str:
    return value if isinstance(value, str) else ",".join(value)


@dataclass
class OneRoster:
    """One snapshot: rows per file, and how to write them."""

    version: str = "1.2"
    mode: str = "bulk"
    district: str | None = "district"
    rows: dict[str, list[dict[str, Any]]] = field(
        default_factory=lambda: {name: [] for name in FILES}
    )
    # Columns left out of a file's header (and its rows): {"users": {"email"}}.
    omit: dict[str, set[str]] = field(default_factory=dict)
    # Raw contents that replace a generated file (None: the file is not written at all).
    raw: dict[str, str | bytes | None] = field(default_factory=dict)
    # Manifest modes per file key, over the default (`mode` for files written, else absent).
    manifest: dict[str, str] = field(default_factory=dict)
    # Write resources.csv and classResources.csv even without products (None: when any).
    products_sent: bool | None = None

    def __post_init__(self) -> None:
        if self.district and not self.rows["orgs"]:
            self.rows["orgs"].append(
                {"sourcedId": self.district, "name": "Springfield District", "type": "district"}
            )

    def copy(self) -> OneRoster:
        """A deep copy, to change for the next day's snapshot."""
        return copy.deepcopy(self)

    # Rows -------------------------------------------------------------------------------

    def school(self, sourced_id: str, name: str | None = None, **columns: Any) -> dict[str, Any]:
        row = {
            "sourcedId": sourced_id,
            "name": name or f"School {sourced_id}",
            "type": "school",
            "parentSourcedId": self.district or "",
            **columns,
        }
        self.rows["orgs"].append(row)
        return row

    def user(
        self,
        sourced_id: str,
        username: str,
        role: str,
        *,
        given: str = "Ana",
        family: str | None = None,
        schools: Sequence[str] = ("s1",),
        role_type: str = "primary",
        **columns: Any,
    ) -> dict[str, Any]:
        """A user with a role in each of `schools` (1.2: roles.csv rows; 1.1: users.csv)."""
        row: dict[str, Any] = {
            "sourcedId": sourced_id,
            "enabledUser": "true",
            "username": username,
            "givenName": given,
            "familyName": family or f"Family{sourced_id}",
            **columns,
        }
        if self.version == "1.1":
            row.setdefault("role", role)
            row.setdefault("orgSourcedIds", ",".join(schools))
        else:
            if schools:
                row.setdefault("primaryOrgSourcedId", schools[0])
            for n, school in enumerate(schools):
                self.rows["roles"].append(
                    {
                        "sourcedId": f"role-{sourced_id}-{n}",
                        "userSourcedId": sourced_id,
                        "roleType": role_type if n == 0 else "secondary",
                        "role": role,
                        "orgSourcedId": school,
                    }
                )
        self.rows["users"].append(row)
        return row

    def student(
        self,
        sourced_id: str,
        username: str | None = None,
        *,
        grades: str = "03",
        **columns: Any,
    ) -> dict[str, Any]:
        return self.user(
            sourced_id, username or f"student.{sourced_id}", "student", grades=grades, **columns
        )

    def teacher(
        self, sourced_id: str, username: str | None = None, **columns: Any
    ) -> dict[str, Any]:
        return self.user(sourced_id, username or f"teacher.{sourced_id}", "teacher", **columns)

    def administrator(
        self,
        sourced_id: str,
        username: str | None = None,
        *,
        district: bool = False,
        **columns: Any,
    ) -> dict[str, Any]:
        if district:
            role = "districtAdministrator" if self.version == "1.2" else "administrator"
            columns.setdefault("schools", (self.district,))
        else:
            role = "principal" if self.version == "1.2" else "administrator"
        return self.user(sourced_id, username or f"admin.{sourced_id}", role, **columns)

    def klass(
        self,
        sourced_id: str,
        title: str | None = None,
        *,
        school: str = "s1",
        code: str | None = None,
        grades: str | Sequence[str] = "03",
        subjects: str | Sequence[str] = "Math",
        periods: str | Sequence[str] = "1",
        **columns: Any,
    ) -> dict[str, Any]:
        row = {
            "sourcedId": sourced_id,
            "title": title or f"Class {sourced_id}",
            "classCode": code if code is not None else f"CODE-{sourced_id}",
            "classType": "scheduled",
            "schoolSourcedId": school,
            "grades": _joined(grades),
            "subjects": _joined(subjects),
            "periods": _joined(periods),
            **columns,
        }
        self.rows["classes"].append(row)
        return row

    def enroll(
        self, class_id: str, user_id: str, role: str = "student", **columns: Any
    ) -> dict[str, Any]:
        school = next(
            (c["schoolSourcedId"] for c in self.rows["classes"] if c["sourcedId"] == class_id), ""
        )
        row = {
            "sourcedId": f"enr-{class_id}-{user_id}",
            "classSourcedId": class_id,
            "schoolSourcedId": school,
            "userSourcedId": user_id,
            "role": role,
            **columns,
        }
        self.rows["enrollments"].append(row)
        return row

    def resource(self, code: str, sourced_id: str | None = None, **columns: Any) -> str:
        """The resource of a product (one per code), created on first use."""
        sourced_id = sourced_id or f"res-{code}"
        if not any(r["sourcedId"] == sourced_id for r in self.rows["resources"]):
            self.rows["resources"].append(
                {"sourcedId": sourced_id, "vendorResourceId": code, "title": code, **columns}
            )
        return sourced_id

    def product(self, class_id: str, code: str, **columns: Any) -> dict[str, Any]:
        """Product `code` for class `class_id`: a classResources row naming its resource."""
        resource = self.resource(code)
        row = {
            "sourcedId": f"cr-{class_id}-{code}",
            "title": code,
            "classSourcedId": class_id,
            "resourceSourcedId": resource,
            **columns,
        }
        self.rows["classResources"].append(row)
        return row

    # Finding and removing ---------------------------------------------------------------

    def find(self, file: str, sourced_id: str) -> dict[str, Any]:
        """The row of `file` with this sourcedId, to change in place."""
        for row in self.rows[file]:
            if row["sourcedId"] == sourced_id:
                return row
        raise KeyError(f"{file} has no row {sourced_id!r}")

    def remove_user(self, sourced_id: str) -> None:
        """A user leaves: its users.csv, roles.csv and enrollments.csv rows go."""
        self.rows["users"] = [r for r in self.rows["users"] if r["sourcedId"] != sourced_id]
        self.rows["roles"] = [r for r in self.rows["roles"] if r["userSourcedId"] != sourced_id]
        self.unenroll(user_id=sourced_id)

    def remove_class(self, sourced_id: str) -> None:
        self.rows["classes"] = [r for r in self.rows["classes"] if r["sourcedId"] != sourced_id]
        self.unenroll(class_id=sourced_id)
        self.rows["classResources"] = [
            r for r in self.rows["classResources"] if r["classSourcedId"] != sourced_id
        ]

    def unenroll(self, *, class_id: str | None = None, user_id: str | None = None) -> None:
        self.rows["enrollments"] = [
            r
            for r in self.rows["enrollments"]
            if not (
                (class_id is None or r["classSourcedId"] == class_id)
                and (user_id is None or r["userSourcedId"] == user_id)
            )
        ]

    def remove_product(self, class_id: str, code: str) -> None:
        self.rows["classResources"] = [
            r
            for r in self.rows["classResources"]
            if not (r["classSourcedId"] == class_id and r["title"] == code)
        ]

    # Writing ----------------------------------------------------------------------------

    def _header(self, name: str) -> list[str]:
        key = "users-1.1" if name == "users" and self.version == "1.1" else name
        header = list(COLUMNS[key])
        for row in self.rows[name]:
            header += [c for c in row if c not in header]
        return [c for c in header if c not in self.omit.get(name, set())]

    def _written(self) -> list[str]:
        names = ["orgs", "users", "classes", "enrollments"]
        if self.version == "1.2":
            names.insert(2, "roles")
        if self.mode == "delta":
            names = [n for n in names if self.rows[n]]
        products = self.products_sent
        if products is None:
            products = bool(self.rows["resources"] or self.rows["classResources"])
        if products:
            names += ["resources", "classResources"]
        return names

    def csv_text(self, name: str) -> str:
        """One file's contents as written."""
        header = self._header(name)
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=header, lineterminator="\n", extrasaction="ignore")
        writer.writeheader()
        for row in self.rows[name]:
            writer.writerow({c: "" if v is None else v for c, v in row.items()})
        return out.getvalue()

    def manifest_text(self, written: Iterable[str]) -> str:
        sent = set(written)
        lines = ["propertyName,value", "manifest.version,1.0", f"oneroster.version,{self.version}"]
        for name in FILES:
            if name == "roles" and self.version == "1.1":
                continue
            mode = self.manifest.get(name, self.mode if name in sent else "absent")
            lines.append(f"file.{name},{mode}")
        lines += ["source.systemName,rollbook tests", "source.systemCode,tests"]
        return "\n".join(lines) + "\n"

    def files(self) -> dict[str, bytes]:
        """Every file of the snapshot by name, as bytes."""
        written = self._written()
        out: dict[str, bytes] = {"manifest.csv": self.manifest_text(written).encode()}
        for name in written:
            out[f"{name}.csv"] = self.csv_text(name).encode()
        for name, content in self.raw.items():
            if content is None:
                out.pop(name, None)
            else:
                out[name] = content.encode() if isinstance(content, str) else content
        return out

    def write(self, folder: Path) -> Path:
        """The snapshot as a folder of CSV files; returns the folder."""
        folder.mkdir(parents=True, exist_ok=True)
        for name, data in self.files().items():
            (folder / name).write_bytes(data)
        return folder

    def zip(self, target: Path, *, prefix: str = "") -> Path:
        """The snapshot as a zip archive (files under `prefix` inside it); returns the path."""
        target.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, data in self.files().items():
                archive.writestr(prefix + name, data)
        return target


def district(
    *,
    schools: Sequence[str] = ("s1",),
    students: int = 0,
    teachers: int = 0,
    classes: int = 0,
    version: str = "1.2",
) -> OneRoster:
    """A small district: students u1…, teachers t1…, classes c1… at the first school, each
    class taught by teacher 1 with every student enrolled."""
    snap = OneRoster(version=version)
    for school in schools:
        snap.school(school)
    for n in range(1, students + 1):
        snap.student(f"u{n}", f"student{n}", given=f"Stu{n}", family=f"Dent{n}")
    for n in range(1, teachers + 1):
        snap.teacher(f"t{n}", f"teacher{n}", given=f"Tea{n}", family=f"Cher{n}")
    for n in range(1, classes + 1):
        snap.klass(f"c{n}", f"Class {n}", school=schools[0])
        if teachers:
            snap.enroll(f"c{n}", "t1", "teacher")
        for s in range(1, students + 1):
            snap.enroll(f"c{n}", f"u{s}")
    return snap
