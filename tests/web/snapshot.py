"""Small OneRoster 1.2 snapshots as zip bytes, for the page and browser tests.

Only the files and columns rollbook reads (the same layout as `rollbook generate`); each
record is a dict of its CSV cells, so a test says exactly what the SIS sends.
"""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass, field
from typing import Any

USERS = [
    "sourcedId", "status", "dateLastModified", "enabledUser", "username", "userIds",
    "givenName", "familyName", "middleName", "identifier", "email", "sms", "phone",
    "agentSourcedIds", "grades", "password", "userMasterIdentifier", "preferredGivenName",
    "preferredMiddleName", "preferredFamilyName", "primaryOrgSourcedId", "pronouns",
]  # fmt: skip
ROLES = [
    "sourcedId", "status", "dateLastModified", "userSourcedId", "roleType", "role",
    "beginDate", "endDate", "orgSourcedId", "userProfileSourcedId",
]  # fmt: skip
CLASSES = [
    "sourcedId", "status", "dateLastModified", "title", "grades", "courseSourcedId",
    "classCode", "classType", "location", "schoolSourcedId", "termSourcedIds", "subjects",
    "subjectCodes", "periods",
]  # fmt: skip
ENROLLMENTS = [
    "sourcedId", "status", "dateLastModified", "classSourcedId", "schoolSourcedId",
    "userSourcedId", "role", "primary", "beginDate", "endDate",
]  # fmt: skip
SETTING_COLUMNS = ["metadata.ill.language_support", "metadata.reading.session_minutes"]


@dataclass
class Snapshot:
    """A district as the SIS sends it: schools, people, classes, enrollments, products."""

    schools: dict[str, str] = field(default_factory=lambda: {"sch-1": "Lincoln Elementary"})
    users: list[dict[str, str]] = field(default_factory=list)
    classes: list[dict[str, str]] = field(default_factory=list)
    enrollments: list[tuple[str, str, str]] = field(default_factory=list)
    products: list[tuple[str, str]] = field(default_factory=list)

    def student(self, sourced_id: str, first: str, last: str, **cells: str) -> Snapshot:
        self.users.append(
            {
                "sourcedId": sourced_id,
                "enabledUser": "true",
                "username": cells.pop("username", f"{first}.{last}.{sourced_id}".lower()),
                "givenName": first,
                "familyName": last,
                "grades": cells.pop("grades", "03"),
                "primaryOrgSourcedId": cells.pop("school", "sch-1"),
                "role": "student",
                **cells,
            }
        )
        return self

    def teacher(self, sourced_id: str, first: str, last: str, **cells: str) -> Snapshot:
        self.users.append(
            {
                "sourcedId": sourced_id,
                "enabledUser": "true",
                "username": cells.pop("username", f"{first}.{last}".lower()),
                "givenName": first,
                "familyName": last,
                "primaryOrgSourcedId": cells.pop("school", "sch-1"),
                "role": "teacher",
                **cells,
            }
        )
        return self

    def klass(self, sourced_id: str, title: str, *members: str, **cells: str) -> Snapshot:
        self.classes.append(
            {
                "sourcedId": sourced_id,
                "title": title,
                "classType": "scheduled",
                "schoolSourcedId": cells.pop("school", "sch-1"),
                "termSourcedIds": "term-1",
                **cells,
            }
        )
        for member in members:
            role = next(u["role"] for u in self.users if u["sourcedId"] == member)
            self.enrollments.append((sourced_id, member, role))
        return self

    def product(self, class_id: str, code: str) -> Snapshot:
        self.products.append((class_id, code))
        return self

    def zip(self) -> bytes:
        """The snapshot as the zip an administrator uploads."""
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("manifest.csv", _manifest())
            archive.writestr("orgs.csv", self._orgs())
            archive.writestr("users.csv", self._users())
            archive.writestr("roles.csv", self._roles())
            archive.writestr("classes.csv", _csv(CLASSES, self.classes))
            archive.writestr("enrollments.csv", self._enrollments())
            archive.writestr("resources.csv", self._resources())
            archive.writestr("classResources.csv", self._class_resources())
        return buffer.getvalue()

    def _orgs(self) -> str:
        rows = [{"sourcedId": "district", "name": "District", "type": "district"}]
        rows += [
            {"sourcedId": sid, "name": name, "type": "school", "parentSourcedId": "district"}
            for sid, name in self.schools.items()
        ]
        return _csv(["sourcedId", "status", "dateLastModified", "name", "type", "identifier",
                     "parentSourcedId"], rows)  # fmt: skip

    def _users(self) -> str:
        rows = [{k: v for k, v in u.items() if k != "role"} for u in self.users]
        return _csv(USERS + SETTING_COLUMNS, rows)

    def _roles(self) -> str:
        rows = [
            {
                "sourcedId": f"role-{u['sourcedId']}",
                "userSourcedId": u["sourcedId"],
                "roleType": "primary",
                "role": u["role"],
                "orgSourcedId": u["primaryOrgSourcedId"],
            }
            for u in self.users
        ]
        return _csv(ROLES, rows)

    def _enrollments(self) -> str:
        schools = {c["sourcedId"]: c["schoolSourcedId"] for c in self.classes}
        rows = [
            {
                "sourcedId": f"enr-{class_id}-{user}",
                "classSourcedId": class_id,
                "schoolSourcedId": schools[class_id],
                "userSourcedId": user,
                "role": role,
            }
            for class_id, user, role in self.enrollments
        ]
        return _csv(ENROLLMENTS, rows)

    def _resources(self) -> str:
        codes = sorted({code for _, code in self.products})
        rows = [{"sourcedId": f"res-{c}", "vendorResourceId": c, "title": c} for c in codes]
        return _csv(["sourcedId", "status", "dateLastModified", "vendorResourceId", "title",
                     "roles", "importance", "vendorId", "applicationId"], rows)  # fmt: skip

    def _class_resources(self) -> str:
        rows = [
            {"sourcedId": f"cr-{c}-{p}", "title": p, "classSourcedId": c,
             "resourceSourcedId": f"res-{p}"}
            for c, p in self.products
        ]  # fmt: skip
        return _csv(["sourcedId", "status", "dateLastModified", "title", "classSourcedId",
                     "resourceSourcedId"], rows)  # fmt: skip


def _csv(header: list[str], rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header, lineterminator="\n", extrasaction="raise")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def _manifest() -> str:
    rows = [("manifest.version", "1.0"), ("oneroster.version", "1.2")]
    for name in (
        "academicSessions",
        "categories",
        "courses",
        "demographics",
        "lineItems",
        "results",
        "scoreScales",
        "userProfiles",
        "userResources",
        "courseResources",
    ):
        rows.append((f"file.{name}", "absent"))  # fmt: skip
    for name in ("orgs", "users", "roles", "classes", "enrollments", "resources", "classResources"):
        rows.append((f"file.{name}", "bulk"))  # fmt: skip
    return "propertyName,value\n" + "".join(f"{k},{v}\n" for k, v in rows)


def district(students: int = 6) -> Snapshot:
    """A small district: one school, a teacher, a class with its students and products."""
    snapshot = Snapshot()
    snapshot.teacher("t-1", "Maria", "Santos")
    names = [("Ava", "Baker"), ("Liam", "Chen"), ("Noah", "Diaz"), ("Emma", "Evans"),
             ("Mia", "Flores"), ("Omar", "Garcia"), ("Zoe", "Hill"), ("Kai", "Ito")]  # fmt: skip
    for n in range(students):
        first, last = names[n % len(names)]
        snapshot.student(f"s-{n + 1}", first, last + ("" if n < len(names) else str(n)))
    members = ["t-1", *(f"s-{n + 1}" for n in range(students))]
    snapshot.klass("c-1", "Grade 3 Reading", *members, grades="03", subjects="Reading")
    snapshot.product("c-1", "reading")
    return snapshot
