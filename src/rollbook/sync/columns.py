"""Which OneRoster files and columns rollbook reads, per version (interfaces.md, field tables).

A column is required when it carries a locked field or a reference the roster cannot do
without; a missing one rejects the snapshot (R22). Columns of shared fields may be left out:
R12 reads a missing column as "not sent".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from rollbook.sync.records import Version

FileKey = Literal["orgs", "users", "roles", "classes", "enrollments", "resources", "classResources"]
FILE_KEYS: tuple[FileKey, ...] = (
    "orgs",
    "users",
    "roles",
    "classes",
    "enrollments",
    "resources",
    "classResources",
)
REQUIRED_FILES: dict[Version, tuple[FileKey, ...]] = {
    "1.1": ("orgs", "users", "classes", "enrollments"),
    "1.2": ("orgs", "users", "roles", "classes", "enrollments"),
}
# Products come from these two together: one without the other cannot name a product (R14).
PRODUCT_FILES: tuple[FileKey, FileKey] = ("resources", "classResources")


@dataclass(frozen=True, slots=True)
class FileSpec:
    """The columns rollbook reads from one file of one OneRoster version."""

    required: tuple[str, ...]
    optional: tuple[str, ...] = ()
    # Optional columns the binding always writes: their absence is worth a warning.
    expected: tuple[str, ...] = ()

    @property
    def read(self) -> tuple[str, ...]:
        return self.required + self.optional


_COMMON = ("sourcedId", "status")
_USER_SHARED = ("middleName", "identifier", "email", "grades")

_SPECS: dict[FileKey, FileSpec] = {
    "orgs": FileSpec(
        (*_COMMON, "name", "type"), ("dateLastModified", "identifier", "parentSourcedId")
    ),
    "roles": FileSpec(
        (*_COMMON, "userSourcedId", "roleType", "role", "orgSourcedId"), ("dateLastModified",)
    ),
    "classes": FileSpec(
        (*_COMMON, "title", "classCode", "schoolSourcedId", "grades", "subjects", "periods"),
        ("dateLastModified",),
    ),
    "enrollments": FileSpec(
        (*_COMMON, "classSourcedId", "schoolSourcedId", "userSourcedId", "role"),
        ("dateLastModified",),
    ),
    "resources": FileSpec((*_COMMON, "vendorResourceId"), ("dateLastModified",)),
    "classResources": FileSpec(
        (*_COMMON, "classSourcedId", "resourceSourcedId"), ("dateLastModified",)
    ),
}
_USERS: dict[Version, FileSpec] = {
    "1.1": FileSpec(
        (*_COMMON, "enabledUser", "orgSourcedIds", "role", "username", "givenName", "familyName"),
        ("dateLastModified", *_USER_SHARED, "preferredGivenName"),
        _USER_SHARED,
    ),
    "1.2": FileSpec(
        (*_COMMON, "enabledUser", "username", "givenName", "familyName"),
        ("dateLastModified", *_USER_SHARED, "preferredGivenName", "primaryOrgSourcedId"),
        (*_USER_SHARED, "preferredGivenName"),
    ),
}

# Misspellings found in real exports (../shared/samples), read as the column they mean.
ALIASES: dict[str, str] = {
    wrong.casefold(): right
    for wrong, right in (
        ("dataLastModified", "dateLastModified"),
        ("prefferedGivenName", "preferredGivenName"),
        ("prefferedMiddleName", "preferredMiddleName"),
        ("prefferedFamilyName", "preferredFamilyName"),
    )
}


def spec_of(key: FileKey, version: Version) -> FileSpec:
    """The columns rollbook reads from file `key` in a snapshot of `version`."""
    return _USERS[version] if key == "users" else _SPECS[key]
