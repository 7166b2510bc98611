"""From staged rows to what the SIS sends for one person or class, in rollbook's fields.

A staged user becomes a student, an educator, nothing (a guardian: not imported), or an
input error (R22: unknown school, no usable role). What it sends is keyed by the field
names of `domain/fields.py`; a field the SIS does not send is None (R12).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

from rollbook.sync.records import Issue, Version
from rollbook.sync.vocab import map_role

# Built once: `json.dumps` with options builds an encoder per call (a first sync of
# 1,000,000 students fingerprints every one of them).
_encode = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, default=str).encode


@dataclass(frozen=True, slots=True)
class Incoming:
    """What the SIS sends for one entity."""

    line: int
    sourced_id: str
    kind: Literal["student", "educator", "class"]
    values: dict[str, Any]
    settings: dict[tuple[str, str], Any] = field(default_factory=dict)
    tobedeleted: bool = False

    @property
    def name(self) -> str:
        if self.kind == "class":
            return str(self.values["name"])
        return f"{self.values['first_name']} {self.values['last_name']}"

    def digest(self) -> str:
        """A fingerprint of everything sent: equal fingerprints, equal SIS data."""
        payload = [
            self.kind,
            sorted((k, sorted(v) if isinstance(v, list) else v) for k, v in self.values.items()),
            sorted([p, s, v] for (p, s), v in self.settings.items()),
        ]
        return hashlib.sha256(_encode(payload).encode()).hexdigest()


class Role(NamedTuple):
    """One roles.csv row of a person that counts (a named tuple: a million in a first sync)."""

    role: str
    role_type: str | None
    org_ref: str | None
    line: int


@dataclass(frozen=True, slots=True)
class Standing:
    """What a person's roles decided when last applied: kind, schools, role and scope. A
    OneRoster 1.2 delta may send a user without its roles.csv rows (they did not change)."""

    kind: Literal["student", "educator"]
    school_ids: list[int]
    role: str | None
    admin_scope: str | None


@dataclass(frozen=True, slots=True)
class Skip:
    """A staged record that is not applied: an input error, or a role rollbook does not import."""

    sourced_id: str
    error: Issue | None


def _error(line: int, column: str, code: str, message: str, sourced_id: str) -> Skip:
    text = f"users.csv line {line}, column {column}: {message}"
    return Skip(sourced_id, Issue("users.csv", line, column, code, text, sourced_id, "error"))


def person_from(
    row: Mapping[Any, Any],
    roles: Sequence[Role],
    *,
    version: Version,
    schools: Mapping[str, int],
    district_refs: set[str],
    stored: Standing | None = None,
) -> Incoming | Skip:
    """One staged user as a student or an educator, or why it is skipped. `stored`: the
    matching person's standing, kept when a delta sends the user without role rows."""
    line, sourced_id = int(row["line"]), str(row["sourced_id"])
    if version == "1.2" and not roles and stored is not None:
        return _incoming(row, stored)
    if version == "1.1":
        given = [Role(row["role"] or "", "primary", None, line)]
    else:
        given = [r for r in roles]
        if not given:
            return _error(
                line, "sourcedId", "no_role", "has no usable row in roles.csv", sourced_id
            )
    mapped = [(map_role(r.role, version)[0], r) for r in given]
    kept = [(m, r) for m, r in mapped if m is not None]
    if not kept:
        return Skip(sourced_id, None)
    kinds = {"student" if m == "student" else "educator" for m, _ in kept}
    if len(kinds) > 1:
        primary = {
            "student" if m == "student" else "educator" for m, r in kept if r.role_type == "primary"
        }
        if len(primary) != 1:
            return _error(
                line,
                "role",
                "mixed_roles",
                "has both student and educator roles and no single primary one",
                sourced_id,
            )
        kinds = primary
        kept = [(m, r) for m, r in kept if ("student" if m == "student" else "educator") in kinds]
    kind: Literal["student", "educator"] = "student" if kinds == {"student"} else "educator"
    refs = list(dict.fromkeys([*(r.org_ref for _, r in kept if r.org_ref), *row["org_refs"]]))
    unknown = [r for r in refs if r not in schools and r not in district_refs]
    if unknown:
        column = "orgSourcedIds" if version == "1.1" else "orgSourcedId"
        return _error(
            line,
            column,
            "unknown_school",
            f"unknown school {', '.join(map(repr, unknown))}",
            sourced_id,
        )
    school_ids = sorted({schools[r] for r in refs if r in schools})
    role: str | None = None
    admin_scope: str | None = None
    if kind == "educator":
        administrator = any(m == "administrator" for m, _ in kept)
        role = "administrator" if administrator else "teacher"
        district = any(
            r.role.casefold() == "districtadministrator" or (r.org_ref in district_refs)
            for m, r in kept
            if m == "administrator"
        ) or (administrator and not school_ids and any(r in district_refs for r in refs))
        admin_scope = ("district" if district else "school") if administrator else None
    if not school_ids and admin_scope != "district":
        return _error(line, "orgSourcedIds", "no_school", "belongs to no school", sourced_id)
    return _incoming(row, Standing(kind, school_ids, role, admin_scope))


def _incoming(row: Mapping[Any, Any], standing: Standing) -> Incoming:
    line, sourced_id = int(row["line"]), str(row["sourced_id"])
    values: dict[str, Any] = {
        "status": "inactive"
        if (not row["enabled"] or row["status"] == "tobedeleted")
        else "active",
        "username": row["username"],
        "external_id": sourced_id,
        "alt_external_id": row["identifier"],
        "first_name": row["given_name"],
        "last_name": row["family_name"],
        "middle_name": row["middle_name"],
        "email": row["email"],
        "school_ids": list(standing.school_ids),
    }
    settings: dict[tuple[str, str], Any] = {}
    if standing.kind == "student":
        values["preferred_first_name"] = row["preferred_given_name"]
        values["grade"] = row["grade"]
        settings = {(p, s): v for p, s, v in row["settings"]}
    else:
        values["role"] = standing.role
        values["admin_scope"] = standing.admin_scope
    return Incoming(
        line,
        sourced_id,
        standing.kind,
        values,
        settings,
        tobedeleted=row["status"] == "tobedeleted",
    )


def class_from(row: Mapping[Any, Any], *, schools: Mapping[str, int]) -> Incoming | Skip:
    """One staged class, or why it is skipped (R22: unknown school)."""
    line, sourced_id = int(row["line"]), str(row["sourced_id"])
    school = schools.get(row["school_ref"])
    if school is None:
        text = (
            f"classes.csv line {line}, column schoolSourcedId: unknown school {row['school_ref']!r}"
        )
        issue = Issue(
            "classes.csv", line, "schoolSourcedId", "unknown_school", text, sourced_id, "error"
        )
        return Skip(sourced_id, issue)
    values = {
        "status": "inactive" if row["status"] == "tobedeleted" else "active",
        "kind": "class",
        "name": row["title"],
        "external_id": sourced_id,
        "alt_external_id": row["class_code"],
        "school_id": school,
        "grades": list(row["grades"]),
        "subjects": list(row["subjects"]),
        "periods": list(row["periods"]),
    }
    return Incoming(line, sourced_id, "class", values, tobedeleted=row["status"] == "tobedeleted")
