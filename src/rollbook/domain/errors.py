"""The errors a rule can raise. Each carries its context; `api/errors.py` maps them to HTTP."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with one input field."""

    field: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}


class RollbookError(Exception):
    """Base of every rule violation; `code` is the stable name clients see."""

    code = "error"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    @property
    def details(self) -> list[dict[str, Any]]:
        return []


class Unauthenticated(RollbookError):
    code = "unauthenticated"


class Forbidden(RollbookError):
    code = "forbidden"


class NotFound(RollbookError):
    code = "not_found"


class ValidationFailed(RollbookError):
    code = "validation_error"

    def __init__(self, problems: list[Problem]) -> None:
        first = problems[0] if problems else Problem("", "invalid input")
        summary = "; ".join(f"{p.field}: {p.message}" if p.field else p.message for p in problems)
        super().__init__(summary or "invalid input", field=first.field or None)
        self.problems = problems

    @classmethod
    def one(cls, field: str, message: str) -> ValidationFailed:
        return cls([Problem(field, message)])

    @property
    def details(self) -> list[dict[str, Any]]:
        return [p.as_dict() for p in self.problems]


class FieldLocked(RollbookError):
    code = "field_locked"

    def __init__(self, field: str) -> None:
        super().__init__(
            f"{field} is managed by your SIS and cannot be changed by hand: change it there",
            field=field,
        )


class ClassSynced(RollbookError):
    code = "class_synced"

    def __init__(self) -> None:
        super().__init__(
            "the members of a synced class are exactly what your SIS sends: "
            "change them in the SIS, or add the person to a manual class or group"
        )


class EntitySynced(RollbookError):
    code = "entity_synced"

    def __init__(self, kind: str) -> None:
        super().__init__(
            f"this {kind} comes from your SIS and is deactivated only by the sync: "
            "remove it in the SIS"
        )


class UsernameTaken(RollbookError):
    code = "username_taken"

    def __init__(self, username: str) -> None:
        super().__init__(
            f"the username {username!r} belongs to another person of this organization",
            field="username",
        )


class VersionConflict(RollbookError):
    code = "version_conflict"

    def __init__(self, current: int | None = None) -> None:
        now = f" (now version {current})" if current is not None else ""
        super().__init__(
            f"this entity changed since you read it{now}: read it again and reapply your change"
        )
        self.current = current


class Busy(RollbookError):
    """The roster is being written by something long (a sync's transaction holds SQLite's one
    writer, or rows a request must lock): the request gave up waiting. Nothing was changed;
    the client may try again after `retry_after` seconds (503, Retry-After)."""

    code = "busy"
    retry_after = 5

    def __init__(self) -> None:
        super().__init__(
            "the roster is busy (a sync is being applied): nothing was changed; "
            f"try again in {self.retry_after} seconds"
        )


@dataclass
class RejectionReason:
    """Why an upload is not a readable snapshot."""

    message: str
    file: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class SyncRejected(RollbookError):
    code = "sync_rejected"

    def __init__(self, message: str, reasons: list[RejectionReason] | None = None) -> None:
        super().__init__(message)
        self.reasons = reasons or []

    @property
    def details(self) -> list[dict[str, Any]]:
        return [{"file": r.file, "message": r.message, **r.extra} for r in self.reasons]
