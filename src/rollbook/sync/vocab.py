"""OneRoster's enumerations as rollbook reads them, and the role mapping of interfaces.md."""

from __future__ import annotations

from typing import Literal

from rollbook.sync.records import Issue, Status, Version, locate

MappedRole = Literal["student", "teacher", "administrator"]

STATUSES: dict[str, Status] = {"active": "active", "tobedeleted": "tobedeleted"}

ORG_TYPES: dict[str, str] = {
    t.casefold(): t for t in ("department", "district", "local", "national", "school", "state")
}
ROLE_TYPES: dict[str, str] = {"primary": "primary", "secondary": "secondary"}

# Each role: what rollbook imports it as, and the OneRoster versions whose vocabulary has it.
_ROLE_TABLE: tuple[tuple[str, MappedRole | None, tuple[Version, ...]], ...] = (
    ("student", "student", ("1.1", "1.2")),
    ("teacher", "teacher", ("1.1", "1.2")),
    ("aide", "teacher", ("1.1", "1.2")),
    ("administrator", "administrator", ("1.1",)),
    ("siteAdministrator", "administrator", ("1.2",)),
    ("districtAdministrator", "administrator", ("1.2",)),
    ("principal", "administrator", ("1.2",)),
    ("guardian", None, ("1.1", "1.2")),
    ("parent", None, ("1.1", "1.2")),
    ("relative", None, ("1.1", "1.2")),
    ("proctor", None, ("1.1", "1.2")),
    ("counselor", None, ("1.2",)),
    ("systemAdministrator", None, ("1.2",)),
)
_ROLES = {row[0].casefold(): row for row in _ROLE_TABLE}
KNOWN_ROLES = ", ".join(spelled for spelled, _, _ in _ROLES.values())


def is_extension(raw: str) -> bool:
    """OneRoster lets a SIS add its own values as `ext:<name>`; they are valid, never mapped."""
    return raw.strip().casefold().startswith("ext:")


def is_known_role(raw: str) -> bool:
    """Whether `raw` is a OneRoster role of either version (or an `ext:` extension)."""
    return raw.strip().casefold() in _ROLES or is_extension(raw)


def map_role(
    raw: str,
    version: Version,
    *,
    file: str = "users.csv",
    line: int | None = None,
    column: str = "role",
    sourced_id: str | None = None,
) -> tuple[MappedRole | None, Issue | None]:
    """What rollbook imports a OneRoster role as (None: not imported), and a warning if lenient."""
    known = _ROLES.get(raw.strip().casefold())
    if known is None:
        return None, None
    spelled, mapped, versions = known
    if version in versions:
        return mapped, None
    # A role from the other version's vocabulary is unambiguous, so it is read, not refused.
    other = versions[0]
    imported = f"imported as {mapped}" if mapped else "not imported"
    message = (
        f"{locate(file, line, column)}: {spelled!r} is a OneRoster {other} role, "
        f"not a {version} one; {imported}"
    )
    if spelled == "administrator":
        message += " (OneRoster 1.2 says siteAdministrator or districtAdministrator)"
    return mapped, Issue(
        file, line, column, "role_of_other_version", message, sourced_id, "warning"
    )
