"""Queries on sign-in: passwords, access tokens, API keys and operators."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Row, Select, and_, bindparam, delete, func, select, text
from sqlalchemy.orm import Session

from rollbook.store.models import (
    AccessToken,
    ApiKey,
    Credential,
    Operator,
    Org,
    Person,
    SignInAttempt,
)


def credential(session: Session, *, person_id: int) -> Credential | None:
    return session.get(Credential, person_id)


def set_credential(session: Session, *, person_id: int, org_id: int, password_hash: str) -> None:
    row = session.get(Credential, person_id)
    if row is None:
        session.add(Credential(person_id=person_id, org_id=org_id, password_hash=password_hash))
    else:
        row.password_hash = password_hash
    session.flush()


def operator_by_username(session: Session, username: str) -> Operator | None:
    return session.scalars(select(Operator).where(Operator.username == username)).one_or_none()


def add_operator(session: Session, *, username: str, password_hash: str) -> Operator:
    row = Operator(username=username, password_hash=password_hash)
    session.add(row)
    session.flush()
    return row


def add_token(
    session: Session,
    *,
    token_hash: str,
    subject_kind: str,
    subject_id: int,
    org_id: int | None,
    expires_at: datetime,
) -> None:
    session.add(
        AccessToken(
            token_hash=token_hash,
            subject_kind=subject_kind,
            subject_id=subject_id,
            org_id=org_id,
            expires_at=expires_at,
        )
    )
    session.flush()


# Who holds a token, read with the token in one statement: every request asks (bench.requests).
_HOLDER_COLUMNS = (
    AccessToken.subject_kind,
    AccessToken.subject_id,
    AccessToken.expires_at,
    Operator.username.label("operator_username"),
    Person.kind,
    Person.status,
    Person.role,
    Person.admin_scope,
    Person.first_name,
    Person.last_name,
    Person.org_id,
)


def _with_holder(statement: Select[*tuple[Any, ...]]) -> Select[*tuple[Any, ...]]:
    return (
        statement.select_from(AccessToken)
        .outerjoin(
            Person,
            and_(AccessToken.subject_kind == "educator", Person.id == AccessToken.subject_id),
        )
        .outerjoin(
            Operator,
            and_(AccessToken.subject_kind == "operator", Operator.id == AccessToken.subject_id),
        )
        .where(AccessToken.token_hash == bindparam("token_hash"))
    )


_HOLDER = _with_holder(select(*_HOLDER_COLUMNS))
# The same with the organization a request's address names (None where there is no such
# organization): a request's who and where in one round trip instead of two.
_HOLDER_AT = _with_holder(select(Org, *_HOLDER_COLUMNS)).outerjoin(
    Org, Org.slug == bindparam("slug")
)


def token_holder(session: Session, token_hash: str) -> Row[Any] | None:
    """A token with its educator's or operator's columns (None where the holder is gone)."""
    # Core, not the ORM's execution: no entity is loaded, and the ORM's path doubled the time.
    return session.connection().execute(_HOLDER, {"token_hash": token_hash}).one_or_none()


def token_holder_at(session: Session, token_hash: str, slug: str) -> Row[Any] | None:
    """`token_holder`, its first column the organization named `slug` (or None)."""
    return session.execute(_HOLDER_AT, {"token_hash": token_hash, "slug": slug}).one_or_none()


def drop_token(session: Session, token_hash: str) -> None:
    session.execute(delete(AccessToken).where(AccessToken.token_hash == token_hash))


def drop_expired_tokens(session: Session, now: datetime) -> None:
    session.execute(delete(AccessToken).where(AccessToken.expires_at < now))


def add_api_key(
    session: Session, *, org_id: int | None, name: str, prefix: str, key_hash: str
) -> ApiKey:
    row = ApiKey(org_id=org_id, name=name, prefix=prefix, key_hash=key_hash)
    session.add(row)
    session.flush()
    return row


def api_key(session: Session, key_hash: str) -> ApiKey | None:
    return session.scalars(
        select(ApiKey).where(ApiKey.key_hash == key_hash, ApiKey.revoked_at.is_(None))
    ).one_or_none()


def sign_in_attempts(session: Session, *, key: str, since: datetime) -> int:
    """How many attempts of `key` since `since`, the organization-wide count held until the
    transaction ends (PostgreSQL: an advisory lock on the key; SQLite: the writer's lock)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": int(key[:15], 16)})
    return int(
        session.scalar(
            select(func.count()).where(SignInAttempt.key == key, SignInAttempt.at >= since)
        )
        or 0
    )


def add_sign_in_attempt(session: Session, *, key: str, at: datetime) -> None:
    session.add(SignInAttempt(key=key, at=at))
    session.flush()


def forget_sign_in_attempts(session: Session, *, before: datetime) -> None:
    session.execute(delete(SignInAttempt).where(SignInAttempt.at < before))
