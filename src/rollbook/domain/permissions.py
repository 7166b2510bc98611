"""R1-R3: who may do what, and where.

The grants are data: one row per action, naming the roles that may take it. Every route
of the API and the pages asks `require` with one of these actions; the authorization test
of the project reads the same table.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from rollbook.domain.errors import Forbidden, NotFound, Unauthenticated

ActorKind = Literal["educator", "api_key", "operator", "sync"]
Role = Literal["teacher", "school_admin", "district_admin", "api_key", "operator"]
ROLES: tuple[Role, ...] = ("teacher", "school_admin", "district_admin", "api_key", "operator")

Action = Literal[
    "roster.read",
    "students.write",
    "classes.write",
    "educators.write",
    "schools.read",
    "schools.write",
    "orgs.manage",
    "apikeys.create",
    "syncs.run",
    "syncs.read",
    "syncs.decide",
    "products.read",
]

_EDUCATORS: frozenset[Role] = frozenset({"teacher", "school_admin", "district_admin"})
_ADMINS: frozenset[Role] = frozenset({"school_admin", "district_admin"})

GRANTS: dict[Action, frozenset[Role]] = {
    # R1: teachers and administrators read and edit students and classes/groups.
    "roster.read": _EDUCATORS | {"api_key"},
    "students.write": _EDUCATORS,
    "classes.write": _EDUCATORS,
    # R1: only administrators create and edit educators.
    "educators.write": _ADMINS,
    # Schools: every educator sees their own; district administrators and operators add them.
    "schools.read": _EDUCATORS | {"api_key", "operator"},
    "schools.write": frozenset({"district_admin", "operator"}),
    # R3: operators create organizations and issue API keys.
    "orgs.manage": frozenset({"operator"}),
    "apikeys.create": frozenset({"operator"}),
    # R3, R20: a sync is run by an operator, a district administrator or an org API key;
    # a held run is decided by an administrator of the district or an operator.
    "syncs.run": frozenset({"district_admin", "api_key", "operator"}),
    "syncs.read": frozenset({"district_admin", "api_key", "operator"}),
    "syncs.decide": frozenset({"district_admin", "operator"}),
    "products.read": _EDUCATORS | {"api_key", "operator"},
}


@dataclass(frozen=True, slots=True)
class Actor:
    """Whoever acts: a signed-in educator, an API key, an operator, or a sync run.

    `school_ids` is the actor's scope (R2); None means the whole organization.
    """

    kind: ActorKind
    id: str
    name: str
    org_id: int | None
    role: Role | None = None
    school_ids: frozenset[int] | None = None
    run_id: int | None = None

    @property
    def org_wide(self) -> bool:
        return self.school_ids is None


def educator_role(role: str, admin_scope: str | None) -> Role:
    """The permission role of an educator account."""
    if role == "administrator":
        return "district_admin" if admin_scope == "district" else "school_admin"
    return "teacher"


def require(actor: Actor | None, action: Action) -> Actor:
    """R1/R3: the actor may take this action at all, or Unauthenticated/Forbidden."""
    if actor is None:
        raise Unauthenticated("sign in first: send an API key or a token as a Bearer credential")
    if actor.role not in GRANTS[action]:
        raise Forbidden(f"your role may not do this ({action.replace('.', ' ')})")
    return actor


def allows(actor: Actor, action: Action) -> bool:
    """Whether the actor's role may take the action: pages offer only what `require` allows."""
    return actor.role in GRANTS[action]


def require_org(actor: Actor, org_id: int) -> None:
    """R2: another organization's data does not exist for the actor."""
    if actor.org_id is not None and actor.org_id != org_id:
        raise NotFound("no such organization")
    if actor.org_id is None and actor.kind != "operator":
        raise NotFound("no such organization")


def in_scope(actor: Actor, school_ids: Iterable[int]) -> bool:
    """R2: an entity is within reach when it belongs to one of the actor's schools."""
    if actor.school_ids is None:
        return True
    return not actor.school_ids.isdisjoint(school_ids)


def require_scope(actor: Actor, school_ids: Iterable[int], what: str) -> None:
    """R2: out of scope looks the same as absent."""
    if not in_scope(actor, school_ids):
        raise NotFound(f"no such {what}")


def may_assign_schools(actor: Actor, before: Iterable[int], after: Iterable[int]) -> bool:
    """R2: an actor adds or removes only schools within their own scope."""
    if actor.school_ids is None:
        return True
    touched = set(before) ^ set(after)
    return touched <= actor.school_ids


def may_grant_district_scope(actor: Actor) -> bool:
    """Only organization-wide actors make or edit district administrators."""
    return actor.school_ids is None
