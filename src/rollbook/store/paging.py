"""Cursor pagination: an opaque cursor holding the sort key of the last row of a page."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from rollbook.domain.errors import ValidationFailed

T = TypeVar("T")

DEFAULT_LIMIT = 50
MAX_LIMIT = 500


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None


def encode_cursor(key: list[Any]) -> str:
    raw = json.dumps(key, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None, *, arity: int) -> list[Any] | None:
    """The sort key inside a cursor; a cursor this server did not make is a validation error."""
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        key = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, UnicodeDecodeError):
        key = None
    if not _well_formed(key, arity):
        raise ValidationFailed.one("cursor", "is not a cursor from a previous page")
    assert isinstance(key, list)
    return key


def _well_formed(key: Any, arity: int) -> bool:
    """Text sort keys then a row id, as `page_of` writes them (no NUL: PostgreSQL text)."""
    if not isinstance(key, list) or len(key) != arity:
        return False
    *texts, row_id = key
    return (
        all(isinstance(t, str) and "\x00" not in t for t in texts)
        and type(row_id) is int
        and 0 <= row_id < 2**63
    )


def check_limit(limit: int | None) -> int:
    if limit is None:
        return DEFAULT_LIMIT
    if not 1 <= limit <= MAX_LIMIT:
        raise ValidationFailed.one("limit", f"must be between 1 and {MAX_LIMIT}")
    return limit


def page_of(rows: list[T], limit: int, key_of: Any) -> Page[T]:
    """Cut one extra fetched row off and turn the last row's key into the next cursor."""
    if len(rows) > limit:
        rows = rows[:limit]
        return Page(rows, encode_cursor(key_of(rows[-1])))
    return Page(rows, None)
