"""Web sessions: a sign-in token in an HttpOnly cookie, and a CSRF token for every form.

The cookie holds a token of `services.auth.issue_token`, so a web session is revoked,
expires and is checked exactly like an API token. The CSRF token of a session is an HMAC
of the session token: only a page served to the holder of the cookie can carry it, and
nothing needs to be stored. The sign-in form, which comes before any session, uses a
double-submit cookie instead.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from rollbook.api.deps import WriteSession, deferring, in_turn, later, read_session
from rollbook.domain.permissions import Actor
from rollbook.domain.values import is_digits
from rollbook.services import auth
from rollbook.services import orgs as org_service
from rollbook.store.models import Org, School

SESSION_COOKIE = "rollbook_session"
LOGIN_COOKIE = "rollbook_login"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"


class SignInRequired(Exception):
    """No valid session: the page sends the visitor to the sign-in form."""

    def __init__(self, next_path: str) -> None:
        super().__init__("sign in first")
        self.next_path = next_path


class CsrfRefused(Exception):
    """A form without the session's CSRF token (another site's form, or a stale page)."""


def csrf_token_for(session_token: str) -> str:
    """The CSRF token of a session: derived from the secret cookie, so never guessable."""
    return hmac.new(session_token.encode(), b"rollbook web form", hashlib.sha256).hexdigest()


def new_login_token() -> str:
    return secrets.token_urlsafe(24)


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def set_session_cookie(response: Response, request: Request, token: str, max_age: int) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=max_age,
        path="/",
        httponly=True,
        samesite="lax",
        secure=_secure(request),
    )


def clear_session_cookie(response: Response, request: Request) -> None:
    response.delete_cookie(
        SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=_secure(request)
    )


def set_login_cookie(response: Response, request: Request, value: str) -> None:
    response.set_cookie(
        LOGIN_COOKIE,
        value,
        max_age=3600,
        path="/login",
        httponly=True,
        samesite="lax",
        secure=_secure(request),
    )


def clear_login_cookie(response: Response, request: Request) -> None:
    """The sign-in form's cookie is done with: expired with the attributes it was set with."""
    response.delete_cookie(
        LOGIN_COOKIE, path="/login", httponly=True, samesite="lax", secure=_secure(request)
    )


def tokens_match(expected: str | None, given: str | None) -> bool:
    if not expected or not given:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())


def session_token(request: Request) -> str | None:
    token = request.cookies.get(SESSION_COOKIE, "")
    # Only web sign-in tokens: an API key in the cookie is not a session.
    return token if token.startswith(auth.TOKEN_PREFIX) and "\x00" not in token else None


def signed_in_actor(session: Session, request: Request) -> tuple[Actor, str] | None:
    """The educator behind the session cookie, or None (no cookie, expired, signed out)."""
    token = session_token(request)
    if token is None:
        return None
    actor = auth.actor_for(session, token)
    if actor is None or actor.kind != "educator":
        return None
    return actor, token


def _signed_in_at(session: Session, request: Request, slug: str) -> tuple[Actor, str, Org | None]:
    """`signed_in_actor` and the organization named `slug`, read with the token at once."""
    token = session_token(request)
    if token is not None:
        actor, org = auth.actor_at(session, token, slug)
        if actor is not None and actor.kind == "educator":
            return actor, token, org
    raise SignInRequired(_next_path(request) if request.method == "GET" else "")


@dataclass
class WebCtx:
    """One page request: the database session, the signed-in educator, the organization."""

    request: Request
    session: Session
    actor: Actor
    org: Org
    token: str
    _schools: dict[int, School] | None = field(default=None, repr=False)
    _named: dict[int, School | None] = field(default_factory=dict, repr=False)

    @property
    def csrf(self) -> str:
        return csrf_token_for(self.token)

    @property
    def schools(self) -> dict[int, School]:
        """The schools the educator sees (R2), by id, in name order."""
        if self._schools is None:
            found = org_service.list_schools(self.session, actor=self.actor, org=self.org)
            self._schools = {s.id: s for s in sorted(found, key=lambda s: s.name.casefold())}
        return self._schools

    def schools_of(self, ids: Iterable[int]) -> dict[int, School]:
        """The schools among `ids` the educator sees (R2), by id: those a page names, read
        alone. A large district has thousands of schools; only forms and filters, which
        offer every school, read them all (`schools`)."""
        wanted = set(ids)
        if self._schools is not None:
            return {i: self._schools[i] for i in wanted if i in self._schools}
        missing = wanted - self._named.keys()
        if missing:
            found = org_service.schools_in_reach(
                self.session, actor=self.actor, org=self.org, ids=missing
            )
            self._named.update({i: found.get(i) for i in missing})
        return {i: school for i in wanted if (school := self._named[i]) is not None}

    def url(self, path: str = "") -> str:
        return f"/orgs/{self.org.slug}{path}"


def _next_path(request: Request) -> str:
    query = f"?{request.url.query}" if request.url.query else ""
    return request.url.path + query


def _ctx(request: Request, session: Session, org: str) -> WebCtx:
    actor, token, found = _signed_in_at(session, request, org)
    return WebCtx(request, session, actor, org_service.reached(actor, found), token)


@deferring
async def page_ctx(
    request: Request, org: str, session: Annotated[Session, Depends(read_session)]
) -> WebCtx:
    """A page that only reads: worked out in its route's thread, which also ends the session
    (api.deps.Deferred, TurnRoute)."""
    return later(_ctx, request, session, org)


class TooLarge(Exception):
    """A posted body larger than any form of the pages (the biggest is a sync upload)."""


async def form_data(request: Request) -> FormData:
    """The posted form (read before the handler runs, which is not async)."""
    declared = request.headers.get("content-length", "")
    limit = request.app.state.settings.max_upload_bytes + 1024 * 1024
    if is_digits(declared) and int(declared) > limit:
        raise TooLarge()
    return await request.form(max_files=1, max_fields=20_000)


async def form_ctx(
    request: Request,
    org: str,
    form: Annotated[FormData, Depends(form_data)],
    session: WriteSession,
) -> WebCtx:
    """A posted form: signed in, then the session's CSRF token, before anything else. Its
    database work runs in the write turn's thread (api.deps.in_turn)."""
    ctx = await in_turn(_ctx, request, session, org)
    given = form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER)
    if not tokens_match(ctx.csrf, given if isinstance(given, str) else None):
        raise CsrfRefused()
    return ctx


PageCtx = Annotated[WebCtx, Depends(page_ctx)]
FormCtx = Annotated[WebCtx, Depends(form_ctx, scope="function")]
Form = Annotated[FormData, Depends(form_data)]
