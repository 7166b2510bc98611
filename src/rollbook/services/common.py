"""Small pieces every use case needs: ids from addresses, list filters, versioned writes."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from rollbook.domain.errors import NotFound, UsernameTaken, ValidationFailed, VersionConflict
from rollbook.domain.values import is_digits
from rollbook.store import orgs as org_store
from rollbook.store.models import Org

STATUSES = ("active", "inactive", "all")
T = TypeVar("T")
P = ParamSpec("P")


def parse_id(raw: str, what: str) -> int:
    """Ids in addresses are rollbook's own; anything else names nothing."""
    if not is_digits(raw) or len(raw) > 18:
        raise NotFound(f"no such {what}")
    return int(raw)


def check_filters(status: str, origin: str | None) -> None:
    if status not in STATUSES:
        raise ValidationFailed.one("status", "must be active, inactive or all")
    if origin not in (None, "sis", "manual"):
        raise ValidationFailed.one("origin", "must be sis or manual")


def school_filter(session: Session, *, org: Org, ref: str | None) -> int | None:
    """The `school_id` list filter: a rollbook id or an external id of a school of the org."""
    if ref is None:
        return None
    found = org_store.resolve_school_refs(session, org_id=org.id, refs=[ref])
    if ref not in found:
        raise ValidationFailed.one("school_id", f"no school {ref!r} in this organization")
    return found[ref]


def flush_versioned(session: Session, *, username: str | None = None) -> None:
    """Write pending changes; a concurrent edit is a version conflict, a taken username R10."""
    try:
        session.flush()
    except StaleDataError:
        session.rollback()
        raise VersionConflict() from None
    except IntegrityError as error:
        session.rollback()
        if username is not None and "username" in str(error.orig):
            raise UsernameTaken(username) from None
        raise


def unless_moved(edit: Callable[P, T]) -> Callable[P, T]:
    """An edit (a function taking `if_match=`) that, without `If-Match`, is meant for the
    current version: when another writer (a sync) moved the version between its read and its
    write, it is read and applied once more instead of answering 412. With `If-Match` the
    caller's version decides (412)."""

    @functools.wraps(edit)
    def run(*args: P.args, **kwargs: P.kwargs) -> T:
        if kwargs.get("if_match") is not None:
            return edit(*args, **kwargs)
        try:
            return edit(*args, **kwargs)
        except VersionConflict:
            return edit(*args, **kwargs)

    return run
