"""Sign in and out of the pages, and the start page."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from rollbook.api.deps import WriteTurn, database
from rollbook.config import Settings
from rollbook.domain.errors import RollbookError
from rollbook.services import auth
from rollbook.services import orgs as org_service
from rollbook.web.pages import PageRoute, error_page, render, see_other
from rollbook.web.session import (
    CSRF_FIELD,
    LOGIN_COOKIE,
    Form,
    clear_login_cookie,
    clear_session_cookie,
    csrf_token_for,
    new_login_token,
    session_token,
    set_login_cookie,
    set_session_cookie,
    signed_in_actor,
    tokens_match,
)

router = APIRouter(route_class=PageRoute, include_in_schema=False)


def _safe_next(raw: object) -> str:
    """Only a path of this site: never `//elsewhere` or a full address (open redirect)."""
    text = str(raw or "")
    if text.startswith("/") and not text.startswith("//") and "\\" not in text:
        return text
    return ""


def _login_page(
    request: Request,
    *,
    status: int = 200,
    org: str = "",
    username: str = "",
    next_path: str = "",
    messages: list[str] | None = None,
) -> Response:
    token = request.cookies.get(LOGIN_COOKIE) or new_login_token()
    response = render(
        request,
        "login.html",
        status=status,
        login_token=token,
        org=org,
        username=username,
        next=next_path,
        messages=messages or [],
    )
    set_login_cookie(response, request, token)
    return response


@router.get("/")
def home(request: Request) -> Response:
    """Signed in: the organization's students; otherwise the sign-in form."""
    with database(request).session(write=False) as session:
        found = signed_in_actor(session, request)
        org = org_service.home_of(session, actor=found[0]) if found else None
    return see_other(f"/orgs/{org.slug}/students" if org else "/login")


@router.get("/login")
def login_form(
    request: Request, org: str = "", next_path: Annotated[str, Query(alias="next")] = ""
) -> Response:
    return _login_page(request, org=org[:63], next_path=_safe_next(next_path))


@router.post("/login")
def login(request: Request, form: Form, _turn: WriteTurn) -> Response:
    """Sign in with organization, username and password (rate-limited, CSRF-checked). It
    writes (the attempt, the session), so it takes the write turn like every writing route."""
    org = str(form.get("org") or "").strip()[:63]
    username = str(form.get("username") or "")[:255]
    password = str(form.get("password") or "")[:1024]
    next_path = _safe_next(form.get("next"))
    if not tokens_match(request.cookies.get(LOGIN_COOKIE), str(form.get(CSRF_FIELD) or "")):
        return error_page(
            request,
            403,
            "This form has expired",
            "The sign-in form was too old or did not come from rollbook: open it again.",
        )
    kept = {"org": org, "username": username, "next_path": next_path}
    if not org or not username.strip() or not password:
        missing = [n for n, v in (("organization", org), ("username", username.strip()),
                                  ("password", password)) if not v]  # fmt: skip
        return _login_page(
            request, status=422, messages=[f"Enter your {' and '.join(missing)}."], **kept
        )
    config: Settings = request.app.state.settings
    limiter: auth.SignInLimiter = request.app.state.sign_in_limiter
    with database(request).session(write=True) as session:
        try:
            limiter.check(session, org, username, request.client.host if request.client else "")
            session.commit()  # the attempt counts whatever follows
            issued = auth.sign_in(
                session,
                org_slug=org,
                username=username,
                password=password,
                ttl_seconds=config.session_ttl_seconds,
            )
            session.commit()
        except RollbookError as error:
            session.rollback()
            status = 429 if isinstance(error, auth.TooManyAttempts) else 401
            message = error.message[:1].upper() + error.message[1:] + "."
            return _login_page(request, status=status, messages=[message], **kept)
    response = see_other(next_path or f"/orgs/{org}/students")
    set_session_cookie(response, request, issued.token, config.session_ttl_seconds)
    clear_login_cookie(response, request)
    return response


@router.get("/logout")
def logout_form(request: Request) -> Response:
    """Signing out is a form (POST with the CSRF token), so no link elsewhere can do it."""
    token = session_token(request)
    if token is None:
        return see_other("/login")
    return render(request, "logout.html", csrf=csrf_token_for(token))


@router.post("/logout")
def logout(request: Request, form: Form, _turn: WriteTurn) -> Response:
    token = session_token(request)
    if token is not None:
        if not tokens_match(csrf_token_for(token), str(form.get(CSRF_FIELD) or "")):
            return error_page(
                request,
                403,
                "This form has expired",
                "The sign-out form did not carry this session's security token: reload the "
                "page and try again.",
            )
        with database(request).session(write=True) as session:
            auth.sign_out(session, token=token)
            session.commit()
    response = see_other("/login")
    clear_session_cookie(response, request)
    return response
