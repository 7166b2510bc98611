"""Sign-in: Argon2 passwords, expiring tokens, API keys shown once, and who a credential is."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from typing import Any

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from sqlalchemy import Row
from sqlalchemy.orm import Session

from rollbook.domain.errors import RollbookError, Unauthenticated, ValidationFailed
from rollbook.domain.permissions import Actor, educator_role
from rollbook.domain.values import ValueProblem, normalize, username_key
from rollbook.store import auth as store
from rollbook.store import orgs as org_store
from rollbook.store import people as people_store
from rollbook.store.models import Org, Person, utcnow

API_KEY_PREFIX = "rbk_"
TOKEN_PREFIX = "rbt_"  # noqa: S105 - a public prefix, not a secret
MIN_PASSWORD = 8
_passwords = PasswordHash((Argon2Hasher(),))
SIGN_IN_FAILED = "wrong organization, username or password"


class TooManyAttempts(RollbookError):
    code = "too_many_attempts"


@cache
def _dummy_hash() -> str:
    """Verifying against this keeps a wrong username as slow as a wrong password."""
    return _passwords.hash("not a password of anyone")


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise ValidationFailed.one("password", f"must be at least {MIN_PASSWORD} characters")
    return _passwords.hash(password)


def _digest(secret: str) -> str:
    # API keys and tokens are 256-bit random secrets: a fast hash is enough to keep them
    # unreadable at rest; Argon2 is for passwords, which people choose.
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class IssuedToken:
    token: str
    expires_in: int


class SignInLimiter:
    """Sign-in attempts allowed per (organization, username, address) in a sliding minute,
    counted in the database so that every server process shares the count."""

    def __init__(self, per_minute: int) -> None:
        self._per_minute = per_minute

    def check(self, session: Session, org: str, username: str, address: str) -> None:
        """Count this attempt, or refuse it (TooManyAttempts). The caller commits before it
        checks the password, so that a failed sign-in, rolled back, still counts."""
        key = hashlib.sha256(
            "\0".join((org.casefold(), username_key(username), address)).encode()
        ).hexdigest()
        now = utcnow()
        since = now - timedelta(seconds=60)
        store.forget_sign_in_attempts(session, before=since)
        if store.sign_in_attempts(session, key=key, since=since) >= self._per_minute:
            raise TooManyAttempts("too many sign-in attempts: wait a minute and try again")
        store.add_sign_in_attempt(session, key=key, at=now)


def set_password(session: Session, *, person: Person, password: str) -> None:
    """Give an educator a local password (never part of a sync)."""
    store.set_credential(
        session, person_id=person.id, org_id=person.org_id, password_hash=hash_password(password)
    )


def sign_in(
    session: Session, *, org_slug: str, username: str, password: str, ttl_seconds: int
) -> IssuedToken:
    """A token for an educator of an organization, or for an operator when `org` is empty."""
    if "\x00" in org_slug + username:
        raise Unauthenticated(SIGN_IN_FAILED)  # PostgreSQL text cannot hold NUL: no such account
    if not org_slug.strip():
        found_operator = store.operator_by_username(session, username.strip())
        stored = found_operator.password_hash if found_operator else _dummy_hash()
        if not _passwords.verify(password, stored) or found_operator is None:
            raise Unauthenticated(SIGN_IN_FAILED)
        return issue_token(session, "operator", found_operator.id, None, ttl_seconds)
    org = org_store.org_by_slug(session, org_slug.strip())
    person = None
    if org is not None:
        person = people_store.holder_of_username(
            session, org_id=org.id, username_key=username_key(username)
        )
    credential = store.credential(session, person_id=person.id) if person else None
    stored = credential.password_hash if credential else _dummy_hash()
    verified = _passwords.verify(password, stored)
    if not verified or credential is None or person is None or person.status != "active":
        raise Unauthenticated(SIGN_IN_FAILED)
    return issue_token(session, "educator", person.id, person.org_id, ttl_seconds)


def issue_token(
    session: Session, kind: str, subject_id: int, org_id: int | None, ttl_seconds: int
) -> IssuedToken:
    """A new token for a signed-in educator or operator (API token or web session)."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    store.drop_expired_tokens(session, utcnow())
    store.add_token(
        session,
        token_hash=_digest(token),
        subject_kind=kind,
        subject_id=subject_id,
        org_id=org_id,
        expires_at=utcnow() + timedelta(seconds=ttl_seconds),
    )
    return IssuedToken(token, ttl_seconds)


def sign_out(session: Session, *, token: str) -> None:
    store.drop_token(session, _digest(token))


def create_api_key(session: Session, *, org: Org | None, name: str) -> str:
    """A new API key for an organization (or an operator's key when `org` is None).

    The key is returned once; only its hash is kept.
    """
    try:
        clean_name = normalize("name", name)
    except ValueProblem as problem:
        raise ValidationFailed.one("name", str(problem)) from None
    key = API_KEY_PREFIX + secrets.token_urlsafe(32)
    store.add_api_key(
        session,
        org_id=org.id if org else None,
        name=clean_name,
        prefix=key[: len(API_KEY_PREFIX) + 6],
        key_hash=_digest(key),
    )
    return key


def create_operator(session: Session, *, username: str, password: str) -> None:
    if not username.strip():
        raise ValidationFailed.one("username", "is required")
    if store.operator_by_username(session, username.strip()):
        raise ValidationFailed.one("username", f"an operator {username!r} exists already")
    store.add_operator(session, username=username.strip(), password_hash=hash_password(password))


def actor_for(session: Session, credential: str) -> Actor | None:
    """Who a bearer credential (API key or token) is, or None when it is unknown or expired."""
    if credential.startswith(API_KEY_PREFIX):
        return _key_actor(session, credential)
    if not credential.startswith(TOKEN_PREFIX):
        return None
    return _holder_actor(session, store.token_holder(session, _digest(credential)))


def actor_at(session: Session, credential: str, slug: str) -> tuple[Actor | None, Org | None]:
    """`actor_for`, and the organization named `slug` (None where there is none), read with
    the token in one statement: every request of an organization's address asks both."""
    if credential.startswith(TOKEN_PREFIX):
        holder = store.token_holder_at(session, _digest(credential), slug)
        actor = _holder_actor(session, holder)
        return actor, (holder[0] if actor is not None and holder is not None else None)
    actor = actor_for(session, credential)
    return actor, (org_store.org_by_slug(session, slug) if actor is not None else None)


def _key_actor(session: Session, credential: str) -> Actor | None:
    key = store.api_key(session, _digest(credential))
    if key is None:
        return None
    if key.org_id is None:
        return Actor("operator", f"key:{key.id}", key.name, None, role="operator")
    return Actor("api_key", str(key.id), key.name, key.org_id, role="api_key")


def _holder_actor(session: Session, holder: Row[Any] | None) -> Actor | None:
    """The actor of a token's row (store.token_holder), None if expired or its holder is
    gone or no longer an active educator."""
    if holder is None or holder.expires_at <= utcnow():
        return None
    if holder.subject_kind == "operator":
        if holder.operator_username is None:
            return None
        return Actor(
            "operator", str(holder.subject_id), holder.operator_username, None, role="operator"
        )
    if holder.kind != "educator" or holder.status != "active":
        return None  # gone, or no longer an active educator
    role = educator_role(holder.role or "teacher", holder.admin_scope)
    schools = None
    if role != "district_admin":
        found = people_store.school_ids_of(session, [holder.subject_id])
        schools = frozenset(found.get(holder.subject_id, []))
    return Actor(
        "educator",
        str(holder.subject_id),
        f"{holder.first_name} {holder.last_name}",
        holder.org_id,
        role=role,
        school_ids=schools,
    )
